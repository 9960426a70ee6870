// Candidate commands (SPEC §2.17, API §9): claude-native registrations (upserted per key),
// dismissal, and the detector's decision (nightly step 1) over statistics the caller gathered from
// the ledger. Candidates live on `capability-<name>` (or `fingerprint-<fp>` for registrations known
// only by a message fingerprint); "agg.candidates" maps i <candidate id> → its stream.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "commands/aggregate_cache.h"
#include "commands/command_bus.h"
#include "commands/skills.h"
#include "domain/candidate.h"
#include "domain/config.h"

namespace annals::commands {

struct Registration {
  std::optional<std::string> capability_name, message, pattern_fingerprint;
  std::string reasoning;
};
std::expected<Registration, Problem> parse_registration(const nlohmann::json& body);

struct PostedDraft {
  bool malformed = false;
  std::string yaml_backbone;
  nlohmann::json step_content = nlohmann::json::object(), output_schemas = nlohmann::json::object();
  std::optional<std::string> changelog, claude_invocation_id;
  std::vector<DraftFixture> fixtures;
  std::vector<std::string> fixture_statuses;
  std::int64_t cost_micro_usd = 0;
  std::optional<std::int64_t> latency_ms;
};
std::expected<PostedDraft, Problem> parse_draft(const nlohmann::json& body);

class CandidateCommands {
 public:
  CandidateCommands(CommandBus& bus, const Config& config, SkillCommands& skills);

  // 201 `N` when new; 200 `N` when the key's registration was updated.
  void register_pattern(Registration r, CommandContext ctx, std::function<void(Reply)> done);
  // 200 `N` dismissed; already dismissed → 200, nothing appended.
  void dismiss(std::string id, CommandContext ctx, std::function<void(Reply)> done);
  // The detector (SPEC §2.17 steps 2, 4-7) over per-task-type statistics of the window:
  // 200 {"new_candidates": [ids]}.
  void detect(std::map<std::string, candidate::TypeStats> stats, Micros window_start,
              CommandContext ctx, std::function<void(Reply)> done);
  // draft-now: 202 {"status":"scheduled","candidate_id","work_id","scheduled_at"}.
  void draft_now(std::string id, CommandContext ctx, std::function<void(Reply)> done);
  // Nightly step 4 over `ids` (new candidates in drafting order) with `remaining` micro-USD:
  // 200 {"scheduled":[{candidate_id, work_id}], "dismissed":[{candidate_id, reason}],
  // "remaining": n}.
  void schedule_drafts(std::vector<std::string> ids, std::int64_t remaining, std::string run_id,
                       CommandContext ctx, std::function<void(Reply)> done);
  // A posted draft (SPEC §2.18): 201 the draft result plus effects.
  void record_draft(std::string id, PostedDraft d, CommandContext ctx,
                    std::function<void(Reply)> done);

 private:
  using State = std::map<std::string, candidate::Candidate>;
  // The candidate `id` and its stream, as a commit sees them.
  std::optional<std::pair<std::string, candidate::Candidate>> find(events::Transaction& tx,
                                                                   const std::string& id);
  bool capability_registered(events::Transaction& tx, const std::string& name);
  CommandBus& bus_;
  const Config& config_;
  SkillCommands& skills_;
  rocksdb::ColumnFamilyHandle* index_;
  AggregateCache<State> cache_;  // keyed by stream name
};

}  // namespace annals::commands

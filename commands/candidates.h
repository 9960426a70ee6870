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

 private:
  using State = std::map<std::string, candidate::Candidate>;
  CommandBus& bus_;
  const Config& config_;
  SkillCommands& skills_;
  rocksdb::ColumnFamilyHandle* index_;
  AggregateCache<State> cache_;  // keyed by stream name
};

}  // namespace annals::commands

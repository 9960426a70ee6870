// Skill commands (SPEC §2.1-2.13, API §3-5): RegisterSkill, ChangeSkillState, SetHumanGate,
// RecordSkillRun and RecordDivergence, with the synchronous policies in the same commit as their
// trigger (the sandbox and shadow promotion gates, held promotions, degradation detection). The
// observers (auto-lessons, notifications) run after the commit through `observe`.
//
// Beside the log the writer keeps "agg.skills": c <capability> → skill id (one skill per
// capability; the dispatcher's path choice) and r <run id> → skill id (divergences name a run).
#pragma once

#include <functional>
#include <nlohmann/json.hpp>

#include "commands/aggregate_cache.h"
#include "commands/command_bus.h"
#include "domain/automation_run.h"
#include "domain/config.h"
#include "domain/skill.h"

namespace annals::commands {

struct SkillRegistration {
  std::string capability_name;
  bool requires_human_gate = true;
  std::optional<skill::VersionAdded> initial_version;
  std::string initial_state;
};

struct RunDraft {
  std::string skill_id;
  skill::RunRecorded run;  // run_id assigned by the decision
  bool user_given = false;
};

struct DivergenceDraft {
  double submitted = 0;
  std::optional<std::string> shadow_invocation_id, diff_summary;
};

// Body parsing (types, enums, required and unknown fields, structural check of a version).
std::expected<SkillRegistration, Problem> parse_register_skill(const nlohmann::json& body);
std::expected<skill::TransitionRequest, Problem> parse_transition(const nlohmann::json& body);
std::expected<bool, Problem> parse_flag(const nlohmann::json& body);
// Skill runs and divergences are the hot recording routes: they read the body text directly
// (commands/fast_body.h) instead of a DOM.
std::expected<RunDraft, Problem> parse_skill_run(std::string_view body);
std::expected<DivergenceDraft, Problem> parse_divergence(std::string_view body);
std::expected<skill::FixtureAdded, Problem> parse_fixture(const nlohmann::json& body);
std::expected<skill::AttemptRequest, Problem> parse_attempt(const nlohmann::json& body);
// `timestamp` 0 = now.
std::expected<skill::CorrectionRecorded, Problem> parse_correction(const nlohmann::json& body);

// What observers react to after a commit (SPEC §4.7, §5).
struct SkillEffect {
  std::string skill_id, capability_name;
  std::uint64_t position = 0;
  std::optional<skill::StateChanged> transition;
  std::optional<skill::PromotionHeld> held;
  std::optional<skill::Degradation> degradation;
  std::optional<skill::ClusterHit> cluster;
  std::optional<skill::AttemptDecision> attempt;
  bool drafted = false;  // a draft became this skill's current version (skill_drafted)
};

struct DraftFixture {
  std::optional<std::string> case_name;
  std::string input = "{}";
  std::optional<std::string> expected_output_shape, tool_mocks;
};
struct StagedDraft {
  std::string skill_id, version_id;
  std::vector<std::string> fixture_ids;
  std::uint64_t position = 0;
};

class SkillCommands {
 public:
  using Observe = std::function<void(std::vector<SkillEffect>)>;
  SkillCommands(CommandBus& bus, const Config& config, Observe observe = {});

  void register_skill(SkillRegistration r, CommandContext ctx, std::function<void(Reply)> done);
  void transition(std::string id, skill::TransitionRequest r, CommandContext ctx,
                  std::function<void(Reply)> done);
  void set_flag(std::string id, bool value, CommandContext ctx, std::function<void(Reply)> done);
  void record_run(RunDraft d, CommandContext ctx, std::function<void(Reply)> done);
  void record_divergence(std::string run_id, DivergenceDraft d, CommandContext ctx,
                         std::function<void(Reply)> done);
  // AddFixture and CaptureFixture (SPEC §2.15): 201 `F`; capture of a run that did not succeed
  // → 409 wrong-state.
  void add_fixture(std::string skill_id, skill::FixtureAdded f, CommandContext ctx,
                   std::function<void(Reply)> done);
  void capture_fixture(std::string run_id, CommandContext ctx, std::function<void(Reply)> done);
  // RecordEvolutionAttempt (SPEC §2.19.3): 201 `A` plus effects.
  void record_attempt(std::string skill_id, skill::AttemptRequest r, CommandContext ctx,
                      std::function<void(Reply)> done);
  // Nightly steps (SPEC §2.20). Evolution scheduling over `ids` (in order) with `remaining`
  // micro-USD: 200 {"scheduled":[{skill_id, work_id}], "skipped":[{skill_id, reason}],
  // "remaining": micro-USD}.
  void schedule_evolution(std::vector<std::string> ids, std::int64_t remaining,
                          std::string nightly_run_id, CommandContext ctx,
                          std::function<void(Reply)> done);
  // Degradation of the trusted skills among `ids`, each isolated, in one commit: 200
  // {"reports": [...], "errors": [{skill_id, error}]}.
  void sweep_degradation(std::vector<std::string> ids, CommandContext ctx,
                         std::function<void(Reply)> done);
  // The correction-cluster check of `ids` in one commit: 200 {"flagged": [{skill_id,
  // capability_name, correction_count}], "errors": [...]}.
  void sweep_corrections(std::vector<std::string> ids, CommandContext ctx,
                         std::function<void(Reply)> done);
  // RecordCorrection with the correction-cluster fast path (SPEC §2.14).
  void record_correction(skill::CorrectionRecorded c, CommandContext ctx,
                         std::function<void(Reply)> done);

  // SPEC §3.7 step 3 as a commit sees it: the skill path when the capability's skill is
  // shadow_primary or trusted, else claude_native.
  automation::Path path_for(events::Transaction& tx, const std::string& capability);
  // Stages an accepted draft in `tx` (SPEC §2.18, "On drafted"): a new skill or a new current
  // version of the claude_native one, claude_native→skill_candidate→draft, and the fixtures.
  std::expected<StagedDraft, Problem> stage_draft(events::Transaction& tx,
                                                  const std::string& capability,
                                                  skill::VersionAdded version,
                                                  const std::vector<DraftFixture>& fixtures,
                                                  const std::string& candidate_id,
                                                  const CommandContext& ctx);
  // Hands effects to the observers (for commands of other classes).
  void observe(std::vector<SkillEffect> effects) {
    if (observe_ && !effects.empty()) observe_(std::move(effects));
  }
  // The state of the capability's skill as a commit sees it; nullopt when it has none.
  std::optional<std::string> skill_state(events::Transaction& tx, const std::string& capability);

  skill::Knobs knobs() const;

 private:
  // The recorded run `run_id` and its skill, read back from the skill stream.
  std::expected<std::pair<std::string, skill::RunRecorded>, Reply> find_run(
      events::Transaction& tx, const std::string& run_id);
  Reply append_fixture(events::Transaction& tx, const std::string& skill_id, std::uint64_t version,
                       const skill::FixtureAdded& fixture, const CommandContext& ctx);
  // Runs `decide`, then hands the effects it collected to the observers once durable.
  void execute(CommandContext ctx,
               std::function<Reply(events::Transaction&, std::vector<SkillEffect>&)> decide,
               std::function<void(Reply)> done);

  CommandBus& bus_;
  const Config& config_;
  Observe observe_;
  rocksdb::ColumnFamilyHandle* index_;            // "agg.skills"
  rocksdb::ColumnFamilyHandle* automation_runs_;  // "agg.automation_runs"
  AggregateCache<skill::Skill> cache_;
  // Correction timestamps per task type, folded from the capability streams.
  AggregateCache<std::vector<Micros>> corrections_;
};

class LessonCommands;
class Notifier;
// The observers of skill effects (SPEC §4.7, §5): merge_hold and deploy_degraded auto-lessons and
// the skill_flagged notification; `post` moves the work off the writer thread.
SkillCommands::Observe skill_observers(LessonCommands& lessons, Notifier& notifier,
                                       std::function<Micros()> clock,
                                       std::function<void(std::function<void()>)> post);

// The names of agg families shared with other commands.
inline constexpr const char* kAutomationRunsIndex = "agg.automation_runs";

}  // namespace annals::commands

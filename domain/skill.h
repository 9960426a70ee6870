// The skill aggregate as a decider (SPEC §2.1-2.13): states, the 18-row transition table and the
// exact order of its checks, the human gate, baselines, versions and the structural check, the
// Wilson interval, and the automatic promotion and degradation rules over the evidence a skill
// has (its runs and divergences). Pure: the commands fold the evidence from the log.
#pragma once

#include <deque>
#include <expected>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "domain/problem.h"
#include "domain/time.h"

namespace annals::skill {

bool is_state(const std::string& s);
bool is_reason(const std::string& r);

struct TransitionRow {
  std::string from, to;
  std::vector<std::string> reasons;  // sorted
};
// The 18 rows, sorted by (from, to).
const std::vector<TransitionRow>& transition_table();

// Events (SPEC §6.3).
struct Registered {
  std::string skill_id, capability_name, state;
  bool requires_human_gate = true;
};
struct VersionAdded {
  std::string version_id;
  std::int64_t version_number = 1;
  std::string yaml_backbone, step_content = "{}", output_schemas = "{}", created_by = "human";
  std::optional<std::string> changelog;
  bool becomes_current = true, baseline_cleared = false;
};
struct StateChanged {
  std::string transition_id, from_state, to_state, reason;
  std::optional<std::string> actor_id, notes;
  std::optional<double> baseline_agreement;  // present only when this transition sets it
};
struct FlagChanged {
  std::string flag = "requires_human_gate";
  bool value = true;
};
struct PromotionHeld {
  std::string to_state, version_id;
  std::string metrics;  // JSON object text
};
struct StepResult {
  std::string step_name;
  std::int64_t step_index = 0;
  std::string step_kind = "llm";
  std::optional<std::string> invocation_log_id;
  std::optional<std::int64_t> prompt_tokens;
  std::optional<std::string> output, tool_calls;  // JSON text
  std::optional<std::int64_t> latency_ms;
  std::optional<std::string> validation_status, error;
};
struct RunRecorded {
  std::string run_id, skill_version_id;
  std::optional<std::string> task_id, automation_run_id;
  std::string status;  // succeeded | failed | escalated
  std::string inputs = "{}", state_object = "{}";
  std::optional<std::string> final_output;
  std::vector<StepResult> step_results;
  std::string tool_result_cache = "{}";
  std::optional<std::int64_t> total_latency_ms;
  std::int64_t total_cost_micro_usd = 0;
  std::optional<std::string> error, escalation_reason;
  std::string user_id;
  Micros started_at = 0, finished_at = 0;
};
struct DivergenceRecorded {
  std::string divergence_id, run_id, shadow_invocation_id;
  double overall_agreement = 0, submitted_agreement = 0;
  std::optional<std::string> diff_summary;  // JSON object text
};
struct FixtureAdded {
  std::string fixture_id, case_name;
  std::string input = "{}";  // JSON object text
  std::optional<std::string> expected_output_shape, tool_mocks;
  std::string source = "manual";
  std::optional<std::string> captured_run_id;
};
struct EvolutionScheduled {
  std::string work_id, triggered_by = "nightly";
  std::optional<std::string> nightly_run_id;
  std::int64_t estimated_cost_micro_usd = 0;
};
struct EvolutionAttempted {
  std::string attempt_id;
  std::optional<std::string> work_id;
  std::string from_version_id;
  std::optional<std::string> to_version_id;
  std::string triggered_by = "manual";
  std::optional<std::string> claude_invocation_id;
  std::int64_t cost_micro_usd = 0;
  std::optional<std::int64_t> latency_ms;
  std::optional<std::string> diagnosis;  // JSON object text
  std::optional<std::vector<std::string>> targeted_case_ids;
  std::optional<std::string> evidence;    // JSON object text
  std::string validation_results = "{}";  // JSON object text
  std::string outcome;                    // success | rejected_validation
  std::string rationale;
};
using Event =
    std::variant<Registered, VersionAdded, StateChanged, FlagChanged, PromotionHeld, RunRecorded,
                 DivergenceRecorded, FixtureAdded, EvolutionAttempted, EvolutionScheduled>;

struct Version {
  std::string id;
  std::int64_t version_number = 1;
  std::string yaml_backbone, step_content, output_schemas, created_by;
  std::optional<std::string> changelog;
  Micros created_at = 0;
};

// A run as the gates see it.
struct RunFacts {
  std::string version_id, status;
  bool valid = false;
  Micros started_at = 0;
};
struct DivergenceFacts {
  std::string run_id;
  double agreement = 0;
};

struct PendingWork {
  std::string work_id, triggered_by;
  std::optional<std::string> nightly_run_id;
  Micros scheduled_at = 0;
};

struct Held {
  std::string to_state, version_id, metrics;
  Micros since = 0;
};

// The aggregate: the record, its versions and the evidence the policies read.
struct Skill {
  std::string id, capability_name, state;
  bool requires_human_gate = true;
  std::optional<double> baseline_agreement;
  std::optional<std::string> current_version_id;
  Micros created_at = 0, updated_at = 0;
  std::vector<Version> versions;  // in version_number order
  std::optional<Held> held;       // the latest held promotion, while it is still pending
  // Evolution work: scheduled for a degraded skill and not yet attempted (SPEC §2.19.1).
  std::optional<PendingWork> pending_evolution;
  // Evidence, in recording order.
  std::vector<std::string> run_order;
  std::unordered_map<std::string, RunFacts> runs;
  std::vector<DivergenceFacts> divergences;
  std::vector<std::string> fixtures;          // fixture ids, in order
  std::vector<std::string> attempt_outcomes;  // evolution attempts, in order
};

std::string stream_name(const std::string& id);
double shadow_sample_rate(const Skill& s, double trusted_rate);
// Valid for the sandbox gate: succeeded and no step flagged continued/step_failed/skill_failed.
bool is_valid_run(const RunRecorded& r);
// Whether one step's validation status makes its run invalid for the sandbox gate.
bool invalidates_run(std::string_view validation_status);
// A recorded run joins the evidence (what evolve does with a RunRecorded).
void add_run(Skill& s, std::string run_id, RunFacts facts);

void evolve(std::optional<Skill>& s, const Event& e, Micros recorded_at);

// The structural check of SPEC §2.19.4 (yaml-cpp); nullopt when it passes, else the reason.
std::optional<std::string> structural_check(const std::string& yaml_backbone,
                                            const nlohmann::json& step_content,
                                            const nlohmann::json& output_schemas);
// The number of steps of a backbone that passes the check.
std::int64_t step_count(const std::string& yaml_backbone);

// Wilson score interval (SPEC §2.13); z by exact match of 0.90/0.95/0.99, else 1.96.
std::pair<double, double> wilson(std::int64_t successes, std::int64_t trials, double confidence);

struct TransitionRequest {
  std::string to_state, reason;
  std::string actor;  // token name or "system"
  std::optional<std::string> actor_id, notes;
};
// Steps 2-6 of SPEC §2.6 (parsing, existence and If-Match are the caller's), and the baseline of
// §2.9: `human_baseline` = the mean of the latest baseline_reset_window divergences (nullopt when
// there are none), used for human_approval to trusted.
std::expected<StateChanged, Problem> decide_transition(const Skill& s, const TransitionRequest& r,
                                                       const std::string& transition_id,
                                                       std::optional<double> human_baseline);
// Whether the human gate refuses `actor` moving the skill to `to_state` (SPEC §2.7).
bool human_gate_blocks(const Skill& s, const std::string& actor, const std::string& to_state);

// Mean overall_agreement of the latest `window` divergences (all versions); nullopt when none.
std::optional<double> recent_mean_agreement(const Skill& s, std::int64_t window);

struct Knobs {
  std::int64_t sandbox_min_runs = 20;
  double sandbox_validity_rate = 0.90;
  std::int64_t shadow_min_runs = 100;
  double shadow_agreement_rate = 0.85;
  double shadow_max_failure_rate = 0.10;
  std::int64_t baseline_reset_window = 100;
  std::int64_t degradation_window = 30;
  double degradation_confidence = 0.95;
  double degradation_threshold = 0.5;
};

// What an automatic policy appends: a transition or a held promotion (never both), or nothing.
struct PolicyOutcome {
  std::optional<StateChanged> transition;
  std::optional<PromotionHeld> held;
};

// The sandbox → shadow_primary gate after a run of the current version (SPEC §2.12).
PolicyOutcome sandbox_gate(const Skill& s, const Knobs& k, const std::string& transition_id);
// The shadow_primary → trusted gate after a divergence (SPEC §2.12).
PolicyOutcome shadow_gate(const Skill& s, const Knobs& k, const std::string& transition_id);

struct Degradation {
  std::string outcome;  // insufficient_data | no_degradation | flagged
  std::int64_t successes = 0, trials = 0;
  double lower = 0, upper = 1;
  std::optional<double> baseline;
  std::optional<StateChanged> transition;  // flagged: trusted → flagged_for_review
};
// Degradation detection of a trusted skill (SPEC §2.13).
Degradation detect_degradation(const Skill& s, const Knobs& k, const std::string& transition_id);

// Corrections (SPEC §2.14), stored on the task type's capability stream.
struct CorrectionRecorded {
  std::string correction_id, task_type;
  std::optional<std::string> user_id, task_id, input_text;
  std::string field_corrected;
  std::optional<std::string> original_value, corrected_value, rule_extracted;
  Micros timestamp = 0;
};
std::string render_correction(const CorrectionRecorded& c, Micros recorded_at);

struct ClusterHit {
  std::int64_t count = 0, window = 0;
  StateChanged transition;  // → flagged_for_review, reason degradation
};
// The correction-cluster check of one skill (SPEC §2.14): eligible when trusted or
// shadow_primary; `timestamps` are the task type's correction timestamps (any order).
std::optional<ClusterHit> correction_cluster(const Skill& s, const std::vector<Micros>& timestamps,
                                             std::int64_t window_runs, std::int64_t threshold,
                                             const std::string& transition_id);

// Resources of API §3-5 (S, S+, V, T, R, R+, D).
std::string render(const Skill& s, double trusted_rate, bool detail);
std::string render(const Version& v, const std::string& skill_id);
std::string render_transition(const StateChanged& c, const std::string& skill_id,
                              const std::string& actor, Micros at, std::uint64_t position);
std::string render_run(const RunRecorded& r, const std::string& skill_id, Micros recorded_at,
                       bool detail);
std::string render_divergence(const DivergenceRecorded& d, const std::string& skill_id,
                              Micros created_at);

// Reads back the record part of what render(Skill, _, true) wrote (no evidence, versions only
// the current one); nullopt when `text` is not such a resource.
std::optional<Skill> skill_from_json(std::string_view text);
std::optional<Version> version_from_json(const nlohmann::json& j);

// Fixtures (SPEC §2.15): the structural schema of a value, tool mocks from a run's
// tool_result_cache (nullopt when none), the capture of a succeeded run, and `F`.
nlohmann::ordered_json infer_schema(const nlohmann::ordered_json& v);
std::optional<nlohmann::json> tool_mocks_from_cache(const nlohmann::json& cache);
std::expected<FixtureAdded, Problem> capture_fixture(const RunRecorded& run,
                                                     const std::string& fixture_id);
std::string render_fixture(const FixtureAdded& f, const std::string& skill_id, Micros created_at);

// Evolution scheduling of one degraded skill (SPEC §2.19.1).
struct ScheduleOutcome {
  std::optional<EvolutionScheduled> scheduled;
  std::optional<std::string> skipped;  // no_current_version | insufficient_divergence
  bool pending = false;                // already has pending work: left as is
  bool out_of_budget = false;          // stop scheduling
};
ScheduleOutcome decide_schedule_evolution(const Skill& s, std::int64_t min_divergence_cases,
                                          std::int64_t remaining_micro_usd,
                                          std::int64_t estimate_micro_usd,
                                          const std::string& work_id,
                                          const std::optional<std::string>& nightly_run_id);

// Evolution attempts (SPEC §2.19.3-2.19.4).
struct AttemptRequest {
  std::string triggered_by = "manual";
  std::optional<std::string> claude_invocation_id;
  std::int64_t cost_micro_usd = 0;
  std::optional<std::int64_t> latency_ms;
  bool malformed = false;
  std::string diagnosis = "{}";  // JSON object text
  std::string yaml_backbone;
  nlohmann::json step_content, output_schemas;
  std::optional<std::string> changelog;
  std::vector<std::string> targeted_failure_cases;
  nlohmann::json evidence =
      nlohmann::json::object();  // targeted, fixture_regression, recent_success
};
struct EvolutionKnobs {
  std::int64_t min_divergence_cases = 15;
  double targeted_pass_rate = 0.80, fixture_pass_rate = 0.95;
  std::int64_t recent_success_count = 20, recent_success_window_days = 30;
  std::int64_t max_consecutive_failures = 2;
  bool require_gate_evidence = false;
};
struct AttemptDecision {
  EvolutionAttempted attempt;
  std::optional<VersionAdded> version;     // success
  std::optional<StateChanged> transition;  // → draft (success) or → claude_native (streak)
  std::optional<std::string> failed_gate;  // for the gate_failure auto-lesson
};
// The recent_success case set: succeeded runs started within the window, latest first, capped.
std::vector<std::string> recent_success_cases(const Skill& s, const EvolutionKnobs& k, Micros now);
std::expected<AttemptDecision, Problem> decide_attempt(const Skill& s, const AttemptRequest& r,
                                                       const EvolutionKnobs& k, Micros now,
                                                       const std::string& attempt_id,
                                                       const std::string& version_id,
                                                       const std::string& transition_id);
std::string render_attempt(const EvolutionAttempted& a, const std::string& skill_id, Micros at,
                           std::uint64_t position);

// The nightly run `NR` of API §11 from NightlyRunCompleted (the report's budget in micro-USD is
// served in USD).
std::string render_nightly(const std::string& run_id, const std::string& trigger, Micros started,
                           Micros finished, const std::string& report);

// Clamps a submitted agreement to [0, 1] (SPEC §2.11).
double clamp_agreement(double submitted);

}  // namespace annals::skill

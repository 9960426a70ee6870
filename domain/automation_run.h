// Automation runs as decisions (SPEC §3.7-3.12): the guards of a start, the budget skip, the
// interpretation of an executor's answer, the cost cap, state_write, the alert decision and its
// content, the counters and the failure pause. Pure: the dispatcher (commands/dispatcher.h) does
// the I/O and hands the outcomes here.
#pragma once

#include <expected>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "domain/automation.h"
#include "domain/problem.h"

namespace annals::automation {

enum class Trigger { kSchedule, kRunNow, kRunNowForced };
const char* trigger_name(Trigger t);

// Where a run goes (SPEC §3.7 step 3), chosen by the caller from the capability's skill.
struct Path {
  std::string execution_path = "claude_native";  // skill | claude_native
  std::optional<std::string> skill_id, skill_version_id;
};

struct StartRefusal {
  Problem problem;
  std::optional<std::int64_t> retry_after_seconds;  // min-interval refusals
};

// What a start appends: RunStarted, plus RunFinished when the budget guard skipped the run.
struct Start {
  RunStarted started;
  std::optional<RunFinished> skipped;
};

// The guards of step 1 and the start of steps 2-4. A scheduled start of an automation that is not
// due (paused, deleted, in flight, next_run_at in the future) is refused with kWrongState.
std::expected<Start, StartRefusal> decide_start(const Automation& a, Trigger trigger,
                                                const std::string& run_id, const Path& path,
                                                bool budget_paused, Micros now);

// What the executor call produced (SPEC §3.8): an answer object, or a failure text.
struct ExecutorAnswer {
  std::optional<nlohmann::ordered_json> result;  // the executor's JSON object
  std::optional<std::string> failure;            // "timeout", "executor http 500", …
};

struct Finish {
  RunFinished finished;
  std::optional<Paused> paused;  // the failure pause, in the same commit
};

// Steps 6-8 for the in-flight run `run_id`; a run that is not in flight → kWrongState.
std::expected<Finish, Problem> decide_finish(const Automation& a, const std::string& run_id,
                                             const ExecutorAnswer& answer,
                                             std::int64_t failure_pause_threshold, Micros now);

// Crash recovery (SPEC §3.14): the in-flight run finished as failed "interrupted".
std::expected<Finish, Problem> decide_interrupted(const Automation& a, const std::string& run_id,
                                                  std::int64_t failure_pause_threshold, Micros now);

// `Automation '<name>' alert:\nOutput: <output, 2-space indented, keys as received>`.
std::string alert_content(const std::string& name, const nlohmann::ordered_json& output);

// The executor's request body (SPEC §3.7 step 5).
nlohmann::ordered_json executor_request(const Automation& a, const RunStarted& s);

// The run resource `AR` of API §12, built from its events.
struct Delivery {
  std::string channel;
  bool delivered = false;
  std::optional<std::int64_t> http_status;
  std::optional<std::string> error;
  std::int64_t latency_ms = 0;
  Micros at = 0;
};
struct Run {
  std::string id, automation_id, trigger;
  std::optional<Micros> scheduled_for;
  Micros started_at = 0;
  std::optional<Micros> finished_at;
  std::string status = "running";
  std::string execution_path;
  std::optional<std::string> skill_id, skill_version_id, skill_run_id, invocation_log_id;
  std::optional<std::string> output;  // JSON text
  bool alert_fired = false;
  std::optional<std::string> alert_content;
  std::vector<Delivery> deliveries;
  std::optional<std::string> error;
  std::int64_t cost_micro_usd = 0;
};
Run run_started(const std::string& automation_id, const RunStarted& s);
void run_finished(Run& r, const RunFinished& f);
void run_delivered(Run& r, const AlertDelivered& d, Micros at);
std::string render(const Run& r);
// Reads back what render(Run) wrote; nullopt when `text` is not such a resource.
std::optional<Run> run_from_json(std::string_view text);

// The channels an alert goes to: the automation's, or the default list when empty.
std::vector<std::string> alert_channels(const Automation& a,
                                        const std::vector<std::string>& defaults);

}  // namespace annals::automation

// The automation aggregate as a decider (SPEC §3.1-3.3, §3.6): definition rules, the status
// machine, next_run_at, and the resource `AU` of API §12. Runs (start/finish, failure pause) join
// automation_run.h with the dispatcher's decisions.
#pragma once

#include <expected>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "domain/json_text.h"
#include "domain/problem.h"
#include "domain/time.h"

namespace annals::automation {

struct Automation {
  std::string id, user_id, name;
  std::optional<std::string> description;
  std::string capability_name;
  nlohmann::json inputs = nlohmann::json::object();
  std::string trigger_type;  // on_schedule | on_manual
  std::optional<std::string> schedule;
  std::string timezone = "UTC";
  nlohmann::json alert_conditions = nlohmann::json::object();
  std::vector<std::string> alert_channels;
  std::optional<std::int64_t> max_cost_per_run_micro_usd;  // nullopt = uncapped
  std::int64_t min_interval_seconds = 300;
  std::string status = "active";  // active | paused | deleted
  std::optional<Micros> last_run_at, next_run_at;
  std::int64_t run_count = 0, failure_count = 0;
  nlohmann::json state = nlohmann::json::object();
  std::optional<std::string> in_flight_run_id;
  std::string created_via = "api";
  Micros created_at = 0, updated_at = 0;
  // Not part of the resource: the finished_at of the latest succeeded run (the executor's
  // prior_run_end), known to aggregates folded from the log.
  std::optional<Micros> prior_run_end;
};

// Events (SPEC §6.3).
struct Created {
  Automation automation;  // as created, with next_run_at
};
struct Updated {
  nlohmann::json changes;  // changed field → new value (money in micro-USD)
  std::optional<Micros> next_run_at;
};
struct Paused {
  std::string reason;  // manual | failures
  std::int64_t failure_count = 0;
};
struct Resumed {
  std::optional<Micros> next_run_at;
};
struct Deleted {};
struct RunStarted {
  std::string run_id, trigger;  // schedule | run_now | run_now_forced
  std::optional<Micros> scheduled_for;
  Micros started_at = 0;
  std::string execution_path;  // skill | claude_native
  std::optional<std::string> skill_id, skill_version_id;
  std::optional<Micros> next_run_at;
};
struct RunFinished {
  std::string run_id, status;         // succeeded | failed | escalated | skipped_budget
  std::optional<std::string> output;  // JSON object text (keys in the order received)
  std::int64_t cost_micro_usd = 0;
  std::optional<std::string> error, skill_run_id, invocation_log_id;
  bool alert_fired = false;
  std::optional<std::string> alert_content;
  std::optional<nlohmann::json> state;  // present only when the state changed
  Micros finished_at = 0;
  std::int64_t run_count = 0, failure_count = 0;
};
struct AlertDelivered {
  std::string run_id, channel;
  bool delivered = false;
  std::optional<std::int64_t> http_status;
  std::optional<std::string> error;
  std::int64_t latency_ms = 0;
};

struct Knobs {
  std::int64_t min_interval_default_seconds = 300;
  std::int64_t max_cost_per_run_default_micro_usd = 2'000'000;
};

// A create request: absent optional fields take the defaults of SPEC §3.1.
struct Draft {
  std::string name, capability_name, trigger_type;
  std::optional<std::string> description, schedule, timezone, created_via;
  nlohmann::json inputs;
  std::optional<nlohmann::json> alert_conditions;  // absent → the capability's default
  std::optional<std::vector<std::string>> alert_channels;
  bool max_cost_given = false;  // true with nullopt = explicit null (uncapped)
  std::optional<std::int64_t> max_cost_micro_usd;
  std::optional<std::int64_t> min_interval_seconds;
};

std::string stream_name(const std::string& id);

// Every rule on the definition as a whole (SPEC §3.1, §3.3, §3.4, §3.6, §3.10), judged at `now`.
std::vector<FieldError> validate_definition(const Automation& a, Micros now);

// next_run_at for an active on_schedule automation at `now` (SPEC §3.6); nullopt otherwise.
std::optional<Micros> next_run_at(const Automation& a, Micros now);

// Creation. The capability's default alert conditions fill in absent ones; a taken name → 409.
std::expected<Created, Problem> decide_create(Draft d, const std::string& id,
                                              const std::string& user_id,
                                              const nlohmann::json& capability_default_alerts,
                                              bool name_taken, Micros now, const Knobs& knobs);

// PATCH (API §12.3): `patch` is the request object; nullopt = an empty patch (no event).
// name_taken(name) tells whether another non-deleted automation of the owner has that name.
std::expected<std::optional<Updated>, Problem> decide_patch(const Automation& a,
                                                            const nlohmann::json& patch,
                                                            bool new_name_taken, Micros now);
std::expected<std::optional<Paused>, Problem> decide_pause(const Automation& a);
std::expected<std::optional<Resumed>, Problem> decide_resume(const Automation& a, Micros now);
// Already deleted → nullopt (idempotent).
std::optional<Deleted> decide_delete(const Automation& a);

using Event = std::variant<Created, Updated, Paused, Resumed, Deleted, RunStarted, RunFinished,
                           AlertDelivered>;
// updated_at follows every event but AlertDelivered (SPEC §3.1).
void evolve(std::optional<Automation>& a, const Event& e, Micros recorded_at);

void render(const Automation& a, JsonWriter& w);
std::string render(const Automation& a);
// Reads back what render() wrote; nullopt when `j` is not such a resource.
std::optional<Automation> from_json(const nlohmann::json& j);

}  // namespace annals::automation

#include "domain/automation_run.h"

#include "domain/alert.h"
#include "domain/json_text.h"
#include "domain/money.h"

namespace annals::automation {

namespace {

using nlohmann::json;
using nlohmann::ordered_json;

std::optional<std::string> string_or_null(const ordered_json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::string dump(const ordered_json& j) {
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

RunFinished finished_base(const Automation& a, const std::string& run_id, Micros now) {
  RunFinished f;
  f.run_id = run_id;
  f.finished_at = now;
  f.run_count = a.run_count;
  f.failure_count = a.failure_count;
  return f;
}

// Counters (step 8) and the failure pause (§3.12).
Finish count(const Automation& a, RunFinished f, std::int64_t threshold) {
  Finish out;
  if (f.status != "skipped_budget") ++f.run_count;
  if (f.status == "failed" || f.status == "escalated") {
    ++f.failure_count;
  } else if (f.status == "succeeded") {
    f.failure_count = 0;
  }
  if (a.status == "active" && (f.status == "failed" || f.status == "escalated") &&
      f.failure_count >= threshold) {
    out.paused = Paused{"failures", f.failure_count};
  }
  out.finished = std::move(f);
  return out;
}

std::expected<void, Problem> check_in_flight(const Automation& a, const std::string& run_id) {
  if (a.in_flight_run_id != run_id) {
    return std::unexpected(Problem::make(
        ProblemKind::kWrongState, "Run " + run_id + " is not in flight for automation " + a.id));
  }
  return {};
}

}  // namespace

const char* trigger_name(Trigger t) {
  switch (t) {
    case Trigger::kSchedule:
      return "schedule";
    case Trigger::kRunNow:
      return "run_now";
    case Trigger::kRunNowForced:
      return "run_now_forced";
  }
  return "schedule";
}

std::expected<Start, StartRefusal> decide_start(const Automation& a, Trigger trigger,
                                                const std::string& run_id, const Path& path,
                                                bool budget_paused, Micros now) {
  auto refuse = [](ProblemKind kind, std::string detail) {
    return std::unexpected(StartRefusal{Problem::make(kind, std::move(detail)), std::nullopt});
  };
  if (trigger == Trigger::kSchedule) {
    if (a.status != "active" || a.in_flight_run_id || !a.next_run_at || *a.next_run_at > now) {
      return refuse(ProblemKind::kWrongState, "The automation is not due.");
    }
  } else {
    if (a.status == "deleted") return refuse(ProblemKind::kDeleted, "The automation is deleted.");
    if (a.status == "paused" && trigger != Trigger::kRunNowForced) {
      return refuse(ProblemKind::kWrongState,
                    "The automation is paused; use force=true to run it anyway.");
    }
    if (a.in_flight_run_id) {
      return refuse(ProblemKind::kRunInFlight,
                    "Run " + *a.in_flight_run_id + " of this automation is in flight.");
    }
    if (a.last_run_at) {
      const Micros allowed = *a.last_run_at + a.min_interval_seconds * kMicrosPerSecond;
      if (now < allowed) {
        const std::int64_t wait = (allowed - now + kMicrosPerSecond - 1) / kMicrosPerSecond;
        return std::unexpected(
            StartRefusal{Problem::make(ProblemKind::kMinInterval,
                                       "The last run started less than min_interval_seconds (" +
                                           std::to_string(a.min_interval_seconds) +
                                           ") ago; retry in " + std::to_string(wait) + " s."),
                         wait});
      }
    }
  }
  Start s;
  s.started.run_id = run_id;
  s.started.trigger = trigger_name(trigger);
  if (trigger == Trigger::kSchedule) s.started.scheduled_for = a.next_run_at;
  s.started.started_at = now;
  s.started.execution_path = path.execution_path;
  if (path.execution_path == "skill") {
    s.started.skill_id = path.skill_id;
    s.started.skill_version_id = path.skill_version_id;
  }
  Automation after = a;
  after.last_run_at = now;
  s.started.next_run_at = next_run_at(after, now);
  if (budget_paused) {
    RunFinished f = finished_base(a, run_id, now);
    f.status = "skipped_budget";
    s.skipped = std::move(f);
  }
  return s;
}

std::expected<Finish, Problem> decide_finish(const Automation& a, const std::string& run_id,
                                             const ExecutorAnswer& answer,
                                             std::int64_t failure_pause_threshold, Micros now) {
  if (auto ok = check_in_flight(a, run_id); !ok) return std::unexpected(ok.error());
  RunFinished f = finished_base(a, run_id, now);
  if (!answer.result) {
    f.status = "failed";
    f.error = answer.failure.value_or("executor failed");
    return count(a, std::move(f), failure_pause_threshold);
  }
  const ordered_json& r = *answer.result;
  static const std::vector<std::string> kStatuses = {"succeeded", "failed", "escalated",
                                                     "skipped_budget"};
  const auto status = string_or_null(r, "status");
  f.error = string_or_null(r, "error");
  f.skill_run_id = string_or_null(r, "skill_run_id");
  f.invocation_log_id = string_or_null(r, "invocation_log_id");
  std::optional<ordered_json> output;
  if (auto it = r.find("output"); it != r.end() && !it->is_null()) {
    output = it->is_object() ? *it : ordered_json{{"output", *it}};
    f.output = dump(*output);
  }
  if (auto it = r.find("cost_usd"); it != r.end() && !it->is_null()) {
    std::optional<std::int64_t> cost;
    if (it->is_number() && !it->is_boolean()) cost = usd_to_micros(it->get<double>());
    if (!cost) {
      f.status = "failed";
      f.error = "executor returned invalid cost_usd";
      return count(a, std::move(f), failure_pause_threshold);
    }
    f.cost_micro_usd = *cost;
  }
  if (!status || std::find(kStatuses.begin(), kStatuses.end(), *status) == kStatuses.end()) {
    f.status = "failed";
    f.error = "executor returned invalid status";
    return count(a, std::move(f), failure_pause_threshold);
  }
  f.status = *status;
  if (f.status != "succeeded") return count(a, std::move(f), failure_pause_threshold);
  // Cost cap (§3.9): strict, micro-USD; a null cap never trips.
  if (a.max_cost_per_run_micro_usd && f.cost_micro_usd > *a.max_cost_per_run_micro_usd) {
    f.status = "failed";
    f.error = "cost_exceeded";
    return count(a, std::move(f), failure_pause_threshold);
  }
  if (auto it = r.find("state_write"); it != r.end() && it->is_object()) {
    json state = a.state;
    for (const auto& [k, v] : it->items()) {
      if (v.is_null()) {
        state.erase(k);
      } else {
        state[k] = json::parse(dump(v));
      }
    }
    if (state != a.state) f.state = std::move(state);
  }
  if (output && output->is_object()) {
    const json plain = json::parse(*f.output);
    if (alert::evaluate(a.alert_conditions, plain)) {
      f.alert_fired = true;
      f.alert_content = alert_content(a.name, *output);
    }
  }
  return count(a, std::move(f), failure_pause_threshold);
}

std::expected<Finish, Problem> decide_interrupted(const Automation& a, const std::string& run_id,
                                                  std::int64_t failure_pause_threshold,
                                                  Micros now) {
  return decide_finish(a, run_id, ExecutorAnswer{std::nullopt, "interrupted"},
                       failure_pause_threshold, now);
}

std::string alert_content(const std::string& name, const ordered_json& output) {
  return "Automation '" + name +
         "' alert:\nOutput: " + output.dump(2, ' ', false, ordered_json::error_handler_t::replace);
}

ordered_json executor_request(const Automation& a, const RunStarted& s) {
  ordered_json inputs = ordered_json::parse(a.inputs.dump());
  if (!inputs.is_object()) inputs = ordered_json::object();
  inputs["prior_run_end"] =
      a.prior_run_end ? ordered_json(format_instant(*a.prior_run_end)) : ordered_json();
  if (a.state.is_object() && !a.state.empty())
    inputs["state"] = ordered_json::parse(a.state.dump());
  auto opt = [](const std::optional<std::string>& v) {
    return v ? ordered_json(*v) : ordered_json();
  };
  return ordered_json{{"automation_id", a.id},
                      {"automation_name", a.name},
                      {"run_id", s.run_id},
                      {"user_id", a.user_id},
                      {"capability", a.capability_name},
                      {"execution_path", s.execution_path},
                      {"skill_id", opt(s.skill_id)},
                      {"skill_version_id", opt(s.skill_version_id)},
                      {"inputs", std::move(inputs)}};
}

Run run_started(const std::string& automation_id, const RunStarted& s) {
  Run r;
  r.id = s.run_id;
  r.automation_id = automation_id;
  r.trigger = s.trigger;
  r.scheduled_for = s.scheduled_for;
  r.started_at = s.started_at;
  r.execution_path = s.execution_path;
  r.skill_id = s.skill_id;
  r.skill_version_id = s.skill_version_id;
  return r;
}

void run_finished(Run& r, const RunFinished& f) {
  r.status = f.status;
  r.finished_at = f.finished_at;
  r.output = f.output;
  r.cost_micro_usd = f.cost_micro_usd;
  r.error = f.error;
  r.skill_run_id = f.skill_run_id;
  r.invocation_log_id = f.invocation_log_id;
  r.alert_fired = f.alert_fired;
  r.alert_content = f.alert_content;
}

void run_delivered(Run& r, const AlertDelivered& d, Micros at) {
  r.deliveries.push_back({d.channel, d.delivered, d.http_status, d.error, d.latency_ms, at});
}

std::string render(const Run& r) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("id").value(r.id);
  w.key("automation_id").value(r.automation_id);
  w.key("trigger").value(r.trigger);
  w.key("scheduled_for").instant(r.scheduled_for);
  w.key("started_at").instant(r.started_at);
  w.key("finished_at").instant(r.finished_at);
  w.key("status").value(r.status);
  w.key("execution_path").value(r.execution_path);
  w.key("skill_id").value(r.skill_id);
  w.key("skill_version_id").value(r.skill_version_id);
  w.key("skill_run_id").value(r.skill_run_id);
  w.key("invocation_log_id").value(r.invocation_log_id);
  w.key("output").raw_or_null(r.output);
  w.key("alert_fired").value(r.alert_fired);
  w.key("alert_content").value(r.alert_content);
  bool sent = false;
  for (const auto& d : r.deliveries) sent = sent || d.delivered;
  w.key("alert_sent").value(sent);
  w.key("deliveries").begin_array();
  for (const auto& d : r.deliveries) {
    w.begin_object();
    w.key("channel").value(d.channel);
    w.key("delivered").value(d.delivered);
    w.key("http_status");
    if (d.http_status) {
      w.value(*d.http_status);
    } else {
      w.null();
    }
    w.key("error").value(d.error);
    w.key("latency_ms").value(d.latency_ms);
    w.key("at").instant(d.at);
    w.end_object();
  }
  w.end_array();
  w.key("error").value(r.error);
  w.key("cost_usd").usd(r.cost_micro_usd);
  w.end_object();
  return out;
}

std::optional<Run> run_from_json(std::string_view text) {
  try {
    const auto j = ordered_json::parse(text);
    auto opt_string = [](const ordered_json& o, const char* k) {
      return o.at(k).is_null() ? std::nullopt
                               : std::optional<std::string>(o.at(k).get<std::string>());
    };
    auto opt_instant = [](const ordered_json& o, const char* k) {
      return o.at(k).is_null() ? std::nullopt : parse_instant(o.at(k).get<std::string>());
    };
    Run r;
    r.id = j.at("id").get<std::string>();
    r.automation_id = j.at("automation_id").get<std::string>();
    r.trigger = j.at("trigger").get<std::string>();
    r.scheduled_for = opt_instant(j, "scheduled_for");
    r.started_at = opt_instant(j, "started_at").value_or(0);
    r.finished_at = opt_instant(j, "finished_at");
    r.status = j.at("status").get<std::string>();
    r.execution_path = j.at("execution_path").get<std::string>();
    r.skill_id = opt_string(j, "skill_id");
    r.skill_version_id = opt_string(j, "skill_version_id");
    r.skill_run_id = opt_string(j, "skill_run_id");
    r.invocation_log_id = opt_string(j, "invocation_log_id");
    if (!j.at("output").is_null()) r.output = dump(j.at("output"));
    r.alert_fired = j.at("alert_fired").get<bool>();
    r.alert_content = opt_string(j, "alert_content");
    for (const auto& d : j.at("deliveries")) {
      Delivery x;
      x.channel = d.at("channel").get<std::string>();
      x.delivered = d.at("delivered").get<bool>();
      if (!d.at("http_status").is_null()) x.http_status = d.at("http_status").get<std::int64_t>();
      x.error = opt_string(d, "error");
      x.latency_ms = d.at("latency_ms").get<std::int64_t>();
      x.at = opt_instant(d, "at").value_or(0);
      r.deliveries.push_back(std::move(x));
    }
    r.error = opt_string(j, "error");
    r.cost_micro_usd = usd_to_micros(j.at("cost_usd").get<double>()).value_or(0);
    return r;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::vector<std::string> alert_channels(const Automation& a,
                                        const std::vector<std::string>& defaults) {
  return a.alert_channels.empty() ? defaults : a.alert_channels;
}

}  // namespace annals::automation

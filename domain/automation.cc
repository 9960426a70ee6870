#include "domain/automation.h"

#include <set>

#include "domain/alert.h"
#include "domain/cron.h"
#include "domain/text_rules.h"

namespace annals::automation {

namespace {

using nlohmann::json;

constexpr std::int64_t kMaxMinInterval = 31'622'400;

std::optional<cron::Schedule> parsed_schedule(const Automation& a) {
  if (!a.schedule) return std::nullopt;
  auto s = cron::parse(*a.schedule);
  if (!s) return std::nullopt;
  return *s;
}

json money_json(const std::optional<std::int64_t>& micros) {
  return micros ? json(*micros) : json();
}

}  // namespace

std::string stream_name(const std::string& id) { return "automation-" + id; }

std::vector<FieldError> validate_definition(const Automation& a, Micros now) {
  std::vector<FieldError> errors;
  const auto name_len = utf8_length(a.name);
  if (name_len < 1 || name_len > 200) errors.push_back({"name", "must be 1-200 characters"});
  if (a.description && utf8_length(*a.description) > 2000) {
    errors.push_back({"description", "must be at most 2000 characters"});
  }
  if (!a.inputs.is_object()) errors.push_back({"inputs", "must be an object"});
  if (a.trigger_type != "on_schedule" && a.trigger_type != "on_manual") {
    errors.push_back({"trigger_type", "must be one of: on_schedule, on_manual"});
  }
  const auto zone = cron::Zone::find(a.timezone);
  if (!zone) errors.push_back({"timezone", "unknown time zone '" + a.timezone + "'"});
  if (!a.schedule && a.trigger_type == "on_schedule") {
    errors.push_back({"schedule", "is required when trigger_type is on_schedule"});
  }
  if (a.schedule) {
    if (a.schedule->size() > 200) {
      errors.push_back({"schedule", "must be at most 200 characters"});
    } else if (auto s = cron::parse(*a.schedule); !s) {
      errors.push_back({"schedule", "invalid cron expression '" + *a.schedule + "': " + s.error()});
    } else if (zone && !cron::next_fire(*s, *zone, now)) {
      errors.push_back({"schedule", "cron expression '" + *a.schedule + "' never fires"});
    } else if (a.trigger_type == "on_schedule" &&
               cron::fires_closer_than(*s, a.min_interval_seconds)) {
      const auto gap = cron::smallest_gap_seconds(*s);
      if (gap && *gap < a.min_interval_seconds) {
        errors.push_back({"schedule", "schedule fires every " + std::to_string(*gap) +
                                          "s, closer than min_interval_seconds " +
                                          std::to_string(a.min_interval_seconds)});
      }
    }
  }
  auto alert_errors = alert::validate(a.alert_conditions, "alert_conditions");
  errors.insert(errors.end(), alert_errors.begin(), alert_errors.end());
  if (a.alert_channels.size() > 16) errors.push_back({"alert_channels", "at most 16 channels"});
  std::set<std::string> seen;
  for (std::size_t i = 0; i < a.alert_channels.size(); ++i) {
    const auto& ch = a.alert_channels[i];
    const std::string field = "alert_channels[" + std::to_string(i) + "]";
    if (!is_slug(ch)) errors.push_back({field, "must match ^[a-z0-9][a-z0-9_.-]{0,63}$"});
    if (!seen.insert(ch).second) errors.push_back({field, "duplicate channel '" + ch + "'"});
  }
  if (a.max_cost_per_run_micro_usd && *a.max_cost_per_run_micro_usd < 0) {
    errors.push_back({"max_cost_per_run_usd", "must be >= 0"});
  }
  if (a.min_interval_seconds < 0 || a.min_interval_seconds > kMaxMinInterval) {
    errors.push_back({"min_interval_seconds", "must be between 0 and 31622400"});
  }
  if (!is_slug(a.created_via, 20))
    errors.push_back({"created_via", "must be a slug of at most 20 characters"});
  return errors;
}

std::optional<Micros> next_run_at(const Automation& a, Micros now) {
  if (a.status != "active" || a.trigger_type != "on_schedule") return std::nullopt;
  const auto s = parsed_schedule(a);
  const auto zone = cron::Zone::find(a.timezone);
  if (!s || !zone) return std::nullopt;
  // The first fire t > now with t ≥ last_run_at + min_interval_seconds.
  Micros from = now;
  if (a.last_run_at) {
    from = std::max(from, *a.last_run_at + a.min_interval_seconds * kMicrosPerSecond - 1);
  }
  return cron::next_fire(*s, *zone, from);
}

std::expected<Created, Problem> decide_create(Draft d, const std::string& id,
                                              const std::string& user_id,
                                              const json& capability_default_alerts,
                                              bool name_taken, Micros now, const Knobs& knobs) {
  Automation a;
  a.id = id;
  a.user_id = user_id;
  a.name = std::move(d.name);
  a.description = std::move(d.description);
  a.capability_name = std::move(d.capability_name);
  a.inputs = std::move(d.inputs);
  a.trigger_type = std::move(d.trigger_type);
  a.schedule = std::move(d.schedule);
  a.timezone = d.timezone.value_or("UTC");
  a.alert_conditions = d.alert_conditions.value_or(capability_default_alerts);
  a.alert_channels = d.alert_channels.value_or(std::vector<std::string>{});
  a.max_cost_per_run_micro_usd = d.max_cost_given
                                     ? d.max_cost_micro_usd
                                     : std::optional(knobs.max_cost_per_run_default_micro_usd);
  a.min_interval_seconds = d.min_interval_seconds.value_or(knobs.min_interval_default_seconds);
  a.created_via = d.created_via.value_or("api");
  a.created_at = a.updated_at = now;
  if (auto errors = validate_definition(a, now); !errors.empty()) {
    return std::unexpected(Problem::validation(std::move(errors)));
  }
  if (name_taken) {
    return std::unexpected(Problem::make(ProblemKind::kDuplicate,
                                         "An automation named '" + a.name + "' already exists."));
  }
  a.next_run_at = next_run_at(a, now);
  return Created{std::move(a)};
}

std::expected<std::optional<Updated>, Problem> decide_patch(const Automation& a, const json& patch,
                                                            bool new_name_taken, Micros now) {
  static const std::set<std::string> kPatchable = {"name",
                                                   "description",
                                                   "inputs",
                                                   "trigger_type",
                                                   "schedule",
                                                   "timezone",
                                                   "alert_conditions",
                                                   "alert_channels",
                                                   "max_cost_per_run_usd",
                                                   "min_interval_seconds"};
  std::vector<FieldError> errors;
  Automation next = a;
  json changes = json::object();
  for (const auto& [key, value] : patch.items()) {
    if (!kPatchable.contains(key)) {
      errors.push_back({key, "is not a patchable field"});
      continue;
    }
    auto string_field = [&](std::string& target) {
      if (!value.is_string()) return errors.push_back({key, "must be a string"});
      target = value.get<std::string>();
    };
    auto nullable_string = [&](std::optional<std::string>& target) {
      if (value.is_null()) {
        target.reset();
      } else if (!value.is_string()) {
        errors.push_back({key, "must be a string or null"});
      } else {
        target = value.get<std::string>();
      }
    };
    if (key == "name") string_field(next.name);
    if (key == "trigger_type") string_field(next.trigger_type);
    if (key == "timezone") string_field(next.timezone);
    if (key == "description") nullable_string(next.description);
    if (key == "schedule") nullable_string(next.schedule);
    if (key == "inputs") next.inputs = value;
    if (key == "alert_conditions") next.alert_conditions = value;
    if (key == "alert_channels") {
      if (!value.is_array() ||
          !std::all_of(value.begin(), value.end(), [](const json& v) { return v.is_string(); })) {
        errors.push_back({key, "must be an array of strings"});
      } else {
        next.alert_channels = value.get<std::vector<std::string>>();
      }
    }
    if (key == "max_cost_per_run_usd") {
      // Already converted to micro-USD by the caller: a JSON integer or null.
      if (value.is_null()) {
        next.max_cost_per_run_micro_usd.reset();
      } else if (!value.is_number_integer()) {
        errors.push_back({key, "must be a number >= 0 or null"});
      } else {
        next.max_cost_per_run_micro_usd = value.get<std::int64_t>();
      }
    }
    if (key == "min_interval_seconds") {
      if (!value.is_number_integer()) {
        errors.push_back({key, "must be an integer"});
      } else {
        next.min_interval_seconds = value.get<std::int64_t>();
      }
    }
  }
  if (!errors.empty()) return std::unexpected(Problem::validation(std::move(errors)));
  if (auto e = validate_definition(next, now); !e.empty()) {
    return std::unexpected(Problem::validation(std::move(e)));
  }
  if (a.status == "deleted") {
    return std::unexpected(Problem::make(ProblemKind::kDeleted, "The automation is deleted."));
  }
  if (next.name != a.name && new_name_taken) {
    return std::unexpected(Problem::make(
        ProblemKind::kDuplicate, "An automation named '" + next.name + "' already exists."));
  }
  if (next.name != a.name) changes["name"] = next.name;
  if (next.description != a.description)
    changes["description"] = next.description ? json(*next.description) : json();
  if (next.inputs != a.inputs) changes["inputs"] = next.inputs;
  if (next.trigger_type != a.trigger_type) changes["trigger_type"] = next.trigger_type;
  if (next.schedule != a.schedule)
    changes["schedule"] = next.schedule ? json(*next.schedule) : json();
  if (next.timezone != a.timezone) changes["timezone"] = next.timezone;
  if (next.alert_conditions != a.alert_conditions)
    changes["alert_conditions"] = next.alert_conditions;
  if (next.alert_channels != a.alert_channels) changes["alert_channels"] = next.alert_channels;
  if (next.max_cost_per_run_micro_usd != a.max_cost_per_run_micro_usd) {
    changes["max_cost_per_run_micro_usd"] = money_json(next.max_cost_per_run_micro_usd);
  }
  if (next.min_interval_seconds != a.min_interval_seconds) {
    changes["min_interval_seconds"] = next.min_interval_seconds;
  }
  if (changes.empty()) return std::optional<Updated>();
  const bool reschedule = changes.contains("trigger_type") || changes.contains("schedule") ||
                          changes.contains("timezone") || changes.contains("min_interval_seconds");
  Updated u{changes, reschedule ? next_run_at(next, now) : a.next_run_at};
  return std::optional(std::move(u));
}

std::expected<std::optional<Paused>, Problem> decide_pause(const Automation& a) {
  if (a.status == "deleted") {
    return std::unexpected(Problem::make(ProblemKind::kDeleted, "The automation is deleted."));
  }
  if (a.status == "paused") return std::optional<Paused>();
  return std::optional(Paused{"manual", a.failure_count});
}

std::expected<std::optional<Resumed>, Problem> decide_resume(const Automation& a, Micros now) {
  if (a.status == "deleted") {
    return std::unexpected(Problem::make(ProblemKind::kDeleted, "The automation is deleted."));
  }
  if (a.status == "active") return std::optional<Resumed>();
  Automation resumed = a;
  resumed.status = "active";
  return std::optional(Resumed{next_run_at(resumed, now)});
}

std::optional<Deleted> decide_delete(const Automation& a) {
  if (a.status == "deleted") return std::nullopt;
  return Deleted{};
}

void evolve(std::optional<Automation>& a, const Event& e, Micros recorded_at) {
  if (const auto* c = std::get_if<Created>(&e)) {
    a = c->automation;
    a->created_at = a->updated_at = recorded_at;
    return;
  }
  if (!a) return;
  if (std::holds_alternative<AlertDelivered>(e)) return;
  a->updated_at = recorded_at;
  if (const auto* u = std::get_if<Updated>(&e)) {
    const json& ch = u->changes;
    auto opt_string = [](const json& v) {
      return v.is_null() ? std::nullopt : std::optional<std::string>(v.get<std::string>());
    };
    if (ch.contains("name")) a->name = ch["name"].get<std::string>();
    if (ch.contains("description")) a->description = opt_string(ch["description"]);
    if (ch.contains("inputs")) a->inputs = ch["inputs"];
    if (ch.contains("trigger_type")) a->trigger_type = ch["trigger_type"].get<std::string>();
    if (ch.contains("schedule")) a->schedule = opt_string(ch["schedule"]);
    if (ch.contains("timezone")) a->timezone = ch["timezone"].get<std::string>();
    if (ch.contains("alert_conditions")) a->alert_conditions = ch["alert_conditions"];
    if (ch.contains("alert_channels")) {
      a->alert_channels = ch["alert_channels"].get<std::vector<std::string>>();
    }
    if (ch.contains("max_cost_per_run_micro_usd")) {
      const json& m = ch["max_cost_per_run_micro_usd"];
      a->max_cost_per_run_micro_usd =
          m.is_null() ? std::nullopt : std::optional(m.get<std::int64_t>());
    }
    if (ch.contains("min_interval_seconds")) {
      a->min_interval_seconds = ch["min_interval_seconds"].get<std::int64_t>();
    }
    a->next_run_at = u->next_run_at;
  } else if (const auto* p = std::get_if<Paused>(&e)) {
    a->status = "paused";
    a->next_run_at.reset();
    a->failure_count = p->failure_count;
  } else if (const auto* r = std::get_if<Resumed>(&e)) {
    a->status = "active";
    a->failure_count = 0;
    a->next_run_at = r->next_run_at;
  } else if (std::holds_alternative<Deleted>(e)) {
    a->status = "deleted";
    a->next_run_at.reset();
  } else if (const auto* s = std::get_if<RunStarted>(&e)) {
    a->last_run_at = s->started_at;
    a->next_run_at = s->next_run_at;
    a->in_flight_run_id = s->run_id;
  } else if (const auto* f = std::get_if<RunFinished>(&e)) {
    a->run_count = f->run_count;
    a->failure_count = f->failure_count;
    if (f->state) a->state = *f->state;
    if (a->in_flight_run_id == f->run_id) a->in_flight_run_id.reset();
    if (f->status == "succeeded") a->prior_run_end = f->finished_at;
  }
}

void render(const Automation& a, JsonWriter& w) {
  w.begin_object();
  w.key("id").value(a.id);
  w.key("user_id").value(a.user_id);
  w.key("name").value(a.name);
  w.key("description").value(a.description);
  w.key("capability_name").value(a.capability_name);
  w.key("inputs").raw(a.inputs.dump());
  w.key("trigger_type").value(a.trigger_type);
  w.key("schedule").value(a.schedule);
  w.key("timezone").value(a.timezone);
  w.key("alert_conditions").raw(a.alert_conditions.dump());
  w.key("alert_channels").begin_array();
  for (const auto& ch : a.alert_channels) w.value(ch);
  w.end_array();
  w.key("max_cost_per_run_usd");
  if (a.max_cost_per_run_micro_usd) {
    w.usd(*a.max_cost_per_run_micro_usd);
  } else {
    w.null();
  }
  w.key("min_interval_seconds").value(a.min_interval_seconds);
  w.key("status").value(a.status);
  w.key("last_run_at").instant(a.last_run_at);
  w.key("next_run_at").instant(a.next_run_at);
  w.key("run_count").value(a.run_count);
  w.key("failure_count").value(a.failure_count);
  w.key("state").raw(a.state.dump());
  w.key("in_flight_run_id").value(a.in_flight_run_id);
  w.key("created_via").value(a.created_via);
  w.key("created_at").instant(a.created_at);
  w.key("updated_at").instant(a.updated_at);
  w.end_object();
}

std::optional<Automation> from_json(const nlohmann::json& j) {
  try {
    auto opt_string = [&](const char* k) {
      return j.at(k).is_null() ? std::nullopt
                               : std::optional<std::string>(j.at(k).get<std::string>());
    };
    auto opt_instant = [&](const char* k) {
      return j.at(k).is_null() ? std::nullopt : parse_instant(j.at(k).get<std::string>());
    };
    Automation a;
    a.id = j.at("id").get<std::string>();
    a.user_id = j.at("user_id").get<std::string>();
    a.name = j.at("name").get<std::string>();
    a.description = opt_string("description");
    a.capability_name = j.at("capability_name").get<std::string>();
    a.inputs = j.at("inputs");
    a.trigger_type = j.at("trigger_type").get<std::string>();
    a.schedule = opt_string("schedule");
    a.timezone = j.at("timezone").get<std::string>();
    a.alert_conditions = j.at("alert_conditions");
    a.alert_channels = j.at("alert_channels").get<std::vector<std::string>>();
    // Money is rendered as USD with at most 6 decimals; read it back exactly.
    if (!j.at("max_cost_per_run_usd").is_null()) {
      std::string text = j.at("max_cost_per_run_usd").dump();
      const auto dot = text.find('.');
      std::string frac = dot == std::string::npos ? "" : text.substr(dot + 1);
      frac.resize(6, '0');
      a.max_cost_per_run_micro_usd = std::stoll(text.substr(0, dot)) * 1'000'000 + std::stoll(frac);
    }
    a.min_interval_seconds = j.at("min_interval_seconds").get<std::int64_t>();
    a.status = j.at("status").get<std::string>();
    a.last_run_at = opt_instant("last_run_at");
    a.next_run_at = opt_instant("next_run_at");
    a.run_count = j.at("run_count").get<std::int64_t>();
    a.failure_count = j.at("failure_count").get<std::int64_t>();
    a.state = j.at("state");
    a.in_flight_run_id = opt_string("in_flight_run_id");
    a.created_via = j.at("created_via").get<std::string>();
    a.created_at = parse_instant(j.at("created_at").get<std::string>()).value_or(0);
    a.updated_at = parse_instant(j.at("updated_at").get<std::string>()).value_or(0);
    return a;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string render(const Automation& a) {
  std::string out;
  JsonWriter w(out);
  render(a, w);
  return out;
}

}  // namespace annals::automation

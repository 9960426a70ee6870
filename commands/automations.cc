#include "commands/automations.h"

#include <memory>

#include "commands/body.h"
#include "commands/ids.h"
#include "domain/capability.h"
#include "domain/money.h"
#include "events/automation_codec.h"
#include "events/capability_codec.h"

namespace annals::commands {

namespace {

using nlohmann::json;

std::string name_key(const std::string& user, const std::string& name) {
  return "n" + user + '\0' + name;
}

// The registered capability's default alert conditions; nullopt when not registered.
std::optional<json> capability_defaults(events::Transaction& tx, const std::string& name) {
  std::optional<json> defaults;
  if (!capability::is_name(name)) return defaults;
  tx.read_stream(capability::stream_name(name), [&](const events::StoredEvent& e) {
    if (auto r = events::decode_capability_registered(e)) {
      defaults = json::parse(r->fields.default_alert_conditions, nullptr, false);
    }
  });
  return defaults;
}

// Money fields: a JSON number ≥ 0 (never a boolean) → micro-USD.
std::optional<std::int64_t> money(const json& v, const std::string& field, BodyReader& r) {
  if (!v.is_number()) {
    r.error(field, "must be a number >= 0 or null");
    return std::nullopt;
  }
  auto micros = usd_to_micros(v.get<double>());
  if (!micros) r.error(field, "must be a number >= 0");
  return micros;
}

Reply resource(const automation::Automation& a, std::uint64_t version, std::uint64_t position,
               int status = 200) {
  Reply r;
  r.status = status;
  r.body = automation::render(a);
  r.etag = version;
  r.position = position;
  return r;
}

Reply not_found(const std::string& id) {
  return Reply::error(Problem::make(ProblemKind::kNotFound, "Automation " + id + " not found."));
}

}  // namespace

std::expected<automation::Draft, Problem> parse_create_automation(const json& body) {
  BodyReader r(body);
  automation::Draft d;
  d.name = r.required_string("name");
  d.description = r.opt_string("description");
  d.capability_name = r.required_string("capability_name");
  d.trigger_type = r.required_string("trigger_type");
  d.schedule = r.opt_string("schedule");
  d.timezone = r.opt_string("timezone");
  d.created_via = r.opt_string("created_via");
  if (!body.contains("inputs")) {
    r.error("inputs", "is required");
  } else if (!body.at("inputs").is_object()) {
    r.error("inputs", "must be an object");
  } else {
    d.inputs = body.at("inputs");
  }
  r.opt_json("inputs");
  if (body.contains("alert_conditions")) d.alert_conditions = body.at("alert_conditions");
  r.opt_json("alert_conditions");
  if (body.contains("alert_channels")) {
    const json& ch = body.at("alert_channels");
    if (!ch.is_array() ||
        !std::all_of(ch.begin(), ch.end(), [](const json& v) { return v.is_string(); })) {
      r.error("alert_channels", "must be an array of strings");
    } else {
      d.alert_channels = ch.get<std::vector<std::string>>();
    }
  }
  r.opt_json("alert_channels");
  if (body.contains("max_cost_per_run_usd")) {
    d.max_cost_given = true;
    if (!body.at("max_cost_per_run_usd").is_null()) {
      d.max_cost_micro_usd = money(body.at("max_cost_per_run_usd"), "max_cost_per_run_usd", r);
    }
  }
  r.opt_json("max_cost_per_run_usd");
  if (body.contains("min_interval_seconds")) {
    const json& m = body.at("min_interval_seconds");
    if (!m.is_number_integer()) {
      r.error("min_interval_seconds", "must be an integer");
    } else {
      d.min_interval_seconds = m.get<std::int64_t>();
    }
  }
  r.opt_json("min_interval_seconds");
  auto errors = r.finish();
  if (!errors.empty()) return std::unexpected(Problem::validation(std::move(errors)));
  return d;
}

std::expected<json, Problem> parse_patch_automation(const json& body) {
  json patch = body;
  BodyReader r(body);
  if (body.contains("max_cost_per_run_usd") && !body.at("max_cost_per_run_usd").is_null()) {
    if (auto micros = money(body.at("max_cost_per_run_usd"), "max_cost_per_run_usd", r)) {
      patch["max_cost_per_run_usd"] = *micros;
    }
  }
  if (body.contains("min_interval_seconds") &&
      !body.at("min_interval_seconds").is_number_integer()) {
    r.error("min_interval_seconds", "must be an integer");
  }
  for (const auto& [k, v] : body.items()) r.opt_json(k);  // unknown fields are the domain's call
  auto errors = r.finish();
  if (!errors.empty()) return std::unexpected(Problem::validation(std::move(errors)));
  return patch;
}

AutomationCommands::AutomationCommands(CommandBus& bus, const Config& config,
                                       AutomationStates& states)
    : bus_(bus),
      config_(config),
      states_(states),
      names_(bus.store().column_family("agg.automations")) {}

void AutomationCommands::create(automation::Draft draft, CommandContext ctx,
                                std::function<void(Reply)> done) {
  auto shared = std::make_shared<automation::Draft>(std::move(draft));
  bus_.execute(
      ctx,
      [this, shared, ctx](events::Transaction& tx) {
        auto defaults = capability_defaults(tx, shared->capability_name);
        if (!defaults) {
          return Reply::error(
              Problem::validation({{"capability_name", "capability '" + shared->capability_name +
                                                           "' is not registered"}}));
        }
        const bool taken = tx.get(names_, name_key(ctx.actor, shared->name)).has_value();
        automation::Knobs knobs;
        knobs.min_interval_default_seconds = config_.automation_min_interval_default_seconds;
        knobs.max_cost_per_run_default_micro_usd =
            usd_to_micros(config_.automation_max_cost_per_run_default_usd).value_or(0);
        const std::string id = new_uuid_v7(tx.now());
        auto created =
            automation::decide_create(*shared, id, ctx.actor, *defaults, taken, tx.now(), knobs);
        if (!created) return Reply::error(created.error());
        const std::vector<events::NewEvent> evs{events::encode(*created)};
        auto appended = tx.append(automation::stream_name(id), events::ExpectedVersion::no_stream(),
                                  evs, {ctx.actor, ctx.correlation_id, std::nullopt});
        if (!appended) return Reply::error(appended.error());
        tx.put(names_, name_key(ctx.actor, created->automation.name), id);
        std::optional<automation::Automation> a;
        automation::evolve(a, *created, tx.now());
        Reply r = resource(*a, appended->stream_version, appended->last_position, 201);
        r.location = "/admin/automations/" + id;
        return r;
      },
      std::move(done));
}

void AutomationCommands::patch(std::string id, json patch, CommandContext ctx,
                               std::function<void(Reply)> done) {
  auto shared = std::make_shared<json>(std::move(patch));
  bus_.execute(
      ctx,
      [this, id, shared, ctx](events::Transaction& tx) {
        auto f = states_.fold(tx, id);
        if (!f.state) return not_found(id);
        if (auto p = precondition(ctx, f.version)) return *p;
        const auto& a = *f.state;
        bool taken = false;
        if (shared->contains("name") && (*shared)["name"].is_string()) {
          const std::string new_name = (*shared)["name"].get<std::string>();
          auto owner = tx.get(names_, name_key(a.user_id, new_name));
          taken = owner && *owner != id;
        }
        auto decided = automation::decide_patch(a, *shared, taken, tx.now());
        if (!decided) return Reply::error(decided.error());
        if (!*decided) return resource(a, f.version, f.last_position);
        const std::vector<events::NewEvent> evs{events::encode(**decided)};
        auto appended =
            tx.append(automation::stream_name(id), events::ExpectedVersion::exact(f.version), evs,
                      {ctx.actor, ctx.correlation_id, std::nullopt});
        if (!appended) return Reply::error(appended.error());
        if ((*decided)->changes.contains("name")) {
          tx.remove(names_, name_key(a.user_id, a.name));
          tx.put(names_, name_key(a.user_id, (*decided)->changes["name"].get<std::string>()), id);
        }
        automation::evolve(f.state, **decided, tx.now());
        return resource(*f.state, appended->stream_version, appended->last_position);
      },
      std::move(done));
}

void AutomationCommands::act(std::string id, Action action, CommandContext ctx,
                             std::function<void(Reply)> done) {
  bus_.execute(
      ctx,
      [this, id, action, ctx](events::Transaction& tx) {
        auto f = states_.fold(tx, id);
        if (!f.state) return not_found(id);
        if (auto p = precondition(ctx, f.version)) return *p;
        const auto& a = *f.state;
        std::optional<automation::Event> event;
        if (action == Action::kPause) {
          auto d = automation::decide_pause(a);
          if (!d) return Reply::error(d.error());
          if (*d) event = **d;
        } else if (action == Action::kResume) {
          auto d = automation::decide_resume(a, tx.now());
          if (!d) return Reply::error(d.error());
          if (*d) event = **d;
        } else if (auto d = automation::decide_delete(a)) {
          event = *d;
        }
        std::uint64_t version = f.version, position = f.last_position;
        if (event) {
          const std::vector<events::NewEvent> evs{events::encode(*event)};
          auto appended =
              tx.append(automation::stream_name(id), events::ExpectedVersion::exact(f.version), evs,
                        {ctx.actor, ctx.correlation_id, std::nullopt});
          if (!appended) return Reply::error(appended.error());
          version = appended->stream_version;
          position = appended->last_position;
          if (action == Action::kDelete) tx.remove(names_, name_key(a.user_id, a.name));
          automation::evolve(f.state, *event, tx.now());
        }
        if (action == Action::kDelete) {
          Reply r;
          r.status = 200;
          r.body = R"({"id":")" + id + R"(","status":"deleted"})";
          r.etag = version;
          r.position = position;
          return r;
        }
        return resource(*f.state, version, position);
      },
      std::move(done));
}

}  // namespace annals::commands

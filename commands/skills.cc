#include "commands/skills.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <set>

#include "commands/body.h"
#include "commands/ids.h"
#include "commands/lessons.h"
#include "commands/notifier.h"
#include "domain/capability.h"
#include "domain/json_text.h"
#include "domain/money.h"
#include "domain/text_rules.h"
#include "events/capability_codec.h"
#include "events/skill_codec.h"

namespace annals::commands {

namespace {

using nlohmann::json;

Reply skill_not_found(const std::string& id) {
  return Reply::error(Problem::make(ProblemKind::kNotFound, "Skill not found: '" + id + "'"));
}

std::optional<Micros> instant_field(const json& body, const std::string& name, BodyReader& r,
                                    bool required) {
  if (!body.contains(name) || body.at(name).is_null()) {
    if (required) r.error(name, "is required");
    r.opt_json(name);
    return std::nullopt;
  }
  std::optional<Micros> t;
  if (body.at(name).is_string()) t = parse_instant(body.at(name).get<std::string>());
  if (!t) r.error(name, "must be an RFC 3339 instant");
  r.opt_json(name);
  return t;
}

std::optional<std::int64_t> non_negative_int(const json& v, const std::string& field,
                                             BodyReader& r) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_number_integer() || v.get<std::int64_t>() < 0) {
    r.error(field, "must be an integer >= 0");
    return std::nullopt;
  }
  return v.get<std::int64_t>();
}

std::string effect_json(const SkillEffect& e) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  if (e.transition) {
    w.key("type").value("SkillStateChanged");
    w.key("stream").value(skill::stream_name(e.skill_id));
    w.key("position").value(e.position);
    w.key("from_state").value(e.transition->from_state);
    w.key("to_state").value(e.transition->to_state);
    w.key("reason").value(e.transition->reason);
    w.key("notes").value(e.transition->notes);
  } else if (e.held) {
    w.key("type").value("SkillPromotionHeld");
    w.key("stream").value(skill::stream_name(e.skill_id));
    w.key("position").value(e.position);
    w.key("to_state").value(e.held->to_state);
    w.key("version_id").value(e.held->version_id);
    w.key("metrics").raw(e.held->metrics);
  }
  w.end_object();
  return out;
}

// `body` (a JSON object) with "effects": [...] appended.
std::string with_effects(std::string body, const std::vector<SkillEffect>& effects) {
  body.pop_back();  // '}'
  body += ",\"effects\":[";
  bool first = true;
  for (const auto& e : effects) {
    if (e.attempt && e.attempt->version) {
      // The new version precedes the transition to draft.
      std::string item;
      JsonWriter w(item);
      w.begin_object().key("type").value("SkillVersionAdded");
      w.key("stream").value(skill::stream_name(e.skill_id));
      w.key("position").value(e.position - 1);
      w.key("version_id").value(e.attempt->version->version_id);
      w.key("version_number").value(e.attempt->version->version_number).end_object();
      if (!first) body += ',';
      first = false;
      body += item;
    }
    if (!e.transition && !e.held) continue;
    if (!first) body += ',';
    first = false;
    body += effect_json(e);
  }
  body += "]}";
  return body;
}

bool capability_registered(events::Transaction& tx, const std::string& name) {
  if (!capability::is_name(name)) return false;
  bool registered = false;
  tx.read_stream(capability::stream_name(name), [&](const events::StoredEvent& e) {
    registered = registered || e.type() == fb::Payload::CapabilityRegistered;
  });
  return registered;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Parsing

std::expected<SkillRegistration, Problem> parse_register_skill(const json& body) {
  BodyReader r(body);
  SkillRegistration reg;
  reg.capability_name = r.required_string("capability_name");
  if (body.contains("requires_human_gate")) {
    if (!body.at("requires_human_gate").is_boolean()) {
      r.error("requires_human_gate", "must be a boolean");
    } else {
      reg.requires_human_gate = body.at("requires_human_gate").get<bool>();
    }
  }
  r.opt_json("requires_human_gate");
  auto state = r.opt_string("initial_state");
  if (body.contains("initial_version") && !body.at("initial_version").is_null()) {
    const json& v = body.at("initial_version");
    if (!v.is_object()) {
      r.error("initial_version", "must be an object");
    } else {
      BodyReader vr(v);
      skill::VersionAdded added;
      added.yaml_backbone = vr.required_string("yaml_backbone");
      const json empty = json::object();
      const json& content = v.contains("step_content") ? v.at("step_content") : empty;
      const json& schemas = v.contains("output_schemas") ? v.at("output_schemas") : empty;
      if (!v.contains("step_content")) vr.error("step_content", "is required");
      if (!content.is_object() || !std::all_of(content.begin(), content.end(),
                                               [](const json& x) { return x.is_string(); })) {
        vr.error("step_content", "must be an object of strings");
      }
      if (!v.contains("output_schemas")) vr.error("output_schemas", "is required");
      if (!schemas.is_object()) vr.error("output_schemas", "must be an object");
      vr.opt_json("step_content");
      vr.opt_json("output_schemas");
      added.changelog = vr.opt_string("changelog");
      added.created_by = vr.string_or("created_by", "human");
      if (!is_slug(added.created_by)) vr.error("created_by", "must be a slug");
      auto verrors = vr.finish();
      if (verrors.empty()) {
        if (auto why = skill::structural_check(added.yaml_backbone, content, schemas)) {
          verrors.push_back({"", *why});
        }
      }
      for (const auto& e : verrors) {
        r.error(e.field.empty() ? "initial_version" : "initial_version." + e.field, e.message);
      }
      added.step_content = content.dump();
      added.output_schemas = schemas.dump();
      reg.initial_version = std::move(added);
    }
  }
  r.opt_json("initial_version");
  reg.initial_state = state.value_or(reg.initial_version ? "draft" : "claude_native");
  if (reg.initial_state != "claude_native" && reg.initial_state != "draft" &&
      reg.initial_state != "sandbox") {
    r.error("initial_state", "must be one of: claude_native, draft, sandbox");
  } else if (reg.initial_state == "claude_native" && reg.initial_version) {
    r.error("initial_state", "claude_native takes no initial_version");
  } else if (reg.initial_state != "claude_native" && !reg.initial_version) {
    r.error("initial_version", "is required for initial_state " + reg.initial_state);
  }
  auto errors = r.finish();
  if (!errors.empty()) return std::unexpected(Problem::validation(std::move(errors)));
  return reg;
}

std::expected<skill::TransitionRequest, Problem> parse_transition(const json& body) {
  BodyReader r(body);
  skill::TransitionRequest t;
  t.to_state = r.required_string("to_state");
  t.reason = r.required_string("reason");
  t.notes = r.opt_string("notes");
  t.actor_id = r.opt_string("actor_id");
  if (body.contains("to_state") && body.at("to_state").is_string() &&
      !skill::is_state(t.to_state)) {
    r.error("to_state", "unknown state '" + t.to_state + "'");
  }
  if (body.contains("reason") && body.at("reason").is_string() && !skill::is_reason(t.reason)) {
    r.error("reason", "unknown reason '" + t.reason + "'");
  }
  if (t.notes && utf8_length(*t.notes) > 10'000)
    r.error("notes", "must be at most 10000 characters");
  if (t.actor_id && utf8_length(*t.actor_id) > 200) {
    r.error("actor_id", "must be at most 200 characters");
  }
  auto errors = r.finish();
  if (!errors.empty()) return std::unexpected(Problem::validation(std::move(errors)));
  return t;
}

std::expected<bool, Problem> parse_flag(const json& body) {
  BodyReader r(body);
  bool value = false;
  if (!body.contains("value") || !body.at("value").is_boolean()) {
    r.error("value", "is required and must be a boolean");
  } else {
    value = body.at("value").get<bool>();
  }
  r.opt_json("value");
  auto errors = r.finish();
  if (!errors.empty()) return std::unexpected(Problem::validation(std::move(errors)));
  return value;
}

std::expected<skill::CorrectionRecorded, Problem> parse_correction(const json& body) {
  BodyReader r(body);
  skill::CorrectionRecorded c;
  c.task_type = r.required_string("task_type");
  if (body.contains("task_type") && body.at("task_type").is_string() &&
      !capability::is_name(c.task_type)) {
    r.error("task_type", "must be a capability name");
  }
  c.field_corrected = r.required_string("field_corrected");
  if (utf8_length(c.field_corrected) > 200) {
    r.error("field_corrected", "must be at most 200 characters");
  }
  auto bounded = [&](const char* name, std::size_t max) {
    auto v = r.opt_string(name);
    if (v && utf8_length(*v) > max) {
      r.error(name, "must be at most " + std::to_string(max) + " characters");
    }
    return v;
  };
  c.user_id = bounded("user_id", 200);
  c.task_id = bounded("task_id", 200);
  c.input_text = bounded("input_text", 10'000);
  c.original_value = bounded("original_value", 10'000);
  c.corrected_value = bounded("corrected_value", 10'000);
  c.rule_extracted = bounded("rule_extracted", 10'000);
  c.timestamp = instant_field(body, "timestamp", r, false).value_or(0);
  auto errors = r.finish();
  if (!errors.empty()) return std::unexpected(Problem::validation(std::move(errors)));
  return c;
}

std::expected<skill::AttemptRequest, Problem> parse_attempt(const json& body) {
  BodyReader r(body);
  skill::AttemptRequest a;
  a.triggered_by = r.string_or("triggered_by", "manual");
  if (!is_slug(a.triggered_by, 30))
    r.error("triggered_by", "must be a slug of at most 30 characters");
  a.claude_invocation_id = r.opt_string("claude_invocation_id");
  if (a.claude_invocation_id && utf8_length(*a.claude_invocation_id) > 200) {
    r.error("claude_invocation_id", "must be at most 200 characters");
  }
  if (body.contains("cost_usd") && !body.at("cost_usd").is_null()) {
    std::optional<std::int64_t> micros;
    if (body.at("cost_usd").is_number()) micros = usd_to_micros(body.at("cost_usd").get<double>());
    if (!micros) r.error("cost_usd", "must be a number >= 0");
    a.cost_micro_usd = micros.value_or(0);
  }
  r.opt_json("cost_usd");
  if (body.contains("latency_ms"))
    a.latency_ms = non_negative_int(body.at("latency_ms"), "latency_ms", r);
  r.opt_json("latency_ms");
  if (body.contains("malformed_output")) {
    if (!body.at("malformed_output").is_boolean()) r.error("malformed_output", "must be a boolean");
    a.malformed = body.at("malformed_output") == true;
  }
  r.opt_json("malformed_output");
  if (!a.malformed) {
    if (!body.contains("diagnosis") || !body.at("diagnosis").is_object()) {
      r.error("diagnosis", "is required and must be an object");
    } else {
      a.diagnosis = body.at("diagnosis").dump();
    }
    r.opt_json("diagnosis");
    const json* v = body.contains("new_skill_version") ? &body.at("new_skill_version") : nullptr;
    if (v == nullptr || !v->is_object()) {
      r.error("new_skill_version", "is required and must be an object");
    } else {
      BodyReader vr(*v);
      a.yaml_backbone = vr.required_string("yaml_backbone");
      a.step_content = v->contains("step_content") ? v->at("step_content") : json();
      a.output_schemas = v->contains("output_schemas") ? v->at("output_schemas") : json();
      if (!a.step_content.is_object() ||
          !std::all_of(a.step_content.begin(), a.step_content.end(),
                       [](const json& x) { return x.is_string(); })) {
        vr.error("step_content", "is required and must be an object of strings");
      }
      if (!a.output_schemas.is_object())
        vr.error("output_schemas", "is required and must be an object");
      vr.opt_json("step_content");
      vr.opt_json("output_schemas");
      for (const auto& e : vr.finish()) r.error("new_skill_version." + e.field, e.message);
    }
    r.opt_json("new_skill_version");
    a.changelog = r.opt_string("changelog");
    if (!a.changelog) r.error("changelog", "is required");
    if (a.changelog && utf8_length(*a.changelog) > 10'000) {
      r.error("changelog", "must be at most 10000 characters");
    }
    if (!body.contains("targeted_failure_cases") || !body.at("targeted_failure_cases").is_array() ||
        !std::all_of(body.at("targeted_failure_cases").begin(),
                     body.at("targeted_failure_cases").end(),
                     [](const json& x) { return x.is_string(); })) {
      r.error("targeted_failure_cases", "is required and must be an array of run ids");
    } else {
      a.targeted_failure_cases = body.at("targeted_failure_cases").get<std::vector<std::string>>();
      std::set<std::string> seen(a.targeted_failure_cases.begin(), a.targeted_failure_cases.end());
      if (seen.size() != a.targeted_failure_cases.size()) {
        r.error("targeted_failure_cases", "run ids must be distinct");
      }
    }
    r.opt_json("targeted_failure_cases");
    if (body.contains("evidence") && !body.at("evidence").is_null()) {
      const json& e = body.at("evidence");
      if (!e.is_object()) {
        r.error("evidence", "must be an object");
      } else {
        for (const auto& [k, list] : e.items()) {
          if (k != "targeted" && k != "fixture_regression" && k != "recent_success") {
            r.error("evidence." + k, "is not a known gate");
          } else if (!list.is_array()) {
            r.error("evidence." + k, "must be an array");
          }
        }
        a.evidence = e;
      }
    }
    r.opt_json("evidence");
  }
  auto errors = r.finish();
  if (!errors.empty()) return std::unexpected(Problem::validation(std::move(errors)));
  return a;
}

std::expected<skill::FixtureAdded, Problem> parse_fixture(const json& body) {
  BodyReader r(body);
  skill::FixtureAdded f;
  f.case_name = r.required_string("case_name");
  const auto len = utf8_length(f.case_name);
  if (body.contains("case_name") && body.at("case_name").is_string() && (len < 1 || len > 200)) {
    r.error("case_name", "must be 1-200 characters");
  }
  if (!body.contains("input") || !body.at("input").is_object()) {
    r.error("input", "is required and must be an object");
  } else {
    f.input = body.at("input").dump();
  }
  r.opt_json("input");
  for (const char* name : {"expected_output_shape", "tool_mocks"}) {
    if (body.contains(name) && !body.at(name).is_null() && !body.at(name).is_object()) {
      r.error(name, "must be an object or null");
    }
  }
  f.expected_output_shape = r.opt_json("expected_output_shape");
  f.tool_mocks = r.opt_json("tool_mocks");
  f.source = r.string_or("source", "manual");
  if (!is_slug(f.source)) r.error("source", "must be a slug");
  auto errors = r.finish();
  if (!errors.empty()) return std::unexpected(Problem::validation(std::move(errors)));
  return f;
}

// ---------------------------------------------------------------------------------------------
// Commands

SkillCommands::SkillCommands(CommandBus& bus, const Config& config, Observe observe)
    : bus_(bus),
      config_(config),
      observe_(std::move(observe)),
      index_(bus.store().column_family("agg.skills")),
      automation_runs_(bus.store().column_family(kAutomationRunsIndex)),
      cache_(
          bus, [](const std::string& id) { return skill::stream_name(id); },
          [](std::optional<skill::Skill>& s, const events::StoredEvent& e) {
            // Runs are most of a skill's stream: their facts come straight from the payload.
            if (s) {
              if (auto run = events::decode_run_facts(e)) {
                return skill::add_run(*s, std::move(run->first), std::move(run->second));
              }
            }
            if (auto ev = events::decode_skill_event(e))
              skill::evolve(s, *ev, e.event().recorded_at());
          }),
      corrections_(
          bus, [](const std::string& type) { return capability::stream_name(type); },
          [](std::optional<std::vector<Micros>>& times, const events::StoredEvent& e) {
            if (!times) times.emplace();
            if (auto c = events::decode_correction(e)) times->push_back(c->timestamp);
          }) {}

skill::Knobs SkillCommands::knobs() const {
  skill::Knobs k;
  k.sandbox_min_runs = config_.sandbox_promotion_min_runs;
  k.sandbox_validity_rate = config_.sandbox_promotion_validity_rate;
  k.shadow_min_runs = config_.shadow_primary_promotion_min_runs;
  k.shadow_agreement_rate = config_.shadow_primary_promotion_agreement_rate;
  k.shadow_max_failure_rate = config_.shadow_primary_promotion_max_failure_rate;
  k.baseline_reset_window = config_.baseline_reset_window;
  k.degradation_window = config_.degradation_rolling_window;
  k.degradation_confidence = config_.degradation_ci_confidence;
  k.degradation_threshold = config_.degradation_agreement_threshold;
  return k;
}

void SkillCommands::execute(
    CommandContext ctx,
    std::function<Reply(events::Transaction&, std::vector<SkillEffect>&)> decide,
    std::function<void(Reply)> done) {
  auto effects = std::make_shared<std::vector<SkillEffect>>();
  bus_.execute(
      std::move(ctx),
      [decide = std::move(decide), effects](events::Transaction& tx) {
        effects->clear();
        return decide(tx, *effects);
      },
      [this, effects, done = std::move(done)](Reply r) {
        if (r.ok() && !r.replayed && observe_ && !effects->empty()) observe_(std::move(*effects));
        done(std::move(r));
      });
}

void SkillCommands::register_skill(SkillRegistration reg, CommandContext ctx,
                                   std::function<void(Reply)> done) {
  execute(
      ctx,
      [this, reg = std::move(reg), ctx](events::Transaction& tx, std::vector<SkillEffect>&) {
        if (!capability_registered(tx, reg.capability_name)) {
          return Reply::error(Problem::validation(
              {{"capability_name", "capability '" + reg.capability_name + "' is not registered"}}));
        }
        if (tx.get(index_, "c" + reg.capability_name)) {
          return Reply::error(
              Problem::make(ProblemKind::kDuplicate,
                            "Capability '" + reg.capability_name + "' already has a skill."));
        }
        const std::string id = new_uuid_v7(tx.now());
        std::vector<events::NewEvent> evs{events::encode(skill::Event{skill::Registered{
            id, reg.capability_name, reg.initial_state, reg.requires_human_gate}})};
        if (reg.initial_version) {
          auto v = *reg.initial_version;
          v.version_id = new_uuid_v7(tx.now());
          v.version_number = 1;
          evs.push_back(events::encode(skill::Event{v}));
        }
        auto appended = tx.append(skill::stream_name(id), events::ExpectedVersion::no_stream(), evs,
                                  {ctx.actor, ctx.correlation_id, std::nullopt});
        if (!appended) return Reply::error(appended.error());
        tx.put(index_, "c" + reg.capability_name, id);
        const auto& f = cache_.fold(tx, id);
        Reply r;
        r.status = 201;
        r.body = skill::render(*f.state, config_.shadow_sample_rate_trusted, true);
        r.etag = appended->stream_version;
        r.location = "/admin/skills/" + id;
        r.position = appended->last_position;
        return r;
      },
      std::move(done));
}

void SkillCommands::transition(std::string id, skill::TransitionRequest req, CommandContext ctx,
                               std::function<void(Reply)> done) {
  req.actor = ctx.actor;
  execute(
      ctx,
      [this, id, req, ctx](events::Transaction& tx, std::vector<SkillEffect>&) {
        const auto& f = cache_.fold(tx, id);
        if (!f.state) return skill_not_found(id);
        if (auto p = precondition(ctx, f.version)) return *p;
        const auto k = knobs();
        auto decided = skill::decide_transition(
            *f.state, req, new_uuid_v7(tx.now()),
            skill::recent_mean_agreement(*f.state, k.baseline_reset_window));
        if (!decided) return Reply::error(decided.error());
        const std::vector<events::NewEvent> evs{events::encode(skill::Event{*decided})};
        auto appended = tx.append(skill::stream_name(id), events::ExpectedVersion::exact(f.version),
                                  evs, {ctx.actor, ctx.correlation_id, std::nullopt});
        if (!appended) return Reply::error(appended.error());
        const auto& after = cache_.fold(tx, id);
        Reply r;
        r.status = 200;
        r.body =
            "{\"skill\":" + skill::render(*after.state, config_.shadow_sample_rate_trusted, true) +
            ",\"transition\":" +
            skill::render_transition(*decided, id, ctx.actor, tx.now(), appended->last_position) +
            "}";
        r.etag = appended->stream_version;
        r.position = appended->last_position;
        return r;
      },
      std::move(done));
}

void SkillCommands::set_flag(std::string id, bool value, CommandContext ctx,
                             std::function<void(Reply)> done) {
  execute(
      ctx,
      [this, id, value, ctx](events::Transaction& tx, std::vector<SkillEffect>& effects) {
        const auto& f = cache_.fold(tx, id);
        if (!f.state) return skill_not_found(id);
        if (auto p = precondition(ctx, f.version)) return *p;
        std::uint64_t version = f.version, position = f.last_position;
        if (f.state->requires_human_gate != value) {
          const std::vector<events::NewEvent> evs{
              events::encode(skill::Event{skill::FlagChanged{"requires_human_gate", value}})};
          auto appended = tx.append(skill::stream_name(id), events::ExpectedVersion::exact(version),
                                    evs, {ctx.actor, ctx.correlation_id, std::nullopt});
          if (!appended) return Reply::error(appended.error());
          version = appended->stream_version;
          position = appended->last_position;
          // A held promotion is re-evaluated in the same command.
          const auto& after = cache_.fold(tx, id);
          if (!value && after.state->held) {
            const auto k = knobs();
            const std::string tid = new_uuid_v7(tx.now());
            const auto out = after.state->held->to_state == "shadow_primary"
                                 ? skill::sandbox_gate(*after.state, k, tid)
                                 : skill::shadow_gate(*after.state, k, tid);
            if (out.transition) {
              const std::vector<events::NewEvent> more{
                  events::encode(skill::Event{*out.transition})};
              auto promoted =
                  tx.append(skill::stream_name(id), events::ExpectedVersion::exact(version), more,
                            {"system", ctx.correlation_id, std::nullopt});
              if (!promoted) return Reply::error(promoted.error());
              version = promoted->stream_version;
              position = promoted->last_position;
              effects.push_back({id, after.state->capability_name, position, out.transition,
                                 std::nullopt, std::nullopt, std::nullopt, std::nullopt, false});
            }
          }
        }
        const auto& now = cache_.fold(tx, id);
        Reply r;
        r.status = 200;
        r.body = with_effects(
            "{\"skill\":" + skill::render(*now.state, config_.shadow_sample_rate_trusted, true) +
                "}",
            effects);
        r.etag = version;
        r.position = position;
        return r;
      },
      std::move(done));
}

void SkillCommands::record_run(RunDraft d, CommandContext ctx, std::function<void(Reply)> done) {
  if (!d.user_given) d.run.user_id = ctx.actor;
  execute(
      ctx,
      [this, d = std::move(d), ctx](events::Transaction& tx,
                                    std::vector<SkillEffect>& effects) mutable {
        const std::string& id = d.skill_id;  // only d.run is moved from below
        const auto& f = cache_.fold(tx, id);
        if (!is_uuid(id) || !f.state) {
          return Reply::error(Problem::validation({{"skill_id", "unknown skill '" + id + "'"}}));
        }
        const auto& versions = f.state->versions;
        if (std::none_of(versions.begin(), versions.end(),
                         [&](const auto& v) { return v.id == d.run.skill_version_id; })) {
          return Reply::error(
              Problem::validation({{"skill_version_id", "not a version of skill '" + id + "'"}}));
        }
        if (d.run.automation_run_id && !tx.get(automation_runs_, "r" + *d.run.automation_run_id)) {
          return Reply::error(
              Problem::validation({{"automation_run_id",
                                    "unknown automation run '" + *d.run.automation_run_id + "'"}}));
        }
        // The decision runs once: the run (about 2 KB) moves into its event rather than copying.
        skill::RunRecorded& run = d.run;
        run.run_id = new_uuid_v7(tx.now());
        std::string rendered = skill::render_run(run, id, tx.now(), true);
        const std::string run_id = run.run_id, version_id = run.skill_version_id;
        std::vector<events::NewEvent> evs;
        evs.push_back(events::encode(skill::Event{std::move(run)}));
        auto appended = tx.append(skill::stream_name(id), events::ExpectedVersion::exact(f.version),
                                  evs, {ctx.actor, ctx.correlation_id, std::nullopt});
        if (!appended) return Reply::error(appended.error());
        // The run's skill and its version in the skill stream (capture reads it back).
        tx.put(index_, "r" + run_id, id + '\0' + std::to_string(appended->stream_version));
        std::uint64_t version = appended->stream_version, position = appended->last_position;
        const auto& after = cache_.fold(tx, id);
        // The sandbox gate, for a run of the current version while in sandbox.
        if (after.state->state == "sandbox" && after.state->current_version_id == version_id) {
          const auto out = skill::sandbox_gate(*after.state, knobs(), new_uuid_v7(tx.now()));
          std::optional<skill::Event> follow;
          if (out.transition) follow = *out.transition;
          if (out.held) follow = *out.held;
          if (follow) {
            const std::vector<events::NewEvent> more{events::encode(*follow)};
            auto policy = tx.append(skill::stream_name(id), events::ExpectedVersion::exact(version),
                                    more, {"system", ctx.correlation_id, std::nullopt});
            if (!policy) return Reply::error(policy.error());
            version = policy->stream_version;
            effects.push_back({id, after.state->capability_name, policy->last_position,
                               out.transition, out.held, std::nullopt, std::nullopt, std::nullopt,
                               false});
          }
        }
        Reply r;
        r.status = 201;
        r.body = with_effects(std::move(rendered), effects);
        r.etag = version;
        r.location = "/admin/skill-runs/" + run_id;
        r.position = effects.empty() ? position : effects.back().position;
        return r;
      },
      std::move(done));
}

void SkillCommands::record_divergence(std::string run_id, DivergenceDraft d, CommandContext ctx,
                                      std::function<void(Reply)> done) {
  execute(
      ctx,
      [this, run_id, d = std::move(d), ctx](events::Transaction& tx,
                                            std::vector<SkillEffect>& effects) {
        auto indexed = tx.get(index_, "r" + run_id);
        std::optional<std::string> skill_id;
        if (indexed) skill_id = indexed->substr(0, indexed->find('\0'));
        if (!skill_id) {
          return Reply::error(
              Problem::make(ProblemKind::kNotFound, "Skill run not found: '" + run_id + "'"));
        }
        const std::string id = *skill_id;
        const auto& f = cache_.fold(tx, id);
        if (!f.state) return skill_not_found(id);
        skill::DivergenceRecorded div;
        div.divergence_id = new_uuid_v7(tx.now());
        div.run_id = run_id;
        div.shadow_invocation_id = d.shadow_invocation_id.value_or(new_uuid_v7(tx.now()));
        div.submitted_agreement = d.submitted;
        div.overall_agreement = skill::clamp_agreement(d.submitted);
        div.diff_summary = d.diff_summary;
        const std::vector<events::NewEvent> evs{events::encode(skill::Event{div})};
        auto appended = tx.append(skill::stream_name(id), events::ExpectedVersion::exact(f.version),
                                  evs, {ctx.actor, ctx.correlation_id, std::nullopt});
        if (!appended) return Reply::error(appended.error());
        std::uint64_t version = appended->stream_version, position = appended->last_position;
        const auto& after = cache_.fold(tx, id);
        const auto k = knobs();
        const std::string tid = new_uuid_v7(tx.now());
        std::optional<skill::Event> follow;
        SkillEffect effect{id,
                           after.state->capability_name,
                           0,
                           std::nullopt,
                           std::nullopt,
                           std::nullopt,
                           std::nullopt,
                           std::nullopt,
                           false};
        if (after.state->state == "shadow_primary") {
          const auto out = skill::shadow_gate(*after.state, k, tid);
          effect.transition = out.transition;
          effect.held = out.held;
          if (out.transition) follow = *out.transition;
          if (out.held) follow = *out.held;
        } else if (after.state->state == "trusted") {
          auto deg = skill::detect_degradation(*after.state, k, tid);
          if (deg.transition) {
            follow = *deg.transition;
            effect.transition = deg.transition;
            effect.degradation = std::move(deg);
          }
        }
        if (follow) {
          const std::vector<events::NewEvent> more{events::encode(*follow)};
          auto policy = tx.append(skill::stream_name(id), events::ExpectedVersion::exact(version),
                                  more, {"system", ctx.correlation_id, std::nullopt});
          if (!policy) return Reply::error(policy.error());
          version = policy->stream_version;
          position = policy->last_position;
          effect.position = position;
          effects.push_back(std::move(effect));
        }
        Reply r;
        r.status = 201;
        r.body = with_effects(skill::render_divergence(div, id, tx.now()), effects);
        r.etag = version;
        r.position = position;
        return r;
      },
      std::move(done));
}

SkillCommands::Observe skill_observers(LessonCommands& lessons, Notifier& notifier,
                                       std::function<Micros()> clock,
                                       std::function<void(std::function<void()>)> post) {
  return [&lessons, &notifier, clock = std::move(clock),
          post = std::move(post)](std::vector<SkillEffect> effects) {
    post([&lessons, &notifier, clock, effects = std::move(effects)] {
      const CommandContext system{"system", "observer", std::nullopt, "", std::nullopt};
      auto log_failure = [](const Reply& r) {
        if (!r.ok() && r.status != 503) {
          spdlog::warn("auto-lesson not recorded: {}", r.problem ? r.problem->detail : "");
        }
      };
      for (const auto& e : effects) {
        if (e.held) {
          lesson::Fields l;
          l.lesson_type = "merge_hold";
          l.work_item_id = e.skill_id;
          l.stage = e.held->to_state;
          l.agent = "annals";
          l.source = "auto";
          l.root_cause = "promotion to " + e.held->to_state + " held by the human gate";
          l.detail = json{{"capability_name", e.capability_name},
                          {"version_id", e.held->version_id},
                          {"metrics", json::parse(e.held->metrics, nullptr, false)}}
                         .dump();
          lessons.record(std::move(l), system, log_failure);
        }
        if (e.cluster) {
          notifier.send({"skill_flagged", 4,
                         "Skill '" + e.capability_name +
                             "' flagged for review: " + std::to_string(e.cluster->count) +
                             " user corrections in the last " + std::to_string(e.cluster->window) +
                             " runs. Review at /admin/skills/" + e.skill_id + ".",
                         e.skill_id, std::nullopt, std::nullopt},
                        clock());
          lesson::Fields l;
          l.lesson_type = "deploy_degraded";
          l.work_item_id = e.skill_id;
          l.stage = "correction_cluster";
          l.agent = "annals";
          l.source = "auto";
          l.root_cause = e.cluster->transition.notes;
          l.detail = json{{"capability_name", e.capability_name},
                          {"transition_id", e.cluster->transition.transition_id}}
                         .dump();
          lessons.record(std::move(l), system, log_failure);
        }
        if (e.drafted) {
          notifier.send(
              {"skill_drafted", 3,
               "Drafted a new skill for '" + e.capability_name + "' awaiting your approval.",
               e.skill_id, std::nullopt, std::nullopt},
              clock());
        }
        if (e.attempt && e.attempt->failed_gate) {
          lesson::Fields l;
          l.lesson_type = "gate_failure";
          l.work_item_id = e.skill_id;
          l.stage = *e.attempt->failed_gate;
          l.agent = "annals";
          l.source = "auto";
          l.root_cause = e.attempt->attempt.rationale;
          l.detail = json{{"attempt_id", e.attempt->attempt.attempt_id},
                          {"capability_name", e.capability_name},
                          {"validation_results",
                           json::parse(e.attempt->attempt.validation_results, nullptr, false)}}
                         .dump();
          lessons.record(std::move(l), system, log_failure);
        }
        if (e.attempt && e.attempt->version) {
          notifier.send({"skill_evolved", 3,
                         "Evolved version " + std::to_string(e.attempt->version->version_number) +
                             " of skill '" + e.capability_name +
                             "' is parked in draft and needs human approval.",
                         e.skill_id, std::nullopt, std::nullopt},
                        clock());
        }
        if (e.degradation && e.transition) {
          char text[512];
          std::snprintf(text, sizeof text,
                        "Trusted skill '%s' (%s) degraded: CI upper %.2f < baseline %.2f; demoted "
                        "to flagged_for_review pending human decision.",
                        e.capability_name.c_str(), e.skill_id.c_str(), e.degradation->upper,
                        e.degradation->baseline.value_or(0));
          notifier.send({"skill_flagged", 4, text, e.skill_id, std::nullopt, std::nullopt},
                        clock());
          lesson::Fields l;
          l.lesson_type = "deploy_degraded";
          l.work_item_id = e.skill_id;
          l.stage = "degradation";
          l.agent = "annals";
          l.source = "auto";
          l.root_cause = e.transition->notes;
          l.detail = json{{"capability_name", e.capability_name},
                          {"transition_id", e.transition->transition_id}}
                         .dump();
          lessons.record(std::move(l), system, log_failure);
        }
      }
    });
  };
}

std::expected<std::pair<std::string, skill::RunRecorded>, Reply> SkillCommands::find_run(
    events::Transaction& tx, const std::string& run_id) {
  auto indexed = tx.get(index_, "r" + run_id);
  if (!indexed) {
    return std::unexpected(Reply::error(
        Problem::make(ProblemKind::kNotFound, "Skill run not found: '" + run_id + "'")));
  }
  const auto nul = indexed->find('\0');
  const std::string skill_id = indexed->substr(0, nul);
  const std::uint64_t version = std::stoull(indexed->substr(nul + 1));
  std::optional<skill::RunRecorded> run;
  tx.read_stream(skill::stream_name(skill_id), version, [&](const events::StoredEvent& e) {
    if (run) return;
    if (auto ev = events::decode_skill_event(e)) {
      if (const auto* r = std::get_if<skill::RunRecorded>(&*ev)) run = *r;
    }
  });
  if (!run || run->run_id != run_id) {
    return std::unexpected(
        Reply::error(Problem::make(ProblemKind::kInternal, "run index is inconsistent")));
  }
  return std::pair{skill_id, std::move(*run)};
}

void SkillCommands::add_fixture(std::string skill_id, skill::FixtureAdded fixture,
                                CommandContext ctx, std::function<void(Reply)> done) {
  execute(
      ctx,
      [this, skill_id, fixture = std::move(fixture), ctx](events::Transaction& tx,
                                                          std::vector<SkillEffect>&) mutable {
        const auto& f = cache_.fold(tx, skill_id);
        if (!f.state) return skill_not_found(skill_id);
        fixture.fixture_id = new_uuid_v7(tx.now());
        return append_fixture(tx, skill_id, f.version, fixture, ctx);
      },
      std::move(done));
}

void SkillCommands::capture_fixture(std::string run_id, CommandContext ctx,
                                    std::function<void(Reply)> done) {
  execute(
      ctx,
      [this, run_id, ctx](events::Transaction& tx, std::vector<SkillEffect>&) {
        auto found = find_run(tx, run_id);
        if (!found) return found.error();
        const auto& [skill_id, run] = *found;
        auto fixture = skill::capture_fixture(run, new_uuid_v7(tx.now()));
        if (!fixture) return Reply::error(fixture.error());
        const auto& f = cache_.fold(tx, skill_id);
        return append_fixture(tx, skill_id, f.version, *fixture, ctx);
      },
      std::move(done));
}

void SkillCommands::schedule_evolution(std::vector<std::string> ids, std::int64_t remaining,
                                       std::string run_id, CommandContext ctx,
                                       std::function<void(Reply)> done) {
  execute(
      ctx,
      [this, ids = std::move(ids), remaining, run_id, ctx](events::Transaction& tx,
                                                           std::vector<SkillEffect>&) mutable {
        const auto estimate = usd_to_micros(config_.evolution_estimated_cost_usd).value_or(0);
        json scheduled = json::array(), skipped = json::array();
        std::uint64_t position = 0;
        for (const auto& id : ids) {
          const auto& f = cache_.fold(tx, id);
          if (!f.state || f.state->state != "degraded") continue;
          const auto out = skill::decide_schedule_evolution(
              *f.state, config_.evolution_min_divergence_cases, remaining, estimate,
              new_uuid_v7(tx.now()), run_id.empty() ? std::nullopt : std::optional(run_id));
          if (out.skipped) {
            skipped.push_back({{"skill_id", id}, {"reason", *out.skipped}});
            continue;
          }
          if (out.pending) continue;
          if (out.out_of_budget) break;
          const std::vector<events::NewEvent> evs{events::encode(skill::Event{*out.scheduled})};
          auto appended =
              tx.append(skill::stream_name(id), events::ExpectedVersion::exact(f.version), evs,
                        {ctx.actor, ctx.correlation_id, std::nullopt});
          if (!appended) return Reply::error(appended.error());
          position = appended->last_position;
          remaining -= estimate;
          scheduled.push_back({{"skill_id", id}, {"work_id", out.scheduled->work_id}});
        }
        Reply r;
        r.status = 200;
        r.body =
            json{{"scheduled", scheduled}, {"skipped", skipped}, {"remaining", remaining}}.dump();
        r.position = position;
        return r;
      },
      std::move(done));
}

void SkillCommands::sweep_degradation(std::vector<std::string> ids, CommandContext ctx,
                                      std::function<void(Reply)> done) {
  execute(
      ctx,
      [this, ids = std::move(ids), ctx](events::Transaction& tx,
                                        std::vector<SkillEffect>& effects) {
        json reports = json::array(), errors = json::array();
        std::uint64_t position = 0;
        for (const auto& id : ids) {
          try {
            const auto& f = cache_.fold(tx, id);
            if (!f.state || f.state->state != "trusted") continue;
            auto d = skill::detect_degradation(*f.state, knobs(), new_uuid_v7(tx.now()));
            json entry = {{"skill_id", id},
                          {"outcome", d.outcome},
                          {"current_successes", d.successes},
                          {"current_trials", d.trials},
                          {"current_lower", d.lower},
                          {"current_upper", d.upper},
                          {"baseline", d.baseline ? json(*d.baseline) : json()},
                          {"notes", nullptr}};
            if (d.transition) {
              char notes[96];
              std::snprintf(notes, sizeof notes, "CI=[%.2f, %.2f], baseline=%.2f", d.lower, d.upper,
                            d.baseline.value_or(0));
              entry["notes"] = notes;
              const std::vector<events::NewEvent> evs{events::encode(skill::Event{*d.transition})};
              auto appended =
                  tx.append(skill::stream_name(id), events::ExpectedVersion::exact(f.version), evs,
                            {"system", ctx.correlation_id, std::nullopt});
              if (!appended) throw std::runtime_error(appended.error().detail);
              position = appended->last_position;
              const std::string capability = f.state->capability_name;
              effects.push_back({id, capability, position, d.transition, std::nullopt, d,
                                 std::nullopt, std::nullopt, false});
            }
            reports.push_back(std::move(entry));
          } catch (const std::exception& e) {
            errors.push_back({{"skill_id", id}, {"error", e.what()}});
          }
        }
        Reply r;
        r.status = 200;
        r.body = json{{"reports", reports}, {"errors", errors}}.dump();
        r.position = position;
        return r;
      },
      std::move(done));
}

void SkillCommands::sweep_corrections(std::vector<std::string> ids, CommandContext ctx,
                                      std::function<void(Reply)> done) {
  execute(
      ctx,
      [this, ids = std::move(ids), ctx](events::Transaction& tx,
                                        std::vector<SkillEffect>& effects) {
        json flagged = json::array(), errors = json::array();
        std::uint64_t position = 0;
        for (const auto& id : ids) {
          try {
            const auto& f = cache_.fold(tx, id);
            if (!f.state) continue;
            const std::string capability = f.state->capability_name;
            const auto version = f.version;
            const auto& times = corrections_.fold(tx, capability);
            const std::vector<Micros> timestamps =
                times.state ? *times.state : std::vector<Micros>{};
            const auto& s = cache_.fold(tx, id);
            auto hit = skill::correction_cluster(
                *s.state, timestamps, config_.correction_cluster_window_runs,
                config_.correction_cluster_threshold, new_uuid_v7(tx.now()));
            if (!hit) continue;
            const std::vector<events::NewEvent> evs{events::encode(skill::Event{hit->transition})};
            auto appended =
                tx.append(skill::stream_name(id), events::ExpectedVersion::exact(version), evs,
                          {"system", ctx.correlation_id, std::nullopt});
            if (!appended) throw std::runtime_error(appended.error().detail);
            position = appended->last_position;
            effects.push_back({id, capability, position, hit->transition, std::nullopt,
                               std::nullopt, hit, std::nullopt, false});
            flagged.push_back({{"skill_id", id},
                               {"capability_name", capability},
                               {"correction_count", hit->count}});
          } catch (const std::exception& e) {
            errors.push_back({{"skill_id", id}, {"error", e.what()}});
          }
        }
        Reply r;
        r.status = 200;
        r.body = json{{"flagged", flagged}, {"errors", errors}}.dump();
        r.position = position;
        return r;
      },
      std::move(done));
}

Reply SkillCommands::append_fixture(events::Transaction& tx, const std::string& skill_id,
                                    std::uint64_t version, const skill::FixtureAdded& fixture,
                                    const CommandContext& ctx) {
  const std::vector<events::NewEvent> evs{events::encode(skill::Event{fixture})};
  auto appended = tx.append(skill::stream_name(skill_id), events::ExpectedVersion::exact(version),
                            evs, {ctx.actor, ctx.correlation_id, std::nullopt});
  if (!appended) return Reply::error(appended.error());
  Reply r;
  r.status = 201;
  r.body = skill::render_fixture(fixture, skill_id, tx.now());
  r.etag = appended->stream_version;
  r.position = appended->last_position;
  return r;
}

void SkillCommands::record_attempt(std::string skill_id, skill::AttemptRequest req,
                                   CommandContext ctx, std::function<void(Reply)> done) {
  execute(
      ctx,
      [this, skill_id, req = std::move(req), ctx](events::Transaction& tx,
                                                  std::vector<SkillEffect>& effects) {
        const auto& f = cache_.fold(tx, skill_id);
        if (!f.state) return skill_not_found(skill_id);
        if (auto p = precondition(ctx, f.version)) return *p;
        skill::EvolutionKnobs k;
        k.min_divergence_cases = config_.evolution_min_divergence_cases;
        k.targeted_pass_rate = config_.evolution_targeted_case_pass_rate;
        k.fixture_pass_rate = config_.evolution_fixture_regression_pass_rate;
        k.recent_success_count = config_.evolution_recent_success_count;
        k.recent_success_window_days = config_.evolution_recent_success_window_days;
        k.max_consecutive_failures = config_.evolution_max_consecutive_failures;
        k.require_gate_evidence = config_.evolution_require_gate_evidence;
        auto decided = skill::decide_attempt(*f.state, req, k, tx.now(), new_uuid_v7(tx.now()),
                                             new_uuid_v7(tx.now()), new_uuid_v7(tx.now()));
        if (!decided) return Reply::error(decided.error());
        const std::string capability = f.state->capability_name;
        std::vector<events::NewEvent> evs{events::encode(skill::Event{decided->attempt})};
        if (decided->version) evs.push_back(events::encode(skill::Event{*decided->version}));
        auto appended =
            tx.append(skill::stream_name(skill_id), events::ExpectedVersion::exact(f.version), evs,
                      {ctx.actor, ctx.correlation_id, std::nullopt});
        if (!appended) return Reply::error(appended.error());
        std::uint64_t version = appended->stream_version, position = appended->last_position;
        const std::uint64_t attempt_position = appended->first_position;
        if (decided->transition) {
          const std::vector<events::NewEvent> more{
              events::encode(skill::Event{*decided->transition})};
          auto moved =
              tx.append(skill::stream_name(skill_id), events::ExpectedVersion::exact(version), more,
                        {"system", ctx.correlation_id, std::nullopt});
          if (!moved) return Reply::error(moved.error());
          version = moved->stream_version;
          position = moved->last_position;
        }
        SkillEffect effect{skill_id,     capability,   position,     decided->transition,
                           std::nullopt, std::nullopt, std::nullopt, *decided,
                           false};
        effects.push_back(std::move(effect));
        Reply r;
        r.status = 201;
        r.body = with_effects(
            skill::render_attempt(decided->attempt, skill_id, tx.now(), attempt_position), effects);
        r.etag = version;
        r.position = position;
        return r;
      },
      std::move(done));
}

void SkillCommands::record_correction(skill::CorrectionRecorded c, CommandContext ctx,
                                      std::function<void(Reply)> done) {
  execute(
      ctx,
      [this, c = std::move(c), ctx](events::Transaction& tx,
                                    std::vector<SkillEffect>& effects) mutable {
        if (c.timestamp == 0) c.timestamp = tx.now();
        c.correction_id = new_uuid_v7(tx.now());
        const std::vector<events::NewEvent> evs{events::encode(c)};
        auto appended =
            tx.append(capability::stream_name(c.task_type), events::ExpectedVersion::any(), evs,
                      {ctx.actor, ctx.correlation_id, std::nullopt});
        if (!appended) return Reply::error(appended.error());
        std::uint64_t position = appended->last_position;
        std::string cluster = "null";
        // The fast path: the capability's skill, when eligible.
        if (auto id = tx.get(index_, "c" + c.task_type)) {
          const std::vector<Micros> times = *corrections_.fold(tx, c.task_type).state;
          const auto& f = cache_.fold(tx, *id);
          if (f.state) {
            auto hit = skill::correction_cluster(
                *f.state, times, config_.correction_cluster_window_runs,
                config_.correction_cluster_threshold, new_uuid_v7(tx.now()));
            if (hit) {
              const std::vector<events::NewEvent> more{
                  events::encode(skill::Event{hit->transition})};
              auto flagged =
                  tx.append(skill::stream_name(*id), events::ExpectedVersion::exact(f.version),
                            more, {"system", ctx.correlation_id, std::nullopt});
              if (!flagged) return Reply::error(flagged.error());
              position = flagged->last_position;
              cluster = "{\"skill_id\":\"" + *id + "\",\"capability_name\":\"" + c.task_type +
                        "\",\"correction_count\":" + std::to_string(hit->count) + "}";
              effects.push_back({*id, c.task_type, position, hit->transition, std::nullopt,
                                 std::nullopt, hit, std::nullopt, false});
            }
          }
        }
        std::string body = skill::render_correction(c, tx.now());
        body.pop_back();
        body += ",\"cluster\":" + cluster + "}";
        Reply r;
        r.status = 201;
        r.body = with_effects(std::move(body), effects);
        r.etag = appended->stream_version;
        r.position = position;
        return r;
      },
      std::move(done));
}

std::expected<StagedDraft, Problem> SkillCommands::stage_draft(
    events::Transaction& tx, const std::string& capability, skill::VersionAdded version,
    const std::vector<DraftFixture>& fixtures, const std::string& candidate_id,
    const CommandContext& ctx) {
  StagedDraft out;
  std::vector<events::NewEvent> evs;
  std::uint64_t version_before = 0;
  std::string from_state = "claude_native";
  if (auto existing = tx.get(index_, "c" + capability)) {
    const auto& f = cache_.fold(tx, *existing);
    out.skill_id = *existing;
    version_before = f.version;
    std::int64_t max_number = 0;
    for (const auto& v : f.state->versions) max_number = std::max(max_number, v.version_number);
    version.version_number = max_number + 1;
    version.baseline_cleared = true;
  } else {
    out.skill_id = new_uuid_v7(tx.now());
    evs.push_back(events::encode(
        skill::Event{skill::Registered{out.skill_id, capability, "claude_native", true}}));
    version.version_number = 1;
    tx.put(index_, "c" + capability, out.skill_id);
  }
  version.version_id = new_uuid_v7(tx.now());
  version.created_by = "claude_auto_draft";
  version.becomes_current = true;
  out.version_id = version.version_id;
  evs.push_back(events::encode(skill::Event{version}));
  skill::StateChanged to_candidate{
      new_uuid_v7(tx.now()), from_state,
      "skill_candidate",     "gate_passed",
      std::nullopt,          "auto-draft candidate " + candidate_id + ": detector gate passed",
      std::nullopt};
  skill::StateChanged to_draft{
      new_uuid_v7(tx.now()), "skill_candidate", "draft",
      "gate_passed",         std::nullopt,      "auto-drafted from candidate " + candidate_id,
      std::nullopt};
  evs.push_back(events::encode(skill::Event{to_candidate}));
  evs.push_back(events::encode(skill::Event{to_draft}));
  for (std::size_t i = 0; i < fixtures.size(); ++i) {
    skill::FixtureAdded fx;
    fx.fixture_id = new_uuid_v7(tx.now());
    fx.case_name = fixtures[i].case_name.value_or("case_" + std::to_string(i));
    fx.input = fixtures[i].input;
    fx.expected_output_shape = fixtures[i].expected_output_shape;
    fx.tool_mocks = fixtures[i].tool_mocks;
    fx.source = "claude_generated";
    out.fixture_ids.push_back(fx.fixture_id);
    evs.push_back(events::encode(skill::Event{fx}));
  }
  auto appended = tx.append(skill::stream_name(out.skill_id),
                            version_before ? events::ExpectedVersion::exact(version_before)
                                           : events::ExpectedVersion::no_stream(),
                            evs, {"system", ctx.correlation_id, std::nullopt});
  if (!appended) return std::unexpected(appended.error());
  out.position = appended->last_position;
  return out;
}

std::optional<std::string> SkillCommands::skill_state(events::Transaction& tx,
                                                      const std::string& capability) {
  auto id = tx.get(index_, "c" + capability);
  if (!id) return std::nullopt;
  const auto& f = cache_.fold(tx, *id);
  if (!f.state) return std::nullopt;
  return f.state->state;
}

automation::Path SkillCommands::path_for(events::Transaction& tx, const std::string& capability) {
  automation::Path p;
  auto id = tx.get(index_, "c" + capability);
  if (!id) return p;
  const auto& f = cache_.fold(tx, *id);
  if (!f.state || !f.state->current_version_id) return p;
  if (f.state->state == "shadow_primary" || f.state->state == "trusted") {
    p.execution_path = "skill";
    p.skill_id = f.state->id;
    p.skill_version_id = f.state->current_version_id;
  }
  return p;
}

}  // namespace annals::commands

#include "commands/candidates.h"

#include <cstdio>

#include "commands/body.h"
#include "commands/ids.h"
#include "domain/capability.h"
#include "domain/money.h"
#include "domain/text_rules.h"
#include "events/candidate_codec.h"
#include "events/skill_codec.h"

namespace annals::commands {

namespace {

using nlohmann::json;

std::string capability_stream(const std::string& name) { return capability::stream_name(name); }
std::string fingerprint_stream(const std::string& fp) { return "fingerprint-" + fp; }

const candidate::Candidate* find_status(const std::map<std::string, candidate::Candidate>& all,
                                        std::initializer_list<const char*> statuses) {
  for (const auto& [id, c] : all) {
    for (const char* s : statuses) {
      if (c.status == s) return &c;
    }
  }
  return nullptr;
}

}  // namespace

std::expected<Registration, Problem> parse_registration(const json& body) {
  BodyReader r(body);
  Registration reg;
  reg.capability_name = r.opt_string("capability_name");
  if (reg.capability_name && !capability::is_name(*reg.capability_name)) {
    r.error("capability_name", "must be a capability name");
  }
  reg.message = r.opt_string("message");
  if (reg.message && utf8_length(*reg.message) > 10'000) {
    r.error("message", "must be at most 10000 characters");
  }
  reg.pattern_fingerprint = r.opt_string("pattern_fingerprint");
  if (reg.pattern_fingerprint && !candidate::is_fingerprint(*reg.pattern_fingerprint)) {
    r.error("pattern_fingerprint", "must be 32 lowercase hex characters");
  }
  reg.reasoning = r.required_string("reasoning");
  if (!reg.capability_name && !reg.message && !reg.pattern_fingerprint) {
    r.error("capability_name",
            "one of capability_name, message or pattern_fingerprint is required");
  }
  if (reg.message && reg.pattern_fingerprint &&
      candidate::fingerprint(*reg.message) != *reg.pattern_fingerprint) {
    r.error("pattern_fingerprint", "does not match the fingerprint of message");
  }
  auto errors = r.finish();
  if (!errors.empty()) return std::unexpected(Problem::validation(std::move(errors)));
  if (reg.message && !reg.pattern_fingerprint)
    reg.pattern_fingerprint = candidate::fingerprint(*reg.message);
  return reg;
}

std::expected<PostedDraft, Problem> parse_draft(const json& body) {
  BodyReader r(body);
  PostedDraft d;
  if (body.contains("malformed_output")) {
    if (!body.at("malformed_output").is_boolean()) r.error("malformed_output", "must be a boolean");
    d.malformed = body.at("malformed_output") == true;
  }
  r.opt_json("malformed_output");
  d.claude_invocation_id = r.opt_string("claude_invocation_id");
  if (body.contains("cost_usd") && !body.at("cost_usd").is_null()) {
    std::optional<std::int64_t> micros;
    if (body.at("cost_usd").is_number()) micros = usd_to_micros(body.at("cost_usd").get<double>());
    if (!micros) r.error("cost_usd", "must be a number >= 0");
    d.cost_micro_usd = micros.value_or(0);
  }
  r.opt_json("cost_usd");
  if (body.contains("latency_ms") && !body.at("latency_ms").is_null()) {
    if (!body.at("latency_ms").is_number_integer() ||
        body.at("latency_ms").get<std::int64_t>() < 0) {
      r.error("latency_ms", "must be an integer >= 0");
    } else {
      d.latency_ms = body.at("latency_ms").get<std::int64_t>();
    }
  }
  r.opt_json("latency_ms");
  if (!d.malformed) {
    const json* v = body.contains("skill_version") ? &body.at("skill_version") : nullptr;
    if (v == nullptr || !v->is_object()) {
      r.error("skill_version", "is required and must be an object");
    } else {
      if (!v->contains("yaml_backbone") || !v->at("yaml_backbone").is_string()) {
        r.error("skill_version.yaml_backbone", "is required and must be a string");
      } else {
        d.yaml_backbone = v->at("yaml_backbone").get<std::string>();
      }
      if (!v->contains("step_content") || !v->at("step_content").is_object() ||
          !std::all_of(v->at("step_content").begin(), v->at("step_content").end(),
                       [](const json& x) { return x.is_string(); })) {
        r.error("skill_version.step_content", "is required and must be an object of strings");
      } else {
        d.step_content = v->at("step_content");
      }
      if (!v->contains("output_schemas") || !v->at("output_schemas").is_object()) {
        r.error("skill_version.output_schemas", "is required and must be an object");
      } else {
        d.output_schemas = v->at("output_schemas");
      }
    }
    r.opt_json("skill_version");
    d.changelog = r.opt_string("changelog");
    if (!body.contains("fixtures") || !body.at("fixtures").is_array()) {
      r.error("fixtures", "is required and must be an array");
    } else {
      const json& fx = body.at("fixtures");
      for (std::size_t i = 0; i < fx.size(); ++i) {
        const std::string at = "fixtures[" + std::to_string(i) + "]";
        const json& f = fx[i];
        if (!f.is_object()) {
          r.error(at, "must be an object");
          continue;
        }
        DraftFixture out;
        if (f.contains("case_name") && !f.at("case_name").is_null()) {
          if (!f.at("case_name").is_string())
            r.error(at + ".case_name", "must be a string");
          else
            out.case_name = f.at("case_name").get<std::string>();
        }
        if (!f.contains("input") || !f.at("input").is_object()) {
          r.error(at + ".input", "is required and must be an object");
        } else {
          out.input = f.at("input").dump();
        }
        for (const char* k : {"expected_output_shape", "tool_mocks"}) {
          if (f.contains(k) && !f.at(k).is_null()) {
            if (!f.at(k).is_object()) {
              r.error(at + "." + k, "must be an object or null");
            } else {
              (std::string(k) == "tool_mocks" ? out.tool_mocks : out.expected_output_shape) =
                  f.at(k).dump();
            }
          }
        }
        std::string status;
        if (!f.contains("status") || !f.at("status").is_string() ||
            (f.at("status") != "succeeded" && f.at("status") != "failed")) {
          r.error(at + ".status", "is required: succeeded or failed");
        } else {
          status = f.at("status").get<std::string>();
        }
        d.fixtures.push_back(std::move(out));
        d.fixture_statuses.push_back(status);
      }
    }
    r.opt_json("fixtures");
  }
  auto errors = r.finish();
  if (!errors.empty()) return std::unexpected(Problem::validation(std::move(errors)));
  return d;
}

CandidateCommands::CandidateCommands(CommandBus& bus, const Config& config, SkillCommands& skills)
    : bus_(bus),
      config_(config),
      skills_(skills),
      index_(bus.store().column_family("agg.candidates")),
      cache_(
          bus, [](const std::string& stream) { return stream; },
          [](std::optional<State>& s, const events::StoredEvent& e) {
            if (!s) s.emplace();
            if (auto ev = events::decode_candidate_event(e)) {
              std::visit([&](const auto& x) { candidate::apply(*s, x, e.event().recorded_at()); },
                         *ev);
            }
          }) {}

void CandidateCommands::register_pattern(Registration reg, CommandContext ctx,
                                         std::function<void(Reply)> done) {
  bus_.execute(
      ctx,
      [this, reg = std::move(reg), ctx](events::Transaction& tx) {
        const std::string stream = reg.capability_name
                                       ? capability_stream(*reg.capability_name)
                                       : fingerprint_stream(*reg.pattern_fingerprint);
        const auto& f = cache_.fold(tx, stream);
        const State all = f.state.value_or(State{});
        events::CandidateEvent event;
        std::string id;
        int status = 201;
        if (const auto* existing = find_status(all, {"claude_native_registered"})) {
          id = existing->id;
          status = 200;
          event = candidate::StatusChanged{id, existing->status, existing->status, std::nullopt,
                                           reg.reasoning};
        } else {
          id = new_uuid_v7(tx.now());
          candidate::Reported r;
          r.candidate_id = id;
          r.capability_name = reg.capability_name;
          r.status = "claude_native_registered";
          r.pattern_fingerprint = reg.pattern_fingerprint;
          r.reasoning = reg.reasoning;
          event = r;
        }
        const std::vector<events::NewEvent> evs{events::encode(event)};
        auto appended = tx.append(stream, events::ExpectedVersion::any(), evs,
                                  {ctx.actor, ctx.correlation_id, std::nullopt});
        if (!appended) return Reply::error(appended.error());
        tx.put(index_, "i" + id, stream);
        const auto& after = cache_.fold(tx, stream);
        Reply rep;
        rep.status = status;
        rep.body = candidate::render(after.state->at(id));
        rep.etag = appended->stream_version;
        rep.position = appended->last_position;
        return rep;
      },
      std::move(done));
}

void CandidateCommands::dismiss(std::string id, CommandContext ctx,
                                std::function<void(Reply)> done) {
  bus_.execute(
      ctx,
      [this, id, ctx](events::Transaction& tx) {
        auto stream = tx.get(index_, "i" + id);
        if (!stream) {
          return Reply::error(
              Problem::make(ProblemKind::kNotFound, "Candidate " + id + " not found."));
        }
        const auto& f = cache_.fold(tx, *stream);
        if (!f.state || !f.state->contains(id)) {
          return Reply::error(
              Problem::make(ProblemKind::kNotFound, "Candidate " + id + " not found."));
        }
        if (auto p = precondition(ctx, f.version)) return *p;
        const auto c = f.state->at(id);
        Reply rep;
        rep.status = 200;
        rep.etag = f.version;
        rep.position = f.last_position;
        if (c.status != "dismissed") {
          const std::vector<events::NewEvent> evs{
              events::encode(events::CandidateEvent{candidate::StatusChanged{
                  id, c.status, "dismissed", "dismissed by " + ctx.actor, std::nullopt}})};
          auto appended = tx.append(*stream, events::ExpectedVersion::exact(f.version), evs,
                                    {ctx.actor, ctx.correlation_id, std::nullopt});
          if (!appended) return Reply::error(appended.error());
          rep.etag = appended->stream_version;
          rep.position = appended->last_position;
        }
        rep.body = candidate::render(cache_.fold(tx, *stream).state->at(id));
        return rep;
      },
      std::move(done));
}

void CandidateCommands::detect(std::map<std::string, candidate::TypeStats> stats,
                               Micros window_start, CommandContext ctx,
                               std::function<void(Reply)> done) {
  bus_.execute(
      ctx,
      [this, stats = std::move(stats), window_start, ctx](events::Transaction& tx) {
        const auto& excluded = config_.candidate_excluded_task_types;
        const auto min_savings =
            usd_to_micros(config_.auto_draft_min_expected_savings_usd).value_or(0);
        json created = json::array();
        std::uint64_t position = 0;
        for (const auto& [type, st] : stats) {  // task-type order
          if (std::find(excluded.begin(), excluded.end(), type) != excluded.end()) continue;
          if (!capability::is_name(type)) continue;
          const auto state = skills_.skill_state(tx, type);
          if (state && *state != "claude_native") continue;
          if (!candidate::qualifies(st.spend_micro_usd, min_savings)) continue;
          const std::string stream = capability_stream(type);
          const State all = cache_.fold(tx, stream).state.value_or(State{});
          if (find_status(all, {"new", "drafted", "claude_native_registered"})) continue;
          const auto fp_state =
              cache_.fold(tx, fingerprint_stream(candidate::fingerprint(type))).state;
          if (fp_state && find_status(*fp_state, {"claude_native_registered"})) continue;
          candidate::Reported r;
          r.candidate_id = new_uuid_v7(tx.now());
          r.capability_name = type;
          r.status = "new";
          r.expected_savings_micro_usd = candidate::expected_savings(st.spend_micro_usd);
          r.volume_30d = st.volume;
          r.variance_score = candidate::variance_score(st.shapes);
          r.window_start = window_start;
          const std::vector<events::NewEvent> evs{events::encode(events::CandidateEvent{r})};
          auto appended = tx.append(stream, events::ExpectedVersion::any(), evs,
                                    {ctx.actor, ctx.correlation_id, std::nullopt});
          if (!appended) return Reply::error(appended.error());
          tx.put(index_, "i" + r.candidate_id, stream);
          position = appended->last_position;
          created.push_back(r.candidate_id);
        }
        Reply rep;
        rep.status = 200;
        rep.body = json{{"new_candidates", created}}.dump();
        rep.position = position;
        return rep;
      },
      std::move(done));
}

std::optional<std::pair<std::string, candidate::Candidate>> CandidateCommands::find(
    events::Transaction& tx, const std::string& id) {
  auto stream = tx.get(index_, "i" + id);
  if (!stream) return std::nullopt;
  const auto& f = cache_.fold(tx, *stream);
  if (!f.state || !f.state->contains(id)) return std::nullopt;
  return std::pair{*stream, f.state->at(id)};
}

bool CandidateCommands::capability_registered(events::Transaction& tx, const std::string& name) {
  bool registered = false;
  tx.read_stream(capability::stream_name(name), [&](const events::StoredEvent& e) {
    registered = registered || e.type() == fb::Payload::CapabilityRegistered;
  });
  return registered;
}

void CandidateCommands::draft_now(std::string id, CommandContext ctx,
                                  std::function<void(Reply)> done) {
  bus_.execute(
      ctx,
      [this, id, ctx](events::Transaction& tx) {
        auto found = find(tx, id);
        if (!found) {
          return Reply::error(
              Problem::make(ProblemKind::kNotFound, "Candidate " + id + " not found."));
        }
        const auto& [stream, c] = *found;
        if (c.status != "new") {
          return Reply::error(Problem::make(ProblemKind::kWrongState,
                                            "candidate status is '" + c.status + "', not 'new'"));
        }
        if (!c.capability_name || !capability_registered(tx, *c.capability_name)) {
          return Reply::error(Problem::validation(
              {{"capability_name",
                "capability '" + c.capability_name.value_or("") + "' is not registered"}}));
        }
        Reply r;
        r.status = 202;
        if (c.draft_work) {
          r.body = json{{"status", "scheduled"},
                        {"candidate_id", id},
                        {"work_id", c.draft_work->work_id},
                        {"scheduled_at", format_instant(c.draft_work->scheduled_at)}}
                       .dump();
          return r;
        }
        candidate::DraftScheduled d{
            new_uuid_v7(tx.now()), id, "manual", std::nullopt,
            usd_to_micros(config_.auto_draft_estimated_cost_usd).value_or(0)};
        const std::vector<events::NewEvent> evs{events::encode(events::CandidateEvent{d})};
        auto appended = tx.append(stream, events::ExpectedVersion::any(), evs,
                                  {ctx.actor, ctx.correlation_id, std::nullopt});
        if (!appended) return Reply::error(appended.error());
        r.position = appended->last_position;
        r.body = json{{"status", "scheduled"},
                      {"candidate_id", id},
                      {"work_id", d.work_id},
                      {"scheduled_at", format_instant(tx.now())}}
                     .dump();
        return r;
      },
      std::move(done));
}

void CandidateCommands::schedule_drafts(std::vector<std::string> ids, std::int64_t remaining,
                                        std::string run_id, CommandContext ctx,
                                        std::function<void(Reply)> done) {
  bus_.execute(
      ctx,
      [this, ids = std::move(ids), remaining, run_id, ctx](events::Transaction& tx) mutable {
        const auto estimate = usd_to_micros(config_.auto_draft_estimated_cost_usd).value_or(0);
        json scheduled = json::array(), dismissed = json::array();
        std::uint64_t position = 0;
        std::int64_t count = 0;
        auto append = [&](const std::string& stream, const events::CandidateEvent& ev) {
          const std::vector<events::NewEvent> evs{events::encode(ev)};
          auto appended = tx.append(stream, events::ExpectedVersion::any(), evs,
                                    {"system", ctx.correlation_id, std::nullopt});
          if (appended) position = appended->last_position;
          return appended.has_value();
        };
        for (const auto& id : ids) {
          auto found = find(tx, id);
          if (!found || found->second.status != "new") continue;
          const auto& [stream, c] = *found;
          const std::string cap = c.capability_name.value_or("");
          std::optional<std::string> reason;
          if (cap.empty() || !capability_registered(tx, cap)) {
            reason = "capability not found";
          } else if (auto state = skills_.skill_state(tx, cap);
                     state && *state != "claude_native") {
            reason = "capability already has a skill in state " + *state;
          }
          if (reason) {
            if (!append(stream,
                        candidate::StatusChanged{id, "new", "dismissed", reason, std::nullopt})) {
              return Reply::error(Problem::make(ProblemKind::kInternal, "append failed"));
            }
            dismissed.push_back({{"candidate_id", id}, {"reason", *reason}});
            continue;
          }
          if (c.draft_work) continue;
          if (count >= config_.auto_draft_daily_cap || remaining < estimate) break;
          candidate::DraftScheduled d{new_uuid_v7(tx.now()), id, "nightly", run_id, estimate};
          if (!append(stream, d))
            return Reply::error(Problem::make(ProblemKind::kInternal, "append failed"));
          remaining -= estimate;
          ++count;
          scheduled.push_back({{"candidate_id", id}, {"work_id", d.work_id}});
        }
        Reply r;
        r.status = 200;
        r.position = position;
        r.body = json{{"scheduled", scheduled}, {"dismissed", dismissed}, {"remaining", remaining}}
                     .dump();
        return r;
      },
      std::move(done));
}

void CandidateCommands::record_draft(std::string id, PostedDraft d, CommandContext ctx,
                                     std::function<void(Reply)> done) {
  auto effects = std::make_shared<std::vector<SkillEffect>>();
  bus_.execute(
      ctx,
      [this, id, d = std::move(d), ctx, effects](events::Transaction& tx) {
        effects->clear();
        auto found = find(tx, id);
        if (!found) {
          return Reply::error(
              Problem::make(ProblemKind::kNotFound, "Candidate " + id + " not found."));
        }
        const auto& [stream, c] = *found;
        const auto f = cache_.fold(tx, stream);
        if (auto p = precondition(ctx, f.version)) return *p;
        if (c.status != "new") {
          return Reply::error(Problem::make(ProblemKind::kWrongState,
                                            "candidate status is '" + c.status + "', not 'new'"));
        }
        const std::string cap = c.capability_name.value_or("");
        candidate::DraftAttempted a;
        a.candidate_id = id;
        if (c.draft_work) a.work_id = c.draft_work->work_id;
        a.claude_invocation_id = d.claude_invocation_id;
        a.cost_micro_usd = d.cost_micro_usd;
        a.latency_ms = d.latency_ms;
        for (std::size_t i = 0; i < d.fixtures.size(); ++i) {
          a.fixture_results.push_back(
              {d.fixtures[i].case_name.value_or("case_" + std::to_string(i)),
               d.fixture_statuses[i]});
        }
        const auto state = cap.empty() ? std::nullopt : skills_.skill_state(tx, cap);
        char rate_text[160];
        std::optional<StagedDraft> staged;
        if (cap.empty() || !capability_registered(tx, cap)) {
          a.outcome = "dismissed";
          a.rationale = "capability not found";
        } else if (state && *state != "claude_native") {
          a.outcome = "dismissed";
          a.rationale = "capability already has a skill in state " + *state;
        } else if (d.malformed ||
                   d.yaml_backbone.find_first_not_of(" \t\r\n") == std::string::npos ||
                   d.step_content.empty() || d.output_schemas.empty() || d.fixtures.empty()) {
          a.outcome = "malformed_output";
          a.rationale = "malformed llm output";
        } else if (auto why =
                       skill::structural_check(d.yaml_backbone, d.step_content, d.output_schemas)) {
          a.outcome = "malformed_output";
          a.rationale = "structural check failed: " + *why;
        } else {
          const auto passed =
              std::count(d.fixture_statuses.begin(), d.fixture_statuses.end(), "succeeded");
          const double rate = static_cast<double>(passed) / static_cast<double>(d.fixtures.size());
          a.pass_rate = rate;
          const double threshold = config_.auto_draft_fixture_pass_rate;
          if (rate < threshold) {
            std::snprintf(rate_text, sizeof rate_text,
                          "fixture pass rate %.2f below threshold %.2f", rate, threshold);
            a.outcome = "dismissed";
            a.rationale = rate_text;
          } else {
            std::snprintf(rate_text, sizeof rate_text,
                          "fixture pass rate %.2f meets threshold %.2f", rate, threshold);
            a.outcome = "drafted";
            a.rationale = rate_text;
            skill::VersionAdded v;
            v.yaml_backbone = d.yaml_backbone;
            v.step_content = d.step_content.dump();
            v.output_schemas = d.output_schemas.dump();
            v.changelog = d.changelog.value_or("Auto-drafted from candidate report");
            auto s = skills_.stage_draft(tx, cap, std::move(v), d.fixtures, id, ctx);
            if (!s) return Reply::error(s.error());
            staged = *s;
            a.skill_id = s->skill_id;
            a.version_id = s->version_id;
          }
        }
        const std::string to = a.outcome == "drafted" ? "drafted" : "dismissed";
        const std::vector<events::NewEvent> evs{
            events::encode(events::CandidateEvent{a}),
            events::encode(events::CandidateEvent{
                candidate::StatusChanged{id, c.status, to, a.rationale, std::nullopt}})};
        auto appended = tx.append(stream, events::ExpectedVersion::any(), evs,
                                  {ctx.actor, ctx.correlation_id, std::nullopt});
        if (!appended) return Reply::error(appended.error());
        json result = {{"candidate_id", id},
                       {"outcome", a.outcome},
                       {"rationale", a.rationale},
                       {"pass_rate", a.pass_rate ? json(*a.pass_rate) : json()},
                       {"candidate_status", to}};
        json effect_list = json::array();
        if (staged) {
          result["skill_id"] = staged->skill_id;
          result["version_id"] = staged->version_id;
          result["fixture_ids"] = staged->fixture_ids;
          effect_list.push_back({{"type", "SkillStateChanged"},
                                 {"stream", skill::stream_name(staged->skill_id)},
                                 {"to_state", "draft"},
                                 {"reason", "gate_passed"}});
          effects->push_back({staged->skill_id, cap, staged->position, std::nullopt, std::nullopt,
                              std::nullopt, std::nullopt, std::nullopt, true});
        }
        result["effects"] = effect_list;
        Reply r;
        r.status = 201;
        r.body = result.dump();
        r.etag = appended->stream_version;
        r.position = appended->last_position;
        return r;
      },
      [this, effects, done = std::move(done)](Reply r) {
        if (r.ok() && !r.replayed) skills_.observe(std::move(*effects));
        done(std::move(r));
      });
}

}  // namespace annals::commands

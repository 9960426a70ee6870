// Skills, skill runs and divergences (API §3-5).
#include <simdjson.h>

#include "commands/ids.h"
#include "commands/skills.h"
#include "domain/json_text.h"
#include "domain/skill.h"
#include "projections/capabilities.h"
#include "projections/ledger.h"
#include "projections/raw_json.h"
#include "projections/skills.h"
#include "server/app.h"

namespace annals::server {

namespace {

projections::SkillsQueries queries(App& app) {
  const auto view = app.store().read_view();
  return projections::SkillsQueries(app.store(), view);
}

// Rows are rendered with the default trusted sample rate; the served value follows the knob.
std::string with_sample_rate(App& app, std::string row) {
  const double rate = app.config().shadow_sample_rate_trusted;
  if (rate == 0.05 || row.find("\"state\":\"trusted\"") == std::string::npos) return row;
  const std::string from = "\"shadow_sample_rate\":0.05";
  const auto at = row.find(from);
  if (at == std::string::npos) return row;
  std::string to = "\"shadow_sample_rate\":";
  append_json_double(to, rate);
  return row.replace(at, from.size(), to);
}

// S from a stored detail row (`S+`): the members only the detail has are dropped; every other
// member keeps its text and place.
std::string summary_of(const std::string& detail) {
  thread_local simdjson::ondemand::parser parser;
  const simdjson::padded_string padded(detail);
  simdjson::ondemand::document doc;
  simdjson::ondemand::object object;
  if (parser.iterate(padded).get(doc) || doc.get_object().get(object)) return detail;
  std::string out = "{";
  for (auto field : object) {
    std::string_view key, raw;
    simdjson::ondemand::value value;
    if (field.unescaped_key().get(key) || field.value().get(value)) return detail;
    if (key == "current_version" || key == "promotion_held" || key == "evolution_pending") continue;
    if (raw_json_of(value, raw)) return detail;
    if (out.size() > 1) out.push_back(',');
    append_json_string(out, key);
    out.push_back(':');
    out += raw;
  }
  out.push_back('}');
  return out;
}

std::expected<projections::Page, Problem> page(const Call& c, std::int64_t default_limit) {
  auto limit = query_int(c, "limit", 1, 500);
  auto offset = query_int(c, "offset", 0, std::numeric_limits<std::int64_t>::max());
  if (!limit) return std::unexpected(limit.error());
  if (!offset) return std::unexpected(offset.error());
  return projections::Page{limit->value_or(default_limit), offset->value_or(0)};
}

Problem skill_not_found(const std::string& id) {
  return Problem::make(ProblemKind::kNotFound, "Skill not found: '" + id + "'");
}

void transitions_table(App& app, const CallPtr& c) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("transitions").begin_array();
  for (const auto& r : skill::transition_table()) {
    w.begin_object().key("from_state").value(r.from).key("to_state").value(r.to);
    w.key("allowed_reasons").begin_array();
    for (const auto& reason : r.reasons) w.value(reason);
    w.end_array().end_object();
  }
  w.end_array().key("count").value(static_cast<std::int64_t>(skill::transition_table().size()));
  w.end_object();
  app.reply_json(c, 200, std::move(out));
}

void list_skills(App& app, const CallPtr& c, bool drafts) {
  auto p = page(*c, drafts ? 50 : 100);
  if (!p) return app.reply_problem(c, p.error());
  std::optional<std::string> state = drafts ? std::optional<std::string>("draft") : std::nullopt;
  if (const std::string* s = query_string(*c, "state"); s && !drafts) {
    if (!skill::is_state(*s)) {
      return app.reply_problem(c, Problem::validation({{"state", "unknown state '" + *s + "'"}}));
    }
    state = *s;
  }
  std::optional<std::string> capability;
  if (const std::string* s = query_string(*c, "capability_name")) capability = *s;
  app.after_min_position(c, [&app, c, state, capability, p = *p, drafts] {
    const auto q = queries(app);
    auto rows = q.list(state, capability, p);
    // Lists serve S: the detail members are dropped.
    for (auto& row : rows) row = summary_of(with_sample_rate(app, std::move(row)));
    app.reply_json(c, 200, render_page(drafts ? "drafts" : "skills", rows, p.limit, p.offset),
                   q.position());
  });
}

void get_skill(App& app, const CallPtr& c) {
  app.after_min_position(c, [&app, c] {
    const auto q = queries(app);
    const std::string& id = c->params.at("id");
    auto row = commands::is_uuid(id) ? q.get(id) : std::nullopt;
    if (row) row->json = with_sample_rate(app, std::move(row->json));
    app.reply_row(c, std::move(row), q.position(), ("Skill not found: '" + id + "'").c_str());
  });
}

// A sub-list of a skill: 404 when the skill is unknown.
void skill_list(App& app, const CallPtr& c, std::int64_t default_limit, const char* plural,
                std::function<std::vector<std::string>(const projections::SkillsQueries&,
                                                       const std::string&, projections::Page)>
                    read) {
  auto p = page(*c, default_limit);
  if (!p) return app.reply_problem(c, p.error());
  app.after_min_position(c, [&app, c, p = *p, plural, read] {
    const auto q = queries(app);
    const std::string& id = c->params.at("id");
    if (!commands::is_uuid(id) || !q.get(id)) return app.reply_problem(c, skill_not_found(id));
    app.reply_json(c, 200, render_page(plural, read(q, id, p), p.limit, p.offset), q.position());
  });
}

template <typename Parse, typename Run>
void command(App& app, const CallPtr& c, Parse parse, Run run) {
  auto ctx = app.command_context(c);
  if (auto replay = app.bus().replay(ctx)) return app.reply_command(c, *replay);
  auto parsed = parse(c->body);
  if (!parsed) return app.reply_problem(c, parsed.error());
  run(std::move(*parsed), std::move(ctx),
      [&app, c](commands::Reply r) { app.reply_command(c, r); });
}

void register_skill(App& app, const CallPtr& c) {
  command(app, c, commands::parse_register_skill, [&app](auto reg, auto ctx, auto done) {
    app.core().skills->register_skill(std::move(reg), std::move(ctx), std::move(done));
  });
}

void change_state(App& app, const CallPtr& c) {
  const std::string id = c->params.at("id");
  command(app, c, commands::parse_transition, [&app, id](auto req, auto ctx, auto done) {
    app.core().skills->transition(id, std::move(req), std::move(ctx), std::move(done));
  });
}

void set_flag(App& app, const CallPtr& c) {
  const std::string id = c->params.at("id");
  command(app, c, commands::parse_flag, [&app, id](bool value, auto ctx, auto done) {
    app.core().skills->set_flag(id, value, std::move(ctx), std::move(done));
  });
}

void record_run(App& app, const CallPtr& c) {
  const auto parse = [c](const nlohmann::json&) { return commands::parse_skill_run(c->req.body); };
  command(app, c, parse, [&app](auto draft, auto ctx, auto done) {
    app.core().skills->record_run(std::move(draft), std::move(ctx), std::move(done));
  });
}

void record_divergence(App& app, const CallPtr& c) {
  const std::string run_id = c->params.at("run_id");
  const auto parse = [c](const nlohmann::json&) { return commands::parse_divergence(c->req.body); };
  command(app, c, parse, [&app, run_id](auto d, auto ctx, auto done) {
    app.core().skills->record_divergence(run_id, std::move(d), std::move(ctx), std::move(done));
  });
}

std::expected<std::optional<std::string>, Problem> run_status(const Call& c) {
  const std::string* s = query_string(c, "status");
  if (s == nullptr) return std::nullopt;
  if (*s != "succeeded" && *s != "failed" && *s != "escalated") {
    return std::unexpected(
        Problem::validation({{"status", "must be one of: succeeded, failed, escalated"}}));
  }
  return *s;
}

void list_runs(App& app, const CallPtr& c, bool of_skill) {
  auto p = page(*c, 50);
  if (!p) return app.reply_problem(c, p.error());
  auto status = run_status(*c);
  if (!status) return app.reply_problem(c, status.error());
  std::optional<std::string> skill_id, version_id;
  if (of_skill) skill_id = c->params.at("id");
  if (const std::string* s = query_string(*c, of_skill ? "skill_version_id" : "skill_id")) {
    (of_skill ? version_id : skill_id) = *s;
  }
  app.after_min_position(c, [&app, c, p = *p, status = *status, skill_id, version_id, of_skill] {
    const auto q = queries(app);
    if (of_skill && (!commands::is_uuid(*skill_id) || !q.get(*skill_id))) {
      return app.reply_problem(c, skill_not_found(*skill_id));
    }
    app.reply_json(c, 200,
                   render_page("runs", q.runs(skill_id, status, version_id, p), p.limit, p.offset),
                   q.position());
  });
}

void get_run(App& app, const CallPtr& c) {
  app.after_min_position(c, [&app, c] {
    const auto q = queries(app);
    auto row = q.run(c->params.at("run_id"));
    if (!row) {
      return app.reply_problem(c, Problem::make(ProblemKind::kNotFound, "Skill run not found."));
    }
    app.reply_json(c, 200, std::move(*row), q.position());
  });
}

void get_divergence(App& app, const CallPtr& c) {
  app.after_min_position(c, [&app, c] {
    const auto q = queries(app);
    auto row = q.latest_divergence(c->params.at("run_id"));
    if (!row) {
      return app.reply_problem(
          c, Problem::make(ProblemKind::kNotFound, "No divergence for this run."));
    }
    app.reply_json(c, 200, std::move(*row), q.position());
  });
}

void get_version(App& app, const CallPtr& c) {
  app.after_min_position(c, [&app, c] {
    const auto q = queries(app);
    auto row = q.version(c->params.at("id"), c->params.at("version_id"));
    if (!row)
      return app.reply_problem(c, Problem::make(ProblemKind::kNotFound, "Version not found."));
    app.reply_json(c, 200, std::move(*row), q.position());
  });
}

void record_correction(App& app, const CallPtr& c) {
  command(app, c, commands::parse_correction, [&app](auto correction, auto ctx, auto done) {
    app.core().skills->record_correction(std::move(correction), std::move(ctx), std::move(done));
  });
}

void list_corrections(App& app, const CallPtr& c) {
  auto p = page(*c, 100);
  if (!p) return app.reply_problem(c, p.error());
  auto since = query_instant(*c, "since");
  auto until = query_instant(*c, "until");
  if (!since) return app.reply_problem(c, since.error());
  if (!until) return app.reply_problem(c, until.error());
  projections::CorrectionFilter f;
  if (const std::string* t = query_string(*c, "task_type")) f.task_type = *t;
  f.since = *since;
  f.until = *until;
  app.after_min_position(c, [&app, c, f, p = *p] {
    const auto view = app.store().read_view();
    const projections::CorrectionsQueries q(app.store().db(), view.family("corrections"), view);
    app.reply_json(c, 200, render_page("corrections", q.list(f, p), p.limit, p.offset),
                   q.position());
  });
}

void add_fixture(App& app, const CallPtr& c) {
  const std::string id = c->params.at("id");
  command(app, c, commands::parse_fixture, [&app, id](auto f, auto ctx, auto done) {
    app.core().skills->add_fixture(id, std::move(f), std::move(ctx), std::move(done));
  });
}

void capture_fixture(App& app, const CallPtr& c) {
  auto ctx = app.command_context(c);
  if (auto replay = app.bus().replay(ctx)) return app.reply_command(c, *replay);
  app.core().skills->capture_fixture(c->params.at("run_id"), std::move(ctx),
                                     [&app, c](commands::Reply r) { app.reply_command(c, r); });
}

void record_attempt(App& app, const CallPtr& c) {
  const std::string id = c->params.at("id");
  command(app, c, commands::parse_attempt, [&app, id](auto req, auto ctx, auto done) {
    app.core().skills->record_attempt(id, std::move(req), std::move(ctx), std::move(done));
  });
}

// GET /admin/skills/{id}/evolution-input (SPEC §2.19.2): bounded reads of the read models.
void evolution_input(App& app, const CallPtr& c) {
  app.after_min_position(c, [&app, c] {
    using oj = nlohmann::ordered_json;
    const std::string& id = c->params.at("id");
    const auto view = app.store().read_view();
    auto* db = app.store().db();
    const projections::SkillsQueries q(app.store(), view);
    auto row = commands::is_uuid(id) ? q.get(id) : std::nullopt;
    if (!row) return app.reply_problem(c, skill_not_found(id));
    const Config& config = app.config();
    const auto [count, sum] = q.divergence_totals(id);
    if (count < config.evolution_min_divergence_cases) {
      return app.reply_problem(
          c, Problem::make(ProblemKind::kInsufficientData,
                           "insufficient divergence data: " + std::to_string(count) + " < " +
                               std::to_string(config.evolution_min_divergence_cases)));
    }
    const oj skill = oj::parse(row->json);
    const std::string capability = skill["capability_name"];
    oj out = oj::object();
    out["skill_id"] = id;
    const projections::CapabilitiesQueries caps(db, view.family("capabilities"), view);
    if (auto cap = caps.get(capability)) {
      const oj j = oj::parse(cap->json);
      out["capability"] = {{"name", capability},
                           {"description", j["description"]},
                           {"input_schema", j["input_schema"]},
                           {"trigger_type", j["trigger_type"]}};
    } else {
      out["capability"] = {{"name", capability},
                           {"description", ""},
                           {"input_schema", oj::object()},
                           {"trigger_type", nullptr}};
    }
    const oj& v = skill["current_version"];
    out["current_version"] = v.is_null() ? oj()
                                         : oj{{"id", v["id"]},
                                              {"version_number", v["version_number"]},
                                              {"yaml_backbone", v["yaml_backbone"]},
                                              {"step_content", v["step_content"]},
                                              {"output_schemas", v["output_schemas"]}};
    oj cases = oj::array();
    for (const auto& text : q.divergences(id, {config.evolution_max_divergence_cases, 0})) {
      const oj d = oj::parse(text);
      const oj run = oj::parse(q.run(d["skill_run_id"]).value_or("{}"));
      cases.push_back({{"divergence_id", d["id"]},
                       {"run_id", d["skill_run_id"]},
                       {"agreement", d["overall_agreement"]},
                       {"diff_summary", d["diff_summary"]},
                       {"created_at", d["created_at"]},
                       {"inputs", run.value("inputs", oj::object())},
                       {"state_object", run.value("state_object", oj::object())},
                       {"final_output", run.value("final_output", oj())}});
    }
    out["divergence_cases"] = std::move(cases);
    oj corrections = oj::array();
    projections::CorrectionFilter cf;
    cf.task_type = capability;
    for (const auto& text :
         projections::CorrectionsQueries(db, view.family("corrections"), view).list(cf, {50, 0})) {
      const oj k = oj::parse(text);
      corrections.push_back({{"id", k["id"]},
                             {"timestamp", k["timestamp"]},
                             {"task_id", k["task_id"]},
                             {"field_corrected", k["field_corrected"]},
                             {"original_value", k["original_value"]},
                             {"corrected_value", k["corrected_value"]}});
    }
    out["correction_log"] = std::move(corrections);
    oj attempts = oj::array();
    for (const auto& text :
         projections::PerSkillQueries(db, view.family("skill_evolution_log"), view)
             .list(id, {10, 0})) {
      const oj a = oj::parse(text);
      attempts.push_back({{"id", a["id"]},
                          {"from_version_id", a["from_version_id"]},
                          {"to_version_id", a["to_version_id"]},
                          {"triggered_by", a["triggered_by"]},
                          {"outcome", a["outcome"]},
                          {"at", a["at"]}});
    }
    out["prior_evolution_log"] = std::move(attempts);
    oj fixtures = oj::array(), fixture_ids = oj::array();
    for (const auto& text : projections::PerSkillQueries(db, view.family("fixtures"), view)
                                .list(id, {std::numeric_limits<std::int64_t>::max(), 0})) {
      const oj f = oj::parse(text);
      fixture_ids.push_back(f["id"]);
      fixtures.push_back({{"id", f["id"]},
                          {"case_name", f["case_name"]},
                          {"input", f["input"]},
                          {"expected_output_shape", f["expected_output_shape"]},
                          {"tool_mocks", f["tool_mocks"]},
                          {"source", f["source"]}});
    }
    out["fixture_library"] = std::move(fixtures);
    out["stats"] = {{"baseline_agreement", skill["baseline_agreement"]},
                    {"current_mean_agreement", count > 0 ? sum / static_cast<double>(count) : 0.0},
                    {"total_divergence_samples", count},
                    {"skill_run_failure_count", q.failed_runs(id)}};
    oj recent = oj::array();
    const Micros cutoff =
        app.now() - config.evolution_recent_success_window_days * 86'400 * kMicrosPerSecond;
    for (const auto& text : q.runs(id, std::string("succeeded"), std::nullopt,
                                   {config.evolution_recent_success_count, 0})) {
      const oj r = oj::parse(text);
      if (parse_instant(r["started_at"].get<std::string>()).value_or(0) < cutoff) break;
      const oj full = oj::parse(q.run(r["id"]).value_or("{}"));
      recent.push_back({{"run_id", r["id"]},
                        {"started_at", r["started_at"]},
                        {"inputs", full.value("inputs", oj::object())},
                        {"tool_result_cache", full.value("tool_result_cache", oj::object())}});
    }
    out["gate_cases"] = {{"fixture_ids", std::move(fixture_ids)},
                         {"recent_success", std::move(recent)}};
    app.reply_json(c, 200, out.dump(-1, ' ', false, oj::error_handler_t::replace), q.position());
  });
}

void run_nightly(App& app, const CallPtr& c) {
  app.core().nightly->run_async("manual",
                                [&app, c](commands::Reply r) { app.reply_command(c, r); });
}

void nightly_runs(App& app, const CallPtr& c) {
  auto p = page(*c, 20);
  if (!p) return app.reply_problem(c, p.error());
  app.after_min_position(c, [&app, c, p = *p] {
    const auto view = app.store().read_view();
    const projections::PerSkillQueries q(app.store().db(), view.family("nightly_runs"), view);
    app.reply_json(c, 200, render_page("runs", q.all(p), p.limit, p.offset));
  });
}

void nightly_run(App& app, const CallPtr& c) {
  app.after_min_position(c, [&app, c] {
    const auto view = app.store().read_view();
    const projections::PerSkillQueries q(app.store().db(), view.family("nightly_runs"), view);
    auto row = q.get(c->params.at("id"));
    if (!row)
      return app.reply_problem(c, Problem::make(ProblemKind::kNotFound, "Nightly run not found."));
    app.reply_json(c, 200, std::move(*row));
  });
}

void evolution_work(App& app, const CallPtr& c) {
  auto p = page(*c, 100);
  if (!p) return app.reply_problem(c, p.error());
  app.after_min_position(c, [&app, c, p = *p] {
    const auto q = queries(app);
    app.reply_json(c, 200, render_page("work", q.evolution_work(p), p.limit, p.offset),
                   q.position());
  });
}

projections::CandidatesQueries candidate_queries(App& app) {
  const auto view = app.store().read_view();
  return projections::CandidatesQueries(app.store().db(), view.family("candidates"), view);
}

void list_candidates(App& app, const CallPtr& c) {
  auto p = page(*c, 50);
  if (!p) return app.reply_problem(c, p.error());
  std::optional<std::string> status = "new";
  if (const std::string* s = query_string(*c, "status")) {
    static const std::vector<std::string> kStatuses = {
        "new", "drafted", "dismissed", "stale", "claude_native_registered", "all"};
    if (std::find(kStatuses.begin(), kStatuses.end(), *s) == kStatuses.end()) {
      return app.reply_problem(c, Problem::validation({{"status", "unknown status '" + *s + "'"}}));
    }
    status = *s == "all" ? std::nullopt : std::optional(*s);
  }
  std::optional<std::string> capability;
  if (const std::string* s = query_string(*c, "capability_name")) capability = *s;
  app.after_min_position(c, [&app, c, status, capability, p = *p] {
    const auto q = candidate_queries(app);
    app.reply_json(c, 200,
                   render_page("candidates", q.list(status, capability, p), p.limit, p.offset),
                   q.position());
  });
}

void get_candidate(App& app, const CallPtr& c) {
  app.after_min_position(c, [&app, c] {
    const auto q = candidate_queries(app);
    auto row = q.get(c->params.at("id"));
    if (!row)
      return app.reply_problem(c, Problem::make(ProblemKind::kNotFound, "Candidate not found."));
    app.reply_json(c, 200, std::move(*row), q.position());
  });
}

void register_pattern(App& app, const CallPtr& c) {
  command(app, c, commands::parse_registration, [&app](auto reg, auto ctx, auto done) {
    app.core().candidates->register_pattern(std::move(reg), std::move(ctx), std::move(done));
  });
}

void dismiss_candidate(App& app, const CallPtr& c) {
  auto ctx = app.command_context(c);
  if (auto replay = app.bus().replay(ctx)) return app.reply_command(c, *replay);
  app.core().candidates->dismiss(c->params.at("id"), std::move(ctx),
                                 [&app, c](commands::Reply r) { app.reply_command(c, r); });
}

void draft_now(App& app, const CallPtr& c) {
  auto ctx = app.command_context(c);
  if (auto replay = app.bus().replay(ctx)) return app.reply_command(c, *replay);
  app.core().candidates->draft_now(c->params.at("id"), std::move(ctx),
                                   [&app, c](commands::Reply r) { app.reply_command(c, r); });
}

void record_draft(App& app, const CallPtr& c) {
  const std::string id = c->params.at("id");
  command(app, c, commands::parse_draft, [&app, id](auto d, auto ctx, auto done) {
    app.core().candidates->record_draft(id, std::move(d), std::move(ctx), std::move(done));
  });
}

void draft_input(App& app, const CallPtr& c) {
  app.after_min_position(c, [&app, c] {
    using oj = nlohmann::ordered_json;
    const auto view = app.store().read_view();
    auto* db = app.store().db();
    const projections::CandidatesQueries q(db, view.family("candidates"), view);
    auto row = q.get(c->params.at("id"));
    if (!row)
      return app.reply_problem(c, Problem::make(ProblemKind::kNotFound, "Candidate not found."));
    const oj n = oj::parse(*row);
    oj out = {{"candidate", n}, {"capability", nullptr}, {"samples", oj::array()}};
    if (n["capability_name"].is_string()) {
      const std::string cap = n["capability_name"];
      const projections::CapabilitiesQueries caps(db, view.family("capabilities"), view);
      if (auto found = caps.get(cap)) out["capability"] = oj::parse(found->json);
      const projections::LedgerQueries ledger(app.store(), view);
      projections::InvocationFilter f;
      f.task_type = cap;
      f.limit = 5;
      for (const auto& text : ledger.list(f)) {
        const oj i = oj::parse(text);
        out["samples"].push_back(
            {{"invocation_id", i["id"]}, {"at", i["at"]}, {"output", i["output"]}});
      }
    }
    app.reply_json(c, 200, out.dump(), view.head());
  });
}

void drafting_work(App& app, const CallPtr& c) {
  auto p = page(*c, 100);
  if (!p) return app.reply_problem(c, p.error());
  app.after_min_position(c, [&app, c, p = *p] {
    const auto q = candidate_queries(app);
    app.reply_json(c, 200, render_page("work", q.draft_work(p), p.limit, p.offset), q.position());
  });
}

}  // namespace

void add_skill_routes(std::vector<Route>& routes) {
  using B = Route::Body;
  routes.push_back({"POST", "/admin/corrections", Role::kWriter, {}, B::kJson, record_correction});
  routes.push_back({"POST", "/admin/nightly/run", Role::kAdmin, {}, B::kNone, run_nightly});
  routes.push_back({"GET",
                    "/admin/skill-candidates",
                    Role::kReader,
                    {"status", "capability_name", "limit", "offset"},
                    B::kNone,
                    list_candidates});
  routes.push_back(
      {"GET", "/admin/skill-candidates/{id}", Role::kReader, {}, B::kNone, get_candidate});
  routes.push_back(
      {"POST", "/admin/skill-candidates/{id}/draft-now", Role::kAdmin, {}, B::kNone, draft_now});
  routes.push_back({"GET",
                    "/admin/skill-candidates/{id}/draft-input",
                    Role::kReader,
                    {},
                    B::kNone,
                    draft_input});
  routes.push_back(
      {"POST", "/admin/skill-candidates/{id}/drafts", Role::kWriter, {}, B::kJson, record_draft});
  routes.push_back(
      {"GET", "/admin/drafting/work", Role::kReader, {"limit", "offset"}, B::kNone, drafting_work});
  routes.push_back({"POST",
                    "/admin/skill-candidates/registrations",
                    Role::kWriter,
                    {},
                    B::kJson,
                    register_pattern});
  routes.push_back({"POST",
                    "/admin/skill-candidates/{id}/dismiss",
                    Role::kAdmin,
                    {},
                    B::kNone,
                    dismiss_candidate});
  routes.push_back(
      {"GET", "/admin/nightly/runs", Role::kReader, {"limit", "offset"}, B::kNone, nightly_runs});
  routes.push_back({"GET", "/admin/nightly/runs/{id}", Role::kReader, {}, B::kNone, nightly_run});
  routes.push_back({"GET",
                    "/admin/evolution/work",
                    Role::kReader,
                    {"limit", "offset"},
                    B::kNone,
                    evolution_work});
  routes.push_back(
      {"POST", "/admin/skills/{id}/fixtures", Role::kAdmin, {}, B::kJson, add_fixture});
  routes.push_back(
      {"GET",
       "/admin/skills/{id}/fixtures",
       Role::kReader,
       {"limit", "offset"},
       B::kNone,
       [](App& app, const CallPtr& c) {
         skill_list(app, c, 100, "fixtures", [&app](const auto&, const auto& id, auto p) {
           const auto view = app.store().read_view();
           return projections::PerSkillQueries(app.store().db(), view.family("fixtures"), view)
               .list(id, p);
         });
       }});
  routes.push_back(
      {"GET", "/admin/skills/{id}/evolution-input", Role::kReader, {}, B::kNone, evolution_input});
  routes.push_back({"POST",
                    "/admin/skills/{id}/evolution-attempts",
                    Role::kWriter,
                    {},
                    B::kJson,
                    record_attempt});
  routes.push_back({"GET",
                    "/admin/skills/{id}/evolution-attempts",
                    Role::kReader,
                    {"limit", "offset"},
                    B::kNone,
                    [](App& app, const CallPtr& c) {
                      skill_list(
                          app, c, 50, "attempts", [&app](const auto&, const auto& id, auto p) {
                            const auto view = app.store().read_view();
                            return projections::PerSkillQueries(
                                       app.store().db(), view.family("skill_evolution_log"), view)
                                .list(id, p);
                          });
                    }});
  routes.push_back({"POST",
                    "/admin/skill-runs/{run_id}/capture-fixture",
                    Role::kAdmin,
                    {},
                    B::kNone,
                    capture_fixture});
  routes.push_back({"GET",
                    "/admin/corrections",
                    Role::kReader,
                    {"task_type", "since", "until", "limit", "offset"},
                    B::kNone,
                    list_corrections});
  routes.push_back(
      {"GET", "/admin/skills/_transitions", Role::kReader, {}, B::kNone, transitions_table});
  routes.push_back({"GET",
                    "/admin/skills",
                    Role::kReader,
                    {"state", "capability_name", "limit", "offset"},
                    B::kNone,
                    [](App& app, const CallPtr& c) { list_skills(app, c, false); }});
  routes.push_back({"POST", "/admin/skills", Role::kAdmin, {}, B::kJson, register_skill});
  routes.push_back({"GET", "/admin/skills/{id}", Role::kReader, {}, B::kNone, get_skill});
  routes.push_back({"POST", "/admin/skills/{id}/state", Role::kAdmin, {}, B::kJson, change_state});
  routes.push_back({"POST",
                    "/admin/skills/{id}/flags/requires_human_gate",
                    Role::kAdmin,
                    {},
                    B::kJson,
                    set_flag});
  routes.push_back(
      {"GET",
       "/admin/skills/{id}/transitions",
       Role::kReader,
       {"limit", "offset"},
       B::kNone,
       [](App& app, const CallPtr& c) {
         skill_list(app, c, 100, "transitions",
                    [](const auto& q, const auto& id, auto p) { return q.transitions(id, p); });
       }});
  routes.push_back({"GET",
                    "/admin/skills/{id}/versions",
                    Role::kReader,
                    {"limit", "offset"},
                    B::kNone,
                    [](App& app, const CallPtr& c) {
                      skill_list(app, c, 50, "versions", [](const auto& q, const auto& id, auto p) {
                        return q.versions(id, p);
                      });
                    }});
  routes.push_back({"GET",
                    "/admin/skills/{id}/versions/{version_id}",
                    Role::kReader,
                    {},
                    B::kNone,
                    get_version});
  routes.push_back({"GET",
                    "/admin/skill-drafts",
                    Role::kReader,
                    {"limit", "offset"},
                    B::kNone,
                    [](App& app, const CallPtr& c) { list_skills(app, c, true); }});
  routes.push_back({"POST", "/admin/skill-runs", Role::kWriter, {}, B::kJsonText, record_run});
  routes.push_back({"GET",
                    "/admin/skill-runs",
                    Role::kReader,
                    {"status", "skill_id", "limit", "offset"},
                    B::kNone,
                    [](App& app, const CallPtr& c) { list_runs(app, c, false); }});
  routes.push_back({"GET",
                    "/admin/skills/{id}/runs",
                    Role::kReader,
                    {"status", "skill_version_id", "limit", "offset"},
                    B::kNone,
                    [](App& app, const CallPtr& c) { list_runs(app, c, true); }});
  routes.push_back({"GET", "/admin/skill-runs/{run_id}", Role::kReader, {}, B::kNone, get_run});
  routes.push_back({"POST",
                    "/admin/skill-runs/{run_id}/divergence",
                    Role::kWriter,
                    {},
                    B::kJsonText,
                    record_divergence});
  routes.push_back({"GET",
                    "/admin/skill-runs/{run_id}/divergence",
                    Role::kReader,
                    {},
                    B::kNone,
                    get_divergence});
  routes.push_back(
      {"GET",
       "/admin/skills/{id}/divergences",
       Role::kReader,
       {"limit", "offset"},
       B::kNone,
       [](App& app, const CallPtr& c) {
         skill_list(app, c, 100, "divergences",
                    [](const auto& q, const auto& id, auto p) { return q.divergences(id, p); });
       }});
}

}  // namespace annals::server

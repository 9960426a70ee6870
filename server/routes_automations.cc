// Automations (API §12): list, detail, create, patch, pause, resume, delete, run-now, runs.
#include "commands/automations.h"
#include "commands/ids.h"
#include "projections/automation_runs.h"
#include "projections/automations.h"
#include "server/app.h"

namespace annals::server {

namespace {

projections::AutomationsQueries queries(App& app) {
  const auto view = app.store().read_view();
  return projections::AutomationsQueries(app.store().db(), view.family("automations"), view);
}

void list_automations(App& app, const CallPtr& c) {
  auto limit = query_int(*c, "limit", 1, 500);
  auto offset = query_int(*c, "offset", 0, std::numeric_limits<std::int64_t>::max());
  if (!limit) return app.reply_problem(c, limit.error());
  if (!offset) return app.reply_problem(c, offset.error());
  projections::AutomationFilter f;
  if (const std::string* s = query_string(*c, "status")) {
    if (*s != "active" && *s != "paused" && *s != "deleted" && *s != "all") {
      return app.reply_problem(
          c, Problem::validation({{"status", "must be one of: active, paused, deleted, all"}}));
    }
    f.status = *s == "all" ? std::nullopt : std::optional(*s);
  }
  if (const std::string* s = query_string(*c, "capability_name")) f.capability_name = *s;
  if (const std::string* s = query_string(*c, "user_id")) f.user_id = *s;
  f.limit = limit->value_or(100);
  f.offset = offset->value_or(0);
  app.after_min_position(c, [&app, c, f] {
    const auto q = queries(app);
    app.reply_json(c, 200, render_page("automations", q.list(f), f.limit, f.offset), q.position());
  });
}

void get_automation(App& app, const CallPtr& c) {
  app.after_min_position(c, [&app, c] {
    const auto q = queries(app);
    const std::string& id = c->params.at("id");
    app.reply_row(c, commands::is_uuid(id) ? q.get(id) : std::nullopt, q.position(),
                  "Automation not found.");
  });
}

void create_automation(App& app, const CallPtr& c) {
  auto ctx = app.command_context(c);
  if (auto replay = app.bus().replay(ctx)) return app.reply_command(c, *replay);
  auto draft = commands::parse_create_automation(c->body);
  if (!draft) return app.reply_problem(c, draft.error());
  app.automations().create(std::move(*draft), std::move(ctx),
                           [&app, c](commands::Reply r) { app.reply_command(c, r); });
}

void patch_automation(App& app, const CallPtr& c) {
  auto ctx = app.command_context(c);
  if (auto replay = app.bus().replay(ctx)) return app.reply_command(c, *replay);
  auto patch = commands::parse_patch_automation(c->body);
  if (!patch) return app.reply_problem(c, patch.error());
  const std::string& id = c->params.at("id");
  if (!commands::is_uuid(id)) {
    return app.reply_problem(c, Problem::make(ProblemKind::kNotFound, "Automation not found."));
  }
  app.automations().patch(id, std::move(*patch), std::move(ctx),
                          [&app, c](commands::Reply r) { app.reply_command(c, r); });
}

void act(App& app, const CallPtr& c, commands::AutomationCommands::Action action) {
  auto ctx = app.command_context(c);
  if (auto replay = app.bus().replay(ctx)) return app.reply_command(c, *replay);
  const std::string& id = c->params.at("id");
  if (!commands::is_uuid(id)) {
    return app.reply_problem(c, Problem::make(ProblemKind::kNotFound, "Automation not found."));
  }
  app.automations().act(id, action, std::move(ctx),
                        [&app, c](commands::Reply r) { app.reply_command(c, r); });
}

void run_now(App& app, const CallPtr& c) {
  bool force = false;
  if (const std::string* f = query_string(*c, "force")) {
    if (*f == "true" || *f == "1") {
      force = true;
    } else if (*f != "false" && *f != "0") {
      return app.reply_problem(
          c, Problem::make(ProblemKind::kBadRequest, "force must be true or false."));
    }
  }
  auto ctx = app.command_context(c);
  if (auto replay = app.bus().replay(ctx)) return app.reply_command(c, *replay);
  const std::string& id = c->params.at("id");
  if (!commands::is_uuid(id)) {
    return app.reply_problem(c, Problem::make(ProblemKind::kNotFound, "Automation not found."));
  }
  app.core().dispatcher->run_now(id, force, std::move(ctx),
                                 [&app, c](commands::Reply r) { app.reply_command(c, r); });
}

projections::AutomationRunsQueries run_queries(App& app) {
  const auto view = app.store().read_view();
  return projections::AutomationRunsQueries(app.store().db(), view.family("automation_runs"), view);
}

void list_runs(App& app, const CallPtr& c) {
  auto limit = query_int(*c, "limit", 1, 500);
  auto offset = query_int(*c, "offset", 0, std::numeric_limits<std::int64_t>::max());
  if (!limit) return app.reply_problem(c, limit.error());
  if (!offset) return app.reply_problem(c, offset.error());
  std::optional<std::string> status;
  if (const std::string* s = query_string(*c, "status")) {
    static const std::vector<std::string> kStatuses = {"running", "succeeded", "failed",
                                                       "escalated", "skipped_budget"};
    if (std::find(kStatuses.begin(), kStatuses.end(), *s) == kStatuses.end()) {
      return app.reply_problem(
          c, Problem::validation(
                 {{"status",
                   "must be one of: running, succeeded, failed, escalated, skipped_budget"}}));
    }
    status = *s;
  }
  app.after_min_position(c, [&app, c, status, limit = limit->value_or(50),
                             offset = offset->value_or(0)] {
    const std::string& id = c->params.at("id");
    // One view for both reads: the automation's existence and its runs.
    const auto view = app.store().read_view();
    const projections::AutomationsQueries automations(app.store().db(), view.family("automations"),
                                                      view);
    if (!commands::is_uuid(id) || !automations.get(id)) {
      return app.reply_problem(c, Problem::make(ProblemKind::kNotFound, "Automation not found."));
    }
    const projections::AutomationRunsQueries runs(app.store().db(), view.family("automation_runs"),
                                                  view);
    app.reply_json(c, 200, render_page("runs", runs.list(id, status, limit, offset), limit, offset),
                   runs.position());
  });
}

void get_run(App& app, const CallPtr& c) {
  app.after_min_position(c, [&app, c] {
    const auto q = run_queries(app);
    const std::string& id = c->params.at("id");
    const std::string& run_id = c->params.at("run_id");
    std::optional<std::string> row;
    if (commands::is_uuid(run_id)) row = q.get(run_id);
    // A run of another automation is not found here.
    if (row && row->find("\"automation_id\":\"" + id + "\"") == std::string::npos) row.reset();
    if (!row) {
      return app.reply_problem(c, Problem::make(ProblemKind::kNotFound, "Run not found."));
    }
    app.reply_json(c, 200, std::move(*row), q.position());
  });
}

}  // namespace

void add_automation_routes(std::vector<Route>& routes) {
  using Action = commands::AutomationCommands::Action;
  routes.push_back({"GET",
                    "/admin/automations",
                    Role::kReader,
                    {"status", "capability_name", "user_id", "limit", "offset"},
                    Route::Body::kNone,
                    list_automations});
  routes.push_back(
      {"GET", "/admin/automations/{id}", Role::kReader, {}, Route::Body::kNone, get_automation});
  routes.push_back(
      {"POST", "/admin/automations", Role::kAdmin, {}, Route::Body::kJson, create_automation});
  routes.push_back(
      {"PATCH", "/admin/automations/{id}", Role::kAdmin, {}, Route::Body::kJson, patch_automation});
  routes.push_back({"POST",
                    "/admin/automations/{id}/pause",
                    Role::kAdmin,
                    {},
                    Route::Body::kNone,
                    [](App& app, const CallPtr& c) { act(app, c, Action::kPause); }});
  routes.push_back({"POST",
                    "/admin/automations/{id}/resume",
                    Role::kAdmin,
                    {},
                    Route::Body::kNone,
                    [](App& app, const CallPtr& c) { act(app, c, Action::kResume); }});
  routes.push_back({"DELETE",
                    "/admin/automations/{id}",
                    Role::kAdmin,
                    {},
                    Route::Body::kNone,
                    [](App& app, const CallPtr& c) { act(app, c, Action::kDelete); }});
  routes.push_back({"POST",
                    "/admin/automations/{id}/run-now",
                    Role::kAdmin,
                    {"force"},
                    Route::Body::kNone,
                    run_now});
  routes.push_back({"GET",
                    "/admin/automations/{id}/runs",
                    Role::kReader,
                    {"status", "limit", "offset"},
                    Route::Body::kNone,
                    list_runs});
  routes.push_back({"GET",
                    "/admin/automations/{id}/runs/{run_id}",
                    Role::kReader,
                    {},
                    Route::Body::kNone,
                    get_run});
}

}  // namespace annals::server

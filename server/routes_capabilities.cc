// Capabilities (API §2).
#include "commands/capabilities.h"
#include "projections/capabilities.h"
#include "server/app.h"

namespace annals::server {

namespace {

projections::CapabilitiesQueries queries(App& app) {
  const auto view = app.store().read_view();
  return projections::CapabilitiesQueries(app.store().db(), view.family("capabilities"), view);
}

void list_capabilities(App& app, const CallPtr& c) {
  auto limit = query_int(*c, "limit", 1, 500);
  auto offset = query_int(*c, "offset", 0, std::numeric_limits<std::int64_t>::max());
  if (!limit) return app.reply_problem(c, limit.error());
  if (!offset) return app.reply_problem(c, offset.error());
  std::optional<std::string> trigger_type;
  if (const std::string* t = query_string(*c, "trigger_type")) {
    if (!capability::is_trigger_type(*t)) {
      return app.reply_problem(
          c, Problem::validation(
                 {{"trigger_type", "must be one of: on_message, on_schedule, on_manual"}}));
    }
    trigger_type = *t;
  }
  app.after_min_position(
      c, [&app, c, trigger_type, limit = limit->value_or(100), offset = offset->value_or(0)] {
        const auto q = queries(app);
        app.reply_json(
            c, 200, render_page("capabilities", q.list(trigger_type, limit, offset), limit, offset),
            q.position());
      });
}

void get_capability(App& app, const CallPtr& c) {
  app.after_min_position(c, [&app, c] {
    const auto q = queries(app);
    app.reply_row(c, q.get(c->params.at("name")), q.position(), "Capability not found.");
  });
}

void register_capability(App& app, const CallPtr& c) {
  auto ctx = app.command_context(c);
  if (auto replay = app.bus().replay(ctx)) return app.reply_command(c, *replay);
  auto fields = commands::parse_register_capability(c->body);
  if (!fields) return app.reply_problem(c, fields.error());
  app.capabilities().register_capability(std::move(*fields), std::move(ctx),
                                         [&app, c](commands::Reply r) { app.reply_command(c, r); });
}

}  // namespace

void add_capability_routes(std::vector<Route>& routes) {
  routes.push_back(
      {"POST", "/admin/capabilities", Role::kAdmin, {}, Route::Body::kJson, register_capability});
  routes.push_back({"GET",
                    "/admin/capabilities",
                    Role::kReader,
                    {"trigger_type", "limit", "offset"},
                    Route::Body::kNone,
                    list_capabilities});
  routes.push_back(
      {"GET", "/admin/capabilities/{name}", Role::kReader, {}, Route::Body::kNone, get_capability});
}

}  // namespace annals::server

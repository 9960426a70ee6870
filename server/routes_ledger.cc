// Invocations and spend (API §7): the cost ledger and the budget guard.
#include "commands/ledger.h"
#include "projections/ledger.h"
#include "server/app.h"

namespace annals::server {

namespace {

projections::LedgerQueries queries(App& app) {
  const auto view = app.store().read_view();
  return projections::LedgerQueries(app.store(), view);
}

void record_invocation(App& app, const CallPtr& c) {
  auto ctx = app.command_context(c);
  if (auto replay = app.bus().replay(ctx)) return app.reply_command(c, *replay);
  auto draft = commands::parse_invocation(c->body);
  if (!draft) return app.reply_problem(c, draft.error());
  app.core().ledger->record(std::move(*draft), std::move(ctx),
                            [&app, c](commands::Reply r) { app.reply_command(c, r); });
}

void list_invocations(App& app, const CallPtr& c) {
  auto limit = query_int(*c, "limit", 1, 500);
  auto offset = query_int(*c, "offset", 0, std::numeric_limits<std::int64_t>::max());
  auto since = query_instant(*c, "since");
  auto until = query_instant(*c, "until");
  if (!limit) return app.reply_problem(c, limit.error());
  if (!offset) return app.reply_problem(c, offset.error());
  if (!since) return app.reply_problem(c, since.error());
  if (!until) return app.reply_problem(c, until.error());
  projections::InvocationFilter f;
  if (const std::string* t = query_string(*c, "task_type")) f.task_type = *t;
  f.since = *since;
  f.until = *until;
  f.limit = limit->value_or(100);
  f.offset = offset->value_or(0);
  app.after_min_position(c, [&app, c, f] {
    const auto q = queries(app);
    app.reply_json(c, 200, render_page("invocations", q.list(f), f.limit, f.offset), q.position());
  });
}

void spend(App& app, const CallPtr& c) {
  auto days = query_int(*c, "days", 1, 366);
  if (!days) return app.reply_problem(c, days.error());
  app.after_min_position(c, [&app, c, days = days->value_or(30)] {
    const auto q = queries(app);
    app.reply_json(c, 200, q.spend_report(app.now(), days, app.config()), q.position());
  });
}

}  // namespace

void add_ledger_routes(std::vector<Route>& routes) {
  routes.push_back(
      {"POST", "/admin/invocations", Role::kWriter, {}, Route::Body::kJson, record_invocation});
  routes.push_back({"GET",
                    "/admin/invocations",
                    Role::kReader,
                    {"task_type", "since", "until", "limit", "offset"},
                    Route::Body::kNone,
                    list_invocations});
  routes.push_back({"GET", "/admin/spend", Role::kReader, {"days"}, Route::Body::kNone, spend});
}

}  // namespace annals::server

// Health, readiness, metrics and the OpenAPI document (API §17).
#include "domain/json_text.h"
#include "projections/ledger.h"
#include "server/app.h"

namespace annals::server {

namespace {

void healthz(App& app, const CallPtr& c) { app.reply_json(c, 200, R"({"status":"ok"})"); }

void readyz(App& app, const CallPtr& c) {
  const bool writable = app.store().writable();
  std::string out;
  JsonWriter w(out);
  w.begin_object()
      .key("status")
      .value(writable ? "ready" : "read_only")
      .key("position")
      .value(app.store().head())
      .key("writable")
      .value(writable)
      .end_object();
  app.reply_json(c, writable ? 200 : 503, std::move(out));
}

void metrics(App& app, const CallPtr& c) {
  std::string out;
  app.metrics().render(out);
  const auto& stats = app.store().stats();
  out += "# TYPE annals_log_position gauge\nannals_log_position " +
         std::to_string(app.store().head()) + "\n";
  out += "# TYPE annals_commit_batch_commands histogram\n";
  stats.batch_commands.render(out, "annals_commit_batch_commands", "");
  out += "# TYPE annals_commit_seconds histogram\n";
  stats.commit_seconds.render(out, "annals_commit_seconds", "");
  out += "# TYPE annals_wal_sync_seconds histogram\n";
  stats.wal_sync_seconds.render(out, "annals_wal_sync_seconds", "");
  out += "# TYPE annals_store_write_refusals_total counter\nannals_store_write_refusals_total " +
         std::to_string(stats.write_refusals.load()) + "\n";
  out += "# TYPE annals_projection_position gauge\n";
  std::string lag;
  for (const auto& name : app.projector().names()) {
    const auto pos = app.projector().checkpoint(name);
    out += "annals_projection_position{name=\"" + name + "\"} " + std::to_string(pos) + "\n";
    const auto head = app.store().head();
    lag += "annals_projection_lag_events{name=\"" + name + "\"} " +
           std::to_string(head > pos ? head - pos : 0) + "\n";
  }
  out += "# TYPE annals_projection_lag_events gauge\n" + lag;
  out += "# TYPE annals_lessons_deduplicated_total counter\nannals_lessons_deduplicated_total " +
         std::to_string(app.lessons().deduplicated_total()) + "\n";
  app.core().dispatcher->render_metrics(out);
  const auto view = app.store().read_view();
  const projections::LedgerQueries ledger(app.store(), view);
  out += "# TYPE annals_sse_subscribers gauge\nannals_sse_subscribers " +
         std::to_string(app.sse().subscribers()) + "\n";
  out += "# TYPE annals_sse_dropped_total counter\n";
  for (const char* reason : {"server_stopping", "write_stalled"}) {
    out += "annals_sse_dropped_total{reason=\"" + std::string(reason) + "\"} " +
           std::to_string(app.sse().dropped(reason)) + "\n";
  }
  out += "# TYPE annals_budget_paused gauge\nannals_budget_paused " +
         std::string(ledger.guard(app.now(), app.config()).paused ? "1" : "0") + "\n";
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = std::move(out);
  app.reply(c, std::move(r));
}

void openapi(App& app, const CallPtr& c);

}  // namespace

void add_system_routes(std::vector<Route>& routes) {
  routes.push_back({"GET", "/healthz", std::nullopt, {}, Route::Body::kNone, healthz});
  routes.push_back({"GET", "/readyz", std::nullopt, {}, Route::Body::kNone, readyz});
  routes.push_back({"GET", "/metrics", Role::kReader, {}, Route::Body::kNone, metrics});
  routes.push_back({"GET", "/openapi.json", std::nullopt, {}, Route::Body::kNone, openapi});
}

namespace {

// The OpenAPI 3.1 document, generated from the route table so it never drifts from it.
void openapi(App& app, const CallPtr& c) {
  std::map<std::string, std::vector<const Route*>> by_path;
  for (const auto& r : app.routes()) by_path[r.pattern].push_back(&r);
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("openapi").value("3.1.0");
  w.key("info")
      .begin_object()
      .key("title")
      .value("annals")
      .key("version")
      .value("0.1.0")
      .end_object();
  w.key("components").begin_object().key("securitySchemes").begin_object();
  w.key("bearer")
      .begin_object()
      .key("type")
      .value("http")
      .key("scheme")
      .value("bearer")
      .end_object();
  w.end_object().end_object();
  w.key("paths").begin_object();
  for (const auto& [path, rs] : by_path) {
    w.key(path).begin_object();
    for (const Route* r : rs) {
      std::string method = r->method;
      std::transform(method.begin(), method.end(), method.begin(), ::tolower);
      w.key(method).begin_object();
      w.key("parameters").begin_array();
      for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i] != '{') continue;
        const auto end = path.find('}', i);
        w.begin_object().key("name").value(path.substr(i + 1, end - i - 1));
        w.key("in").value("path").key("required").value(true);
        w.key("schema").begin_object().key("type").value("string").end_object().end_object();
      }
      for (const auto& q : r->query) {
        w.begin_object().key("name").value(q).key("in").value("query");
        w.key("schema").begin_object().key("type").value("string").end_object().end_object();
      }
      w.end_array();
      if (r->role) {
        w.key("security").begin_array().begin_object().key("bearer").begin_array().end_array();
        w.end_object().end_array();
        const char* role = *r->role == Role::kAdmin    ? "admin"
                           : *r->role == Role::kWriter ? "writer"
                                                       : "reader";
        w.key("x-annals-role").value(role);
      }
      if (r->body == Route::Body::kJson) {
        w.key("requestBody")
            .begin_object()
            .key("required")
            .value(true)
            .key("content")
            .begin_object();
        w.key("application/json").begin_object().key("schema").begin_object();
        w.key("type").value("object").end_object().end_object().end_object().end_object();
      }
      w.key("responses").begin_object().key("default").begin_object();
      w.key("description").value("See API.md").end_object().end_object();
      w.end_object();
    }
    w.end_object();
  }
  w.end_object();
  w.end_object();
  app.reply_json(c, 200, std::move(out));
}

}  // namespace

}  // namespace annals::server

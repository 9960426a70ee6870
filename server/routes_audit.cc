// Events, streams and audit (API §15) and the projections' status (API §16).
#include <set>

#include "domain/json_text.h"
#include "events/event_json.h"
#include "events/verify.h"
#include "server/app.h"
#include "server/sse.h"

namespace annals::server {

namespace {

std::optional<std::uint64_t> parse_position(const std::string& s) {
  if (s.empty() || s.size() > 19 || s[0] == '0' ||
      !std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return std::nullopt;
  }
  return std::stoull(s);
}

bool wants_json_array(const Call& c) {
  const std::string* accept = c.req.header("accept");
  return accept != nullptr && accept->find("application/json") != std::string::npos;
}

// Collects event lines as NDJSON or a JSON array.
struct EventBody {
  bool array = false;
  std::string text;
  std::size_t count = 0;

  void add(const events::StoredEvent& e) {
    if (array) text.push_back(count == 0 ? '[' : ',');
    JsonWriter w(text);
    events::render_event(e, w);
    if (!array) text.push_back('\n');
    ++count;
  }
  std::string finish() {
    if (array) text += count == 0 ? "[]" : "]";
    return std::move(text);
  }
};

std::optional<Problem> read_direction(const Call& c, bool& backward) {
  const std::string* d = query_string(c, "direction");
  backward = d != nullptr && *d == "backward";
  if (d != nullptr && *d != "forward" && *d != "backward") {
    return Problem::validation({{"direction", "must be forward or backward"}});
  }
  return std::nullopt;
}

// The stream, category and type (comma-separated) filters of /events and /events/subscribe.
EventFilter read_filter(const Call& c) {
  EventFilter f;
  if (const std::string* t = query_string(c, "type")) {
    std::string_view rest = *t;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      if (comma != 0) f.types.emplace(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  if (const std::string* s = query_string(c, "stream")) f.stream = *s;
  if (const std::string* s = query_string(c, "category")) f.category = *s;
  return f;
}

// GET /events/subscribe: the live tail as Server-Sent Events from `from` (default head + 1) or
// from Last-Event-ID + 1.
void subscribe(App& app, const CallPtr& c) {
  auto from = query_int(*c, "from", 1, std::numeric_limits<std::int64_t>::max());
  if (!from) return app.reply_problem(c, from.error());
  std::uint64_t start =
      from->has_value() ? static_cast<std::uint64_t>(**from) : app.store().head() + 1;
  if (const std::string* last = c->req.header("last-event-id")) {
    auto id = *last == "0" ? std::optional<std::uint64_t>(0) : parse_position(*last);
    if (!id) {
      return app.reply_problem(
          c, Problem::make(ProblemKind::kBadRequest,
                           "Last-Event-ID must be an event position (a non-negative integer)."));
    }
    start = *id + 1;
  }
  auto source = app.sse().subscribe(start, read_filter(*c));
  if (!source) {
    return app.reply_problem(
        c, Problem::make(ProblemKind::kUnavailable,
                         "Too many live-tail subscribers (sse_max_clients = " +
                             std::to_string(app.config().sse_max_clients) + ")."));
  }
  HttpResponse r;
  r.content_type = "text/event-stream";
  r.stream = std::move(source);
  app.reply(c, std::move(r));
}

void list_events(App& app, const CallPtr& c) {
  const auto max = std::numeric_limits<std::int64_t>::max();
  auto from = query_int(*c, "from", 1, max);
  auto to = query_int(*c, "to", 1, max);
  auto limit = query_int(*c, "limit", 1, 10000);
  auto since = query_instant(*c, "since");
  auto until = query_instant(*c, "until");
  for (auto* p : {&from, &to, &limit}) {
    if (!*p) return app.reply_problem(c, p->error());
  }
  if (!since) return app.reply_problem(c, since.error());
  if (!until) return app.reply_problem(c, until.error());
  bool backward = false;
  if (auto p = read_direction(*c, backward)) return app.reply_problem(c, *p);
  EventFilter filter = read_filter(*c);
  filter.since = *since;
  filter.until = *until;
  const std::int64_t page_limit = limit->value_or(1000);
  auto page = [&app, c, from = *from, to = *to, limit = page_limit, backward,
               filter = std::move(filter)] {
    const std::uint64_t head = app.store().head();
    const std::uint64_t lo = backward ? 1 : static_cast<std::uint64_t>(from.value_or(1));
    std::uint64_t hi = std::min<std::uint64_t>(head, to ? static_cast<std::uint64_t>(*to) : head);
    if (backward && from) hi = std::min<std::uint64_t>(hi, static_cast<std::uint64_t>(*from));
    const std::uint64_t floor = backward && to ? static_cast<std::uint64_t>(*to) : lo;
    EventBody body;
    body.array = wants_json_array(*c);
    // About 1 KB per event line: one allocation for most pages instead of a doubling series of
    // copies (the pages past what is written are never touched).
    if (hi >= floor) {
      body.text.reserve(std::min<std::uint64_t>(hi - floor + 1, limit) * 1024);
    }
    std::optional<std::uint64_t> next;
    auto accept = [&](const events::StoredEvent& e) {
      if (body.count == static_cast<std::size_t>(limit)) {
        next = e.position;
        return false;
      }
      if (!filter.matches(e)) return true;
      body.add(e);
      return true;
    };
    if (backward) {
      app.store().read_range(std::max<std::uint64_t>(floor, 1), hi, accept, true);
    } else {
      app.store().read_range(lo, hi, accept);
    }
    HttpResponse r;
    r.content_type = body.array ? "application/json; charset=utf-8" : "application/x-ndjson";
    r.body = body.finish();
    if (next) r.headers.emplace_back("Annals-Next-From", std::to_string(*next));
    r.headers.emplace_back("Annals-Position", std::to_string(head));
    app.reply(c, std::move(r));
  };
  // Pages of more than a few hundred events (the default is 1,000) go to the slow lane.
  app.after_min_position(c, [&app, page = std::move(page), slow = page_limit > 200]() mutable {
    if (slow) return app.run_slow(std::move(page));
    page();
  });
}

void get_event(App& app, const CallPtr& c) {
  auto pos = parse_position(c->params.at("position"));
  auto e = pos ? app.store().read(*pos) : std::nullopt;
  if (!e) return app.reply_problem(c, Problem::make(ProblemKind::kNotFound, "No such event."));
  app.reply_json(c, 200, events::render_event(*e));
}

void get_stream(App& app, const CallPtr& c) {
  auto from = query_int(*c, "from", 1, std::numeric_limits<std::int64_t>::max());
  auto limit = query_int(*c, "limit", 1, 10000);
  if (!from) return app.reply_problem(c, from.error());
  if (!limit) return app.reply_problem(c, limit.error());
  bool backward = false;
  if (auto p = read_direction(*c, backward)) return app.reply_problem(c, *p);
  const std::string stream = c->params.at("stream");
  const std::uint64_t version = app.store().stream_version(stream);
  if (version == 0) {
    return app.reply_problem(c, Problem::make(ProblemKind::kNotFound, "No such stream."));
  }
  const std::uint64_t start =
      from->has_value() ? static_cast<std::uint64_t>(**from) : (backward ? version : 1);
  const std::int64_t max = limit->value_or(1000);
  EventBody body;
  body.array = wants_json_array(*c);
  std::optional<std::uint64_t> next;
  app.store().read_stream(
      stream, start,
      [&](std::uint64_t v, const events::StoredEvent& e) {
        if (body.count == static_cast<std::size_t>(max)) {
          next = v;
          return false;
        }
        body.add(e);
        return true;
      },
      backward);
  HttpResponse r;
  r.content_type = body.array ? "application/json; charset=utf-8" : "application/x-ndjson";
  r.body = body.finish();
  if (next) r.headers.emplace_back("Annals-Next-From", std::to_string(*next));
  r.headers.emplace_back("ETag", "\"" + std::to_string(version) + "\"");
  app.reply(c, std::move(r));
}

void audit_digest(App& app, const CallPtr& c) {
  auto at = query_int(*c, "at", 0, std::numeric_limits<std::int64_t>::max());
  if (!at) return app.reply_problem(c, at.error());
  const std::uint64_t head = app.store().head();
  const std::uint64_t pos = at->has_value() ? static_cast<std::uint64_t>(**at) : head;
  if (pos > head) {
    return app.reply_problem(
        c, Problem::make(ProblemKind::kNotFound, "Position " + std::to_string(pos) +
                                                     " is beyond the head " + std::to_string(head) +
                                                     "."));
  }
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("position").value(pos);
  if (pos == 0) {
    w.key("hash").value(std::string(64, '0')).key("recorded_at").null();
  } else {
    auto e = app.store().read(pos);
    if (!e) return app.reply_problem(c, Problem::make(ProblemKind::kInternal, "Missing event."));
    w.key("hash")
        .value(events::to_hex(e->hash))
        .key("recorded_at")
        .instant(e->event().recorded_at());
  }
  w.end_object();
  app.reply_json(c, 200, std::move(out));
}

void reply_verify(App& app, const CallPtr& c, const events::ChainCheck& check);

// Verification reads the whole chain: on the slow lane.
void audit_verify(App& app, const CallPtr& c) {
  const auto max = std::numeric_limits<std::int64_t>::max();
  auto from = query_int(*c, "from", 1, max);
  auto to = query_int(*c, "to", 1, max);
  if (!from) return app.reply_problem(c, from.error());
  if (!to) return app.reply_problem(c, to.error());
  const std::uint64_t head = app.store().head();
  const std::uint64_t lo = static_cast<std::uint64_t>(from->value_or(1));
  const std::uint64_t hi = to->has_value() ? static_cast<std::uint64_t>(**to) : head;
  app.run_slow(
      [&app, c, lo, hi] { reply_verify(app, c, events::verify_chain(app.store(), lo, hi)); });
}

void reply_verify(App& app, const CallPtr& c, const events::ChainCheck& check) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  if (check.ok) {
    w.key("ok").value(true).key("from").value(check.from).key("to").value(check.to);
    w.key("events").value(check.events).key("hash").value(events::to_hex(check.hash));
  } else {
    w.key("ok").value(false).key("first_bad_position").value(check.first_bad_position);
    w.key("expected_hash").value(events::to_hex(check.expected_hash));
    w.key("stored_hash").value(events::to_hex(check.stored_hash));
  }
  w.end_object();
  app.reply_json(c, 200, std::move(out));
}

void render_projection(App& app, const projections::ReadModelStatus& st, JsonWriter& w) {
  // A rebuild whose generation already serves is finishing (its old generation being dropped).
  auto building = app.projector().rebuilding(st.name);
  if (building && building->generation <= st.generation) building.reset();
  const std::uint64_t head = app.store().head();
  const std::uint64_t lag = head > st.position ? head - st.position : 0;
  double lag_seconds = 0;
  if (lag > 0) {
    auto at = app.store().read(st.position == 0 ? 1 : st.position);
    auto last = app.store().read(head);
    if (at && last) {
      lag_seconds =
          static_cast<double>(last->event().recorded_at() - at->event().recorded_at()) / 1e6;
    }
  }
  w.begin_object();
  w.key("name").value(st.name);
  w.key("generation").value(st.generation);
  w.key("position").value(st.position);
  w.key("lag").value(lag);
  w.key("lag_seconds").value(lag_seconds);
  w.key("rows").value(st.rows);
  w.key("digest").value(st.digest);
  w.key("status").value(building ? "rebuilding" : "live");
  if (building) {
    w.key("rebuild").begin_object();
    w.key("generation").value(building->generation);
    w.key("position").value(building->position);
    w.key("started_at").instant(building->started_at);
    w.end_object();
  } else {
    w.key("rebuild").null();
  }
  w.end_object();
}

// Digests scan every row: on the slow lane.
void list_projections(App& app, const CallPtr& c) {
  app.run_slow([&app, c] {
    std::string out;
    JsonWriter w(out);
    w.begin_object().key("projections").begin_array();
    std::int64_t n = 0;
    const auto view = app.store().read_view();
    for (const auto& name : app.projector().names()) {
      if (auto st = app.projector().status(name, view)) {
        render_projection(app, *st, w);
        ++n;
      }
    }
    w.end_array().key("count").value(n).end_object();
    app.reply_json(c, 200, std::move(out));
  });
}

void get_projection(App& app, const CallPtr& c) {
  app.run_slow([&app, c] {
    auto st = app.projector().status(c->params.at("name"));
    if (!st) {
      return app.reply_problem(c, Problem::make(ProblemKind::kNotFound, "No such read model."));
    }
    std::string out;
    JsonWriter w(out);
    render_projection(app, *st, w);
    app.reply_json(c, 200, std::move(out));
  });
}

// POST /admin/projections/{name|all}/rebuild: a new generation built in the background.
// Creating the new generations' column families writes RocksDB's manifest and options files:
// on the slow lane.
void rebuild_projection(App& app, const CallPtr& c) {
  app.run_slow([&app, c] {
    const std::string& name = c->params.at("name");
    const auto names = name == "all" ? app.projector().names() : std::vector<std::string>{name};
    auto started = app.projector().start_rebuild(names, app.now());
    if (!started) return app.reply_problem(c, started.error());
    std::string out;
    JsonWriter w(out);
    auto one = [&w](const std::pair<std::string, std::uint64_t>& s) {
      w.begin_object().key("name").value(s.first).key("generation").value(s.second);
      w.key("status").value("building").end_object();
    };
    if (name == "all") {
      w.begin_object().key("projections").begin_array();
      for (const auto& s : *started) one(s);
      w.end_array().end_object();
    } else {
      one(started->front());
    }
    app.reply_json(c, 202, std::move(out));
  });
}

}  // namespace

void add_audit_routes(std::vector<Route>& routes) {
  routes.push_back(
      {"GET",
       "/events",
       Role::kReader,
       {"from", "to", "limit", "stream", "category", "type", "since", "until", "direction"},
       Route::Body::kNone,
       list_events});
  routes.push_back({"GET",
                    "/events/subscribe",
                    Role::kReader,
                    {"from", "stream", "category", "type"},
                    Route::Body::kNone,
                    subscribe});
  routes.push_back({"GET", "/events/{position}", Role::kReader, {}, Route::Body::kNone, get_event});
  routes.push_back({"GET",
                    "/streams/{stream}",
                    Role::kReader,
                    {"from", "limit", "direction"},
                    Route::Body::kNone,
                    get_stream});
  routes.push_back(
      {"GET", "/audit/digest", Role::kReader, {"at"}, Route::Body::kNone, audit_digest});
  routes.push_back(
      {"GET", "/audit/verify", Role::kReader, {"from", "to"}, Route::Body::kNone, audit_verify});
  routes.push_back(
      {"GET", "/admin/projections", Role::kReader, {}, Route::Body::kNone, list_projections});
  routes.push_back(
      {"GET", "/admin/projections/{name}", Role::kReader, {}, Route::Body::kNone, get_projection});
  routes.push_back({"POST",
                    "/admin/projections/{name}/rebuild",
                    Role::kAdmin,
                    {},
                    Route::Body::kNone,
                    rebuild_projection});
}

}  // namespace annals::server

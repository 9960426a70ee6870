#include "server/app.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "commands/ids.h"
#include "commands/json_syntax.h"
#include "domain/json_text.h"
#include "domain/text_rules.h"
#include "events/background.h"
#include "events/sha256.h"

namespace annals::server {

namespace {

Micros system_now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The version of a strong ETag such as "3" (quotes included); nothing for anything else, a
// number that does not fit 64 bits included.
std::optional<std::uint64_t> strong_etag(std::string_view m) {
  if (m.size() < 3 || m.front() != '"' || m.back() != '"') return std::nullopt;
  const std::string_view digits = m.substr(1, m.size() - 2);
  std::uint64_t v = 0;  // from_chars takes digits only here: no sign, no space
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return v;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::size_t i = 1;
  while (i <= path.size()) {
    const auto j = path.find('/', i);
    out.push_back(path.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi << 4 | lo));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Deepest nesting of a JSON text, counting brackets outside strings.
int json_depth(std::string_view s) {
  int depth = 0, max_depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return max_depth;
}

bool is_json_content_type(const std::string* ct) {
  if (ct == nullptr) return false;
  std::string v = ct->substr(0, ct->find(';'));
  v.erase(std::remove_if(v.begin(), v.end(), [](unsigned char ch) { return std::isspace(ch); }),
          v.end());
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return v == "application/json";
}

std::string role_name(Role r) {
  return r == Role::kAdmin ? "admin" : r == Role::kWriter ? "writer" : "reader";
}

}  // namespace

// ---------------------------------------------------------------------------------------------

// One thread running queued work in order. stop() finishes what is queued; work posted after
// that runs on the caller's thread.
class App::SlowLane {
 public:
  SlowLane() : thread_([this] { run(); }) {}
  ~SlowLane() { stop(); }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void post(std::function<void()> work) {
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        queue_.push_back(std::move(work));
        cv_.notify_one();
        return;
      }
    }
    work();
  }

 private:
  void run() {
    // Digests of whole read models, chain verification and long exports yield the CPU to request
    // handling: they take what the I/O threads and the writer leave.
    events::run_in_background();
    std::unique_lock lock(mutex_);
    for (;;) {
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto work = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      work();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

void App::run_slow(std::function<void()> work) { slow_->post(std::move(work)); }

App::App(Config config, std::function<Micros()> clock)
    : config_(std::move(config)), clock_(std::move(clock)) {
  core_ = std::make_unique<Core>(config_, clock_);
  slow_ = std::make_unique<SlowLane>();
  waiter_ = std::make_unique<PositionWaiter>(store());
  store().add_commit_listener([w = waiter_.get()](std::uint64_t) { w->notify(); });
  sse_ = std::make_shared<SseHub>(store(), static_cast<std::size_t>(config_.sse_max_clients),
                                  std::chrono::seconds(config_.sse_heartbeat_seconds),
                                  [this] { return now(); });
  store().add_commit_listener([h = sse_.get()](std::uint64_t) { h->notify(); });
  register_routes();
  core_->start_dispatcher();
}

App::~App() { shutdown(); }

void App::shutdown() {
  if (sse_) sse_->stop();    // subscribers are told before the listener stops
  if (slow_) slow_->stop();  // finishes the queued slow work while the store is open
  if (core_) core_->stop();
}

Micros App::now() const { return clock_ ? clock_() : system_now(); }

void App::register_routes() {
  add_automation_routes(routes_);
  add_capability_routes(routes_);
  add_lesson_routes(routes_);
  add_ledger_routes(routes_);
  add_skill_routes(routes_);
  add_audit_routes(routes_);
  add_system_routes(routes_);
  std::vector<std::pair<std::string, std::string>> names;
  for (const auto& r : routes_) {
    names.emplace_back(r.pattern, r.method);
    route_segments_.push_back(split_path(r.pattern));
  }
  metrics_ = std::make_unique<Metrics>(std::move(names));
}

const Route* App::match(const std::string& method, const std::string& path,
                        std::map<std::string, std::string>& params, std::string& allow) const {
  if (path.empty() || path[0] != '/') return nullptr;
  const auto segments = split_path(path);
  // A parameter segment matches when it percent-decodes to something non-empty; each segment is
  // decoded at most once, however many routes have a parameter there.
  std::vector<std::optional<std::string>> decoded(segments.size());
  std::vector<bool> tried(segments.size(), false);
  auto value_at = [&](std::size_t i) -> const std::optional<std::string>& {
    if (!tried[i]) {
      tried[i] = true;
      decoded[i] = percent_decode(segments[i], false);
      if (decoded[i] && decoded[i]->empty()) decoded[i].reset();
    }
    return decoded[i];
  };
  auto is_param = [](const std::string& p) { return p.size() > 2 && p.front() == '{'; };
  int best_literals = -1;
  std::vector<std::size_t> best;  // routes of the most specific pattern that matches
  for (std::size_t ri = 0; ri < routes_.size(); ++ri) {
    const auto& pattern = route_segments_[ri];
    if (pattern.size() != segments.size()) continue;
    int literals = 0;
    bool ok = true;
    for (std::size_t i = 0; i < pattern.size() && ok; ++i) {
      if (is_param(pattern[i])) {
        ok = value_at(i).has_value();
      } else if (pattern[i] == segments[i]) {
        ++literals;
      } else {
        ok = false;
      }
    }
    if (!ok) continue;
    if (literals > best_literals) {
      best_literals = literals;
      best.clear();
    }
    if (literals == best_literals) {
      // Only routes of the same pattern compete on method.
      if (!best.empty() && routes_[best.front()].pattern != routes_[ri].pattern) continue;
      best.push_back(ri);
    }
  }
  for (const std::size_t ri : best) {
    if (routes_[ri].method == method) {
      const auto& pattern = route_segments_[ri];
      for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (is_param(pattern[i])) params[pattern[i].substr(1, pattern[i].size() - 2)] = *decoded[i];
      }
      return &routes_[ri];
    }
  }
  for (const std::size_t ri : best) allow += (allow.empty() ? "" : ", ") + routes_[ri].method;
  return nullptr;
}

std::optional<Problem> App::authenticate(const HttpRequest& req, const Route& route,
                                         std::string& actor, Role& role) const {
  if (!route.role) {
    actor = "anonymous";
    role = Role::kReader;
    return std::nullopt;
  }
  if (config_.tokens.empty()) {  // loopback-only tokenless mode (checked at start-up)
    actor = "admin";
    role = Role::kAdmin;
  } else {
    const std::string* auth = req.header("authorization");
    if (auth == nullptr || auth->size() <= 7 ||
        !(auth->starts_with("Bearer ") || auth->starts_with("bearer "))) {
      return Problem::make(ProblemKind::kUnauthorized, "A bearer token is required.");
    }
    const auto presented = events::sha256(std::string_view(*auth).substr(7));
    const TokenConfig* found = nullptr;
    for (const auto& t : config_.tokens) {
      events::Digest d;
      events::from_hex(t.token_sha256, d);
      if (events::constant_time_equal(d, presented)) found = &t;
    }
    if (found == nullptr) return Problem::make(ProblemKind::kUnauthorized, "Unknown token.");
    actor = found->name;
    role = found->role;
  }
  if (static_cast<int>(role) < static_cast<int>(*route.role)) {
    return Problem::make(ProblemKind::kForbidden, "The " + role_name(role) +
                                                      " role may not use this route; it needs " +
                                                      role_name(*route.role) + ".");
  }
  return std::nullopt;
}

std::optional<HttpResponse> App::precheck(const HttpRequest& head) {
  auto c = std::make_shared<Call>();
  c->req.method = head.method;
  c->req.target = head.target;
  c->req.headers = head.headers;
  c->started = std::chrono::steady_clock::now();
  std::optional<HttpResponse> out;
  c->respond = [&out](HttpResponse r) { out = std::move(r); };
  const std::string path = head.target.substr(0, head.target.find('?'));
  std::string allow;
  const Route* route = match(head.method, path, c->params, allow);
  if (route == nullptr) {
    if (!allow.empty()) {
      reply_problem(
          c, Problem::make(ProblemKind::kMethodNotAllowed,
                           "Method " + head.method + " is not allowed; allowed: " + allow + "."));
    } else {
      reply_problem(c, Problem::make(ProblemKind::kNotFound, "No such route."));
    }
    return out;
  }
  c->route_index = static_cast<int>(route - routes_.data());
  if (auto p = authenticate(head, *route, c->actor, c->role)) reply_problem(c, *p);
  return out;
}

void App::handle(HttpRequest req, Respond respond) {
  auto c = std::make_shared<Call>();
  c->req = std::move(req);
  c->respond = std::move(respond);
  c->started = std::chrono::steady_clock::now();
  const std::string* rid = c->req.header("x-request-id");
  c->request_id =
      rid != nullptr && is_printable_ascii(*rid, 100) ? *rid : commands::new_uuid_v7(now());

  const auto qpos = c->req.target.find('?');
  const std::string path = c->req.target.substr(0, qpos);
  // 1. route and method
  std::string allow;
  const Route* route = match(c->req.method, path, c->params, allow);
  if (route == nullptr) {
    if (!allow.empty()) {
      Problem p =
          Problem::make(ProblemKind::kMethodNotAllowed,
                        "Method " + c->req.method + " is not allowed; allowed: " + allow + ".");
      reply_problem(c, p);
      return;
    }
    reply_problem(c, Problem::make(ProblemKind::kNotFound, "No route for " + path + "."));
    return;
  }
  c->route_index = static_cast<int>(route - routes_.data());
  // 2. authentication and role
  if (auto p = authenticate(c->req, *route, c->actor, c->role)) {
    reply_problem(c, *p);
    return;
  }
  // 3. content type, JSON and query syntax (limits are enforced while reading)
  if (qpos != std::string::npos) {
    std::string_view q = std::string_view(c->req.target).substr(qpos + 1);
    while (!q.empty()) {
      const auto amp = q.find('&');
      const auto part = q.substr(0, amp);
      q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
      if (part.empty()) continue;
      const auto eq = part.find('=');
      auto key = percent_decode(part.substr(0, eq), true);
      auto value = percent_decode(eq == std::string_view::npos ? "" : part.substr(eq + 1), true);
      if (!key || !value) {
        reply_problem(c, Problem::make(ProblemKind::kBadRequest, "Malformed query string."));
        return;
      }
      const bool known =
          std::find(route->query.begin(), route->query.end(), *key) != route->query.end() ||
          (*key == "min_position" && route->method == "GET");
      if (!known) {
        reply_problem(
            c, Problem::make(ProblemKind::kBadRequest, "Unknown query parameter '" + *key + "'."));
        return;
      }
      if (c->query.contains(*key)) {
        reply_problem(c, Problem::make(ProblemKind::kBadRequest,
                                       "Query parameter '" + *key + "' is repeated."));
        return;
      }
      c->query[*key] = *value;
    }
  }
  if (!c->req.body.empty() || route->body != Route::Body::kNone) {
    if (!c->req.body.empty() && !is_json_content_type(c->req.header("content-type"))) {
      reply_problem(c, Problem::make(ProblemKind::kUnsupportedMediaType,
                                     "Request bodies must be application/json."));
      return;
    }
    if (json_depth(c->req.body) > 64) {
      reply_problem(c, Problem::make(ProblemKind::kBadRequest, "JSON nested deeper than 64."));
      return;
    }
    const std::string_view text = c->req.body.empty() && route->body == Route::Body::kNone
                                      ? std::string_view("{}")
                                      : std::string_view(c->req.body);
    if (auto p = commands::json_object_problem(text)) {
      reply_problem(c, *p);
      return;
    }
    if (route->body != Route::Body::kJsonText) {
      try {
        c->body = nlohmann::json::parse(text);
      } catch (const nlohmann::json::exception& e) {
        reply_problem(
            c, Problem::make(ProblemKind::kBadRequest, std::string("Invalid JSON: ") + e.what()));
        return;
      }
      if (route->body == Route::Body::kNone && !c->body.empty()) {
        reply_problem(c, Problem::validation({{"", "this route takes no body"}}));
        return;
      }
    }
  }
  if (const std::string* key = c->req.header("idempotency-key");
      key != nullptr && !is_printable_ascii(*key, 200)) {
    reply_problem(c, Problem::make(ProblemKind::kBadRequest,
                                   "Idempotency-Key must be 1-200 printable ASCII characters."));
    return;
  }
  if (const std::string* m = c->req.header("if-match"); m != nullptr && *m != "*") {
    if (!strong_etag(*m)) {
      reply_problem(c, Problem::make(ProblemKind::kBadRequest,
                                     "If-Match must be a strong ETag like \"3\" or *."));
      return;
    }
  }
  dispatch(c, *route);
}

void App::dispatch(const CallPtr& c, const Route& route) {
  try {
    route.handler(*this, c);
  } catch (const std::exception& e) {
    spdlog::error("request {} {} failed: {}", c->req.method, c->req.target, e.what());
    reply_problem(c, Problem::make(ProblemKind::kInternal, "Internal error."));
  }
}

commands::CommandContext App::command_context(const CallPtr& c) const {
  commands::CommandContext ctx;
  ctx.actor = c->actor;
  ctx.correlation_id = c->request_id;
  if (const std::string* key = c->req.header("idempotency-key")) {
    ctx.idempotency_key = *key;
    events::Sha256 sha;
    sha.update(c->req.method).update("\n").update(c->req.target).update("\n").update(c->req.body);
    ctx.fingerprint = events::to_hex(sha.finish());
  }
  if (const std::string* m = c->req.header("if-match"); m != nullptr && *m != "*") {
    ctx.if_match = strong_etag(*m);  // checked in handle()
  }
  return ctx;
}

void App::after_min_position(const CallPtr& c, std::function<void()> then) {
  auto it = c->query.find("min_position");
  if (it == c->query.end()) {
    then();
    return;
  }
  auto n = query_int(*c, "min_position", 0, std::numeric_limits<std::int64_t>::max());
  if (!n) {
    reply_problem(c, n.error());
    return;
  }
  const auto position = static_cast<std::uint64_t>(n->value_or(0));
  if (store().head() >= position) {
    then();
    return;
  }
  waiter_->wait(
      position,
      std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.min_position_wait_ms),
      [this, c, then = std::move(then)](bool reached) {
        if (reached) {
          try {
            then();
          } catch (const std::exception&) {
            reply_problem(c, Problem::make(ProblemKind::kInternal, "Internal error."));
          }
          return;
        }
        commands::Reply rep = commands::Reply::error(Problem::make(
            ProblemKind::kUnavailable,
            "The read models have not reached position " + c->query.at("min_position") + " yet."));
        rep.headers.emplace_back("Retry-After", "1");
        reply_command(c, rep);
      });
}

void App::reply(const CallPtr& c, HttpResponse r) {
  r.headers.emplace_back("Annals-Request-Id", c->request_id.empty() ? "-" : c->request_id);
  const bool has_position = std::any_of(r.headers.begin(), r.headers.end(),
                                        [](auto& h) { return h.first == "Annals-Position"; });
  if (!has_position) r.headers.emplace_back("Annals-Position", std::to_string(store().head()));
  metrics_->observe_request(
      c->route_index, r.status,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - c->started).count());
  c->respond(std::move(r));
}

void App::reply_json(const CallPtr& c, int status, std::string body,
                     std::optional<std::uint64_t> position) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  if (position) r.headers.emplace_back("Annals-Position", std::to_string(*position));
  reply(c, std::move(r));
}

void App::reply_problem(const CallPtr& c, const Problem& p) {
  reply_command(c, commands::Reply::error(p));
}

void App::reply_row(const CallPtr& c, std::optional<projections::VersionedRow> row,
                    std::uint64_t position, const char* missing) {
  if (!row) return reply_problem(c, Problem::make(ProblemKind::kNotFound, missing));
  HttpResponse r;
  r.body = std::move(row->json);
  r.headers.emplace_back("ETag", "\"" + std::to_string(row->version) + "\"");
  r.headers.emplace_back("Annals-Position", std::to_string(position));
  reply(c, std::move(r));
}

void App::reply_command(const CallPtr& c, const commands::Reply& rep) {
  HttpResponse r;
  r.status = rep.status;
  if (rep.problem) {
    const Problem& p = *rep.problem;
    r.content_type = "application/problem+json";
    JsonWriter w(r.body);
    w.begin_object();
    w.key("type").value(std::string("urn:annals:problem:") + problem_type(p.kind));
    w.key("title").value(problem_title(p.kind));
    w.key("status").value(problem_status(p.kind));
    // Details may echo the bytes a parser stopped at; the problem itself stays valid UTF-8.
    w.key("detail").value(valid_utf8(p.detail));
    w.key("errors").begin_array();
    for (const auto& e : p.errors) {
      w.begin_object()
          .key("field")
          .value(valid_utf8(e.field))
          .key("message")
          .value(valid_utf8(e.message))
          .end_object();
    }
    w.end_array();
    w.end_object();
    if (p.kind == ProblemKind::kUnauthorized) {
      r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"annals\"");
    }
    if (p.kind == ProblemKind::kMethodNotAllowed) {
      const auto pos = p.detail.find("allowed: ");
      if (pos != std::string::npos) {
        std::string allow = p.detail.substr(pos + 9);
        if (!allow.empty() && allow.back() == '.') allow.pop_back();
        r.headers.emplace_back("Allow", allow);
      }
    }
  } else {
    r.body = rep.body;
    if (rep.etag) r.headers.emplace_back("ETag", "\"" + std::to_string(*rep.etag) + "\"");
    if (!rep.location.empty()) r.headers.emplace_back("Location", rep.location);
    if (rep.position > 0) r.headers.emplace_back("Annals-Position", std::to_string(rep.position));
    if (rep.replayed) r.headers.emplace_back("Idempotent-Replayed", "true");
  }
  for (const auto& h : rep.headers) r.headers.push_back(h);
  reply(c, std::move(r));
}

// ---------------------------------------------------------------------------------------------

const std::string* query_string(const Call& c, const std::string& name) {
  auto it = c.query.find(name);
  return it == c.query.end() ? nullptr : &it->second;
}

std::expected<std::optional<std::int64_t>, Problem> query_int(const Call& c,
                                                              const std::string& name,
                                                              std::int64_t min, std::int64_t max) {
  const std::string* v = query_string(c, name);
  if (v == nullptr) return std::nullopt;
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec == std::errc::invalid_argument || end != v->data() + v->size()) {
    return std::unexpected(Problem::make(ProblemKind::kBadRequest,
                                         "Query parameter '" + name + "' must be an integer."));
  }
  // Digits beyond 64 bits are out of every range.
  if (ec == std::errc::result_out_of_range || n < min || n > max) {
    return std::unexpected(Problem::validation(
        {{name, "must be between " + std::to_string(min) + " and " + std::to_string(max)}}));
  }
  return n;
}

std::expected<std::optional<Micros>, Problem> query_instant(const Call& c,
                                                            const std::string& name) {
  const std::string* v = query_string(c, name);
  if (v == nullptr) return std::nullopt;
  auto t = parse_instant(*v);
  if (!t) {
    return std::unexpected(Problem::make(
        ProblemKind::kBadRequest, "Query parameter '" + name + "' must be an RFC 3339 instant."));
  }
  return *t;
}

std::string render_page(const std::string& plural, const std::vector<std::string>& items,
                        std::int64_t limit, std::int64_t offset) {
  std::string out;
  out.reserve(64 + items.size() * 512);
  JsonWriter w(out);
  w.begin_object();
  w.key(plural).begin_array();
  for (const auto& item : items) w.raw(item);
  w.end_array();
  w.key("count").value(static_cast<std::int64_t>(items.size()));
  if (static_cast<std::int64_t>(items.size()) == limit) {
    w.key("next_offset").value(offset + limit);
  }
  w.end_object();
  return out;
}

}  // namespace annals::server

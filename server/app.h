// App: the annalsd application behind the HTTP listener — the route table, the order of checks
// of API §1.6 (route, auth, limits, syntax, idempotency replay, validation, switches, existence,
// If-Match, domain), and the handlers. It owns the store, the projector and the command bus.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "domain/config.h"
#include "server/core.h"
#include "server/http_types.h"
#include "server/metrics.h"
#include "server/position_waiter.h"
#include "server/sse.h"

namespace annals::server {

class App;

// One request on its way through the checks; shared so that asynchronous replies keep it alive.
struct Call {
  HttpRequest req;
  Respond respond;
  int route_index = -1;                       // the matched route, for metrics (-1: none)
  std::map<std::string, std::string> params;  // path parameters
  std::map<std::string, std::string> query;
  std::string actor;
  Role role = Role::kReader;
  std::string request_id;
  std::chrono::steady_clock::time_point started;
  nlohmann::json body;  // parsed JSON body (object) for routes with a body
};
using CallPtr = std::shared_ptr<Call>;

struct Route {
  std::string method;
  std::string pattern;
  std::optional<Role> role;        // nullopt: no token needed
  std::vector<std::string> query;  // allowed query parameters
  // kJson: the body is parsed into Call::body; kJsonText: checked to be a JSON object, and the
  // handler reads Call::req.body itself (the hot recording routes).
  enum class Body { kNone, kJson, kJsonText } body = Body::kNone;
  std::function<void(App&, const CallPtr&)> handler;
};

class App {
 public:
  // Opens the store and read models; throws std::runtime_error with a message on failure.
  App(Config config, std::function<Micros()> clock = {});
  ~App();

  // Full request handling; `respond` may be called on another thread.
  void handle(HttpRequest req, Respond respond);
  // Checks that decide before the body is read (route, method, auth); used when the declared
  // body is over the limit.
  std::optional<HttpResponse> precheck(const HttpRequest& head);
  // Stops accepting writes, finishes queued commits.
  void shutdown();

  const Config& config() const { return config_; }
  events::EventStore& store() { return *core_->store; }
  projections::Projector& projector() { return *core_->projector; }
  commands::CommandBus& bus() { return *core_->bus; }
  commands::LessonCommands& lessons() { return *core_->lessons; }
  commands::CapabilityCommands& capabilities() { return *core_->capabilities; }
  commands::AutomationCommands& automations() { return *core_->automations; }
  Core& core() { return *core_; }
  const std::vector<Route>& routes() const { return routes_; }
  Metrics& metrics() { return *metrics_; }
  SseHub& sse() { return *sse_; }
  Micros now() const;

  // --- helpers for handlers ---
  void reply(const CallPtr& c, HttpResponse r);
  void reply_json(const CallPtr& c, int status, std::string body,
                  std::optional<std::uint64_t> position = {});
  void reply_problem(const CallPtr& c, const Problem& p);
  // A single-resource GET: the row with its ETag and the read position, or 404 with `missing`.
  void reply_row(const CallPtr& c, std::optional<projections::VersionedRow> row,
                 std::uint64_t position, const char* missing);
  void reply_command(const CallPtr& c, const commands::Reply& r);
  commands::CommandContext command_context(const CallPtr& c) const;
  // Waits (without blocking an I/O thread) for min_position, then runs `then`.
  void after_min_position(const CallPtr& c, std::function<void()> then);
  // Runs work that reads a whole read model or a long stretch of the log (digests, verification,
  // export pages) on the slow lane's own thread, so that the I/O threads keep answering.
  void run_slow(std::function<void()> work);

 private:
  void register_routes();
  void dispatch(const CallPtr& c, const Route& route);
  const Route* match(const std::string& method, const std::string& path,
                     std::map<std::string, std::string>& params, std::string& allow) const;
  std::optional<Problem> authenticate(const HttpRequest& req, const Route& route,
                                      std::string& actor, Role& role) const;

  Config config_;
  std::function<Micros()> clock_;
  std::unique_ptr<Core> core_;
  std::unique_ptr<PositionWaiter> waiter_;
  std::shared_ptr<SseHub> sse_;
  std::vector<Route> routes_;
  std::vector<std::vector<std::string>> route_segments_;  // routes_[i].pattern split on '/'
  std::unique_ptr<Metrics> metrics_;
  class SlowLane;
  std::unique_ptr<SlowLane> slow_;  // declared after core_: stops before it
};

// Route registration, one file per area.
void add_automation_routes(std::vector<Route>& routes);
void add_capability_routes(std::vector<Route>& routes);
void add_lesson_routes(std::vector<Route>& routes);
void add_ledger_routes(std::vector<Route>& routes);
void add_skill_routes(std::vector<Route>& routes);
void add_audit_routes(std::vector<Route>& routes);
void add_system_routes(std::vector<Route>& routes);

// Shared query helpers (400 for syntax, 422 for range) — nullopt when absent.
std::expected<std::optional<std::int64_t>, Problem> query_int(const Call& c,
                                                              const std::string& name,
                                                              std::int64_t min, std::int64_t max);
std::expected<std::optional<Micros>, Problem> query_instant(const Call& c, const std::string& name);
const std::string* query_string(const Call& c, const std::string& name);

// {"<plural>": [...], "count": n, "next_offset"?} from pre-rendered JSON items.
std::string render_page(const std::string& plural, const std::vector<std::string>& items,
                        std::int64_t limit, std::int64_t offset);

}  // namespace annals::server

// `annals bench`: an HTTP/1.1 keep-alive load generator on Boost.Beast. Closed loop by default
// (each connection sends its next request when the previous reply arrives); with --rate it is
// open loop and measures latency from each request's intended send time.
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "tools/args.h"

namespace annals::tools {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Target {
  std::string host = "127.0.0.1";
  std::string port = "8080";
};

bool parse_url(const std::string& url, Target& t) {
  std::string rest = url;
  if (rest.starts_with("http://")) rest = rest.substr(7);
  const auto slash = rest.find('/');
  if (slash != std::string::npos) rest = rest.substr(0, slash);
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos) {
    t.host = rest;
    t.port = "80";
  } else {
    t.host = rest.substr(0, colon);
    t.port = rest.substr(colon + 1);
  }
  return !t.host.empty();
}

struct Settings {
  Target target;
  std::string token;
  std::string scenario = "lessons";
  std::string path = "/healthz";
  double duration = 30;
  int connections = 16;
  double rate = 0;        // requests/s over all connections; 0 = closed loop
  std::string stop_file;  // when set, the run also ends once this file exists
  std::int64_t max_id = 1;
  // skill_runs / divergences: the skill under load and runs to diverge on.
  std::string skill_id, version_id;
  std::vector<std::string> run_ids;
};

// A recorded skill run of about 2 KB.
std::string skill_run_body(const Settings& s, std::uint64_t r) {
  static const std::string text(1200, 'x');
  return R"({"skill_id":")" + s.skill_id + R"(","skill_version_id":")" + s.version_id +
         R"(","task_id":"task-)" + std::to_string(r % 1000000) +
         R"(","status":"succeeded","inputs":{"message":")" + text +
         R"("},"state_object":{"step":2},"final_output":{"title":"Pay rent","due_date":"2026-04-24"},)"
         R"("step_results":[{"step_name":"extract","step_index":0,"prompt_tokens":812,)"
         R"("output":{"title":"Pay rent"},"latency_ms":840,"validation_status":"ok"},)"
         R"({"step_name":"normalize","step_index":1,"step_kind":"tool","latency_ms":12}],)"
         R"("total_latency_ms":1840,"total_cost_usd":0.0031,)"
         R"("started_at":"2026-04-16T10:00:00Z","finished_at":"2026-04-16T10:00:01.840Z"})";
}

struct Results {
  std::mutex mutex;
  std::vector<double> latencies_ms;
  std::map<int, std::uint64_t> statuses;
  std::uint64_t errors = 0;
  std::atomic<bool> stopped{false};  // --stop-file appeared: send no more requests
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(net::io_context& ioc, const Settings& s, Results& r, Clock::time_point start,
             Clock::time_point end, int index)
      : stream_(net::make_strand(ioc)),
        timer_(stream_.get_executor()),
        s_(s),
        results_(r),
        end_(end),
        rng_(static_cast<unsigned>(index) * 7919u + 17u) {
    if (s.rate > 0) {
      interval_ = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(s.connections / s.rate));
      next_ = start + interval_ * index / s.connections;
    }
  }

  void start(const tcp::resolver::results_type& endpoints) {
    stream_.async_connect(endpoints,
                          [self = shared_from_this()](beast::error_code ec, tcp::endpoint) {
                            if (ec) {
                              std::lock_guard lock(self->results_.mutex);
                              ++self->results_.errors;
                              return;
                            }
                            self->stream_.socket().set_option(tcp::no_delay(true));
                            self->schedule();
                          });
  }

 private:
  void schedule() {
    if (Clock::now() >= end_ || results_.stopped.load()) return;
    if (s_.rate <= 0) return send(Clock::now());
    const auto intended = next_;
    next_ += interval_;
    if (intended <= Clock::now()) return send(intended);
    timer_.expires_at(intended);
    timer_.async_wait([self = shared_from_this(), intended](beast::error_code ec) {
      if (!ec && !self->results_.stopped.load()) self->send(intended);
    });
  }

  void build() {
    req_ = {};
    req_.version(11);
    req_.set(http::field::host, s_.target.host);
    req_.keep_alive(true);
    if (!s_.token.empty()) req_.set(http::field::authorization, "Bearer " + s_.token);
    if (s_.scenario == "lessons") {
      req_.method(http::verb::post);
      req_.target("/lessons");
      req_.set(http::field::content_type, "application/json");
      req_.body() =
          R"({"lesson_type":"bench_load","work_item_id":"W-)" + std::to_string(rng_() % 100000) +
          R"(","stage":"load","agent":"annals-bench","root_cause":"load generated by annals bench to measure durable appends"})";
    } else if (s_.scenario == "skill_runs") {
      req_.method(http::verb::post);
      req_.target("/admin/skill-runs");
      req_.set(http::field::content_type, "application/json");
      req_.body() = skill_run_body(s_, rng_());
    } else if (s_.scenario == "run_shape") {
      // The skill_runs request to any server (no set-up, placeholder ids): a reference point.
      req_.method(http::verb::post);
      req_.target(s_.path);
      req_.set(http::field::content_type, "application/json");
      req_.body() = skill_run_body(s_, rng_());
    } else if (s_.scenario == "divergences") {
      req_.method(http::verb::post);
      req_.target("/admin/skill-runs/" + s_.run_ids[rng_() % s_.run_ids.size()] + "/divergence");
      req_.set(http::field::content_type, "application/json");
      req_.body() =
          R"({"overall_agreement":0.)" + std::to_string(50 + rng_() % 50) +
          R"(,"diff_summary":{"skill_output":{"title":"Pay rent"},"claude_output":{"title":"Pay the rent"}}})";
    } else if (s_.scenario == "reads") {
      req_.method(http::verb::get);
      req_.target("/lessons/" +
                  std::to_string(1 + static_cast<std::int64_t>(
                                         rng_() % static_cast<std::uint64_t>(
                                                      std::max<std::int64_t>(1, s_.max_id)))));
    } else if (s_.scenario == "mixed") {
      // Reads across the read models: lessons by id and listed, skills, runs, invocations,
      // corrections, the queue.
      static const char* const kPaths[] = {
          "/lessons?limit=20",           "/admin/skills",
          "/admin/skill-runs?limit=20",  "/admin/invocations?limit=20",
          "/admin/corrections?limit=20", "/queue"};
      req_.method(http::verb::get);
      const std::uint64_t pick = rng_() % 8;
      if (pick < 2) {
        req_.target("/lessons/" +
                    std::to_string(1 + static_cast<std::int64_t>(
                                           rng_() % static_cast<std::uint64_t>(
                                                        std::max<std::int64_t>(1, s_.max_id)))));
      } else {
        req_.target(kPaths[pick - 2]);
      }
    } else {
      req_.method(http::verb::get);
      req_.target(s_.path);
    }
    req_.prepare_payload();
  }

  void send(Clock::time_point intended) {
    intended_ = intended;
    build();
    http::async_write(
        stream_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) return self->fail();
          self->res_ = {};
          http::async_read(
              self->stream_, self->buffer_, self->res_, [self](beast::error_code ec2, std::size_t) {
                if (ec2) return self->fail();
                const double ms =
                    std::chrono::duration<double, std::milli>(Clock::now() - self->intended_)
                        .count();
                {
                  std::lock_guard lock(self->results_.mutex);
                  self->results_.latencies_ms.push_back(ms);
                  ++self->results_.statuses[static_cast<int>(self->res_.result_int())];
                }
                self->schedule();
              });
        });
  }

  void fail() {
    std::lock_guard lock(results_.mutex);
    ++results_.errors;
  }

  beast::tcp_stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  const Settings& s_;
  Results& results_;
  Clock::time_point end_, next_, intended_;
  Clock::duration interval_{};
  std::mt19937_64 rng_;
};

// One synchronous request, for set-up and discovery.
std::optional<std::string> request_once(const Settings& s, http::verb verb,
                                        const std::string& target, const std::string& body = "") {
  try {
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.connect(resolver.resolve(s.target.host, s.target.port));
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, s.target.host);
    if (!s.token.empty()) req.set(http::field::authorization, "Bearer " + s.token);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
    }
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    if (res.result_int() / 100 != 2) return std::nullopt;
    return res.body();
  } catch (...) {
    return std::nullopt;
  }
}

// The skill the skill scenarios load: `bench_skill`'s, registered (draft, one version) when new.
bool setup_skill(Settings& s) {
  request_once(s, http::verb::post, "/admin/capabilities",
               R"({"name":"bench_skill","trigger_type":"on_message"})");
  request_once(
      s, http::verb::post, "/admin/skills",
      R"({"capability_name":"bench_skill","initial_version":{"yaml_backbone":"steps:\n  - name: extract\n",)"
      R"("step_content":{"extract":"Extract the task"},"output_schemas":{"extract":{"type":"object"}}}})");
  auto list = request_once(s, http::verb::get, "/admin/skills?capability_name=bench_skill");
  auto j = list ? nlohmann::json::parse(*list, nullptr, false) : nlohmann::json();
  if (!j.is_object() || j["skills"].empty()) return false;
  s.skill_id = j["skills"][0]["id"];
  s.version_id = j["skills"][0]["current_version_id"];
  if (s.scenario != "divergences") return true;
  for (int i = 0; i < 100; ++i) {
    auto run = request_once(s, http::verb::post, "/admin/skill-runs", skill_run_body(s, i));
    if (!run) return false;
    s.run_ids.push_back(nlohmann::json::parse(*run)["id"]);
  }
  return true;
}

// One synchronous GET, for discovering ids and positions.
std::optional<std::string> get_once(const Settings& s, const std::string& target) {
  try {
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.connect(resolver.resolve(s.target.host, s.target.port));
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::host, s.target.host);
    if (!s.token.empty()) req.set(http::field::authorization, "Bearer " + s.token);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    if (res.result_int() != 200) return std::nullopt;
    return res.body();
  } catch (...) {
    return std::nullopt;
  }
}

std::optional<std::uint64_t> head_position(const Settings& s) {
  auto body = get_once(s, "/audit/digest");
  if (!body) return std::nullopt;
  auto j = nlohmann::json::parse(*body, nullptr, false);
  if (!j.is_object() || !j.contains("position")) return std::nullopt;
  return j["position"].get<std::uint64_t>();
}

}  // namespace

int run_bench(const Args& a) {
  Settings s;
  if (auto url = a.get("url"); url && !parse_url(*url, s.target)) {
    std::cerr << "annals bench: bad --url\n";
    return kUsage;
  }
  s.token = a.get("token").value_or("");
  s.scenario = a.get("scenario").value_or("lessons");
  s.path = a.get("path").value_or("/healthz");
  auto duration = uint_flag(a, "duration", 30), conns = uint_flag(a, "connections", 16),
       rate = uint_flag(a, "rate", 0), threads = uint_flag(a, "threads", 1);
  if (!duration || !conns || !rate || !threads || *conns == 0 || *threads == 0) return kUsage;
  s.duration = static_cast<double>(*duration);
  s.connections = static_cast<int>(*conns);
  s.rate = static_cast<double>(*rate);
  s.stop_file = a.get("stop-file").value_or("");
  if (s.scenario != "lessons" && s.scenario != "reads" && s.scenario != "get" &&
      s.scenario != "mixed" && s.scenario != "skill_runs" && s.scenario != "divergences" &&
      s.scenario != "run_shape") {
    std::cerr << "annals bench: scenario '" << s.scenario
              << "' is not available; this build has lessons, reads, get, skill_runs, "
                 "divergences and run_shape\n";
    return kUsage;
  }
  if ((s.scenario == "skill_runs" || s.scenario == "divergences") && !setup_skill(s)) {
    std::cerr << "annals bench: could not set up the bench_skill skill (admin token needed)\n";
    return kUnavailable;
  }
  if (s.scenario == "reads" || s.scenario == "mixed") {
    auto body = get_once(s, "/lessons?limit=1");
    auto j = body ? nlohmann::json::parse(*body, nullptr, false) : nlohmann::json();
    if (!j.is_object() || !j.contains("lessons") || j["lessons"].empty()) {
      std::cerr << "annals bench: the reads scenario needs existing lessons (run lessons first)\n";
      return kUnavailable;
    }
    s.max_id = j["lessons"][0]["id"].get<std::int64_t>();
  }
  if (s.scenario == "run_shape") {
    s.skill_id = "00000000-0000-7000-8000-000000000001";
    s.version_id = "00000000-0000-7000-8000-000000000002";
  }
  // Scenarios that append nothing (run_shape is for reference servers without a log).
  const bool reads_only = s.scenario == "get" || s.scenario == "mixed" || s.scenario == "run_shape";
  const auto position_before = reads_only ? std::nullopt : head_position(s);

  net::io_context ioc;
  tcp::resolver resolver(ioc);
  const auto endpoints = resolver.resolve(s.target.host, s.target.port);
  Results results;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(s.duration));
  for (int i = 0; i < s.connections; ++i) {
    std::make_shared<Connection>(ioc, s, results, start, end, i)->start(endpoints);
  }
  // --stop-file: looked for every 50 ms; once it exists, each connection finishes the request it
  // has in flight and sends no more (a benchmark can cover exactly one phase of the server's).
  net::steady_timer stop_poll(ioc);
  std::function<void()> poll = [&] {
    if (Clock::now() >= end) return;
    if (std::filesystem::exists(s.stop_file)) {
      results.stopped = true;
      return;
    }
    stop_poll.expires_after(std::chrono::milliseconds(50));
    stop_poll.async_wait([&](beast::error_code ec) {
      if (!ec) poll();
    });
  };
  if (!s.stop_file.empty()) poll();
  std::vector<std::thread> pool;
  for (std::uint64_t i = 1; i < *threads; ++i) pool.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const auto position_after = reads_only ? std::nullopt : head_position(s);

  auto& lat = results.latencies_ms;
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat.empty() ? 0.0
                       : lat[std::min(lat.size() - 1, static_cast<std::size_t>(p * lat.size()))];
  };
  const double rps = static_cast<double>(lat.size()) / elapsed;
  std::printf("scenario %s: %zu requests in %.2f s over %d connections\n", s.scenario.c_str(),
              lat.size(), elapsed, s.connections);
  std::printf("requests/s %.0f\n", rps);
  std::printf("latency ms p50 %.3f p95 %.3f p99 %.3f max %.3f\n", pct(0.50), pct(0.95), pct(0.99),
              lat.empty() ? 0.0 : lat.back());
  std::printf("status");
  for (const auto& [code, n] : results.statuses)
    std::printf(" %d:%llu", code, static_cast<unsigned long long>(n));
  std::printf(" errors:%llu\n", static_cast<unsigned long long>(results.errors));
  double events_per_s = 0;
  if (position_before && position_after) {
    events_per_s = static_cast<double>(*position_after - *position_before) / elapsed;
    std::printf("appended events/s %.0f\n", events_per_s);
  }
  std::printf(
      "RESULT scenario=%s rps=%.0f p50_ms=%.3f p95_ms=%.3f p99_ms=%.3f max_ms=%.3f "
      "errors=%llu events_per_s=%.0f\n",
      s.scenario.c_str(), rps, pct(0.50), pct(0.95), pct(0.99), lat.empty() ? 0.0 : lat.back(),
      static_cast<unsigned long long>(results.errors), events_per_s);
  return results.errors == 0 ? kOk : kCheckFailed;
}

}  // namespace annals::tools

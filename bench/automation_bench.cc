// Automation scheduler and dispatcher benchmarks (issue #3), in process through server::Core —
// the same store, projector, commands and dispatcher annalsd runs, minus HTTP:
//   1. idle: N active automations, nothing due: process CPU over a window (the scheduler sleeps
//      until the earliest next_run_at, at most automation_poll_interval_seconds), and the cost of
//      finding what is due versus the size of the due set;
//   2. throughput: R automations fall due at once; echo executor; runs/s until every run is
//      started, executed and finished (all durable);
//   3. latency: A automations firing every second on the real clock; started_at − scheduled_for.
// Usage: automation_bench [N=100000] [R=20000] [A=200] [IDLE_S=20]
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "commands/automations.h"
#include "projections/automation_runs.h"
#include "projections/automations.h"
#include "server/core.h"

using namespace annals;
using Clock = std::chrono::steady_clock;

namespace {

Micros at(const char* text) { return parse_instant(text).value(); }

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string temp_dir(const char* name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("annals-autobench-" + std::string(name) + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  return dir.string();
}

// Submits `n` commands with at most `window` in flight; waits for all.
template <typename Submit>
void pipeline(std::int64_t n, std::int64_t window, Submit submit) {
  std::mutex m;
  std::condition_variable cv;
  std::int64_t in_flight = 0, failed = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return in_flight < window; });
      ++in_flight;
    }
    submit(i, [&](const commands::Reply& r) {
      std::lock_guard lock(m);
      if (!r.ok()) ++failed;
      --in_flight;
      cv.notify_all();
    });
  }
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return in_flight == 0; });
  if (failed > 0) std::fprintf(stderr, "%lld commands failed\n", static_cast<long long>(failed));
}

void setup_capability(server::Core& core) {
  capability::Fields cap;
  cap.name = "product_watch";
  cap.trigger_type = "on_schedule";
  std::promise<void> done;
  core.capabilities->register_capability(cap, {"bench", "c", std::nullopt, "", std::nullopt},
                                         [&](commands::Reply) { done.set_value(); });
  done.get_future().wait();
}

void create_automations(server::Core& core, std::int64_t n,
                        const std::function<std::string(std::int64_t)>& schedule) {
  pipeline(n, 512, [&](std::int64_t i, auto done) {
    automation::Draft d;
    d.name = "a" + std::to_string(i);
    d.capability_name = "product_watch";
    d.trigger_type = "on_schedule";
    d.schedule = schedule(i);
    d.min_interval_seconds = 0;
    d.inputs = nlohmann::json{{"i", i}};
    d.alert_conditions = nlohmann::json::object();
    core.automations->create(std::move(d), {"bench", "c", std::nullopt, "", std::nullopt}, done);
  });
}

std::uint64_t succeeded_runs(server::Core& core) {
  std::string m;
  core.dispatcher->render_metrics(m);
  const std::string key = "annals_automation_runs_total{status=\"succeeded\"} ";
  const auto pos = m.find(key);
  return pos == std::string::npos ? 0 : std::stoull(m.substr(pos + key.size()));
}

void idle(std::int64_t n, int idle_s) {
  std::atomic<Micros> now{at("2026-04-16T06:00:00Z")};
  Config config;
  config.data_dir = temp_dir("idle");
  config.executors["default"] = {"echo", "", std::nullopt, {}};
  server::Core core(config, [&] { return now.load(); });
  setup_capability(core);
  const auto t0 = Clock::now();
  // Fires spread over the year: "0 0 D M *" for 336 (day, month) pairs.
  create_automations(core, n, [](std::int64_t i) {
    return "0 0 " + std::to_string(1 + i % 28) + " " + std::to_string(1 + (i / 28) % 12) + " *";
  });
  const double create_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("idle: created %lld active automations in %.1f s (%.0f creates/s, durable)\n",
              static_cast<long long>(n), create_s, static_cast<double>(n) / create_s);
  core.start_dispatcher();
  std::this_thread::sleep_for(std::chrono::seconds(3));  // let flushes and compactions settle
  const double cpu0 = cpu_seconds();
  const auto w0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(idle_s));
  const double cpu = cpu_seconds() - cpu0;
  const double wall = std::chrono::duration<double>(Clock::now() - w0).count();
  std::printf(
      "idle: process CPU while nothing is due: %.3f s over %.1f s = %.3f%% of one core "
      "(target < 1%%)\n",
      cpu, wall, 100 * cpu / wall);
  // Finding what is due: the scheduler's query at instants with growing due sets.
  const projections::AutomationsQueries q(core.store->db(), core.projector->family("automations"),
                                          core.store->read_view());
  for (const char* when :
       {"2026-04-16T07:00:00Z", "2026-05-01T00:00:00Z", "2026-05-15T00:00:00Z",
        "2026-06-01T00:00:00Z", "2026-09-01T00:00:00Z", "2027-12-28T00:00:00Z"}) {
    std::optional<Micros> next;
    std::size_t due = 0;
    const int reps = 20;
    const auto s = Clock::now();
    for (int r = 0; r < reps; ++r) due = q.due(at(when), SIZE_MAX, next).size();
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - s).count() / reps;
    std::printf("idle: due(%s) → %7zu due of %lld: %9.1f us (%.2f us per due automation)\n", when,
                due, static_cast<long long>(n), us, due ? us / static_cast<double>(due) : 0.0);
  }
  core.stop();
  std::filesystem::remove_all(config.data_dir);
}

void throughput(std::int64_t r, std::int64_t concurrency) {
  std::atomic<Micros> now{at("2026-04-16T06:00:00Z")};
  Config config;
  config.data_dir = temp_dir("throughput");
  config.executors["default"] = {"echo", "", std::nullopt, {}};
  config.automation_max_concurrent_runs = concurrency;
  server::Core core(config, [&] { return now.load(); });
  setup_capability(core);
  create_automations(core, r, [](std::int64_t) { return std::string("0 0 1 1 *"); });
  core.start_dispatcher();
  const auto t0 = Clock::now();
  now = at("2027-01-01T00:00:01Z");  // every automation is due
  core.dispatcher->wake();
  while (succeeded_runs(core) < static_cast<std::uint64_t>(r)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  const auto batches = core.store->stats().batch_commands.count();
  std::printf(
      "throughput: %lld runs (echo, concurrency %lld) in %.2f s = %.0f runs/s end to end "
      "(target >= 2000); %llu group commits\n",
      static_cast<long long>(r), static_cast<long long>(concurrency), s, static_cast<double>(r) / s,
      static_cast<unsigned long long>(batches));
  core.stop();
  std::filesystem::remove_all(config.data_dir);
}

void latency(std::int64_t a) {
  Config config;
  config.data_dir = temp_dir("latency");
  config.executors["default"] = {"echo", "", std::nullopt, {}};
  server::Core core(config);
  setup_capability(core);
  create_automations(core, a, [](std::int64_t) { return std::string("* * * * * *"); });
  core.start_dispatcher();
  std::this_thread::sleep_for(std::chrono::seconds(6));
  core.dispatcher->stop();
  std::vector<double> delays;
  const auto view = core.store->read_view();
  const projections::AutomationsQueries autos(core.store->db(),
                                              core.projector->family("automations"), view);
  const projections::AutomationRunsQueries runs(core.store->db(),
                                                core.projector->family("automation_runs"), view);
  projections::AutomationFilter all;
  all.status.reset();
  all.limit = a;
  for (const auto& row : autos.list(all)) {
    const std::string id = nlohmann::json::parse(row)["id"];
    for (const auto& text : runs.list(id, std::nullopt, 1000, 0)) {
      const auto run = nlohmann::json::parse(text);
      if (run["scheduled_for"].is_null()) continue;
      delays.push_back(
          static_cast<double>(*parse_instant(run["started_at"].get<std::string>()) -
                              *parse_instant(run["scheduled_for"].get<std::string>())) /
          1000.0);
    }
  }
  std::sort(delays.begin(), delays.end());
  auto pct = [&](double p) {
    return delays.empty() ? 0.0 : delays[static_cast<std::size_t>(p * (delays.size() - 1))];
  };
  std::printf(
      "latency: %zu scheduled runs of %lld automations firing every second: "
      "start - next_run_at p50 %.1f ms, p99 %.1f ms, max %.1f ms (target < 1000 ms)\n",
      delays.size(), static_cast<long long>(a), pct(0.5), pct(0.99), pct(1.0));
  core.stop();
  std::filesystem::remove_all(config.data_dir);
}

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t n = argc > 1 ? std::stoll(argv[1]) : 100'000;
  const std::int64_t r = argc > 2 ? std::stoll(argv[2]) : 20'000;
  const std::int64_t a = argc > 3 ? std::stoll(argv[3]) : 200;
  const int idle_s = argc > 4 ? std::stoi(argv[4]) : 20;
  std::printf("machine: %u cores\n", std::thread::hardware_concurrency());
  idle(n, idle_s);
  throughput(r, 8);
  throughput(r, 64);
  latency(1);
  latency(a);
  return 0;
}

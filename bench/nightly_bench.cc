// The nightly job over S trusted skills (each with 30 divergences, so degradation is evaluated)
// and L ledger entries spread over 30 days and S task types, in process through server::Core.
// Seeds through the command path, then times one POST-equivalent run (NightlyJob::run).
// Usage: nightly_bench [S=1000] [L=1000000]
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

#include "server/core.h"

using namespace annals;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const std::int64_t skills = argc > 1 ? std::stoll(argv[1]) : 1000;
  const std::int64_t ledger = argc > 2 ? std::stoll(argv[2]) : 1'000'000;
  Config config;
  config.data_dir = (std::filesystem::temp_directory_path() /
                     ("annals-nightly-bench-" + std::to_string(getpid())))
                        .string();
  std::filesystem::remove_all(config.data_dir);
  config.writer_max_batch = 4096;
  const Micros now = parse_instant("2026-04-16T03:00:00Z").value();
  std::atomic<Micros> clock{now - 31LL * 86'400 * kMicrosPerSecond};
  server::Core core(config, [&] { return clock.load(); });
  const commands::CommandContext ctx{"bench", "seed", std::nullopt, "", std::nullopt};
  std::mutex m;
  std::condition_variable cv;
  std::int64_t in_flight = 0;
  auto acquire = [&](std::int64_t window) {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return in_flight < window; });
    ++in_flight;
  };
  auto release = [&](const commands::Reply&) {
    std::lock_guard lock(m);
    --in_flight;
    cv.notify_all();
  };
  auto drain = [&] {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return in_flight == 0; });
  };
  const auto t0 = Clock::now();
  // Skills: capability, skill (sandbox, gate off), → shadow_primary → trusted, one run, 30
  // divergences.
  std::vector<std::pair<std::string, std::string>> ids(static_cast<std::size_t>(skills));
  for (std::int64_t i = 0; i < skills; ++i) {
    capability::Fields cap;
    cap.name = "task_" + std::to_string(i);
    cap.trigger_type = "on_message";
    acquire(512);
    core.capabilities->register_capability(cap, ctx, release);
  }
  drain();
  for (std::int64_t i = 0; i < skills; ++i) {
    auto reg = commands::parse_register_skill(
        nlohmann::json{{"capability_name", "task_" + std::to_string(i)},
                       {"requires_human_gate", false},
                       {"initial_state", "sandbox"},
                       {"initial_version",
                        {{"yaml_backbone", "steps: []"},
                         {"step_content", nlohmann::json::object()},
                         {"output_schemas", nlohmann::json::object()}}}});
    acquire(512);
    core.skills->register_skill(*reg, ctx, [&, i](commands::Reply r) {
      auto j = nlohmann::json::parse(r.body);
      ids[static_cast<std::size_t>(i)] = {j["id"], j["current_version_id"]};
      release(r);
    });
  }
  drain();
  for (const auto& to : {"shadow_primary", "trusted"}) {
    for (const auto& [id, v] : ids) {
      acquire(512);
      core.skills->transition(id, {to, "human_approval", "", std::nullopt, std::nullopt}, ctx,
                              release);
    }
    drain();
  }
  std::vector<std::string> runs(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto d = commands::parse_skill_run(nlohmann::json{
        {"skill_id", ids[i].first},
        {"skill_version_id", ids[i].second},
        {"status", "succeeded"},
        {"started_at", "2026-04-01T00:00:00Z"},
        {"finished_at",
         "2026-04-01T00:00:01Z"}}.dump());
    acquire(512);
    core.skills->record_run(*d, ctx, [&, i](commands::Reply r) {
      runs[i] = nlohmann::json::parse(r.body)["id"];
      release(r);
    });
  }
  drain();
  for (int k = 0; k < 30; ++k) {
    for (const auto& run : runs) {
      commands::DivergenceDraft d;
      d.submitted = 0.95;
      acquire(1024);
      core.skills->record_divergence(run, d, ctx, release);
    }
  }
  drain();
  const double skills_s = std::chrono::duration<double>(Clock::now() - t0).count();
  // Ledger: L invocations over the last 30 days and the skills' task types (plus 10 others).
  const auto t1 = Clock::now();
  for (std::int64_t i = 0; i < ledger; ++i) {
    commands::InvocationDraft inv;
    inv.invocation.task_type = "task_" + std::to_string(i % (skills + 10));
    inv.invocation.cost_micro_usd = 10000;
    inv.invocation.output = R"({"title":"x","due":"y"})";
    inv.invocation.at = now - (i % 30) * 86'400 * kMicrosPerSecond - 1;
    inv.at_given = true;
    clock = now;  // `at` must not be in the future
    acquire(4096);
    core.ledger->record(std::move(inv), ctx, release);
  }
  drain();
  const double ledger_s = std::chrono::duration<double>(Clock::now() - t1).count();
  std::printf(
      "seeded %lld trusted skills (31k skill events) in %.1f s and %lld ledger entries in %.1f s\n",
      static_cast<long long>(skills), skills_s, static_cast<long long>(ledger), ledger_s);
  const auto t2 = Clock::now();
  const auto reply = core.nightly->run("manual");
  const double run_s = std::chrono::duration<double>(Clock::now() - t2).count();
  const auto nr = nlohmann::json::parse(reply.body);
  std::printf(
      "nightly run: %.2f s (target < 5 s): %zu new candidates, %zu degradation reports, "
      "%zu errors; status %d\n",
      run_s, nr["new_candidates"].size(), nr["degradation"].size(), nr["errors"].size(),
      reply.status);
  core.stop();
  std::filesystem::remove_all(config.data_dir);
  return reply.ok() ? 0 : 1;
}

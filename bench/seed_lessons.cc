// Seeds a store with N lessons (and an update for every tenth) through the real command path:
// lesson commands on the writer thread with group commit and the live projector, without HTTP.
// Usage: seed_lessons DIR N
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>

#include "bench/seed_window.h"
#include "commands/command_bus.h"
#include "commands/lessons.h"
#include "projections/projector.h"

using namespace annals;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: seed_lessons DIR N\n");
    return 2;
  }
  const std::int64_t n = std::stoll(argv[2]);
  auto opened = bench::open_unsynced(argv[1]);  // the benchmark under test is the rebuild
  if (!opened) return 3;
  auto& store = *opened;
  projections::Projector projector(store, projections::all_projections());
  projector.open();
  projector.attach();
  commands::CommandBus bus(store);
  Config config;
  commands::LessonCommands lessons(bus, config);

  bench::SeedWindow window;
  auto done = window.done();
  auto submit = [&](auto&& fn) {
    window.acquire(4096);
    fn();
  };
  const auto start = std::chrono::steady_clock::now();
  const char* types[] = {"gate_failure", "merge_hold", "transient_retry", "deploy_degraded"};
  for (std::int64_t i = 1; i <= n; ++i) {
    lesson::Fields f;
    f.lesson_type = types[i % 4];
    f.work_item_id = "W-" + std::to_string(i % 5000);
    f.stage = "stage-" + std::to_string(i % 7);
    f.agent = "seed";
    f.repo = "repo-" + std::to_string(i % 20);
    f.root_cause = "root cause of lesson " + std::to_string(i) + ": a gate failed on a flaky check";
    f.detail = R"({"seed":)" + std::to_string(i) + "}";
    submit([&] {
      lessons.record(std::move(f), {"seed", "seed", std::nullopt, "", std::nullopt}, done);
    });
    if (i % 10 == 0) {
      const std::int64_t id = i / 2;
      submit([&] {
        lessons.update(id, {{"status", "closed"}, {"attribution", "platform"}},
                       {"seed", "seed", std::nullopt, "", std::nullopt}, done);
      });
    }
  }
  window.drain();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("seeded %lld lessons, head %llu, %.1f s, failed %lld\n", static_cast<long long>(n),
              static_cast<unsigned long long>(store.head()), secs,
              static_cast<long long>(window.failed()));
  return window.failed() == 0 ? 0 : 1;
}

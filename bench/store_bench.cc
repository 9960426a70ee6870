// EventStore append throughput without HTTP: T threads each append lessons in a closed loop for
// D seconds through the writer's group commit. Usage: store_bench DIR [THREADS] [SECONDS] [sync
// 0|1]
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "domain/lesson.h"
#include "events/lesson_codec.h"
#include "events/store.h"

using namespace annals;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: store_bench DIR [THREADS] [SECONDS] [SYNC]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const int threads = argc > 2 ? std::stoi(argv[2]) : 64;
  const double seconds = argc > 3 ? std::stod(argv[3]) : 5;
  const bool sync = argc > 4 ? std::stoi(argv[4]) != 0 : true;
  std::filesystem::remove_all(dir);
  events::StoreOptions o;
  o.dir = dir;
  o.sync = sync;
  auto store = std::move(*events::EventStore::open(o));
  std::atomic<std::uint64_t> done{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> pool;
  const auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (std::int64_t i = 1; !stop.load(); ++i) {
        lesson::Recorded r;
        r.lesson_id = i;
        r.fields.lesson_type = "bench";
        r.fields.root_cause = std::string(120, 'x');
        if (store->append("bench-" + std::to_string(t) + "-" + std::to_string(i),
                          events::ExpectedVersion::no_stream(), {events::encode(r)},
                          {"bench", "c", std::nullopt})) {
          done.fetch_add(1);
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto& st = store->stats();
  std::printf("appends/s %.0f (threads %d, sync %d) commits %llu avg batch %.1f\n",
              static_cast<double>(done.load()) / elapsed, threads, sync ? 1 : 0,
              static_cast<unsigned long long>(st.batch_commands.count()),
              static_cast<double>(done.load()) / static_cast<double>(st.batch_commands.count()));
  return 0;
}

// Shared by the seeders: a bound on the commands in flight on the asynchronous command path, and
// a store opened for seeding.
#pragma once

#include <condition_variable>
#include <cstdio>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "commands/reply.h"
#include "events/store.h"

namespace annals::bench {

class SeedWindow {
 public:
  // Waits until fewer than `limit` commands are in flight, then counts one more.
  void acquire(std::int64_t limit = std::numeric_limits<std::int64_t>::max()) {
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return in_flight_ < limit; });
    ++in_flight_;
  }
  // A command's reply: one fewer in flight (and one more failure unless it succeeded).
  void release(const commands::Reply& r) {
    std::lock_guard lock(m_);
    if (!r.ok()) ++failed_;
    --in_flight_;
    cv_.notify_all();
  }
  auto done() {
    return [this](const commands::Reply& r) { release(r); };
  }
  // Waits until every command acquired so far has replied.
  void drain() {
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return in_flight_ == 0; });
  }
  std::int64_t failed() {
    std::lock_guard lock(m_);
    return failed_;
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::int64_t in_flight_ = 0, failed_ = 0;
};

// Opens (creating) the store at `dir` without syncing commits: seeding only, the benchmark under
// test comes after. nullptr (with the message printed) when it cannot open.
inline std::unique_ptr<events::EventStore> open_unsynced(const std::string& dir) {
  events::StoreOptions o;
  o.dir = dir;
  o.sync = false;
  auto opened = events::EventStore::open(o);
  if (!opened) {
    std::fprintf(stderr, "%s\n", opened.error().detail.c_str());
    return nullptr;
  }
  return std::move(*opened);
}

// Leaves a seeded store at rest, as a store that has served for a while is: memtables flushed
// (nothing to replay from the WAL at the next open) and no compaction pending or running.
// REQUIRES: the writer is stopped.
inline void settle(events::EventStore& store) {
  auto* db = store.db();
  rocksdb::FlushOptions flush;
  flush.wait = true;
  for (const auto& name : store.column_family_names()) {
    if (auto* cf = store.column_family(name)) db->Flush(flush, cf);
  }
  // RocksDB 7.8 has no wait-for-compaction call: poll its properties, under a deadline so that a
  // compaction that never settles ends the wait with a warning instead of a hang.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(30);
  for (;;) {
    std::uint64_t pending = 0, running = 0;
    db->GetIntProperty("rocksdb.compaction-pending", &pending);
    db->GetIntProperty("rocksdb.num-running-compactions", &running);
    if (pending == 0 && running == 0) return;
    if (std::chrono::steady_clock::now() > deadline) {
      std::fprintf(stderr, "settle: compactions still pending after 30 minutes; going on\n");
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace annals::bench

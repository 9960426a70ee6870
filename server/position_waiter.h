// PositionWaiter: parks callbacks until the store's head reaches a position or a deadline passes
// (API §1.8 min_position), on its own thread so that no I/O thread ever blocks.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "events/store.h"

namespace annals::server {

class PositionWaiter {
 public:
  explicit PositionWaiter(events::EventStore& store);
  ~PositionWaiter();

  // Calls done(true) once head ≥ position, or done(false) at the deadline.
  void wait(std::uint64_t position, std::chrono::steady_clock::time_point deadline,
            std::function<void(bool)> done);
  // Wakes the waiter thread (called after every commit).
  void notify();

 private:
  struct Waiter {
    std::uint64_t position;
    std::chrono::steady_clock::time_point deadline;
    std::function<void(bool)> done;
  };
  void run();

  events::EventStore& store_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Waiter> waiters_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace annals::server

#include "server/position_waiter.h"

namespace annals::server {

PositionWaiter::PositionWaiter(events::EventStore& store) : store_(store) {
  thread_ = std::thread([this] { run(); });
}

PositionWaiter::~PositionWaiter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void PositionWaiter::wait(std::uint64_t position, std::chrono::steady_clock::time_point deadline,
                          std::function<void(bool)> done) {
  {
    std::lock_guard lock(mutex_);
    waiters_.push_back({position, deadline, std::move(done)});
  }
  cv_.notify_all();
}

void PositionWaiter::notify() {
  // Taking the lock orders this wake-up after the waiter's head check or before it.
  std::lock_guard lock(mutex_);
  cv_.notify_all();
}

void PositionWaiter::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    auto next_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    std::vector<std::pair<std::function<void(bool)>, bool>> fire;
    const auto head = store_.head();
    const auto now = std::chrono::steady_clock::now();
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (head >= it->position || now >= it->deadline) {
        fire.emplace_back(std::move(it->done), head >= it->position);
        it = waiters_.erase(it);
      } else {
        next_deadline = std::min(next_deadline, it->deadline);
        ++it;
      }
    }
    if (!fire.empty()) {
      lock.unlock();
      for (auto& [done, ok] : fire) done(ok);
      lock.lock();
      continue;
    }
    cv_.wait_until(lock, next_deadline);
  }
  for (auto& w : waiters_) w.done(false);
}

}  // namespace annals::server

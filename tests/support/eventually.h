// Waiting on a condition with a deadline (never a fixed sleep): polls `pred` until it holds or the
// timeout passes; returns whether it held.
#pragma once

#include <chrono>
#include <thread>

namespace annals::testing {

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pred();
}

}  // namespace annals::testing

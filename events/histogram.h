// Histogram: fixed upper bounds, lock-free observation; read as Prometheus cumulative buckets.
#pragma once

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace annals::events {

class Histogram {
 public:
  explicit Histogram(std::initializer_list<double> bounds)
      : bounds_(bounds), counts_(new std::atomic<std::uint64_t>[bounds.size() + 1]) {
    for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i] = 0;
  }

  void observe(double v) {
    std::size_t i = 0;
    while (i < bounds_.size() && v > bounds_[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    // Sum kept in micro-units to stay lock-free.
    sum_micro_.fetch_add(static_cast<std::uint64_t>(v * 1e6), std::memory_order_relaxed);
  }

  // Appends `name_bucket{le=...}`, `name_sum`, `name_count` lines; labels like `route="x"` or "".
  void render(std::string& out, const std::string& name, const std::string& labels) const;

  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micro_{0};
};

}  // namespace annals::events

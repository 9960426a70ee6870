// Metrics: the Prometheus counters and histograms of API §17 that the HTTP layer owns; the rest
// (commit batches, fsync latency, positions) are read from their owners when rendering.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>

#include "events/histogram.h"

namespace annals::server {

class Metrics {
 public:
  void observe_request(const std::string& route, const std::string& method, int status,
                       double seconds);
  // Appends the HTTP metrics in Prometheus text format.
  void render(std::string& out) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::string, std::unique_ptr<events::Histogram>> latency_;
};

}  // namespace annals::server

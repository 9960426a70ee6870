// Metrics: the Prometheus counters and histograms of API §17 that the HTTP layer owns; the rest
// (commit batches, fsync latency, positions) are read from their owners when rendering.
// Observation is lock-free: routes are numbered once at start-up.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "events/histogram.h"

namespace annals::server {

class Metrics {
 public:
  // One slot per (route pattern, method); index routes.size() counts unmatched requests.
  explicit Metrics(std::vector<std::pair<std::string, std::string>> routes);

  void observe_request(int route_index, int status, double seconds);
  // Appends the HTTP metrics in Prometheus text format.
  void render(std::string& out) const;

 private:
  struct Slot {
    std::string route, method;
    std::array<std::atomic<std::uint64_t>, 500> by_status{};  // status 100..599
    events::Histogram latency{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                              0.05,   0.1,   0.25,   0.5,   1,    2.5};
  };
  std::vector<std::unique_ptr<Slot>> slots_;
};

}  // namespace annals::server

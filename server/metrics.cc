#include "server/metrics.h"

namespace annals::server {

void Metrics::observe_request(const std::string& route, const std::string& method, int status,
                              double seconds) {
  events::Histogram* h = nullptr;
  {
    std::lock_guard lock(mutex_);
    ++requests_[{route, method, status}];
    auto& slot = latency_[route];
    if (!slot) {
      slot = std::make_unique<events::Histogram>(std::initializer_list<double>{
          0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
    }
    h = slot.get();
  }
  h->observe(seconds);
}

void Metrics::render(std::string& out) const {
  std::lock_guard lock(mutex_);
  out += "# TYPE annals_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [route, method, status] = key;
    out += "annals_http_requests_total{route=\"" + route + "\",method=\"" + method +
           "\",status=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# TYPE annals_http_request_seconds histogram\n";
  for (const auto& [route, h] : latency_) {
    h->render(out, "annals_http_request_seconds", "route=\"" + route + "\"");
  }
}

}  // namespace annals::server

#include "server/metrics.h"

namespace annals::server {

Metrics::Metrics(std::vector<std::pair<std::string, std::string>> routes) {
  routes.emplace_back("unmatched", "any");
  for (auto& [route, method] : routes) {
    auto slot = std::make_unique<Slot>();
    slot->route = std::move(route);
    slot->method = std::move(method);
    slots_.push_back(std::move(slot));
  }
}

void Metrics::observe_request(int route_index, int status, double seconds) {
  if (route_index < 0 || route_index >= static_cast<int>(slots_.size())) {
    route_index = static_cast<int>(slots_.size()) - 1;
  }
  Slot& s = *slots_[static_cast<std::size_t>(route_index)];
  if (status >= 100 && status < 600) {
    s.by_status[static_cast<std::size_t>(status - 100)].fetch_add(1, std::memory_order_relaxed);
  }
  s.latency.observe(seconds);
}

void Metrics::render(std::string& out) const {
  out += "# TYPE annals_http_requests_total counter\n";
  for (const auto& s : slots_) {
    for (std::size_t i = 0; i < s->by_status.size(); ++i) {
      const auto n = s->by_status[i].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += "annals_http_requests_total{route=\"" + s->route + "\",method=\"" + s->method +
             "\",status=\"" + std::to_string(i + 100) + "\"} " + std::to_string(n) + "\n";
    }
  }
  out += "# TYPE annals_http_request_seconds histogram\n";
  for (const auto& s : slots_) {
    if (s->latency.count() == 0) continue;
    s->latency.render(out, "annals_http_request_seconds",
                      "route=\"" + s->route + "\",method=\"" + s->method + "\"");
  }
}

}  // namespace annals::server

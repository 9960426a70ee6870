#include "events/histogram.h"

#include <cstdio>

namespace annals::events {

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  std::uint64_t cumulative = 0;
  char buf[64];
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    if (i < bounds_.size()) {
      std::snprintf(buf, sizeof buf, "%g", bounds_[i]);
    } else {
      std::snprintf(buf, sizeof buf, "+Inf");
    }
    out += name + "_bucket{" + labels + sep + "le=\"" + buf + "\"} " + std::to_string(cumulative) +
           "\n";
  }
  const std::string lbl = labels.empty() ? "" : "{" + labels + "}";
  std::snprintf(buf, sizeof buf, "%.6f", static_cast<double>(sum_micro_.load()) / 1e6);
  out += name + "_sum" + lbl + " " + buf + "\n";
  out += name + "_count" + lbl + " " + std::to_string(count()) + "\n";
}

}  // namespace annals::events

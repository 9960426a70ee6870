#include "commands/notifier.h"

#include <spdlog/spdlog.h>

#include "domain/json_text.h"

namespace annals::commands {

OutboundRequest notifier_request(const Config& config, std::string body) {
  OutboundRequest r;
  r.method = "POST";
  r.url = config.notifier_url.value_or("");
  r.headers = config.notifier_headers;
  r.body = std::move(body);
  r.timeout = std::chrono::seconds(config.notifier_timeout_seconds);
  return r;
}

void Notifier::send(const Notification& n, Micros at) {
  spdlog::info("notification {}: {}", n.kind, n.content);
  if (!config_.notifier_url) {
    count(n.kind, "not_configured");
    return;
  }
  std::string body;
  JsonWriter w(body);
  w.begin_object();
  w.key("kind").value(n.kind);
  w.key("channel").value(config_.notifier_system_channel);
  w.key("priority").value(n.priority);
  w.key("content").value(n.content);
  w.key("at").instant(at);
  if (n.skill_id) w.key("skill_id").value(*n.skill_id);
  if (n.automation_id) w.key("automation_id").value(*n.automation_id);
  if (n.run_id) w.key("run_id").value(*n.run_id);
  w.end_object();
  caller_.call(notifier_request(config_, std::move(body)), [this, kind = n.kind](OutboundResult r) {
    const bool ok = r.status && *r.status >= 200 && *r.status < 300;
    if (!ok) {
      spdlog::warn("notification {} not delivered: {}", kind,
                   r.error.value_or("http " + std::to_string(r.status.value_or(0))));
    }
    count(kind, ok ? "sent" : "failed");
  });
}

void Notifier::count(const std::string& kind, const std::string& result) {
  std::lock_guard lock(mutex_);
  ++counts_[{kind, result}];
}

void Notifier::render_metrics(std::string& out) const {
  std::lock_guard lock(mutex_);
  out += "# TYPE annals_notifications_total counter\n";
  for (const auto& [k, v] : counts_) {
    out += "annals_notifications_total{kind=\"" + k.first + "\",result=\"" + k.second + "\"} " +
           std::to_string(v) + "\n";
  }
}

}  // namespace annals::commands

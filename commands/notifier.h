// Notifier: best-effort system notifications (SPEC §5) to `notifier_url` on channel
// `notifier_system_channel`, sent after the triggering events are committed. Failures are logged
// and counted, never retried, never events. Without a notifier the message is only logged.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "commands/http_call.h"
#include "domain/config.h"
#include "domain/time.h"

namespace annals::commands {

struct Notification {
  std::string kind;  // automation_paused | skill_flagged | skill_evolved | skill_drafted
  int priority = 3;
  std::string content;
  std::optional<std::string> skill_id, automation_id, run_id;
};

class Notifier {
 public:
  Notifier(const Config& config, HttpCaller& caller) : config_(config), caller_(caller) {}

  void send(const Notification& n, Micros at);
  // annals_notifications_total{kind,result} in Prometheus text.
  void render_metrics(std::string& out) const;

 private:
  void count(const std::string& kind, const std::string& result);

  const Config& config_;
  HttpCaller& caller_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> counts_;
};

// The POST of one message to the notifier with the configured headers and timeout.
OutboundRequest notifier_request(const Config& config, std::string body);

}  // namespace annals::commands

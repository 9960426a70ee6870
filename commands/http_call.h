// HttpCaller: the outbound HTTP(S) client of the dispatcher — executors (webhook, http_check) and
// the notifier. Asynchronous (Boost.Beast on its own I/O threads), one deadline per call covering
// resolve, connect, TLS, write and read. The Beast and Asio includes stay in http_call.cc.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace annals::commands {

struct Url {
  std::string scheme;  // http | https
  std::string host;    // without brackets for IPv6 literals
  std::string port;
  std::string target;  // path and query, at least "/"
};
// nullopt for anything but an absolute http(s) URL.
std::optional<Url> parse_url(const std::string& text);

struct OutboundRequest {
  std::string method = "POST";
  std::string url;
  std::map<std::string, std::string> headers;
  std::string body;  // sent as application/json when non-empty
  std::chrono::milliseconds timeout{10'000};
};

struct OutboundResult {
  std::optional<int> status;  // the HTTP status when an answer arrived
  std::string body;
  std::optional<std::string> error;  // "timeout" or the connection / protocol error
  std::int64_t latency_ms = 0;
};

class HttpCaller {
 public:
  explicit HttpCaller(int threads = 1);
  ~HttpCaller();  // stops the I/O threads; calls in progress end without their callback
  HttpCaller(const HttpCaller&) = delete;
  HttpCaller& operator=(const HttpCaller&) = delete;

  // `done` runs on an I/O thread.
  void call(OutboundRequest request, std::function<void(OutboundResult)> done);
  // Runs `fn` on an I/O thread.
  void post(std::function<void()> fn);
  // Waits until every function posted so far has run (and any they posted in turn).
  void wait_posted();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace annals::commands

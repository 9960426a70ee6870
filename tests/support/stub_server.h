// StubServer: a loopback HTTP server for tests that plays an executor webhook, a notifier or an
// http_check target. Listens on 127.0.0.1 with an ephemeral port, records every request, answers
// with what the handler returns (optionally after a delay), and stops on destruction.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace annals::testing {

struct StubRequest {
  std::string method, target, body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct StubResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::chrono::milliseconds delay{0};  // held before answering (interrupted by stop)
};

class StubServer {
 public:
  using Handler = std::function<StubResponse(const StubRequest&)>;
  explicit StubServer(Handler handler);
  ~StubServer();

  unsigned short port() const;
  std::string url(const std::string& path = "/") const;
  std::vector<StubRequest> requests() const;
  // Waits until at least n requests arrived; returns whether they did within the timeout.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;
  void set_handler(Handler handler);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace annals::testing

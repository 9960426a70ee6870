// Plain request/response values handed between the Beast session and the application, so the
// routing and handlers compile without Beast.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace annals::server {

struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // path and query, as received
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;

  const std::string* header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? nullptr : &it->second;
  }
};

// A response body produced over time (Server-Sent Events). The session writes the head, then
// asks for chunks: after start(wake), next() returns what is ready now; when nothing is, the
// session waits for wake() (callable from any thread) or sends heartbeat() once the interval has
// passed without a write. The body ends (and the connection closes) after a chunk with `end`.
class BodySource {
 public:
  struct Chunk {
    std::string data;
    bool end = false;
    bool more = false;  // more may be ready at once: call next() again without waiting
  };
  virtual ~BodySource() = default;
  virtual void start(std::function<void()> wake) = 0;
  virtual Chunk next() = 0;
  virtual std::string heartbeat() = 0;
  virtual std::chrono::milliseconds heartbeat_interval() const = 0;
  // The session stopped sending (client gone, write stalled); `reason` for the logs and metrics.
  virtual void closed(const char* reason) = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool close = false;                  // close the connection after sending
  std::shared_ptr<BodySource> stream;  // set: a streamed body (no Content-Length), then close
};

using Respond = std::function<void(HttpResponse)>;

}  // namespace annals::server

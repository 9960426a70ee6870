// A Server-Sent Events client for end-to-end tests: a plain loopback socket that sends one GET and
// parses the event stream frame by frame (id/event/data fields and comment lines).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace annals::testing {

struct SseFrame {
  std::optional<std::uint64_t> id;
  std::string event;
  std::string data;
  std::string comment;  // a comment-only frame (": heartbeat …")
};

class SseClient {
 public:
  // Connects and sends GET `target` with the extra headers; reads the response head.
  // `receive_buffer` > 0 sets SO_RCVBUF before connecting (a client that holds little).
  SseClient(unsigned short port, const std::string& target,
            const std::vector<std::pair<std::string, std::string>>& headers = {},
            int receive_buffer = 0);
  ~SseClient();
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  int status() const { return status_; }
  const std::string& head() const { return head_; }
  // The response body as far as read (for non-stream replies, e.g. a 503 problem).
  std::string body_so_far() const { return buffer_; }
  // The next frame within `timeout`; nullopt on timeout or when the server closed the stream.
  std::optional<SseFrame> next(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool closed() const { return closed_; }
  void close();

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  int status_ = 0;
  std::string head_;
  std::string buffer_;
  bool closed_ = false;
};

}  // namespace annals::testing

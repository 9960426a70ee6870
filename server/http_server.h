// HttpServer: the Boost.Beast HTTP/1.1 keep-alive listener (the shape of Beast's
// http_server_async). Sessions read a request with the head/body limits and timeouts of API §1.12,
// hand it to the App and write the reply; no domain logic lives here.
#pragma once

#include <memory>
#include <string>

#include "server/app.h"

namespace annals::server {

class HttpServer {
 public:
  explicit HttpServer(App& app);
  ~HttpServer();

  // Binds host:port (port 0 = ephemeral); returns the bound port. Throws on failure.
  unsigned short bind(const std::string& host, unsigned short port);
  // Serves on `threads` I/O threads until stop(); blocks.
  void run(int threads);
  // Stops accepting, lets in-flight replies go out, then ends run(). Thread-safe.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace annals::server

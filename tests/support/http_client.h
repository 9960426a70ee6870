// A blocking HTTP/1.1 client for end-to-end tests: one keep-alive connection to a loopback port.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace annals::testing {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;

  std::string header(const std::string& lower) const {
    auto it = headers.find(lower);
    return it == headers.end() ? std::string() : it->second;
  }
};

class HttpClient {
 public:
  explicit HttpClient(unsigned short port);
  ~HttpClient();

  // Sends one request; reconnects when the server closed the connection.
  HttpReply request(const std::string& method, const std::string& target,
                    const std::string& body = "",
                    const std::vector<std::pair<std::string, std::string>>& headers = {});
  HttpReply get(const std::string& target, const std::string& token = "");
  HttpReply post(const std::string& target, const std::string& json, const std::string& token = "",
                 const std::vector<std::pair<std::string, std::string>>& headers = {});
  // Writes raw bytes and reads whatever single response comes back.
  HttpReply raw(const std::string& bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace annals::testing

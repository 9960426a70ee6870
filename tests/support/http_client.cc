#include "tests/support/http_client.h"

#include <signal.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <optional>
namespace annals::testing {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct HttpClient::Impl {
  explicit Impl(unsigned short p) : port(p) {}
  void connect() {
    stream.emplace(ioc);
    stream->connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    stream->socket().set_option(tcp::no_delay(true));
    buffer.clear();
  }
  unsigned short port;
  net::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
};

HttpClient::HttpClient(unsigned short port) : impl_(std::make_unique<Impl>(port)) {
  ::signal(SIGPIPE, SIG_IGN);  // a server that closes early must not kill the test
}
HttpClient::~HttpClient() = default;

namespace {

HttpReply convert(http::response<http::string_body>& res) {
  HttpReply r;
  r.status = static_cast<int>(res.result_int());
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    r.headers[name] = std::string(f.value());
  }
  r.body = res.body();
  return r;
}

}  // namespace

HttpReply HttpClient::request(const std::string& method, const std::string& target,
                              const std::string& body,
                              const std::vector<std::pair<std::string, std::string>>& headers) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (!impl_->stream) impl_->connect();
      http::request<http::string_body> req;
      req.method_string(method);
      req.target(target);
      req.version(11);
      req.set(http::field::host, "127.0.0.1");
      req.keep_alive(true);
      bool has_type = false;
      for (const auto& [k, v] : headers) {
        req.set(k, v);
        if (beast::iequals(k, "content-type")) has_type = true;
      }
      if (!body.empty() && !has_type) req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
      try {
        http::write(*impl_->stream, req);
      } catch (const std::exception&) {
        // The server may answer early (413, 401) and stop reading; its reply is still readable.
        if (attempt == 1 || body.size() < 65536) throw;
      }
      http::response_parser<http::string_body> parser;
      parser.body_limit(512u << 20);
      http::read(*impl_->stream, impl_->buffer, parser);
      auto res = parser.release();
      HttpReply r = convert(res);
      if (!res.keep_alive()) impl_->stream.reset();
      return r;
    } catch (const std::exception&) {
      impl_->stream.reset();
      if (attempt == 1) throw;
    }
  }
  return {};
}

HttpReply HttpClient::get(const std::string& target, const std::string& token) {
  std::vector<std::pair<std::string, std::string>> h;
  if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
  return request("GET", target, "", h);
}

HttpReply HttpClient::post(const std::string& target, const std::string& json,
                           const std::string& token,
                           const std::vector<std::pair<std::string, std::string>>& headers) {
  auto h = headers;
  if (!token.empty()) h.emplace_back("Authorization", "Bearer " + token);
  return request("POST", target, json, h);
}

HttpReply HttpClient::raw(const std::string& bytes) {
  impl_->connect();
  net::write(*impl_->stream, net::buffer(bytes));
  http::response_parser<http::string_body> parser;
  http::read(*impl_->stream, impl_->buffer, parser);
  auto res = parser.release();
  impl_->stream.reset();
  return convert(res);
}

}  // namespace annals::testing

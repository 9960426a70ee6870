#include "commands/http_call.h"

// Boost 1.74's awaitable frames use a sized operator delete that g++ 12 cannot pair with their
// allocation (a known false positive of -Wmismatched-new-delete on asio coroutines).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace annals::commands {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

std::optional<Url> parse_url(const std::string& text) {
  Url u;
  std::string rest;
  if (text.starts_with("http://")) {
    u.scheme = "http";
    rest = text.substr(7);
  } else if (text.starts_with("https://")) {
    u.scheme = "https";
    rest = text.substr(8);
  } else {
    return std::nullopt;
  }
  const auto slash = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (u.target.starts_with("?")) u.target = "/" + u.target;
  if (const auto hash = u.target.find('#'); hash != std::string::npos) u.target.resize(hash);
  if (authority.find('@') != std::string::npos) return std::nullopt;  // no credentials in URLs
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string::npos) return std::nullopt;
    u.host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(":")) return std::nullopt;
      u.port = after.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) u.port = authority.substr(colon + 1);
  }
  if (u.port.empty()) u.port = u.scheme == "https" ? "443" : "80";
  if (u.host.empty() || u.port.size() > 5 ||
      u.port.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  for (auto& ch : u.host) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return u;
}

struct HttpCaller::Impl {
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> work{io.get_executor()};
  net::ssl::context tls{net::ssl::context::tls_client};
  std::vector<std::thread> threads;
  // Functions posted and not yet run.
  std::mutex posted_mutex;
  std::condition_variable posted_cv;
  std::size_t posted = 0;

  template <typename Stream>
  net::awaitable<void> exchange(Stream& stream, const Url& url, const OutboundRequest& r,
                                OutboundResult& out) {
    http::request<http::string_body> req;
    req.method(http::string_to_verb(r.method));
    req.target(url.target);
    req.version(11);
    const bool default_port =
        (url.scheme == "http" && url.port == "80") || (url.scheme == "https" && url.port == "443");
    const std::string host =
        url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
    req.set(http::field::host, default_port ? host : host + ":" + url.port);
    req.set(http::field::user_agent, "annals");
    req.set(http::field::connection, "close");
    if (!r.body.empty()) req.set(http::field::content_type, "application/json");
    for (const auto& [k, v] : r.headers) req.set(k, v);
    req.body() = r.body;
    req.prepare_payload();
    co_await http::async_write(stream, req, net::use_awaitable);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(8u << 20);
    co_await http::async_read(stream, buffer, parser, net::use_awaitable);
    out.status = parser.get().result_int();
    out.body = std::move(parser.get().body());
  }

  net::awaitable<void> run(OutboundRequest r, std::function<void(OutboundResult)> done) {
    OutboundResult out;
    const auto started = std::chrono::steady_clock::now();
    const auto deadline = started + r.timeout;
    try {
      auto url = parse_url(r.url);
      if (!url) throw std::runtime_error("invalid URL '" + r.url + "'");
      auto ex = co_await net::this_coro::executor;
      // The resolver has no deadline of its own: a timer cancels it.
      tcp::resolver resolver(ex);
      net::steady_timer guard(ex, deadline);
      guard.async_wait([&resolver](const boost::system::error_code& ec) {
        if (!ec) resolver.cancel();
      });
      tcp::resolver::results_type endpoints;
      try {
        endpoints = co_await resolver.async_resolve(url->host, url->port, net::use_awaitable);
      } catch (const boost::system::system_error& e) {
        if (std::chrono::steady_clock::now() >= deadline)
          throw beast::system_error(beast::error::timeout);
        throw;
      }
      guard.cancel();
      if (url->scheme == "https") {
        beast::ssl_stream<beast::tcp_stream> stream(ex, tls);
        if (!SSL_set_tlsext_host_name(stream.native_handle(), url->host.c_str())) {
          throw std::runtime_error("cannot set the TLS server name");
        }
        stream.set_verify_callback(net::ssl::host_name_verification(url->host));
        beast::get_lowest_layer(stream).expires_at(deadline);
        co_await beast::get_lowest_layer(stream).async_connect(endpoints, net::use_awaitable);
        co_await stream.async_handshake(net::ssl::stream_base::client, net::use_awaitable);
        co_await exchange(stream, *url, r, out);
      } else {
        beast::tcp_stream stream(ex);
        stream.expires_at(deadline);
        co_await stream.async_connect(endpoints, net::use_awaitable);
        co_await exchange(stream, *url, r, out);
      }
    } catch (const boost::system::system_error& e) {
      // A deadline that passes mid-operation surfaces as a timeout or as the cancelled operation.
      if (e.code() == beast::error::timeout || (e.code() == net::error::operation_aborted &&
                                                std::chrono::steady_clock::now() >= deadline)) {
        out.error = "timeout";
      } else {
        out.error = e.code().message();
      }
      out.status.reset();
    } catch (const std::exception& e) {
      out.error = e.what();
      out.status.reset();
    }
    out.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - started)
                         .count();
    done(std::move(out));
  }
};

HttpCaller::HttpCaller(int threads) : impl_(std::make_unique<Impl>()) {
  impl_->tls.set_default_verify_paths();
  impl_->tls.set_verify_mode(net::ssl::verify_peer);
  for (int i = 0; i < std::max(1, threads); ++i) {
    impl_->threads.emplace_back([this] { impl_->io.run(); });
  }
}

HttpCaller::~HttpCaller() {
  impl_->work.reset();
  impl_->io.stop();
  for (auto& t : impl_->threads) t.join();
}

void HttpCaller::call(OutboundRequest request, std::function<void(OutboundResult)> done) {
  net::co_spawn(impl_->io, impl_->run(std::move(request), std::move(done)), net::detached);
}

void HttpCaller::post(std::function<void()> fn) {
  {
    std::lock_guard lock(impl_->posted_mutex);
    ++impl_->posted;
  }
  net::post(impl_->io, [impl = impl_.get(), fn = std::move(fn)] {
    struct Done {
      Impl* impl;
      ~Done() {
        std::lock_guard lock(impl->posted_mutex);
        if (--impl->posted == 0) impl->posted_cv.notify_all();
      }
    } done{impl};
    fn();
  });
}

void HttpCaller::wait_posted() {
  std::unique_lock lock(impl_->posted_mutex);
  impl_->posted_cv.wait(lock, [&] { return impl_->posted == 0; });
}

}  // namespace annals::commands

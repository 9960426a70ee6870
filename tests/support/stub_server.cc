#include "tests/support/stub_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace annals::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct StubServer::Impl {
  net::io_context io;
  tcp::acceptor acceptor{io};
  Handler handler;
  mutable std::mutex mutex;
  mutable std::condition_variable cv;
  std::vector<StubRequest> requests;
  std::vector<std::thread> connections;
  std::vector<std::shared_ptr<tcp::socket>> sockets;
  bool stopping = false;
  std::thread accept_thread;

  void serve(std::shared_ptr<tcp::socket> socket) {
    try {
      beast::flat_buffer buffer;
      for (;;) {
        http::request<http::string_body> req;
        http::read(*socket, buffer, req);
        StubRequest r{std::string(req.method_string()), std::string(req.target()), req.body(), {}};
        for (const auto& f : req) r.headers.emplace_back(f.name_string(), f.value());
        Handler h;
        {
          std::lock_guard lock(mutex);
          requests.push_back(r);
          h = handler;
          cv.notify_all();
        }
        StubResponse answer = h(r);
        {
          std::unique_lock lock(mutex);
          if (cv.wait_for(lock, answer.delay, [this] { return stopping; })) return;
        }
        http::response<http::string_body> res{static_cast<http::status>(answer.status), 11};
        res.set(http::field::content_type, answer.content_type);
        res.body() = answer.body;
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        http::write(*socket, res);
        if (!req.keep_alive()) break;
      }
    } catch (const std::exception&) {
    }
    boost::system::error_code ec;
    socket->shutdown(tcp::socket::shutdown_both, ec);
  }
};

StubServer::StubServer(Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(net::socket_base::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->accept_thread = std::thread([this] {
    for (;;) {
      auto socket = std::make_shared<tcp::socket>(impl_->io);
      boost::system::error_code ec;
      impl_->acceptor.accept(*socket, ec);
      std::lock_guard lock(impl_->mutex);
      if (impl_->stopping) return;
      if (ec) continue;
      impl_->sockets.push_back(socket);
      impl_->connections.emplace_back([this, socket] { impl_->serve(socket); });
    }
  });
}

StubServer::~StubServer() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
    impl_->cv.notify_all();
    for (auto& s : impl_->sockets) {
      boost::system::error_code ec;
      s->shutdown(tcp::socket::shutdown_both, ec);
    }
  }
  // Unblock accept() with a connection of our own.
  try {
    tcp::socket s(impl_->io);
    s.connect(impl_->acceptor.local_endpoint());
  } catch (const std::exception&) {
  }
  impl_->accept_thread.join();
  for (auto& t : impl_->connections) t.join();
}

unsigned short StubServer::port() const { return impl_->acceptor.local_endpoint().port(); }

std::string StubServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port()) + path;
}

std::vector<StubRequest> StubServer::requests() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->requests;
}

bool StubServer::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->requests.size() >= n; });
}

void StubServer::set_handler(Handler handler) {
  std::lock_guard lock(impl_->mutex);
  impl_->handler = std::move(handler);
}

}  // namespace annals::testing

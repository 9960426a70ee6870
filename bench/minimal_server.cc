// The reference point of every HTTP benchmark: a minimal Boost.Beast keep-alive server answering
// each request with a constant 60-byte JSON body, or with REPLY_BYTES bytes of JSON (to measure
// the transport of a route's request and reply shape alone). Usage:
// minimal_server PORT [THREADS] [REPLY_BYTES]
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// 60 bytes, unless REPLY_BYTES is given.
std::string reply_body = R"({"status":"ok","service":"minimal","value":1234567890123})";

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(tcp::socket&& s) : stream_(std::move(s)) {}
  void run() { read(); }

 private:
  void read() {
    req_ = {};
    http::async_read(
        stream_, buffer_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) return;
          auto res = std::make_shared<http::response<http::string_body>>(http::status::ok,
                                                                         self->req_.version());
          res->set(http::field::content_type, "application/json");
          res->keep_alive(self->req_.keep_alive());
          res->body() = reply_body;
          res->prepare_payload();
          http::async_write(self->stream_, *res, [self, res](beast::error_code ec2, std::size_t) {
            if (ec2 || !res->keep_alive()) return;
            self->read();
          });
        });
  }
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
};

void accept(tcp::acceptor& a, net::io_context& ioc) {
  a.async_accept(net::make_strand(ioc), [&](beast::error_code ec, tcp::socket s) {
    if (!ec) {
      s.set_option(tcp::no_delay(true));
      std::make_shared<Session>(std::move(s))->run();
    }
    accept(a, ioc);
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: minimal_server PORT [THREADS] [REPLY_BYTES]\n");
    return 2;
  }
  const auto port = static_cast<unsigned short>(std::stoi(argv[1]));
  const int threads =
      argc > 2 ? std::stoi(argv[2]) : static_cast<int>(std::thread::hardware_concurrency());
  if (argc > 3) {
    const auto bytes = static_cast<std::size_t>(std::stoul(argv[3]));
    const std::string head = R"({"padding":")", tail = R"("})";
    if (bytes > head.size() + tail.size()) {
      reply_body = head + std::string(bytes - head.size() - tail.size(), 'x') + tail;
    }
  }
  net::io_context ioc;
  tcp::acceptor a(net::make_strand(ioc), {net::ip::make_address("127.0.0.1"), port});
  accept(a, ioc);
  std::printf("minimal_server listening on 127.0.0.1:%u\n", a.local_endpoint().port());
  std::fflush(stdout);
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
}

#include "server/http_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <thread>
#include <vector>

namespace annals::server {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, App& app)
      : stream_(std::move(socket)),
        read_timer_(stream_.get_executor()),
        heartbeat_timer_(stream_.get_executor()),
        write_timer_(stream_.get_executor()),
        app_(app) {}

  void start() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::wait, shared_from_this()));
  }

 private:
  const Config& cfg() const { return app_.config(); }

  // Idle phase: wait for the first bytes of the next request under the keep-alive timeout.
  void wait() {
    if (buffer_.size() > 0) return read_header();
    stream_.expires_after(std::chrono::seconds(cfg().http_keepalive_timeout_seconds));
    stream_.async_read_some(buffer_.prepare(8192),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return self->close();
                              self->buffer_.commit(n);
                              self->read_header();
                            });
  }

  void read_header() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(cfg().http_max_header_bytes));
    // The body limit is applied once the head is in, so that route and auth answers come first.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    // Beast's own stream timeout closes the socket; a request that is too slow gets a 408, so
    // the read phase is bounded by a timer that only cancels the read.
    stream_.expires_never();
    timed_out_ = false;
    read_timer_.expires_after(std::chrono::seconds(cfg().http_read_timeout_seconds));
    read_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->timed_out_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  HttpRequest head_of(const http::request<http::string_body>& m) const {
    HttpRequest r;
    r.method = std::string(m.method_string());
    r.target = std::string(m.target());
    for (const auto& f : m) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      auto [it, inserted] = r.headers.emplace(name, std::string(f.value()));
      if (!inserted) it->second += ", " + std::string(f.value());
    }
    return r;
  }

  bool fail_read(beast::error_code ec) {
    read_timer_.cancel();
    if (timed_out_) {
      send_problem(ProblemKind::kRequestTimeout, "The request was not received in time.");
    } else if (ec == http::error::header_limit) {
      send_problem(ProblemKind::kHeaderTooLarge, "The request head is too large.");
    } else if (ec == http::error::body_limit) {
      send_problem(ProblemKind::kPayloadTooLarge, "The request body is too large.");
    } else if (ec == http::error::end_of_stream || ec == net::error::eof ||
               ec == net::error::connection_reset || ec == net::error::operation_aborted) {
      close();
    } else {
      send_problem(ProblemKind::kBadRequest, "Malformed HTTP request: " + ec.message());
    }
    return true;
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec) {
      fail_read(ec);
      return;
    }
    const auto& m = parser_->get();
    const auto length = parser_->content_length();
    if (length && *length > static_cast<std::uint64_t>(cfg().http_max_body_bytes)) {
      // Route and auth problems come before the body limit (API §1.6).
      auto early = app_.precheck(head_of(m));
      if (early) {
        early->close = true;
        return write(std::move(*early));
      }
      return send_problem(ProblemKind::kPayloadTooLarge, "The request body is too large.");
    }
    if (beast::iequals(m[http::field::expect], "100-continue")) {
      auto cont = std::make_shared<std::string>("HTTP/1.1 100 Continue\r\n\r\n");
      return net::async_write(stream_, net::buffer(*cont),
                              [self = shared_from_this(), cont](beast::error_code e, std::size_t) {
                                if (e) return self->close();
                                self->read_body();
                              });
    }
    read_body();
  }

  void read_body() {
    parser_->body_limit(static_cast<std::uint64_t>(cfg().http_max_body_bytes));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      fail_read(ec);
      return;
    }
    read_timer_.cancel();
    auto msg = parser_->release();
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    HttpRequest req = head_of(msg);
    req.body = std::move(msg.body());
    app_.handle(std::move(req), [self = shared_from_this()](HttpResponse r) {
      // Inline when the reply is ready on the session's own strand; queued from other threads.
      net::dispatch(self->stream_.get_executor(),
                    [self, r = std::move(r)]() mutable { self->write(std::move(r)); });
    });
  }

  void send_problem(ProblemKind kind, const std::string& detail) {
    HttpResponse r;
    r.status = problem_status(kind);
    r.content_type = "application/problem+json";
    r.body = std::string(R"({"type":"urn:annals:problem:)") + problem_type(kind) +
             R"(","title":")" + problem_title(kind) + R"(","status":)" +
             std::to_string(problem_status(kind)) + R"(,"detail":")" + detail + R"(","errors":[]})";
    r.close = true;
    write(std::move(r));
  }

  void write(HttpResponse r) {
    if (r.stream) return start_stream(std::move(r));
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(version_);
    res->result(static_cast<unsigned>(r.status));
    res->set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->insert(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive_ && !r.close);
    res->prepare_payload();
    const bool close_after = !res->keep_alive();
    stream_.expires_after(std::chrono::seconds(cfg().http_read_timeout_seconds));
    http::async_write(
        stream_, *res,
        [self = shared_from_this(), res, close_after](beast::error_code ec, std::size_t) {
          if (ec) return self->close();
          if (close_after) return self->drain_and_close();
          self->keep_alive_ = true;
          self->wait();
        });
  }

  // --- streamed bodies (SSE): head, then chunks from the source until it ends or the client
  // goes; heartbeats while idle; a write that cannot complete in time drops the subscriber. ---
  void start_stream(HttpResponse r) {
    source_ = std::move(r.stream);
    std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " +
                       std::string(http::obsolete_reason(static_cast<http::status>(r.status))) +
                       "\r\nContent-Type: " + r.content_type +
                       "\r\nCache-Control: no-cache\r\nConnection: close\r\n";
    for (auto& [k, v] : r.headers) head += k + ": " + v + "\r\n";
    head += "\r\n";
    stream_.expires_never();
    std::weak_ptr<Session> weak = shared_from_this();
    source_->start([weak] {
      if (auto self = weak.lock()) {
        net::post(self->stream_.get_executor(), [self] { self->on_wake(); });
      }
    });
    watch_client();
    send_chunk(std::move(head));
  }

  // Reads (and ignores) what the client sends; an error means it has gone.
  void watch_client() {
    stream_.async_read_some(
        buffer_.prepare(1024), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
          if (ec) {
            return self->end_stream(self->stalled_ ? "write_stalled" : "client_closed");
          }
          self->buffer_.consume(n);
          self->watch_client();
        });
  }

  void send_chunk(std::string data) {
    writing_ = true;
    auto buf = std::make_shared<std::string>(std::move(data));
    write_timer_.expires_after(std::chrono::seconds(cfg().http_read_timeout_seconds));
    write_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->stalled_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
    net::async_write(
        stream_, net::buffer(*buf),
        [self = shared_from_this(), buf](beast::error_code ec, std::size_t) {
          self->writing_ = false;
          self->write_timer_.cancel();
          if (ec) return self->end_stream(self->stalled_ ? "write_stalled" : "client_closed");
          self->last_write_ = std::chrono::steady_clock::now();
          if (self->stream_end_) return self->end_stream(nullptr);
          self->pump();
        });
  }

  void pump() {
    if (stream_done_ || writing_) return;
    auto chunk = source_->next();
    if (chunk.end) {
      stream_end_ = true;
      if (chunk.data.empty()) return end_stream(nullptr);
      return send_chunk(std::move(chunk.data));
    }
    if (!chunk.data.empty()) return send_chunk(std::move(chunk.data));
    if (chunk.more) {
      return net::post(stream_.get_executor(), [self = shared_from_this()] { self->pump(); });
    }
    heartbeat_timer_.expires_at(last_write_ + source_->heartbeat_interval());
    heartbeat_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec || self->stream_done_ || self->writing_) return;
      self->send_chunk(self->source_->heartbeat());
    });
  }

  void on_wake() {
    if (stream_done_ || writing_) return;
    heartbeat_timer_.cancel();
    pump();
  }

  void end_stream(const char* reason) {
    if (stream_done_) return;
    stream_done_ = true;
    if (reason) source_->closed(reason);
    heartbeat_timer_.cancel();
    write_timer_.cancel();
    close();
  }

  // After an error reply on a connection whose request was not read in full: stop sending, then
  // discard what the client still sends for a moment, so that closing does not reset the
  // connection before the client has read the reply.
  void drain_and_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(2));
    drain_.resize(65536);
    discard();
  }

  void discard() {
    stream_.async_read_some(net::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->close();
                              self->discard();
                            });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  net::steady_timer read_timer_;
  net::steady_timer heartbeat_timer_;
  net::steady_timer write_timer_;
  std::shared_ptr<BodySource> source_;
  bool writing_ = false, stalled_ = false, stream_end_ = false, stream_done_ = false;
  std::chrono::steady_clock::time_point last_write_ = std::chrono::steady_clock::now();
  bool timed_out_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  App& app_;
  std::vector<char> drain_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
};

}  // namespace

// One io_context per I/O thread, each run by its own thread: a connection lives on one of them
// for its whole life (no strand needed, no hand-off between threads, and a request wakes only
// the thread that owns its socket). Accepted connections are dealt out in turn.
struct HttpServer::Impl {
  explicit Impl(App& a) : app(a), acceptor(*contexts.emplace_back(new net::io_context(1))) {}

  void accept() {
    net::io_context& next = *contexts[next_context++ % contexts.size()];
    acceptor.async_accept(next, [this](beast::error_code ec, tcp::socket s) {
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
        spdlog::warn("accept failed: {}", ec.message());
      } else {
        s.set_option(tcp::no_delay(true), ec);
        std::make_shared<Session>(std::move(s), app)->start();
      }
      accept();
    });
  }

  App& app;
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  std::size_t next_context = 0;
  tcp::acceptor acceptor;
};

HttpServer::HttpServer(App& app) : impl_(std::make_unique<Impl>(app)) {}
HttpServer::~HttpServer() = default;

unsigned short HttpServer::bind(const std::string& host, unsigned short port) {
  net::ip::address address;
  if (host == "localhost") {
    address = net::ip::make_address("127.0.0.1");
  } else {
    address = net::ip::make_address(host);
  }
  tcp::endpoint ep(address, port);
  auto& a = impl_->acceptor;
  a.open(ep.protocol());
  a.set_option(net::socket_base::reuse_address(true));
  a.bind(ep);
  a.listen(net::socket_base::max_listen_connections);
  return a.local_endpoint().port();
}

void HttpServer::run(int threads) {
  while (impl_->contexts.size() < static_cast<std::size_t>(threads)) {
    impl_->contexts.emplace_back(new net::io_context(1));
  }
  // Every context runs until stop(), with or without connections.
  for (auto& c : impl_->contexts) impl_->guards.push_back(net::make_work_guard(*c));
  impl_->accept();
  std::vector<std::thread> pool;
  for (std::size_t i = 1; i < impl_->contexts.size(); ++i) {
    pool.emplace_back([c = impl_->contexts[i].get()] { c->run(); });
  }
  impl_->contexts[0]->run();
  for (auto& t : pool) t.join();
}

void HttpServer::stop() {
  net::post(impl_->acceptor.get_executor(), [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
    // Every queued command has been committed and replied to by now (the App drained the
    // writer); give the I/O threads a moment to write those replies, then stop.
    auto timer =
        std::make_shared<net::steady_timer>(*impl_->contexts[0], std::chrono::milliseconds(300));
    timer->async_wait([this, timer](beast::error_code) {
      impl_->guards.clear();
      for (auto& c : impl_->contexts) c->stop();
    });
  });
}

}  // namespace annals::server

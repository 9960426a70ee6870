#include "server/sse.h"

#include <spdlog/spdlog.h>

#include "domain/json_text.h"
#include "events/event_json.h"

namespace annals::server {

namespace {
// Per chunk: at most this many events sent, this many bytes, or this many events scanned.
constexpr std::size_t kMaxEvents = 512;
constexpr std::size_t kMaxBytes = 256 * 1024;
constexpr std::uint64_t kMaxScan = 16384;
}  // namespace

class SseHub::Subscription : public BodySource {
 public:
  Subscription(std::shared_ptr<SseHub> hub, std::uint64_t from, EventFilter filter)
      : owner_(std::move(hub)), hub_(*owner_), next_(from), filter_(std::move(filter)) {}
  ~Subscription() override { hub_.remove(this); }

  void start(std::function<void()> wake) override {
    std::lock_guard lock(mutex_);
    wake_ = std::move(wake);
  }

  // Wakes the session if it is waiting for events.
  void wake() {
    if (!waiting_.exchange(false)) return;
    std::function<void()> w;
    {
      std::lock_guard lock(mutex_);
      w = wake_;
    }
    if (w) w();
  }

  Chunk next() override {
    Chunk c;
    if (finished_) {
      c.end = true;
      return c;
    }
    if (hub_.stopping_) {
      c.data = "event: dropped\ndata: {\"reason\":\"server_stopping\",\"resume_from\":" +
               std::to_string(next_) + "}\n\n";
      c.end = finished_ = true;
      hub_.count_drop("server_stopping");
      return c;
    }
    // Armed before reading, so a commit landing during the read still wakes the session.
    waiting_ = true;
    const std::uint64_t head = hub_.store_.head();
    if (next_ > head) return c;
    const std::uint64_t to = std::min(head, next_ + kMaxScan - 1);
    std::size_t sent = 0;
    std::uint64_t last = next_ - 1;
    hub_.store_.read_range(next_, to, [&](const events::StoredEvent& e) {
      if (sent == kMaxEvents || c.data.size() >= kMaxBytes) return false;
      last = e.position;
      if (!filter_.matches(e)) return true;
      c.data += "id: " + std::to_string(e.position) + "\nevent: ";
      c.data += e.type_name();
      c.data += "\ndata: ";
      JsonWriter w(c.data);
      events::render_event(e, w);
      c.data += "\n\n";
      ++sent;
      return true;
    });
    next_ = last + 1;
    c.more = next_ <= head;
    if (!c.data.empty() || c.more) waiting_ = false;
    return c;
  }

  std::string heartbeat() override {
    return ": heartbeat " + format_instant(hub_.clock_()) + "\n\n";
  }
  std::chrono::milliseconds heartbeat_interval() const override { return hub_.heartbeat_; }
  void closed(const char* reason) override {
    if (!finished_ && std::string_view(reason) != "client_closed") hub_.count_drop(reason);
    finished_ = true;
  }

 private:
  std::shared_ptr<SseHub> owner_;
  SseHub& hub_;
  std::uint64_t next_;
  EventFilter filter_;
  std::mutex mutex_;
  std::function<void()> wake_;
  std::atomic<bool> waiting_{false};
  bool finished_ = false;  // the session's strand only
};

SseHub::SseHub(events::EventStore& store, std::size_t max_clients,
               std::chrono::milliseconds heartbeat, std::function<Micros()> clock)
    : store_(store), max_clients_(max_clients), heartbeat_(heartbeat), clock_(std::move(clock)) {}

std::shared_ptr<BodySource> SseHub::subscribe(std::uint64_t from, EventFilter filter) {
  std::lock_guard lock(mutex_);
  if (stopping_ || subs_.size() >= max_clients_) return nullptr;
  auto s = std::make_shared<Subscription>(shared_from_this(), from, std::move(filter));
  subs_.emplace(s.get(), s);
  return s;
}

void SseHub::remove(Subscription* s) {
  std::lock_guard lock(mutex_);
  subs_.erase(s);
}

void SseHub::notify() {
  std::vector<std::weak_ptr<Subscription>> subs;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [p, w] : subs_) subs.push_back(w);
  }
  // Outside the lock: releasing the last reference of a subscription removes it from the hub.
  for (auto& w : subs) {
    if (auto s = w.lock()) s->wake();
  }
}

void SseHub::stop() {
  stopping_ = true;
  notify();
}

std::size_t SseHub::subscribers() const {
  std::lock_guard lock(mutex_);
  return subs_.size();
}

void SseHub::count_drop(const char* reason) {
  std::lock_guard lock(mutex_);
  ++dropped_[reason];
  spdlog::info("sse subscriber dropped: {}", reason);
}

std::uint64_t SseHub::dropped(const std::string& reason) const {
  std::lock_guard lock(mutex_);
  auto it = dropped_.find(reason);
  return it == dropped_.end() ? 0 : it->second;
}

}  // namespace annals::server

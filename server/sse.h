// The live tail (API §15 GET /events/subscribe): Server-Sent Events read from the log.
//
// A subscriber is a cursor into the log, not a queue: each chunk it sends is read from the store
// from its next position up to the durable head, so appends never wait for subscribers and a
// slow subscriber simply catches up from the log. Commits only wake idle subscribers. The hub caps
// the number of subscribers (sse_max_clients); when the server stops, every subscriber is told
// with a final `event: dropped` frame that names the position to resume from.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "events/event_filter.h"
#include "events/store.h"
#include "server/http_types.h"

namespace annals::server {

using events::EventFilter;

class SseHub : public std::enable_shared_from_this<SseHub> {
 public:
  SseHub(events::EventStore& store, std::size_t max_clients, std::chrono::milliseconds heartbeat,
         std::function<Micros()> clock);

  // A new subscriber reading (it keeps the hub alive) from position `from`, or nullptr when the cap
  // is reached or the hub is stopping.
  std::shared_ptr<BodySource> subscribe(std::uint64_t from, EventFilter filter);
  // After each durable commit.
  void notify();
  // Tells every subscriber it is dropped and refuses new ones.
  void stop();

  std::size_t subscribers() const;
  std::uint64_t dropped(const std::string& reason) const;

 private:
  class Subscription;
  friend class Subscription;
  void remove(Subscription* s);
  void count_drop(const char* reason);

  events::EventStore& store_;
  const std::size_t max_clients_;
  const std::chrono::milliseconds heartbeat_;
  std::function<Micros()> clock_;
  mutable std::mutex mutex_;
  std::map<Subscription*, std::weak_ptr<Subscription>> subs_;
  std::map<std::string, std::uint64_t> dropped_;
  std::atomic<bool> stopping_{false};
};

}  // namespace annals::server

// CommandBus: the one path of every command (ARCHITECTURE.md): a decision runs on the EventStore's
// writer thread against aggregate state folded from the log, its events commit with the group,
// and the reply is delivered only after the commit is durable. Idempotency-Key replays (API §1.10)
// are resolved here, in the same commit as the first request's events.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "commands/reply.h"
#include "events/store.h"

namespace annals::commands {

struct CommandContext {
  std::string actor;
  std::string correlation_id;
  std::optional<std::string> idempotency_key;
  std::string fingerprint;  // identifies the request (method, path, query, body) for its key
  std::optional<std::uint64_t> if_match;  // nullopt: absent or "*"
};

class CommandBus {
 public:
  explicit CommandBus(events::EventStore& store) : store_(store) {}

  // A decision: stages events through the transaction and returns the reply. A reply carrying a
  // problem (or a non-2xx status) discards everything the decision staged.
  using Decide = std::function<Reply(events::Transaction&)>;

  // Runs `decide` on the writer thread; `done` receives the reply once it is durable (on the
  // writer thread: hand it off, do not block).
  void execute(CommandContext ctx, Decide decide, std::function<void(Reply)> done);

  // Step 4 of API §1.6: a stored reply for ctx's key (marked replayed), a 422 problem when the key
  // was used for another request, or nullopt when the key is new (or absent).
  std::optional<Reply> replay(const CommandContext& ctx) const;

  events::EventStore& store() { return store_; }

  // Called on the writer thread when a decision staged events and was then discarded (its reply
  // is an error): caches of aggregate state drop what they folded from the staged events.
  // Register before the first command.
  void on_discard(std::function<void()> fn) { discard_.push_back(std::move(fn)); }

 private:
  events::EventStore& store_;
  std::vector<std::function<void()>> discard_;
};

// An aggregate folded from its stream as a transaction sees it, with the stream's version (the
// resource's ETag) and the position of its last event.
template <typename State>
struct Folded {
  std::optional<State> state;
  std::uint64_t version = 0, last_position = 0;
};

// Folds `stream`: apply(std::optional<State>&, const StoredEvent&) for each event.
template <typename State, typename Apply>
Folded<State> fold_stream(events::Transaction& tx, const std::string& stream, Apply&& apply) {
  Folded<State> f;
  tx.read_stream(stream, [&](const events::StoredEvent& e) {
    ++f.version;
    f.last_position = e.position;
    apply(f.state, e);
  });
  return f;
}

// Step "If-Match" of API §1.6: a 412 reply when ctx's If-Match differs from `version`.
std::optional<Reply> precondition(const CommandContext& ctx, std::uint64_t version);

// The reply for a stored record under ctx's key, or the key-reuse problem.
Reply replay_stored(const CommandContext& ctx, std::string_view stored);

}  // namespace annals::commands

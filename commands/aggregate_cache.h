// AggregateCache: the writer's cache of aggregates (ARCHITECTURE.md: "current aggregate state
// (cache, else fold the stream)"). An entry is used only when its version is not ahead of the
// stream's version as the transaction sees it, and is brought up to date by folding just the
// events after it — so a long-lived aggregate is not refolded on every command. A decision that
// stages events and is then discarded clears the cache (CommandBus::on_discard), so an entry
// never holds an event that did not commit. Writer thread only; bounded (cleared past its cap).
#pragma once

#include <functional>
#include <string>
#include <unordered_map>

#include "commands/command_bus.h"

namespace annals::commands {

template <typename State>
class AggregateCache {
 public:
  using Apply = std::function<void(std::optional<State>&, const events::StoredEvent&)>;

  AggregateCache(CommandBus& bus, std::function<std::string(const std::string&)> stream_of,
                 Apply apply, std::size_t cap = 65'536)
      : stream_of_(std::move(stream_of)), apply_(std::move(apply)), cap_(cap) {
    bus.on_discard([this] { cache_.clear(); });
  }

  // The aggregate as `tx` sees it (state nullopt when the stream does not exist). The reference
  // is valid until the next call.
  const Folded<State>& fold(events::Transaction& tx, const std::string& id) {
    const std::string stream = stream_of_(id);
    const std::uint64_t version = tx.stream_version(stream);
    auto it = cache_.find(id);
    if (it != cache_.end() && it->second.version > version) {
      cache_.erase(it);
      it = cache_.end();
    }
    if (it == cache_.end()) {
      if (cache_.size() >= cap_) cache_.clear();
      it = cache_.emplace(id, Folded<State>{}).first;
    }
    Folded<State>& f = it->second;
    if (f.version < version) {
      tx.read_stream(stream, f.version + 1, [&](const events::StoredEvent& e) {
        ++f.version;
        f.last_position = e.position;
        apply_(f.state, e);
      });
    }
    return f;
  }

 private:
  std::function<std::string(const std::string&)> stream_of_;
  Apply apply_;
  std::size_t cap_;
  std::unordered_map<std::string, Folded<State>> cache_;
};

}  // namespace annals::commands

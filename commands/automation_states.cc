#include "commands/automation_states.h"

#include "events/automation_codec.h"

namespace annals::commands {

Folded<automation::Automation> AutomationStates::fold(events::Transaction& tx,
                                                      const std::string& id) {
  const std::string stream = automation::stream_name(id);
  const std::uint64_t version = tx.stream_version(stream);
  Folded<automation::Automation> f;
  if (auto it = cache_.find(id); it != cache_.end() && it->second.version <= version) {
    f = it->second;
  }
  if (f.version < version) {
    tx.read_stream(stream, f.version + 1, [&](const events::StoredEvent& e) {
      ++f.version;
      f.last_position = e.position;
      if (auto ev = events::decode_automation_event(e)) {
        automation::evolve(f.state, *ev, e.event().recorded_at());
      }
    });
  }
  if (f.version > 0) {
    if (cache_.size() >= cap_ && !cache_.contains(id)) cache_.clear();
    cache_[id] = f;
  }
  return f;
}

}  // namespace annals::commands

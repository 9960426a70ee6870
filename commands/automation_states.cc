#include "commands/automation_states.h"

#include "events/automation_codec.h"

namespace annals::commands {

AutomationStates::AutomationStates(CommandBus& bus)
    : cache_(
          bus, [](const std::string& id) { return automation::stream_name(id); },
          [](std::optional<automation::Automation>& a, const events::StoredEvent& e) {
            if (auto ev = events::decode_automation_event(e)) {
              automation::evolve(a, *ev, e.event().recorded_at());
            }
          }) {}

}  // namespace annals::commands

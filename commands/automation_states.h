// AutomationStates: the writer's cache of automation aggregates (ARCHITECTURE.md: "current
// aggregate state (cache, else fold the stream)"). An entry is used only when its version is not
// ahead of the stream's version as the transaction sees it, and is brought up to date by folding
// just the events after it — so a long-lived automation with a million runs is not refolded on
// every start and finish. Writer thread only; bounded (cleared when it grows past its cap).
#pragma once

#include <string>
#include <unordered_map>

#include "commands/command_bus.h"
#include "domain/automation.h"

namespace annals::commands {

class AutomationStates {
 public:
  explicit AutomationStates(std::size_t cap = 65'536) : cap_(cap) {}

  // The automation as `tx` sees it (state nullopt when the stream does not exist).
  Folded<automation::Automation> fold(events::Transaction& tx, const std::string& id);

 private:
  std::size_t cap_;
  std::unordered_map<std::string, Folded<automation::Automation>> cache_;
};

}  // namespace annals::commands

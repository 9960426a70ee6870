// AutomationStates: the writer's cache of automation aggregates (see aggregate_cache.h).
#pragma once

#include "commands/aggregate_cache.h"
#include "domain/automation.h"

namespace annals::commands {

class AutomationStates {
 public:
  explicit AutomationStates(CommandBus& bus);
  // A copy: deciders evolve it further.
  Folded<automation::Automation> fold(events::Transaction& tx, const std::string& id) {
    return cache_.fold(tx, id);
  }

 private:
  AggregateCache<automation::Automation> cache_;
};

}  // namespace annals::commands

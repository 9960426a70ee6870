// Encoding between automation events and their FlatBuffers payloads.
#pragma once

#include <optional>

#include "domain/automation.h"
#include "events/store.h"

namespace annals::events {

NewEvent encode(const automation::Event& e);
// nullopt when the event is not one of the automation stream's events.
std::optional<automation::Event> decode_automation_event(const StoredEvent& e);

}  // namespace annals::events

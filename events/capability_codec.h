// Encoding between capability events and their FlatBuffers payloads.
#pragma once

#include <optional>

#include "domain/capability.h"
#include "events/store.h"

namespace annals::events {

NewEvent encode(capability::Registered e);
std::optional<capability::Registered> decode_capability_registered(const StoredEvent& e);

}  // namespace annals::events

// Encoding between ledger invocations and InvocationRecorded payloads.
#pragma once

#include <optional>

#include "domain/ledger.h"
#include "events/store.h"

namespace annals::events {

NewEvent encode(const ledger::Invocation& i);
std::optional<ledger::Invocation> decode_invocation(const StoredEvent& e);

}  // namespace annals::events

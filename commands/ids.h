// The one id generator: lowercase UUIDv7 (RFC 9562) from a millisecond clock and a per-thread
// random source.
#pragma once

#include <string>

#include "domain/time.h"

namespace annals::commands {

std::string new_uuid_v7(Micros now);
// Checks the 36-character lowercase 8-4-4-4-12 hex form.
bool is_uuid(std::string_view s);

}  // namespace annals::commands

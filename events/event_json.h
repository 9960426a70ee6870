// Renders stored events as the event line `E` of API §15: the envelope and `data` with the payload
// field names of SPEC §6.3 (JSON-typed fields embedded, instants as RFC 3339 where the schema says
// so, money as integer micro-USD). Generic over every payload through the schema's reflection data.
#pragma once

#include <string>

#include "domain/json_text.h"
#include "events/store.h"

namespace annals::events {

void render_event(const StoredEvent& e, JsonWriter& w);
std::string render_event(const StoredEvent& e);
// Only the payload object.
void render_event_data(const StoredEvent& e, JsonWriter& w);

}  // namespace annals::events

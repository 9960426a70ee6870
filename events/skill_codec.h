// Encoding between skill events and their FlatBuffers payloads.
#pragma once

#include <optional>

#include "domain/skill.h"
#include "events/store.h"

namespace annals::events {

NewEvent encode(const skill::Event& e);
// nullopt when the event is not one of the skill stream's events handled here.
std::optional<skill::Event> decode_skill_event(const StoredEvent& e);

NewEvent encode(const skill::CorrectionRecorded& c);
std::optional<skill::CorrectionRecorded> decode_correction(const StoredEvent& e);

}  // namespace annals::events

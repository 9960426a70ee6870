// Encoding between skill events and their FlatBuffers payloads.
#pragma once

#include <optional>

#include "domain/skill.h"
#include "events/store.h"

namespace annals::events {

// Takes the event by value: a temporary (or a moved event) is moved into the encoder.
NewEvent encode(skill::Event e);
// nullopt when the event is not one of the skill stream's events handled here.
std::optional<skill::Event> decode_skill_event(const StoredEvent& e);
// A recorded run's id and the facts the skill aggregate keeps of it, read from the payload
// without decoding the rest (inputs, outputs, steps); nullopt for any other event.
std::optional<std::pair<std::string, skill::RunFacts>> decode_run_facts(const StoredEvent& e);

NewEvent encode(const skill::CorrectionRecorded& c);
std::optional<skill::CorrectionRecorded> decode_correction(const StoredEvent& e);

}  // namespace annals::events

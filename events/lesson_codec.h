// Encoding between the lesson domain events and their FlatBuffers payloads.
#pragma once

#include <optional>

#include "domain/lesson.h"
#include "events/store.h"

namespace annals::events {

NewEvent encode(lesson::Recorded e);
NewEvent encode(lesson::Updated e);

// nullopt when the stored payload is not of that type.
std::optional<lesson::Recorded> decode_lesson_recorded(const StoredEvent& e);
std::optional<lesson::Updated> decode_lesson_updated(const StoredEvent& e);

}  // namespace annals::events

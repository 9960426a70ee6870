// Encoding between candidate events and their FlatBuffers payloads.
#pragma once

#include <optional>
#include <variant>

#include "domain/candidate.h"
#include "events/store.h"

namespace annals::events {

using CandidateEvent = std::variant<candidate::Reported, candidate::StatusChanged,
                                    candidate::DraftScheduled, candidate::DraftAttempted>;
NewEvent encode(const CandidateEvent& e);
std::optional<CandidateEvent> decode_candidate_event(const StoredEvent& e);

}  // namespace annals::events

// Hash-chain verification (SPEC §6.1): recomputes SHA-256(previous hash ‖ stored bytes) for a
// range of positions and compares it with the stored hashes.
#pragma once

#include <cstdint>
#include <optional>

#include "events/store.h"

namespace annals::events {

struct ChainCheck {
  bool ok = true;
  std::uint64_t from = 0, to = 0, events = 0;
  Digest hash{};  // the stored hash at `to` when ok
  std::uint64_t first_bad_position = 0;
  Digest expected_hash{}, stored_hash{};
};

// Verifies positions from..to (to clamped to the head). Position from-1's stored hash (zeros for
// position 1) anchors the chain. A missing position counts as bad.
ChainCheck verify_chain(const EventStore& store, std::uint64_t from, std::uint64_t to);

}  // namespace annals::events

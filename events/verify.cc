#include "events/verify.h"

namespace annals::events {

ChainCheck verify_chain(const EventStore& store, std::uint64_t from, std::uint64_t to) {
  ChainCheck c;
  if (from == 0) from = 1;
  to = std::min(to, store.head());
  c.from = from;
  c.to = to;
  Digest prev{};
  if (from > 1) {
    auto before = store.read(from - 1);
    if (before) prev = before->hash;
  }
  std::uint64_t expected_position = from;
  Sha256 sha;
  store.read_range(from, to, [&](const StoredEvent& e) {
    if (e.position != expected_position) {
      c.ok = false;
      c.first_bad_position = expected_position;
      return false;
    }
    const Digest computed = sha.update(prev).update(e.bytes).finish();
    if (!constant_time_equal(computed, e.hash)) {
      c.ok = false;
      c.first_bad_position = e.position;
      c.expected_hash = computed;
      c.stored_hash = e.hash;
      return false;
    }
    prev = e.hash;
    ++c.events;
    ++expected_position;
    return true;
  });
  if (c.ok && expected_position != to + 1 && from <= to) {
    c.ok = false;
    c.first_bad_position = expected_position;
  }
  if (c.ok) c.hash = prev;
  return c;
}

}  // namespace annals::events

#include "projections/projection.h"

#include "events/keys.h"

namespace annals::projections {

std::optional<std::string> StagedRows::get(std::string_view key) const {
  return writes_.get(db_, cf_, key);
}

void StagedRows::put(std::string_view key, std::string_view value) { writes_.put(cf_, key, value); }

void StagedRows::remove(std::string_view key) { writes_.remove(cf_, key); }

void Rows::add_counter(std::string_view key, std::int64_t delta) {
  std::int64_t v = 0;
  if (auto cur = get(key); cur && cur->size() == 8) {
    v = static_cast<std::int64_t>(events::read_u64_be(*cur));
  }
  v += delta;
  if (v <= 0) {
    remove(key);
  } else {
    put(key, events::u64_be(static_cast<std::uint64_t>(v)));
  }
}

}  // namespace annals::projections

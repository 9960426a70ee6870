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

std::vector<std::optional<std::string>> multi_get(rocksdb::DB* db, const rocksdb::ReadOptions& ro,
                                                  rocksdb::ColumnFamilyHandle* cf,
                                                  const std::vector<std::string>& keys) {
  std::vector<std::optional<std::string>> out(keys.size());
  if (keys.empty()) return out;
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db->MultiGet(ro, cf, slices.size(), slices.data(), values.data(), statuses.data());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].ok()) out[i] = values[i].ToString();
  }
  return out;
}

}  // namespace annals::projections

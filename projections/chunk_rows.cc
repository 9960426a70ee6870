#include "projections/chunk_rows.h"

#include <algorithm>
#include <cstring>

namespace annals::projections {

namespace {

std::uint64_t prefix_of(std::string_view key) {
  std::uint64_t p = 0;
  const std::size_t n = std::min<std::size_t>(8, key.size());
  for (std::size_t i = 0; i < n; ++i)
    p |= std::uint64_t(static_cast<unsigned char>(key[i])) << (56 - 8 * i);
  return p;
}

}  // namespace

std::int64_t ChunkRows::find(std::string_view key, std::size_t hash, std::size_t& slot) const {
  if (slots_.empty()) return -1;
  const std::size_t mask = slots_.size() - 1;
  for (slot = hash & mask;; slot = (slot + 1) & mask) {
    const std::uint32_t s = slots_[slot];
    if (s == 0) return -1;
    if (key_of(entries_[s - 1]) == key) return s - 1;
  }
}

void ChunkRows::grow() {
  std::vector<std::uint32_t> bigger(std::max<std::size_t>(1024, slots_.size() * 2), 0);
  const std::size_t mask = bigger.size() - 1;
  for (std::uint32_t i = 0; i < entries_.size(); ++i) {
    std::size_t slot = std::hash<std::string_view>()(key_of(entries_[i])) & mask;
    while (bigger[slot] != 0) slot = (slot + 1) & mask;
    bigger[slot] = i + 1;
  }
  slots_.swap(bigger);
}

std::optional<std::string> ChunkRows::get(std::string_view key) const {
  std::size_t slot = 0;
  if (const auto i = find(key, std::hash<std::string_view>()(key), slot); i >= 0) {
    const Entry& e = entries_[static_cast<std::size_t>(i)];
    if (e.deleted) return std::nullopt;
    return std::string(arena_.data() + e.value_at, e.value_size);
  }
  std::string value;
  if (db_->Get(rocksdb::ReadOptions(), cf_, rocksdb::Slice(key.data(), key.size()), &value).ok()) {
    return value;
  }
  return std::nullopt;
}

void ChunkRows::stage(std::string_view key, const std::string_view* value) {
  if ((entries_.size() + 1) * 2 > slots_.size()) grow();
  const std::size_t hash = std::hash<std::string_view>()(key);
  std::size_t slot = 0;
  const std::int64_t found = find(key, hash, slot);
  const std::uint64_t value_at = arena_.size();
  if (value != nullptr) arena_.insert(arena_.end(), value->begin(), value->end());
  const auto value_size = static_cast<std::uint32_t>(value ? value->size() : 0);
  if (found >= 0) {
    Entry& e = entries_[static_cast<std::size_t>(found)];
    e.value_at = value_at;
    e.value_size = value_size;
    e.deleted = value == nullptr;
    return;
  }
  const std::uint64_t key_at = arena_.size();
  arena_.insert(arena_.end(), key.begin(), key.end());
  entries_.push_back({prefix_of(key), key_at, value_at, static_cast<std::uint32_t>(key.size()),
                      value_size, value == nullptr});
  slots_[slot] = static_cast<std::uint32_t>(entries_.size());
}

void ChunkRows::put(std::string_view key, std::string_view value) { stage(key, &value); }

void ChunkRows::remove(std::string_view key) { stage(key, nullptr); }

void ChunkRows::for_each_sorted(
    const std::function<void(std::string_view, const std::string_view*)>& fn) const {
  std::vector<std::uint32_t> order(entries_.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [this](std::uint32_t a, std::uint32_t b) {
    const Entry& x = entries_[a];
    const Entry& y = entries_[b];
    if (x.prefix != y.prefix) return x.prefix < y.prefix;
    return key_of(x) < key_of(y);
  });
  for (const std::uint32_t i : order) {
    const Entry& e = entries_[i];
    const std::string_view value(arena_.data() + e.value_at, e.value_size);
    fn(key_of(e), e.deleted ? nullptr : &value);
  }
}

void ChunkRows::clear() {
  arena_.clear();
  entries_.clear();
  std::fill(slots_.begin(), slots_.end(), 0);
}

}  // namespace annals::projections

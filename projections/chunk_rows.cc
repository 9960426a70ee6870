#include "projections/chunk_rows.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "events/keys.h"

namespace annals::projections {

namespace {

// The 8 bytes of key from `depth` on, big-endian, zero-padded, and how many of them the key has.
struct Digit {
  std::uint64_t value;
  std::uint32_t index;  // of the entry
  std::uint32_t length;
};

std::uint64_t digit_at(std::string_view key, std::size_t depth, std::uint32_t& length) {
  if (key.size() >= depth + 8) {
    std::uint64_t d;
    std::memcpy(&d, key.data() + depth, 8);
    length = 8;
    if constexpr (std::endian::native == std::endian::little) d = __builtin_bswap64(d);
    return d;
  }
  std::uint64_t d = 0;
  const std::size_t n = key.size() > depth ? key.size() - depth : 0;
  for (std::size_t i = 0; i < n; ++i)
    d |= std::uint64_t(static_cast<unsigned char>(key[depth + i])) << (56 - 8 * i);
  length = static_cast<std::uint32_t>(n);
  return d;
}

// Sorts a[0, n) by (value, length), stably: least significant byte first, one counting pass per
// byte, skipping bytes every element agrees on (keys of one read model share their first bytes).
// Runs of equal digits keep their order, so equal keys stay in staging order.
void radix_sort(Digit* a, std::size_t n, std::vector<Digit>& scratch) {
  if (scratch.size() < n) scratch.resize(n);
  Digit* from = a;
  Digit* to = scratch.data();
  static thread_local std::uint32_t counts[9][256];
  std::memset(counts, 0, sizeof counts);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t v = a[i].value;
    for (int b = 0; b < 8; ++b) ++counts[b][(v >> (8 * b)) & 0xff];
    ++counts[8][a[i].length];
  }
  // The length decides only between equal values, so it is the least significant digit.
  static constexpr int kOrder[9] = {8, 0, 1, 2, 3, 4, 5, 6, 7};
  for (const int d : kOrder) {
    std::uint32_t* c = counts[d];
    const auto byte = [d](const Digit& x) {
      return d == 8 ? x.length : static_cast<std::uint32_t>((x.value >> (8 * d)) & 0xff);
    };
    if (c[byte(from[0])] == n) continue;  // every element has this byte
    std::uint32_t sum = 0;
    for (int k = 0; k < 256; ++k) {
      const std::uint32_t count = c[k];
      c[k] = sum;
      sum += count;
    }
    for (std::size_t i = 0; i < n; ++i) to[c[byte(from[i])]++] = from[i];
    std::swap(from, to);
  }
  if (from != a) std::copy(from, from + n, a);
}

// A slot holds the entry's index + 1 in its low half (0 = empty) and the key's hash in its high
// half, so probing compares keys only when the hashes agree.
constexpr std::uint64_t kIndexMask = 0xffffffffu;
std::uint64_t tag_of(std::size_t hash) { return static_cast<std::uint64_t>(hash) >> 32 << 32; }

}  // namespace

std::int64_t ChunkRows::find(std::string_view key, std::size_t hash, std::size_t& slot) const {
  if (slots_.empty()) return -1;
  const std::size_t mask = slots_.size() - 1;
  const std::uint64_t tag = tag_of(hash);
  for (slot = hash & mask;; slot = (slot + 1) & mask) {
    const std::uint64_t s = slots_[slot];
    if (s == 0) return -1;
    const std::uint64_t i = (s & kIndexMask) - 1;
    if ((s & ~kIndexMask) == tag && key_of(entries_[i]) == key) return static_cast<std::int64_t>(i);
  }
}

void ChunkRows::grow() {
  std::vector<std::uint64_t> bigger(std::max<std::size_t>(1024, slots_.size() * 2), 0);
  const std::size_t mask = bigger.size() - 1;
  for (const std::uint64_t s : slots_) {
    if (s == 0) continue;
    const std::size_t hash = std::hash<std::string_view>()(key_of(entries_[(s & kIndexMask) - 1]));
    std::size_t slot = hash & mask;
    while (bigger[slot] != 0) slot = (slot + 1) & mask;
    bigger[slot] = s;
  }
  slots_.swap(bigger);
}

std::optional<std::string> ChunkRows::get(std::string_view key) const {
  std::size_t slot = 0;
  if (const auto i = find(key, std::hash<std::string_view>()(key), slot); i >= 0) {
    const Entry& e = entries_[static_cast<std::size_t>(i)];
    if (e.deleted) return std::nullopt;
    return std::string(values_.data() + e.value_at, e.value_size);
  }
  if (!prefetched_.empty()) {
    if (auto it = prefetched_.find(std::string(key)); it != prefetched_.end()) return it->second;
  }
  std::string value;
  if (db_->Get(rocksdb::ReadOptions(), cf_, rocksdb::Slice(key.data(), key.size()), &value).ok()) {
    return value;
  }
  return std::nullopt;
}

void ChunkRows::stage(std::string_view key, const std::string_view* value) {
  if ((indexed_ + 1) * 2 > slots_.size()) grow();
  const std::size_t hash = std::hash<std::string_view>()(key);
  std::size_t slot = 0;
  const std::int64_t found = find(key, hash, slot);
  if (found >= 0 && !unindexed_) {
    Entry& e = entries_[static_cast<std::size_t>(found)];
    e.value_at = values_.size();
    if (value != nullptr) values_.insert(values_.end(), value->begin(), value->end());
    e.value_size = static_cast<std::uint32_t>(value ? value->size() : 0);
    e.deleted = value == nullptr;
    return;
  }
  // Once put_unread() has staged entries, a key staged again is appended, not changed in place:
  // the latest staging of a key is always its last entry.
  append(key, value);
  if (found < 0) ++indexed_;
  slots_[slot] = tag_of(hash) | entries_.size();
}

void ChunkRows::append(std::string_view key, const std::string_view* value) {
  const std::uint64_t value_at = values_.size();
  if (value != nullptr) values_.insert(values_.end(), value->begin(), value->end());
  const std::uint64_t key_at = keys_.size();
  keys_.insert(keys_.end(), key.begin(), key.end());
  entries_.push_back({key_at, value_at, static_cast<std::uint32_t>(key.size()),
                      static_cast<std::uint32_t>(value ? value->size() : 0), value == nullptr});
}

void ChunkRows::put(std::string_view key, std::string_view value) { stage(key, &value); }

void ChunkRows::put_unread(std::string_view key, std::string_view value) {
  unindexed_ = true;
  append(key, &value);
}

void ChunkRows::add_counter(std::string_view key, std::int64_t delta) {
  std::size_t slot = 0;
  const auto i = find(key, std::hash<std::string_view>()(key), slot);
  if (i < 0 || entries_[static_cast<std::size_t>(i)].deleted ||
      entries_[static_cast<std::size_t>(i)].value_size != 8) {
    Rows::add_counter(key, delta);
    return;
  }
  Entry& e = entries_[static_cast<std::size_t>(i)];
  char* at = values_.data() + e.value_at;
  const auto v = static_cast<std::int64_t>(events::read_u64_be(std::string_view(at, 8))) + delta;
  if (v <= 0) {
    e.deleted = true;
    e.value_size = 0;
    return;
  }
  const std::string bytes = events::u64_be(static_cast<std::uint64_t>(v));
  std::copy(bytes.begin(), bytes.end(), at);
}

void ChunkRows::remove(std::string_view key) { stage(key, nullptr); }

void ChunkRows::for_each_sorted(
    const std::function<void(std::string_view, const std::string_view*)>& fn) const {
  // Most-significant-digit first, 8 bytes at a time: each pass sorts a contiguous array of
  // (digit, index) pairs, and only runs of keys that agree on every byte so far go on to their
  // next 8 bytes. Comparing whole keys instead reads two scattered cache lines per comparison.
  // A pass works out every key's next digit in staging order, where the keys lie one after
  // another in the arena, so the runs then look their digits up in one compact array.
  const std::size_t n = entries_.size();
  std::vector<Digit> order(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    order[i].index = i;
    order[i].value = digit_at(key_of(entries_[i]), 0, order[i].length);
  }
  // Equal keys (a key put_unread() more than once) end up in staging order.
  auto less = [](const Digit& a, const Digit& b) {
    if (a.value != b.value) return a.value < b.value;
    return a.length != b.length ? a.length < b.length : a.index < b.index;
  };
  struct Run {
    std::size_t begin, end;
  };
  std::vector<Run> runs{{0, n}}, next;
  std::vector<Digit> scratch;
  std::vector<std::uint64_t> digits;
  std::vector<std::uint32_t> lengths;
  for (std::size_t depth = 0; !runs.empty(); depth += 8) {
    next.clear();
    for (const Run& r : runs) {
      if (r.end - r.begin > 256) {
        radix_sort(order.data() + r.begin, r.end - r.begin, scratch);
      } else {
        std::sort(order.begin() + r.begin, order.begin() + r.end, less);
      }
      for (std::size_t i = r.begin; i < r.end;) {
        // A digit shorter than 8 bytes ends its key: only equal keys share it, and they stay in
        // staging order.
        std::size_t j = i + 1;
        if (order[i].length == 8) {
          while (j < r.end && order[j].value == order[i].value && order[j].length == 8) ++j;
        }
        if (j - i > 1) next.push_back({i, j});
        i = j;
      }
    }
    if (next.empty()) break;
    digits.resize(n);
    lengths.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      digits[i] = digit_at(key_of(entries_[i]), depth + 8, lengths[i]);
    }
    for (const Run& r : next) {
      for (std::size_t k = r.begin; k < r.end; ++k) {
        order[k].value = digits[order[k].index];
        order[k].length = lengths[order[k].index];
      }
    }
    runs.swap(next);
  }
  // Entries and their bytes are read in key order, not in the order they were staged: fetch them
  // ahead of use.
  for (std::size_t i = 0; i < n; ++i) {
    if (i + 16 < n) __builtin_prefetch(&entries_[order[i + 16].index]);
    if (i + 8 < n) {
      const Entry& ahead = entries_[order[i + 8].index];
      __builtin_prefetch(keys_.data() + ahead.key_at);
      __builtin_prefetch(values_.data() + ahead.value_at);
    }
    const Entry& e = entries_[order[i].index];
    // Of equal keys, the one staged last.
    if (unindexed_ && i + 1 < n && key_of(entries_[order[i + 1].index]) == key_of(e)) continue;
    const std::string_view value(values_.data() + e.value_at, e.value_size);
    fn(key_of(e), e.deleted ? nullptr : &value);
  }
}

void ChunkRows::prefetch(std::vector<std::string> keys) {
  std::erase_if(keys, [&](const std::string& k) {
    std::size_t slot = 0;
    return prefetched_.contains(k) || find(k, std::hash<std::string_view>()(k), slot) >= 0;
  });
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  auto values = events::multi_get(db_, rocksdb::ReadOptions(), cf_, keys);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    prefetched_.emplace(std::move(keys[i]), std::move(values[i]));
  }
}

void ChunkRows::clear() {
  prefetched_.clear();
  keys_.clear();
  values_.clear();
  entries_.clear();
  indexed_ = 0;
  unindexed_ = false;
  std::fill(slots_.begin(), slots_.end(), 0);
}

}  // namespace annals::projections

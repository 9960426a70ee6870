// Projection: one read model as a list of pure `apply` cases from events to row mutations
// (ARCHITECTURE.md). No clock, no I/O beyond the rows handed in, no randomness: the live path and
// every rebuild run the same code and produce byte-identical rows.
#pragma once

#include <rocksdb/db.h>

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "events/keys.h"
#include "events/store.h"

namespace annals::projections {

// The rows of one read-model generation (one column family) as a batch being built: reads see
// the batch's own writes first, then the committed rows.
class Rows {
 public:
  virtual ~Rows() = default;
  virtual std::optional<std::string> get(std::string_view key) const = 0;
  virtual void put(std::string_view key, std::string_view value) = 0;
  // put() for a row that apply never reads back (an index or pointer row): a rebuild may stage it
  // without looking the key up. The latest put of a key still wins.
  virtual void put_unread(std::string_view key, std::string_view value) { put(key, value); }
  virtual void remove(std::string_view key) = 0;
  // Adds delta to the unsigned 64-bit counter stored at key (absent = 0); removes it at 0.
  virtual void add_counter(std::string_view key, std::int64_t delta);
};

// Rows staged in a commit's StagedWrites beside the events (the live path and catch-up).
class StagedRows final : public Rows {
 public:
  StagedRows(events::StagedWrites& writes, rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf)
      : writes_(writes), db_(db), cf_(cf) {}
  std::optional<std::string> get(std::string_view key) const override;
  void put(std::string_view key, std::string_view value) override;
  void remove(std::string_view key) override;

 private:
  events::StagedWrites& writes_;
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
};

// A resource row together with the version of the stream holding the resource (its ETag).
struct VersionedRow {
  std::uint64_t version = 0;
  std::string json;
};

// Row text built from pieces (string views, chars, big-endian numbers) in a buffer whose capacity
// is kept between events, so the rows of a rebuild do not allocate a string per key.
struct Be64 {
  std::uint64_t v;
};
inline void append_piece(std::string& out, std::string_view s) { out.append(s); }
inline void append_piece(std::string& out, char c) { out.push_back(c); }
inline void append_piece(std::string& out, Be64 n) { events::append_u64_be(out, n.v); }
template <typename... Pieces>
std::string_view join_into(std::string& buf, const Pieces&... pieces) {
  buf.clear();
  (append_piece(buf, pieces), ...);
  return buf;
}
// Descending order of v in bytewise order.
inline Be64 desc_be(std::uint64_t v) { return {std::numeric_limits<std::uint64_t>::max() - v}; }

inline bool is_one_of(fb::Payload type, std::initializer_list<fb::Payload> types) {
  return std::find(types.begin(), types.end(), type) != types.end();
}

class Projection {
 public:
  virtual ~Projection() = default;
  // The read model's name (API §16).
  virtual std::string_view name() const = 0;
  // Applies one event; events it does not project are ignored.
  virtual void apply(const events::StoredEvent& e, Rows& rows) = 0;
  // Whether events of this payload type can change the read model (default: every type). apply()
  // returns at once for the others, so a rebuild skips them without touching their bytes.
  virtual bool projects(fb::Payload) const { return true; }
  // Keys apply() reads for this event that the read model's earlier events may have written
  // long ago. A rebuild reads them for a whole chunk in one batch before applying it.
  virtual void reads(const events::StoredEvent&, std::vector<std::string>&) const {}
  // Key prefix of the rows counted as the read model's rows (the rest are indexes/counters).
  virtual std::string_view row_prefix() const { return "r"; }
};

}  // namespace annals::projections

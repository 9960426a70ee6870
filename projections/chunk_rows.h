// ChunkRows: the rows one read model writes while a rebuild applies one chunk of the log — the
// latest value (or delete) per key in one arena with an open-addressing index, read back before
// the rows of earlier chunks, and handed out in key order to become that chunk's SST file.
// A rebuild stages millions of keys, so it avoids a node and two strings per key.
#pragma once

#include <rocksdb/db.h>

#include <cstdint>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "projections/projection.h"

namespace annals::projections {

class ChunkRows final : public Rows {
 public:
  // Reads that miss the chunk go to `cf` in `db` (the generation being built).
  ChunkRows(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) : db_(db), cf_(cf) {}

  std::optional<std::string> get(std::string_view key) const override;
  void put(std::string_view key, std::string_view value) override;
  // Appended without looking the key up: get() does not see it. When the key is staged more than
  // once, the latest staging is the one handed out.
  void put_unread(std::string_view key, std::string_view value) override;
  void remove(std::string_view key) override;
  // A counter already staged in this chunk is changed in place.
  void add_counter(std::string_view key, std::int64_t delta) override;

  // Calls fn(key, value) for each staged key in key order, once per key with its latest staging;
  // value is nullptr for a delete.
  void for_each_sorted(
      const std::function<void(std::string_view key, const std::string_view* value)>& fn) const;
  bool empty() const { return entries_.empty(); }
  // Staged entries: one per key, plus one per repeated put_unread().
  std::size_t size() const { return entries_.size(); }
  rocksdb::ColumnFamilyHandle* family() const { return cf_; }
  // Reads the committed values of those of `keys` not staged here in one batch; get() finds them
  // there until clear().
  void prefetch(std::vector<std::string> keys);
  // Forgets every staged key and prefetched value (capacity is kept for the next chunk).
  void clear();

 private:
  struct Entry {
    std::uint64_t key_at, value_at;
    std::uint32_t key_size, value_size;
    bool deleted;
  };
  std::string_view key_of(const Entry& e) const { return {keys_.data() + e.key_at, e.key_size}; }
  // The index of key's entry, or -1; `slot` receives the slot it is in or would go to.
  std::int64_t find(std::string_view key, std::size_t hash, std::size_t& slot) const;
  void stage(std::string_view key, const std::string_view* value);
  void append(std::string_view key, const std::string_view* value);
  void grow();

  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  // Keys and values in two arenas: the sort's passes read the keys alone, one after another.
  std::vector<char> keys_, values_;
  std::vector<Entry> entries_;
  std::size_t indexed_ = 0;  // keys in slots_
  bool unindexed_ = false;   // some entries were put_unread(): equal keys may be staged twice
  std::vector<std::uint64_t> slots_;  // hash tag | (entry index + 1); 0 = empty
  // Committed values read by prefetch() (nullopt: absent), behind the staged rows.
  std::unordered_map<std::string, std::optional<std::string>> prefetched_;
};

}  // namespace annals::projections

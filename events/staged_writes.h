// StagedWrites: the writes of one batch before they reach RocksDB — the latest value (or delete)
// per (column family, key), readable by the code building the batch, with savepoints, written out
// in family and key order. Writing in key order lets the memtable insert each family's keys along
// its skip-list splice instead of searching from the top, and overwritten values (counters,
// checkpoints, next ids) never reach the memtable at all.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace annals::events {

class StagedWrites {
 public:
  // The staged value of a key: nullptr when the key is not staged; a pointer to nullopt when it
  // is staged as deleted.
  const std::optional<std::string>* find(rocksdb::ColumnFamilyHandle* cf,
                                         std::string_view key) const;
  // The staged value, else the committed one in `db`.
  std::optional<std::string> get(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                                 std::string_view key) const;
  void put(rocksdb::ColumnFamilyHandle* cf, std::string_view key, std::string_view value);
  void remove(rocksdb::ColumnFamilyHandle* cf, std::string_view key);

  void set_savepoint();
  // Restores every key to its state at the last savepoint, and drops that savepoint.
  void rollback_to_savepoint();
  void pop_savepoint();

  // Calls fn(cf, key, value-or-nullopt-for-delete) for the latest write per key, ordered by
  // family id, then key.
  void for_each_sorted(const std::function<void(rocksdb::ColumnFamilyHandle*, std::string_view,
                                                const std::optional<std::string>&)>& fn) const;
  // Appends the latest write per key to `out` in that order.
  void write_sorted(rocksdb::WriteBatch& out) const;
  bool empty() const { return map_.empty(); }
  std::size_t size() const { return map_.size(); }
  void clear();

 private:
  struct Entry {
    rocksdb::ColumnFamilyHandle* cf;
    std::optional<std::string> value;
  };
  struct Undo {
    std::string composite;
    std::optional<Entry> previous;
  };
  static std::string composite(rocksdb::ColumnFamilyHandle* cf, std::string_view key);
  void stage(rocksdb::ColumnFamilyHandle* cf, std::string_view key,
             std::optional<std::string> value);

  std::unordered_map<std::string, Entry> map_;
  std::vector<Undo> undo_;
  std::vector<std::size_t> savepoints_;
};

}  // namespace annals::events

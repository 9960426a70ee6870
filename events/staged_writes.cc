#include "events/staged_writes.h"

#include <algorithm>

#include "events/keys.h"

namespace annals::events {

std::string StagedWrites::composite(rocksdb::ColumnFamilyHandle* cf, std::string_view key) {
  std::string k;
  k.reserve(4 + key.size());
  const std::uint32_t id = cf->GetID();
  for (int shift = 24; shift >= 0; shift -= 8) k.push_back(static_cast<char>(id >> shift));
  k.append(key);
  return k;
}

const std::optional<std::string>* StagedWrites::find(rocksdb::ColumnFamilyHandle* cf,
                                                     std::string_view key) const {
  auto it = map_.find(composite(cf, key));
  return it == map_.end() ? nullptr : &it->second.value;
}

std::optional<std::string> StagedWrites::get(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                                             std::string_view key) const {
  if (const auto* staged = find(cf, key)) return *staged;
  std::string value;
  if (db->Get(rocksdb::ReadOptions(), cf, rocksdb::Slice(key.data(), key.size()), &value).ok()) {
    return value;
  }
  return std::nullopt;
}

void StagedWrites::stage(rocksdb::ColumnFamilyHandle* cf, std::string_view key,
                         std::optional<std::string> value) {
  std::string k = composite(cf, key);
  auto it = map_.find(k);
  if (!savepoints_.empty()) {
    undo_.push_back({k, it == map_.end() ? std::nullopt : std::optional<Entry>(it->second)});
  }
  if (it == map_.end()) {
    map_.emplace(std::move(k), Entry{cf, std::move(value)});
  } else {
    it->second.value = std::move(value);
  }
}

void StagedWrites::put(rocksdb::ColumnFamilyHandle* cf, std::string_view key,
                       std::string_view value) {
  stage(cf, key, std::string(value));
}

void StagedWrites::remove(rocksdb::ColumnFamilyHandle* cf, std::string_view key) {
  stage(cf, key, std::nullopt);
}

void StagedWrites::set_savepoint() { savepoints_.push_back(undo_.size()); }

void StagedWrites::rollback_to_savepoint() {
  if (savepoints_.empty()) return;
  const std::size_t mark = savepoints_.back();
  savepoints_.pop_back();
  while (undo_.size() > mark) {
    Undo& u = undo_.back();
    if (u.previous) {
      map_.insert_or_assign(u.composite, std::move(*u.previous));
    } else {
      map_.erase(u.composite);
    }
    undo_.pop_back();
  }
}

void StagedWrites::pop_savepoint() {
  if (savepoints_.empty()) return;
  savepoints_.pop_back();
  if (savepoints_.empty()) undo_.clear();
}

void StagedWrites::for_each_sorted(
    const std::function<void(rocksdb::ColumnFamilyHandle*, std::string_view,
                             const std::optional<std::string>&)>& fn) const {
  std::vector<const std::pair<const std::string, Entry>*> entries;
  entries.reserve(map_.size());
  for (const auto& kv : map_) entries.push_back(&kv);
  std::sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
  for (const auto* kv : entries) {
    fn(kv->second.cf, std::string_view(kv->first).substr(4), kv->second.value);
  }
}

void StagedWrites::write_sorted(rocksdb::WriteBatch& out) const {
  for_each_sorted([&](rocksdb::ColumnFamilyHandle* cf, std::string_view key,
                      const std::optional<std::string>& value) {
    const rocksdb::Slice k(key.data(), key.size());
    if (value) {
      out.Put(cf, k, *value);
    } else {
      out.Delete(cf, k);
    }
  });
}

void StagedWrites::clear() {
  map_.clear();
  undo_.clear();
  savepoints_.clear();
}

}  // namespace annals::events

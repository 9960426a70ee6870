// The `lessons` read model (SPEC §4, §7): lesson rows rendered as the resource `L`, secondary
// indexes for the filters of GET /lessons (lesson_type, status, repo, work_item_id), newest first,
// and counters for the queue's snapshot.
//
// Keys (ids inverted so that ascending key order is newest first):
//   r <~id>                 → the lesson stream's version (8 bytes) and the lesson JSON
//   k <~id>                 → the lesson's filter tuple (created_at, type, status, repo, work item)
//   i <code> <value> 0 <~id> → the filter tuple, one entry per non-null filter field
//   c s <status> / c t <type> / c n → counts
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "domain/time.h"
#include "projections/projection.h"

namespace annals::projections {

class LessonsProjection final : public Projection {
 public:
  std::string_view name() const override { return "lessons"; }
  void apply(const events::StoredEvent& e, Rows& rows) override;
  bool projects(fb::Payload type) const override;
  void reads(const events::StoredEvent& e, std::vector<std::string>& keys) const override;
};

struct LessonFilter {
  std::optional<std::string> lesson_type, status, repo, work_item_id;
  std::int64_t limit = 100;
  std::int64_t offset = 0;
};

// Reads of the lessons read model from one generation's column family.
class LessonsQueries {
 public:
  // Reads at `view` (the store's durable state).
  LessonsQueries(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, events::ReadView view)
      : db_(db), cf_(cf), view_(std::move(view)) {}
  std::uint64_t position() const { return view_.head(); }

  std::optional<VersionedRow> get(std::int64_t id) const;
  // Lesson JSON rows matching the filter, newest first.
  std::vector<std::string> list(const LessonFilter& filter) const;
  // The snapshot of SPEC §4.6 as a JSON object (with "enabled": true).
  std::string snapshot(Micros now) const;

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  events::ReadView view_;
};

}  // namespace annals::projections

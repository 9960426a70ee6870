// The `automations` read model (SPEC §3.1, §7): automation rows rendered as `AU`, ordered by
// updated_at descending, filterable by status, capability and owner.
//
// Keys:
//   r <id>                              → the automation stream's version (8 bytes) and the JSON
//   u <~updated_at> <id>                → status 0 capability 0 user (the list order)
//   n <next_run_at> <id>                → "" for active automations with a next run (the queue)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "domain/time.h"
#include "projections/projection.h"

namespace annals::projections {

class AutomationsProjection final : public Projection {
 public:
  std::string_view name() const override { return "automations"; }
  void apply(const events::StoredEvent& e, Rows& rows) override;
};

struct AutomationFilter {
  std::optional<std::string> status = "active";  // nullopt = all
  std::optional<std::string> capability_name, user_id;
  std::int64_t limit = 100, offset = 0;
};

class AutomationsQueries {
 public:
  AutomationsQueries(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, events::ReadView view)
      : db_(db), cf_(cf), view_(std::move(view)) {}
  std::uint64_t position() const { return view_.head(); }

  std::optional<VersionedRow> get(const std::string& id) const;
  std::vector<std::string> list(const AutomationFilter& f) const;
  // The queue's automations block (API §14) at `now`.
  std::string queue_block(Micros now) const;

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  events::ReadView view_;
};

}  // namespace annals::projections

// The `automation_runs` read model (SPEC §3.1, §7): every run of every automation as `AR`, with
// its deliveries; newest first per automation, filterable by status.
//
// Keys:
//   r <run_id>                                  → the run (JSON `AR`)
//   a <automation_id> 0 <~position>             → status 0 run_id (the per-automation list, newest
//                                                 first by the RunStarted position)
//   k <run_id>                                  → its list key
//   p <run_id>                                  → automation id: alert fired, nothing delivered yet
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "projections/projection.h"

namespace annals::projections {

class AutomationRunsProjection final : public Projection {
 public:
  std::string_view name() const override { return "automation_runs"; }
  void apply(const events::StoredEvent& e, Rows& rows) override;
  bool projects(fb::Payload type) const override;
};

class AutomationRunsQueries {
 public:
  AutomationRunsQueries(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, events::ReadView view)
      : db_(db), cf_(cf), view_(std::move(view)) {}
  std::uint64_t position() const { return view_.head(); }

  std::optional<std::string> get(const std::string& run_id) const;
  std::vector<std::string> list(const std::string& automation_id,
                                const std::optional<std::string>& status, std::int64_t limit,
                                std::int64_t offset) const;
  // (automation id, run id) of finished runs whose alert fired and has no delivery recorded.
  std::vector<std::pair<std::string, std::string>> undelivered() const;

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  events::ReadView view_;
};

}  // namespace annals::projections

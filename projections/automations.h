// The `automations` read model (SPEC §3.1, §7): automation rows rendered as `AU`, ordered by
// updated_at descending, filterable by status, capability and owner.
//
// Keys:
//   r <id>                              → the automation stream's version (8 bytes) and the JSON
//   u <~updated_at> <id>                → status 0 capability 0 user (the list order)
//   n <next_run_at> <id>                → "" for active automations with a next run (the queue and
//                                         the scheduler), "r" while a run is in flight
//   f <id>                              → the run in flight
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
  bool projects(fb::Payload type) const override;
};

struct DueAutomation {
  std::string id;
  Micros next_run_at = 0;
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
  // Active automations due at `now` with no run in flight, by next_run_at then id, at most
  // `limit`; next_wake = the first next_run_at after now (nullopt when none). Costs time in
  // proportion to the due set and the runs in flight, not to all automations.
  std::vector<DueAutomation> due(Micros now, std::size_t limit,
                                 std::optional<Micros>& next_wake) const;
  // (automation id, run id) of every run in flight.
  std::vector<std::pair<std::string, std::string>> in_flight() const;

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  events::ReadView view_;
};

}  // namespace annals::projections

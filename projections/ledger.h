// The ledger's read models (SPEC §2.16, §7, API §7).
//
// `invocations` (an invocation never changes once recorded: rows point into the log and `I` is
// rendered from the event when read):
//   r <id>                                → position
//   a <~at> <id>                          → position (all invocations, `at` descending)
//   t <task_type> 0 <~at> <id>            → position (per task type)
// `spend`:
//   d <YYYY-MM-DD>                        → that UTC day's totals by task type (ledger::DayTotals)
// Exclusions and the guard are applied at query time from the knobs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "domain/config.h"
#include "domain/ledger.h"
#include "projections/projection.h"

namespace annals::projections {

class InvocationsProjection final : public Projection {
 public:
  std::string_view name() const override { return "invocations"; }
  void apply(const events::StoredEvent& e, Rows& rows) override;
  bool projects(fb::Payload type) const override;
};

class SpendProjection final : public Projection {
 public:
  std::string_view name() const override { return "spend"; }
  void apply(const events::StoredEvent& e, Rows& rows) override;
  bool projects(fb::Payload type) const override;
  std::string_view row_prefix() const override { return "d"; }
};

struct InvocationFilter {
  std::optional<std::string> task_type;
  std::optional<Micros> since, until;  // on `at`, inclusive
  std::int64_t limit = 100, offset = 0;
};

class LedgerQueries {
 public:
  // Reads the invocations and spend read models of `view` (and the events their rows point to).
  LedgerQueries(const events::EventStore& store, events::ReadView view)
      : store_(store),
        db_(store.db()),
        invocations_(view.family("invocations")),
        spend_(view.family("spend")),
        view_(std::move(view)) {}
  std::uint64_t position() const { return view_.head(); }

  std::vector<std::string> list(const InvocationFilter& f) const;
  // The budget guard at `now` (today's and this month's spend, exclusions applied).
  ledger::Guard guard(Micros now, const Config& config) const;
  // The spend report of API §7 for the `days` UTC days ending on the day of `now`.
  std::string spend_report(Micros now, std::int64_t days, const Config& config) const;

 private:
  ledger::DayTotals day(const std::string& date) const;
  // The counted totals of every day of `month` ("YYYY-MM").
  ledger::TypeTotal month_total(const std::string& month, const Config& config) const;

  const events::EventStore& store_;
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* invocations_;
  rocksdb::ColumnFamilyHandle* spend_;
  events::ReadView view_;
};

}  // namespace annals::projections

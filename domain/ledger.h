// The cost ledger and the budget guard (SPEC §2.16): invocations, the UTC-day streams they go to,
// per-day totals by task type, and the guard's decision. Exclusions are applied when totals are
// read, so changing budget_excluded_task_types never needs a rebuild.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/time.h"

namespace annals::ledger {

struct Invocation {
  std::string id, task_type;
  std::int64_t cost_micro_usd = 0;
  std::optional<std::string> output;  // JSON text
  std::optional<std::string> user_id;
  Micros at = 0;
};

// The resource `I` of API §7.
std::string render(const Invocation& i, Micros recorded_at);

// "ledger-YYYY-MM-DD" of the UTC day of `at`.
std::string stream_name(Micros at);

struct TypeTotal {
  std::int64_t micro_usd = 0, count = 0;
  bool operator==(const TypeTotal&) const = default;
};
// One UTC day's totals by task type.
using DayTotals = std::map<std::string, TypeTotal, std::less<>>;
std::string encode(const DayTotals& t);
DayTotals decode_day_totals(std::string_view bytes);
void add(DayTotals& t, const Invocation& i);
// The counted part of a day (or any sum of days): excluded task types left out.
TypeTotal counted(const DayTotals& t, const std::vector<std::string>& excluded);

struct Guard {
  bool paused = false;
  std::optional<std::string> reason;  // daily_threshold | monthly_budget
  std::int64_t daily_spend = 0, monthly_spend = 0, daily_remaining = 0;
};
Guard guard(std::int64_t daily_spend, std::int64_t monthly_spend, std::int64_t daily_threshold,
            std::int64_t monthly_budget);

// The UTC days of the month of `today` up to and including it, as days since the epoch.
std::vector<std::int64_t> month_to_date(std::int64_t today);

}  // namespace annals::ledger

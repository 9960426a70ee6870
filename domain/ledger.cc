#include "domain/ledger.h"

#include <algorithm>
#include <cstring>

#include "domain/json_text.h"

namespace annals::ledger {

namespace {

void put_i64(std::string& out, std::int64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  out.append(b, 8);
}

std::int64_t get_i64(std::string_view s, std::size_t at) {
  std::int64_t v = 0;
  std::memcpy(&v, s.data() + at, 8);
  return v;
}

}  // namespace

std::string render(const Invocation& i, Micros recorded_at) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("id").value(i.id);
  w.key("task_type").value(i.task_type);
  w.key("cost_usd").usd(i.cost_micro_usd);
  w.key("output").raw_or_null(i.output);
  w.key("user_id").value(i.user_id);
  w.key("at").instant(i.at);
  w.key("recorded_at").instant(recorded_at);
  w.end_object();
  return out;
}

std::string stream_name(Micros at) { return "ledger-" + format_utc_date(at); }

// Layout: per task type, [u16 length][name][i64 micro_usd][i64 count] (host order; the values
// never leave this machine's RocksDB).
std::string encode(const DayTotals& t) {
  std::string out;
  for (const auto& [type, total] : t) {
    const auto n = static_cast<std::uint16_t>(type.size());
    out.append(reinterpret_cast<const char*>(&n), 2);
    out += type;
    put_i64(out, total.micro_usd);
    put_i64(out, total.count);
  }
  return out;
}

DayTotals decode_day_totals(std::string_view bytes) {
  DayTotals t;
  std::size_t at = 0;
  while (at + 2 <= bytes.size()) {
    std::uint16_t n = 0;
    std::memcpy(&n, bytes.data() + at, 2);
    at += 2;
    if (at + n + 16 > bytes.size()) break;
    std::string type(bytes.substr(at, n));
    at += n;
    t[type] = {get_i64(bytes, at), get_i64(bytes, at + 8)};
    at += 16;
  }
  return t;
}

void add(DayTotals& t, const Invocation& i) {
  auto& total = t[i.task_type];
  total.micro_usd += i.cost_micro_usd;
  total.count += 1;
}

TypeTotal counted(const DayTotals& t, const std::vector<std::string>& excluded) {
  TypeTotal sum;
  for (const auto& [type, total] : t) {
    if (std::find(excluded.begin(), excluded.end(), type) != excluded.end()) continue;
    sum.micro_usd += total.micro_usd;
    sum.count += total.count;
  }
  return sum;
}

Guard guard(std::int64_t daily_spend, std::int64_t monthly_spend, std::int64_t daily_threshold,
            std::int64_t monthly_budget) {
  Guard g;
  g.daily_spend = daily_spend;
  g.monthly_spend = monthly_spend;
  if (daily_spend >= daily_threshold) {
    g.paused = true;
    g.reason = "daily_threshold";
  } else if (monthly_spend >= monthly_budget) {
    g.paused = true;
    g.reason = "monthly_budget";
  }
  g.daily_remaining = g.paused ? 0 : std::max<std::int64_t>(0, daily_threshold - daily_spend);
  return g;
}

std::vector<std::int64_t> month_to_date(std::int64_t today) {
  const CivilDate d = civil_from_days(today);
  std::vector<std::int64_t> days;
  for (std::int64_t day = days_from_civil(d.year, d.month, 1); day <= today; ++day) {
    days.push_back(day);
  }
  return days;
}

}  // namespace annals::ledger

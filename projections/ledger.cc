#include "projections/ledger.h"

#include <limits>
#include <map>
#include <memory>

#include "domain/json_text.h"
#include "domain/money.h"
#include "events/keys.h"
#include "events/ledger_codec.h"

namespace annals::projections {

namespace {

std::string desc_at(Micros at) { return events::u64_be(desc_be(static_cast<std::uint64_t>(at)).v); }

std::string date_of_day(std::int64_t day) {
  return format_utc_date(day * 86'400 * kMicrosPerSecond);
}

std::int64_t day_of(Micros t) {
  return (t >= 0 ? t : t - (86'400 * kMicrosPerSecond - 1)) / (86'400 * kMicrosPerSecond);
}

}  // namespace

bool InvocationsProjection::projects(fb::Payload type) const {
  return is_one_of(type, {fb::Payload::InvocationRecorded});
}

void InvocationsProjection::apply(const events::StoredEvent& e, Rows& rows) {
  const auto* i = e.event().payload_as_InvocationRecorded();
  if (i == nullptr || i->invocation_id() == nullptr) return;
  thread_local std::string key, position;
  join_into(position, Be64{e.position});
  const std::string_view id = i->invocation_id()->string_view();
  const Be64 at = desc_be(static_cast<std::uint64_t>(i->at()));
  rows.put_unread(join_into(key, 'r', id), position);
  rows.put_unread(join_into(key, 'a', at, id), position);
  const std::string_view type = i->task_type() ? i->task_type()->string_view() : std::string_view();
  rows.put_unread(join_into(key, 't', type, '\0', at, id), position);
}

bool SpendProjection::projects(fb::Payload type) const {
  return is_one_of(type, {fb::Payload::InvocationRecorded});
}

void SpendProjection::apply(const events::StoredEvent& e, Rows& rows) {
  if (!projects(e.type())) return;
  auto i = events::decode_invocation(e);
  if (!i) return;
  const std::string key = "d" + format_utc_date(i->at);
  auto totals = ledger::decode_day_totals(rows.get(key).value_or(""));
  ledger::add(totals, *i);
  rows.put(key, ledger::encode(totals));
}

std::vector<std::string> LedgerQueries::list(const InvocationFilter& f) const {
  const rocksdb::ReadOptions ro = view_.options();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, invocations_));
  const std::string prefix = f.task_type ? "t" + *f.task_type + '\0' : "a";
  std::vector<std::uint64_t> positions;
  std::int64_t skipped = 0;
  it->Seek(f.until ? prefix + desc_at(*f.until) : prefix);
  for (; it->Valid() && it->key().starts_with(prefix) &&
         static_cast<std::int64_t>(positions.size()) < f.limit;
       it->Next()) {
    const auto key = it->key().ToStringView();
    const auto at = static_cast<Micros>(std::numeric_limits<std::uint64_t>::max() -
                                        events::read_u64_be(key, prefix.size()));
    if (f.since && at < *f.since) break;
    if (skipped++ < f.offset) continue;
    const auto value = it->value().ToStringView();
    if (value.size() == 8) positions.push_back(events::read_u64_be(value));
  }
  // The page's invocations are read from the log in one batch.
  std::vector<std::string> out;
  for (const auto& e : store_.read_many(view_, positions)) {
    if (!e) continue;
    if (auto i = events::decode_invocation(*e)) {
      out.push_back(ledger::render(*i, e->event().recorded_at()));
    }
  }
  return out;
}

ledger::DayTotals LedgerQueries::day(const std::string& date) const {
  std::string value;
  if (!db_->Get(view_.options(), spend_, "d" + date, &value).ok()) return {};
  return ledger::decode_day_totals(value);
}

ledger::TypeTotal LedgerQueries::month_total(const std::string& month, const Config& config) const {
  const rocksdb::ReadOptions ro = view_.options();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, spend_));
  ledger::TypeTotal total;
  const std::string prefix = "d" + month;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const auto t = ledger::counted(ledger::decode_day_totals(it->value().ToStringView()),
                                   config.budget_excluded_task_types);
    total.micro_usd += t.micro_usd;
    total.count += t.count;
  }
  return total;
}

ledger::Guard LedgerQueries::guard(Micros now, const Config& config) const {
  const std::string today = date_of_day(day_of(now));
  return ledger::guard(ledger::counted(day(today), config.budget_excluded_task_types).micro_usd,
                       month_total(today.substr(0, 7), config).micro_usd,
                       usd_to_micros(config.daily_pause_threshold_usd).value_or(0),
                       usd_to_micros(config.monthly_budget_usd).value_or(0));
}

std::string LedgerQueries::spend_report(Micros now, std::int64_t days, const Config& config) const {
  const auto& excluded = config.budget_excluded_task_types;
  const std::int64_t today = day_of(now);
  // Month totals over every day of each month the report touches.
  std::map<std::string, ledger::TypeTotal, std::greater<>> months;
  for (std::int64_t d = today; d > today - days; --d) {
    const std::string month = date_of_day(d).substr(0, 7);
    if (!months.contains(month)) months[month] = month_total(month, config);
  }
  const auto g = guard(now, config);
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("guard").begin_object();
  w.key("paused").value(g.paused).key("reason").value(g.reason);
  w.key("daily_spend_usd").usd(g.daily_spend);
  w.key("daily_threshold_usd").value(config.daily_pause_threshold_usd);
  w.key("daily_remaining_usd").usd(g.daily_remaining);
  w.key("monthly_spend_usd").usd(g.monthly_spend);
  w.key("monthly_budget_usd").value(config.monthly_budget_usd);
  w.end_object();
  w.key("daily").begin_array();
  for (std::int64_t d = today; d > today - days; --d) {
    const std::string date = date_of_day(d);
    const auto t = ledger::counted(day(date), excluded);
    w.begin_object().key("date").value(date).key("spend_usd").usd(t.micro_usd);
    w.key("invocations").value(t.count).end_object();
  }
  w.end_array();
  w.key("monthly").begin_array();
  for (const auto& [month, total] : months) {
    w.begin_object().key("month").value(month).key("spend_usd").usd(total.micro_usd);
    w.key("invocations").value(total.count).end_object();
  }
  w.end_array().end_object();
  return out;
}

}  // namespace annals::projections

#include "projections/automations.h"

#include <limits>
#include <memory>

#include "domain/automation.h"
#include "domain/json_text.h"
#include "events/automation_codec.h"
#include "events/keys.h"

namespace annals::projections {

namespace {

constexpr std::size_t kVersionBytes = 8;

std::string order_key(const automation::Automation& a) {
  return "u" +
         events::u64_be(std::numeric_limits<std::uint64_t>::max() -
                        static_cast<std::uint64_t>(a.updated_at)) +
         a.id;
}

// Active automations due at some point, by next_run_at; runs in flight are not due.
std::optional<std::string> due_key(const automation::Automation& a) {
  if (a.status != "active" || !a.next_run_at) return std::nullopt;
  return "n" + events::u64_be(static_cast<std::uint64_t>(*a.next_run_at)) + a.id;
}

std::string tuple_of(const automation::Automation& a) {
  return a.status + '\0' + a.capability_name + '\0' + a.user_id;
}

}  // namespace

bool AutomationsProjection::projects(fb::Payload type) const {
  return is_one_of(type, {fb::Payload::AutomationCreated, fb::Payload::AutomationUpdated,
                          fb::Payload::AutomationPaused, fb::Payload::AutomationResumed,
                          fb::Payload::AutomationDeleted, fb::Payload::AutomationRunStarted,
                          fb::Payload::AutomationRunFinished});
}

void AutomationsProjection::apply(const events::StoredEvent& e, Rows& rows) {
  if (!projects(e.type())) return;
  const auto* stream = e.event().stream();
  if (stream == nullptr || !stream->string_view().starts_with("automation-")) return;
  auto event = events::decode_automation_event(e);
  if (!event || std::holds_alternative<automation::AlertDelivered>(*event)) return;
  const std::string id(stream->string_view().substr(11));
  std::optional<automation::Automation> a;
  if (!std::holds_alternative<automation::Created>(*event)) {
    auto row = rows.get("r" + id);
    if (!row || row->size() < kVersionBytes) return;
    a = automation::from_json(nlohmann::json::parse(row->substr(kVersionBytes)));
    if (!a) return;
    rows.remove(order_key(*a));
    if (auto k = due_key(*a)) rows.remove(*k);
  }
  automation::evolve(a, *event, e.event().recorded_at());
  rows.put("r" + id, events::u64_be(e.event().version()) + automation::render(*a));
  rows.put(order_key(*a), tuple_of(*a));
  if (auto k = due_key(*a)) rows.put(*k, a->in_flight_run_id ? "r" : "");
  if (a->in_flight_run_id) {
    rows.put("f" + id, *a->in_flight_run_id);
  } else {
    rows.remove("f" + id);
  }
}

std::optional<VersionedRow> AutomationsQueries::get(const std::string& id) const {
  std::string value;
  if (!db_->Get(view_.options(), cf_, "r" + id, &value).ok() || value.size() < kVersionBytes) {
    return std::nullopt;
  }
  return VersionedRow{events::read_u64_be(value), value.substr(kVersionBytes)};
}

std::string AutomationsQueries::queue_block(Micros now) const {
  const rocksdb::ReadOptions ro = view_.options();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  std::optional<Micros> next_due;
  std::int64_t due = 0, running = 0;
  for (it->Seek("n"); it->Valid() && it->key().starts_with("n"); it->Next()) {
    const auto at = static_cast<Micros>(events::read_u64_be(it->key().ToStringView(), 1));
    if (!next_due) next_due = at;
    if (at > now) break;
    if (it->value().empty()) ++due;
  }
  for (it->Seek("f"); it->Valid() && it->key().starts_with("f"); it->Next()) ++running;
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("due").value(due).key("running").value(running);
  w.key("next_due_at").instant(next_due).end_object();
  return out;
}

std::vector<DueAutomation> AutomationsQueries::due(Micros now, std::size_t limit,
                                                   std::optional<Micros>& next_wake) const {
  const rocksdb::ReadOptions ro = view_.options();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  std::vector<DueAutomation> out;
  next_wake.reset();
  for (it->Seek("n"); it->Valid() && it->key().starts_with("n"); it->Next()) {
    if (!it->value().empty()) continue;  // a run is in flight: its finish wakes the scheduler
    const auto at = static_cast<Micros>(events::read_u64_be(it->key().ToStringView(), 1));
    if (at > now) {
      next_wake = at;
      break;
    }
    if (out.size() >= limit) break;
    out.push_back({it->key().ToString().substr(9), at});
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> AutomationsQueries::in_flight() const {
  const rocksdb::ReadOptions ro = view_.options();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  std::vector<std::pair<std::string, std::string>> out;
  for (it->Seek("f"); it->Valid() && it->key().starts_with("f"); it->Next()) {
    out.emplace_back(it->key().ToString().substr(1), it->value().ToString());
  }
  return out;
}

std::vector<std::string> AutomationsQueries::list(const AutomationFilter& f) const {
  const rocksdb::ReadOptions ro = view_.options();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  std::vector<std::string> out;
  std::int64_t skipped = 0;
  for (it->Seek("u");
       it->Valid() && it->key().starts_with("u") && static_cast<std::int64_t>(out.size()) < f.limit;
       it->Next()) {
    const std::string tuple = it->value().ToString();
    const auto a = tuple.find('\0'), b = tuple.find('\0', a + 1);
    if ((f.status && tuple.substr(0, a) != *f.status) ||
        (f.capability_name && tuple.substr(a + 1, b - a - 1) != *f.capability_name) ||
        (f.user_id && tuple.substr(b + 1) != *f.user_id)) {
      continue;
    }
    if (skipped++ < f.offset) continue;
    const std::string id = it->key().ToString().substr(9);
    std::string value;
    if (db_->Get(ro, cf_, "r" + id, &value).ok() && value.size() >= kVersionBytes) {
      out.push_back(value.substr(kVersionBytes));
    }
  }
  return out;
}

}  // namespace annals::projections

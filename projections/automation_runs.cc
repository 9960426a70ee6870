#include "projections/automation_runs.h"

#include <limits>
#include <memory>

#include "domain/automation_run.h"
#include "events/automation_codec.h"
#include "events/keys.h"

namespace annals::projections {

namespace {

// Newest first: the RunStarted position, descending (started_at never decreases with it, and
// runs started in the same microsecond keep their order).
std::string list_key(const std::string& automation_id, std::uint64_t position) {
  return "a" + automation_id + '\0' +
         events::u64_be(std::numeric_limits<std::uint64_t>::max() - position);
}

}  // namespace

bool AutomationRunsProjection::projects(fb::Payload type) const {
  return is_one_of(type, {fb::Payload::AutomationRunStarted, fb::Payload::AutomationRunFinished,
                          fb::Payload::AlertDelivered});
}

void AutomationRunsProjection::apply(const events::StoredEvent& e, Rows& rows) {
  const auto type = e.type();
  if (!projects(type)) return;
  const auto* stream = e.event().stream();
  if (stream == nullptr || !stream->string_view().starts_with("automation-")) return;
  auto event = events::decode_automation_event(e);
  if (!event) return;
  const std::string automation_id(stream->string_view().substr(11));
  if (const auto* s = std::get_if<automation::RunStarted>(&*event)) {
    auto run = automation::run_started(automation_id, *s);
    const std::string key = list_key(automation_id, e.position);
    rows.put("r" + run.id, automation::render(run));
    rows.put(key, run.status + '\0' + run.id);
    rows.put("k" + run.id, key);
    return;
  }
  const std::string run_id = std::visit(
      [](const auto& ev) -> std::string {
        if constexpr (requires { ev.run_id; }) {
          return ev.run_id;
        } else {
          return {};
        }
      },
      *event);
  auto row = rows.get("r" + run_id);
  if (!row) return;
  auto run = automation::run_from_json(*row);
  if (!run) return;
  if (const auto* f = std::get_if<automation::RunFinished>(&*event)) {
    automation::run_finished(*run, *f);
    if (auto key = rows.get("k" + run->id)) rows.put(*key, run->status + '\0' + run->id);
    if (run->alert_fired) rows.put("p" + run->id, automation_id);
  } else if (const auto* d = std::get_if<automation::AlertDelivered>(&*event)) {
    automation::run_delivered(*run, *d, e.event().recorded_at());
    rows.remove("p" + run->id);
  }
  rows.put("r" + run->id, automation::render(*run));
}

std::optional<std::string> AutomationRunsQueries::get(const std::string& run_id) const {
  std::string value;
  if (!db_->Get(view_.options(), cf_, "r" + run_id, &value).ok()) return std::nullopt;
  return value;
}

std::vector<std::string> AutomationRunsQueries::list(const std::string& automation_id,
                                                     const std::optional<std::string>& status,
                                                     std::int64_t limit,
                                                     std::int64_t offset) const {
  const rocksdb::ReadOptions ro = view_.options();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  const std::string prefix = "a" + automation_id + '\0';
  std::vector<std::string> out;
  std::int64_t skipped = 0;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix) &&
                         static_cast<std::int64_t>(out.size()) < limit;
       it->Next()) {
    const auto v = it->value().ToStringView();
    const auto nul = v.find('\0');
    if (nul == std::string_view::npos) continue;
    if (status && v.substr(0, nul) != *status) continue;
    if (skipped++ < offset) continue;
    std::string value;
    const std::string run_id(v.substr(nul + 1));
    if (db_->Get(ro, cf_, "r" + run_id, &value).ok()) out.push_back(std::move(value));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> AutomationRunsQueries::undelivered() const {
  const rocksdb::ReadOptions ro = view_.options();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  std::vector<std::pair<std::string, std::string>> out;
  for (it->Seek("p"); it->Valid() && it->key().starts_with("p"); it->Next()) {
    out.emplace_back(it->value().ToString(), it->key().ToString().substr(1));
  }
  return out;
}

}  // namespace annals::projections

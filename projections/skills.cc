#include "projections/skills.h"

#include <cstring>
#include <limits>
#include <memory>

#include "domain/candidate.h"
#include "domain/json_text.h"
#include "domain/money.h"
#include "domain/skill.h"
#include "events/candidate_codec.h"
#include "events/keys.h"
#include "events/skill_codec.h"

namespace annals::projections {

namespace {

constexpr std::size_t kVersionBytes = 8;

std::string desc(std::uint64_t v) { return events::u64_be(desc_be(v).v); }
std::string desc_time(Micros t) { return desc(static_cast<std::uint64_t>(t)); }

// The skill id of an event on a skill stream, or "".
std::string_view skill_id_view(const events::StoredEvent& e) {
  const auto* s = e.event().stream();
  if (s == nullptr || !s->string_view().starts_with("skill-")) return {};
  return s->string_view().substr(6);
}
std::string skill_of(const events::StoredEvent& e) { return std::string(skill_id_view(e)); }

std::string order_key(const skill::Skill& s) { return "u" + desc_time(s.updated_at) + s.id; }

std::string actor_of(const events::StoredEvent& e) {
  return e.event().actor() ? e.event().actor()->str() : std::string();
}

// The fields of a value "a 0 b 0 c".
std::vector<std::string_view> fields(std::string_view v) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  for (;;) {
    const auto nul = v.find('\0', at);
    out.push_back(v.substr(at, nul == std::string_view::npos ? v.npos : nul - at));
    if (nul == std::string_view::npos) return out;
    at = nul + 1;
  }
}

}  // namespace

bool SkillsProjection::projects(fb::Payload type) const {
  return is_one_of(type, {fb::Payload::SkillRegistered, fb::Payload::SkillVersionAdded,
                          fb::Payload::SkillStateChanged, fb::Payload::SkillFlagChanged,
                          fb::Payload::SkillPromotionHeld, fb::Payload::SkillRunRecorded,
                          fb::Payload::DivergenceRecorded, fb::Payload::FixtureAdded,
                          fb::Payload::EvolutionScheduled, fb::Payload::EvolutionAttempted});
}

void SkillsProjection::apply(const events::StoredEvent& e, Rows& rows) {
  const fb::Payload type = e.type();
  if (!projects(type)) return;
  if (type == fb::Payload::SkillRunRecorded || type == fb::Payload::DivergenceRecorded ||
      type == fb::Payload::FixtureAdded) {
    // Evidence leaves the record as it is; its ETag (the stream version) moves on.
    const std::string id = skill_of(e);
    if (!id.empty()) rows.put("e" + id, events::u64_be(e.event().version()));
    return;
  }
  const std::string id = skill_of(e);
  if (id.empty()) return;
  auto event = events::decode_skill_event(e);
  if (!event) return;
  const Micros at = e.event().recorded_at();
  std::optional<skill::Skill> s;
  if (!std::holds_alternative<skill::Registered>(*event)) {
    auto row = rows.get("r" + id);
    if (!row) return;
    s = skill::skill_from_json(*row);
    if (!s) return;
    rows.remove(order_key(*s));
  }
  skill::evolve(s, *event, at);
  if (const auto* v = std::get_if<skill::VersionAdded>(&*event)) {
    const skill::Version version{
        v->version_id,     v->version_number, v->yaml_backbone, v->step_content,
        v->output_schemas, v->created_by,     v->changelog,     at};
    const std::string text = skill::render(version, id);
    rows.put("v" + id + '\0' + desc(static_cast<std::uint64_t>(v->version_number)), text);
    rows.put("x" + id + '\0' + v->version_id, text);
    // Keep only the current version in the record.
    std::erase_if(s->versions, [&](const auto& x) { return s->current_version_id != x.id; });
  }
  if (const auto* c = std::get_if<skill::StateChanged>(&*event)) {
    rows.put("t" + id + '\0' + desc(e.position),
             skill::render_transition(*c, id, actor_of(e), at, e.position));
  }
  rows.put("r" + id, skill::render(*s, trusted_rate_, true));
  rows.put("e" + id, events::u64_be(e.event().version()));
  // Pending evolution work, oldest first (the work list and the queue).
  auto work_key = rows.get("q" + id);
  if (s->pending_evolution && !work_key) {
    const auto& p = *s->pending_evolution;
    std::string w;
    JsonWriter jw(w);
    jw.begin_object().key("work_id").value(p.work_id).key("skill_id").value(id);
    jw.key("capability_name").value(s->capability_name).key("triggered_by").value(p.triggered_by);
    jw.key("nightly_run_id").value(p.nightly_run_id).key("scheduled_at").instant(p.scheduled_at);
    jw.end_object();
    const std::string key = "w" + events::u64_be(e.position) + id;
    rows.put(key, w);
    rows.put("q" + id, key);
  } else if (!s->pending_evolution && work_key) {
    rows.remove(*work_key);
    rows.remove("q" + id);
  }
  rows.put(order_key(*s), s->state + '\0' + s->capability_name);
}

bool SkillRunsProjection::projects(fb::Payload type) const {
  return is_one_of(type, {fb::Payload::SkillRunRecorded});
}

void SkillRunsProjection::apply(const events::StoredEvent& e, Rows& rows) {
  const auto* r = e.event().payload_as_SkillRunRecorded();
  const std::string_view id = skill_id_view(e);
  if (r == nullptr || id.empty() || r->run_id() == nullptr) return;
  thread_local std::string key, value;
  const Be64 position{e.position};
  const std::string_view run_id = r->run_id()->string_view();
  const std::string_view status = r->status() ? r->status()->string_view() : std::string_view();
  const std::string_view version =
      r->skill_version_id() ? r->skill_version_id()->string_view() : std::string_view();
  const Be64 started = desc_be(static_cast<std::uint64_t>(r->started_at()));
  const Be64 at = desc_be(e.position);
  rows.put_unread(join_into(key, 'r', run_id), join_into(value, position));
  rows.put_unread(join_into(key, 'a', started, at),
                  join_into(value, position, status, '\0', id, '\0', run_id));
  if (status != "succeeded") rows.add_counter(join_into(key, 'f', id), 1);
  rows.put_unread(join_into(key, 's', id, '\0', started, at),
                  join_into(value, position, status, '\0', version, '\0', run_id));
}

bool DivergencesProjection::projects(fb::Payload type) const {
  return is_one_of(type, {fb::Payload::DivergenceRecorded});
}

void DivergencesProjection::apply(const events::StoredEvent& e, Rows& rows) {
  const auto* d = e.event().payload_as_DivergenceRecorded();
  const std::string_view id = skill_id_view(e);
  if (d == nullptr || id.empty() || d->divergence_id() == nullptr || d->run_id() == nullptr) {
    return;
  }
  thread_local std::string key, position;
  join_into(position, Be64{e.position});
  rows.put_unread(join_into(key, 'r', d->divergence_id()->string_view()), position);
  rows.put_unread(join_into(key, 'l', d->run_id()->string_view()), position);
  rows.put_unread(join_into(key, 's', id, '\0', desc_be(e.position)), position);
  // Per skill: the number of divergences and the sum of their agreements (the evolution stats).
  std::int64_t count = 0;
  double sum = 0;
  join_into(key, 'm', id);
  if (auto m = rows.get(key); m && m->size() == 16) {
    std::memcpy(&count, m->data(), 8);
    std::memcpy(&sum, m->data() + 8, 8);
  }
  ++count;
  sum += d->overall_agreement();
  char m[16];
  std::memcpy(m, &count, 8);
  std::memcpy(m + 8, &sum, 8);
  rows.put(key, std::string_view(m, 16));
}

namespace {

std::string candidate_order(const candidate::Candidate& c) {
  return "o" + desc(static_cast<std::uint64_t>(c.expected_savings_micro_usd)) +
         desc_time(c.reported_at) + c.id;
}

std::optional<candidate::Candidate> candidate_from_row(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  candidate::Candidate c;
  c.id = j["id"];
  if (!j["capability_name"].is_null()) c.capability_name = j["capability_name"];
  c.expected_savings_micro_usd = usd_to_micros(j["expected_savings_usd"].get<double>()).value_or(0);
  c.volume_30d = j["volume_30d"];
  if (!j["variance_score"].is_null()) c.variance_score = j["variance_score"].get<double>();
  c.status = j["status"];
  c.reported_at = parse_instant(j["reported_at"].get<std::string>()).value_or(0);
  if (!j["resolved_at"].is_null())
    c.resolved_at = parse_instant(j["resolved_at"].get<std::string>());
  if (!j["reasoning"].is_null()) c.reasoning = j["reasoning"];
  if (!j["pattern_fingerprint"].is_null()) c.pattern_fingerprint = j["pattern_fingerprint"];
  if (!j["skill_id"].is_null()) c.skill_id = j["skill_id"];
  if (const auto& w = j["draft_work"]; w.is_object()) {
    c.draft_work =
        candidate::PendingDraft{w["work_id"], w["triggered_by"], std::nullopt,
                                parse_instant(w["scheduled_at"].get<std::string>()).value_or(0)};
  }
  return c;
}

}  // namespace

bool CandidatesProjection::projects(fb::Payload type) const {
  return is_one_of(type, {fb::Payload::CandidateReported, fb::Payload::CandidateStatusChanged,
                          fb::Payload::DraftScheduled, fb::Payload::DraftAttempted});
}

void CandidatesProjection::apply(const events::StoredEvent& e, Rows& rows) {
  if (!projects(e.type())) return;
  auto event = events::decode_candidate_event(e);
  if (!event) return;
  std::map<std::string, candidate::Candidate> one;
  const std::string id = std::visit([](const auto& x) { return x.candidate_id; }, *event);
  if (!std::holds_alternative<candidate::Reported>(*event)) {
    auto row = rows.get("r" + id);
    if (!row) return;
    auto c = candidate_from_row(*row);
    if (!c) return;
    rows.remove(candidate_order(*c));
    one[id] = std::move(*c);
  }
  std::visit([&](const auto& x) { candidate::apply(one, x, e.event().recorded_at()); }, *event);
  const auto& c = one.at(id);
  rows.put("r" + id, candidate::render(c));
  rows.put(candidate_order(c), c.status + '\0' + c.capability_name.value_or(""));
}

std::optional<std::string> CandidatesQueries::get(const std::string& id) const {
  std::string value;
  if (!db_->Get(view_.options(), cf_, "r" + id, &value).ok()) return std::nullopt;
  return value;
}

std::vector<std::string> CandidatesQueries::draft_work(Page p) const {
  std::vector<std::string> out;
  std::int64_t skipped = 0;
  for (const auto& row :
       list(std::string("new"), std::nullopt, {std::numeric_limits<std::int64_t>::max(), 0})) {
    if (static_cast<std::int64_t>(out.size()) >= p.limit) break;
    const auto j = nlohmann::json::parse(row);
    if (!j["draft_work"].is_object()) continue;
    if (skipped++ < p.offset) continue;
    nlohmann::ordered_json w = {{"work_id", j["draft_work"]["work_id"]},
                                {"candidate_id", j["id"]},
                                {"capability_name", j["capability_name"]},
                                {"expected_savings_usd", j["expected_savings_usd"]},
                                {"triggered_by", j["draft_work"]["triggered_by"]},
                                {"scheduled_at", j["draft_work"]["scheduled_at"]}};
    out.push_back(w.dump());
  }
  return out;
}

std::vector<std::string> CandidatesQueries::list(const std::optional<std::string>& status,
                                                 const std::optional<std::string>& capability,
                                                 Page p) const {
  const rocksdb::ReadOptions ro = view_.options();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  std::vector<std::string> out;
  std::int64_t skipped = 0;
  for (it->Seek("o");
       it->Valid() && it->key().starts_with("o") && static_cast<std::int64_t>(out.size()) < p.limit;
       it->Next()) {
    const auto f = fields(it->value().ToStringView());
    if (status && f[0] != *status) continue;
    if (capability && (f.size() < 2 || f[1] != *capability)) continue;
    if (skipped++ < p.offset) continue;
    if (auto row = get(std::string(it->key().ToStringView().substr(17))))
      out.push_back(std::move(*row));
  }
  return out;
}

bool NightlyRunsProjection::projects(fb::Payload type) const {
  return is_one_of(type, {fb::Payload::NightlyRunCompleted});
}

void NightlyRunsProjection::apply(const events::StoredEvent& e, Rows& rows) {
  const auto* p = e.event().payload_as_NightlyRunCompleted();
  if (p == nullptr) return;
  const std::string id = p->run_id() ? p->run_id()->str() : "";
  const std::string text =
      skill::render_nightly(id, p->trigger() ? p->trigger()->str() : "", p->started_at(),
                            p->finished_at(), p->report() ? p->report()->str() : "{}");
  rows.put("r" + id, text);
  rows.put("s" + desc(e.position), text);
}

bool EvolutionLogProjection::projects(fb::Payload type) const {
  return is_one_of(type, {fb::Payload::EvolutionAttempted});
}

void EvolutionLogProjection::apply(const events::StoredEvent& e, Rows& rows) {
  if (!projects(e.type())) return;
  const std::string id = skill_of(e);
  auto event = events::decode_skill_event(e);
  if (id.empty() || !event) return;
  const auto& a = std::get<skill::EvolutionAttempted>(*event);
  const std::string text = skill::render_attempt(a, id, e.event().recorded_at(), e.position);
  rows.put("r" + a.attempt_id, text);
  rows.put("s" + id + '\0' + desc(e.position), text);
}

bool FixturesProjection::projects(fb::Payload type) const {
  return is_one_of(type, {fb::Payload::FixtureAdded});
}

void FixturesProjection::apply(const events::StoredEvent& e, Rows& rows) {
  if (!projects(e.type())) return;
  const std::string id = skill_of(e);
  auto event = events::decode_skill_event(e);
  if (id.empty() || !event) return;
  const auto& f = std::get<skill::FixtureAdded>(*event);
  const std::string text = skill::render_fixture(f, id, e.event().recorded_at());
  rows.put("r" + f.fixture_id, text);
  rows.put("s" + id + '\0' + desc(e.position), text);
}

std::vector<std::string> PerSkillQueries::list(const std::string& skill_id, Page p) const {
  return scan("s" + skill_id + '\0', p);
}

std::vector<std::string> PerSkillQueries::all(Page p) const { return scan("s", p); }

std::optional<std::string> PerSkillQueries::get(const std::string& id) const {
  std::string value;
  if (!db_->Get(view_.options(), cf_, "r" + id, &value).ok()) return std::nullopt;
  return value;
}

std::vector<std::string> PerSkillQueries::scan(const std::string& prefix, Page p) const {
  const rocksdb::ReadOptions ro = view_.options();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  std::vector<std::string> out;
  std::int64_t skipped = 0;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix) &&
                         static_cast<std::int64_t>(out.size()) < p.limit;
       it->Next()) {
    if (skipped++ < p.offset) continue;
    out.push_back(it->value().ToString());
  }
  return out;
}

bool CorrectionsProjection::projects(fb::Payload type) const {
  return is_one_of(type, {fb::Payload::CorrectionRecorded});
}

void CorrectionsProjection::apply(const events::StoredEvent& e, Rows& rows) {
  auto c = events::decode_correction(e);
  if (!c) return;
  rows.put("r" + c->correction_id, skill::render_correction(*c, e.event().recorded_at()));
  const std::string order = desc_time(c->timestamp) + c->correction_id;
  rows.put("a" + order, "");
  rows.put("t" + c->task_type + '\0' + order, "");
}

std::vector<std::string> CorrectionsQueries::list(const CorrectionFilter& f, Page p) const {
  const rocksdb::ReadOptions ro = view_.options();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  const std::string prefix = f.task_type ? "t" + *f.task_type + '\0' : "a";
  std::vector<std::string> keys;
  std::int64_t skipped = 0;
  // until is exclusive: start after every key of `until` itself.
  it->Seek(f.until ? prefix + desc_time(*f.until - 1) : prefix);
  for (; it->Valid() && it->key().starts_with(prefix) &&
         static_cast<std::int64_t>(keys.size()) < p.limit;
       it->Next()) {
    const auto key = it->key().ToStringView();
    const auto at = static_cast<Micros>(std::numeric_limits<std::uint64_t>::max() -
                                        events::read_u64_be(key, prefix.size()));
    if (f.since && at < *f.since) break;
    if (skipped++ < p.offset) continue;
    keys.push_back("r" + std::string(key.substr(prefix.size() + 8)));
  }
  std::vector<std::string> out;
  for (auto& value : events::multi_get(db_, ro, cf_, keys)) {
    if (value) out.push_back(std::move(*value));
  }
  return out;
}

std::vector<std::string> SkillsQueries::scan(
    rocksdb::ColumnFamilyHandle* cf, const std::string& prefix, Page p,
    const std::function<std::optional<std::string>(std::string_view, std::string_view)>& take)
    const {
  const rocksdb::ReadOptions ro = view_.options();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf));
  std::vector<std::string> out;
  std::int64_t skipped = 0;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix) &&
                         static_cast<std::int64_t>(out.size()) < p.limit;
       it->Next()) {
    auto item = take(it->key().ToStringView(), it->value().ToStringView());
    if (!item) continue;
    if (skipped++ < p.offset) continue;
    out.push_back(std::move(*item));
  }
  return out;
}

std::optional<VersionedRow> SkillsQueries::get(const std::string& id) const {
  std::string value;
  std::string version;
  const auto ro = view_.options();
  if (!db_->Get(ro, skills_, "r" + id, &value).ok() ||
      !db_->Get(ro, skills_, "e" + id, &version).ok() || version.size() < kVersionBytes) {
    return std::nullopt;
  }
  return VersionedRow{events::read_u64_be(version), std::move(value)};
}

std::vector<std::string> SkillsQueries::list(const std::optional<std::string>& state,
                                             const std::optional<std::string>& capability,
                                             Page p) const {
  const auto keys =
      scan(skills_, "u", p,
           [&](std::string_view key, std::string_view value) -> std::optional<std::string> {
             const auto f = fields(value);
             if (state && f[0] != *state) return std::nullopt;
             if (capability && (f.size() < 2 || f[1] != *capability)) return std::nullopt;
             return "r" + std::string(key.substr(9));
           });
  std::vector<std::string> out;
  for (auto& row : events::multi_get(db_, view_.options(), skills_, keys)) {
    if (row) out.push_back(std::move(*row));
  }
  return out;
}

std::vector<std::string> SkillsQueries::transitions(const std::string& skill_id, Page p) const {
  return scan(skills_, "t" + skill_id + '\0', p,
              [](std::string_view, std::string_view v) { return std::string(v); });
}

std::vector<std::string> SkillsQueries::versions(const std::string& skill_id, Page p) const {
  return scan(skills_, "v" + skill_id + '\0', p,
              [](std::string_view, std::string_view v) { return std::string(v); });
}

std::optional<std::string> SkillsQueries::version(const std::string& skill_id,
                                                  const std::string& version_id) const {
  std::string value;
  if (!db_->Get(view_.options(), skills_, "x" + skill_id + '\0' + version_id, &value).ok()) {
    return std::nullopt;
  }
  return value;
}

namespace {

// The skill event `e` as its type T, rendered by render(event, skill_id, at).
template <typename T, typename Render>
std::optional<std::string> render_skill_event(const events::StoredEvent& e, Render&& render) {
  auto event = events::decode_skill_event(e);
  const std::string id = skill_of(e);
  if (!event || id.empty()) return std::nullopt;
  const auto* x = std::get_if<T>(&*event);
  if (x == nullptr) return std::nullopt;
  return render(*x, id, e.event().recorded_at());
}

// The skill event of type T at the position a row holds, rendered by render(event, skill_id, at).
template <typename T, typename Render>
std::optional<std::string> render_event_at(const events::EventStore& store,
                                           const events::ReadView& view, std::string_view position,
                                           Render&& render) {
  if (position.size() < 8) return std::nullopt;
  const auto e = store.read(view, events::read_u64_be(position));
  if (!e) return std::nullopt;
  return render_skill_event<T>(*e, render);
}

// The same for a page of positions, read from the log in one batch.
template <typename T, typename Render>
std::vector<std::string> render_events_at(const events::EventStore& store,
                                          const events::ReadView& view,
                                          const std::vector<std::string>& positions,
                                          Render&& render) {
  std::vector<std::uint64_t> at;
  for (const auto& p : positions) {
    if (p.size() >= 8) at.push_back(events::read_u64_be(p));
  }
  std::vector<std::string> out;
  for (const auto& e : store.read_many(view, at)) {
    if (!e) continue;
    if (auto text = render_skill_event<T>(*e, render)) out.push_back(std::move(*text));
  }
  return out;
}

}  // namespace

std::optional<std::string> SkillsQueries::run_at(std::string_view position, bool detail) const {
  return render_event_at<skill::RunRecorded>(
      store_, view_, position, [detail](const auto& r, const std::string& id, Micros at) {
        return skill::render_run(r, id, at, detail);
      });
}

std::optional<std::string> SkillsQueries::divergence_at(std::string_view position) const {
  return render_event_at<skill::DivergenceRecorded>(store_, view_, position,
                                                    skill::render_divergence);
}

std::optional<std::string> SkillsQueries::run(const std::string& run_id) const {
  std::string position;
  if (!db_->Get(view_.options(), runs_, "r" + run_id, &position).ok()) return std::nullopt;
  return run_at(position, true);
}

std::vector<std::string> SkillsQueries::runs(const std::optional<std::string>& skill_id,
                                             const std::optional<std::string>& status,
                                             const std::optional<std::string>& version_id,
                                             Page p) const {
  const std::string prefix = skill_id ? "s" + *skill_id + '\0' : "a";
  const auto positions =
      scan(runs_, prefix, p,
           [&](std::string_view, std::string_view value) -> std::optional<std::string> {
             if (value.size() < 8) return std::nullopt;
             const auto f = fields(value.substr(8));
             if (f.size() < 3) return std::nullopt;
             if (status && f[0] != *status) return std::nullopt;
             if (version_id && skill_id && f[1] != *version_id) return std::nullopt;
             return std::string(value.substr(0, 8));
           });
  return render_events_at<skill::RunRecorded>(store_, view_, positions,
                                              [](const auto& r, const std::string& id, Micros at) {
                                                return skill::render_run(r, id, at, false);
                                              });
}

std::pair<std::int64_t, double> SkillsQueries::divergence_totals(
    const std::string& skill_id) const {
  std::string m;
  std::int64_t count = 0;
  double sum = 0;
  if (db_->Get(view_.options(), divergences_, "m" + skill_id, &m).ok() && m.size() == 16) {
    std::memcpy(&count, m.data(), 8);
    std::memcpy(&sum, m.data() + 8, 8);
  }
  return {count, sum};
}

std::vector<std::string> SkillsQueries::evolution_work(Page p) const {
  return scan(skills_, "w", p, [](std::string_view, std::string_view v) { return std::string(v); });
}

std::int64_t SkillsQueries::failed_runs(const std::string& skill_id) const {
  std::string v;
  if (!db_->Get(view_.options(), runs_, "f" + skill_id, &v).ok() || v.size() != 8) return 0;
  return static_cast<std::int64_t>(events::read_u64_be(v));
}

std::optional<std::string> SkillsQueries::latest_divergence(const std::string& run_id) const {
  std::string position;
  if (!db_->Get(view_.options(), divergences_, "l" + run_id, &position).ok()) return std::nullopt;
  return divergence_at(position);
}

std::vector<std::string> SkillsQueries::divergences(const std::string& skill_id, Page p) const {
  const auto positions =
      scan(divergences_, "s" + skill_id + '\0', p, [](std::string_view, std::string_view position) {
        return std::optional<std::string>(position);
      });
  return render_events_at<skill::DivergenceRecorded>(store_, view_, positions,
                                                     skill::render_divergence);
}

}  // namespace annals::projections

#include "projections/lessons.h"

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <memory>
#include <stdexcept>

#include "domain/json_text.h"
#include "domain/lesson.h"
#include "events/keys.h"
#include "events/lesson_codec.h"
#include "projections/raw_json.h"

namespace annals::projections {

namespace {

using events::append_u64_be;
using events::read_u64_be;

std::string inverted(std::int64_t id) {
  return events::u64_be(std::numeric_limits<std::uint64_t>::max() - static_cast<std::uint64_t>(id));
}

std::int64_t id_from_inverted(std::string_view s, std::size_t offset) {
  return static_cast<std::int64_t>(std::numeric_limits<std::uint64_t>::max() -
                                   read_u64_be(s, offset));
}

// The filter tuple of a lesson.
struct Tuple {
  Micros created_at = 0;
  std::string lesson_type, status;
  std::optional<std::string> repo, work_item_id;
};

void put_opt(std::string& out, const std::optional<std::string>& s) {
  out.push_back(s ? 1 : 0);
  if (!s) return;
  append_u64_be(out, s->size());
  out += *s;
}

std::optional<std::string> get_opt(std::string_view in, std::size_t& pos) {
  if (pos >= in.size() || in[pos++] == 0) return std::nullopt;
  const std::size_t n = read_u64_be(in, pos);
  pos += 8;
  std::string s(in.substr(pos, n));
  pos += n;
  return s;
}

std::string encode(const Tuple& t) {
  std::string out;
  append_u64_be(out, static_cast<std::uint64_t>(t.created_at));
  put_opt(out, t.lesson_type);
  put_opt(out, t.status);
  put_opt(out, t.repo);
  put_opt(out, t.work_item_id);
  return out;
}

Tuple decode(std::string_view in) {
  Tuple t;
  t.created_at = static_cast<Micros>(read_u64_be(in));
  std::size_t pos = 8;
  t.lesson_type = get_opt(in, pos).value_or("");
  t.status = get_opt(in, pos).value_or("");
  t.repo = get_opt(in, pos);
  t.work_item_id = get_opt(in, pos);
  return t;
}

Tuple tuple_of(const lesson::Lesson& l) {
  return {l.created_at, l.fields.lesson_type, l.fields.status, l.fields.repo,
          l.fields.work_item_id};
}

std::string index_key(char code, std::string_view value, std::int64_t id) {
  std::string k;
  k.reserve(value.size() + 11);
  k.push_back('i');
  k.push_back(code);
  k.append(value);
  k.push_back('\0');
  k += inverted(id);
  return k;
}

std::string index_prefix(char code, std::string_view value) {
  std::string k = {'i', code};
  k.append(value);
  k.push_back('\0');
  return k;
}

template <typename Fn>
void for_each_index(const Tuple& t, Fn&& fn) {
  fn('t', t.lesson_type);
  fn('s', t.status);
  if (t.repo) fn('p', *t.repo);
  if (t.work_item_id) fn('w', *t.work_item_id);
}

std::string counter_key(char code, std::string_view value) {
  std::string k = {'c', code};
  k.append(value);
  return k;
}

// Reads back a row written by lesson::render (every member present, in render's order).
// simdjson's on-demand parser: an update applies to a row read back from the read model, and a
// DOM parse of the row had been the largest part of applying one.
lesson::Lesson parse_row(std::string_view row) {
  thread_local simdjson::ondemand::parser parser;
  const simdjson::padded_string text(row);
  auto fail = [&](simdjson::error_code e) {
    throw std::runtime_error(std::string("unreadable lesson row: ") + simdjson::error_message(e));
  };
  simdjson::ondemand::document doc;
  if (auto e = parser.iterate(text).get(doc)) fail(e);
  simdjson::ondemand::object object;
  if (auto e = doc.get_object().get(object)) fail(e);
  lesson::Lesson l;
  auto& f = l.fields;
  for (auto member : object) {
    std::string_view key;
    if (auto e = member.unescaped_key().get(key)) fail(e);
    simdjson::ondemand::value v;
    if (auto e = member.value().get(v)) fail(e);
    bool is_null = false;
    if (auto e = v.is_null().get(is_null)) fail(e);
    auto text_of = [&]() -> std::string {
      std::string_view sv;
      if (auto e = v.get_string().get(sv)) fail(e);
      return std::string(sv);
    };
    auto opt = [&]() -> std::optional<std::string> {
      return is_null ? std::nullopt : std::optional(text_of());
    };
    if (key == "id") {
      if (auto e = v.get_int64().get(l.id)) fail(e);
    } else if (key == "lesson_type") {
      f.lesson_type = text_of();
    } else if (key == "work_item_id") {
      f.work_item_id = opt();
    } else if (key == "task_id") {
      f.task_id = opt();
    } else if (key == "stage") {
      f.stage = opt();
    } else if (key == "agent") {
      f.agent = opt();
    } else if (key == "repo") {
      f.repo = opt();
    } else if (key == "root_cause") {
      f.root_cause = opt();
    } else if (key == "suggestion") {
      f.suggestion = opt();
    } else if (key == "status") {
      f.status = text_of();
    } else if (key == "related_task") {
      f.related_task = opt();
    } else if (key == "attribution") {
      f.attribution = opt();
    } else if (key == "target_repo") {
      f.target_repo = opt();
    } else if (key == "target_domain") {
      f.target_domain = opt();
    } else if (key == "source") {
      f.source = text_of();
    } else if (key == "detail") {
      // The compact text render wrote, byte for byte.
      if (!is_null) {
        std::string_view raw;
        if (auto e = raw_json_of(v, raw)) fail(e);
        f.detail = std::string(raw);
      }
    } else if (key == "created_at") {
      l.created_at = parse_instant(text_of()).value_or(0);
    } else if (key == "updated_at" && !is_null) {
      l.updated_at = parse_instant(text_of());
    }
  }
  return l;
}

// A row is the lesson stream's version (the resource's ETag) followed by the lesson JSON.
constexpr std::size_t kVersionBytes = 8;

void write_lesson(const lesson::Lesson& l, std::uint64_t version, Rows& rows) {
  const Tuple t = tuple_of(l);
  const std::string tuple = encode(t);
  std::string row = events::u64_be(version);
  row += lesson::render(l);
  rows.put("r" + inverted(l.id), row);
  // The tuple and index rows are never read back while applying: a rebuild need not look them up.
  rows.put_unread("k" + inverted(l.id), tuple);
  for_each_index(t, [&](char code, const std::string& v) {
    rows.put_unread(index_key(code, v, l.id), tuple);
  });
}

void remove_indexes(const lesson::Lesson& l, Rows& rows) {
  for_each_index(tuple_of(l),
                 [&](char code, const std::string& v) { rows.remove(index_key(code, v, l.id)); });
}

std::int64_t lesson_id_of(const events::StoredEvent& e) {
  const auto* s = e.event().stream();
  if (s == nullptr || !s->string_view().starts_with("lesson-")) return 0;
  return std::strtoll(s->c_str() + 7, nullptr, 10);
}

// The first lesson id created at or after `cutoff` (total + 1 when there is none). Ids are dense
// 1..total and created_at never decreases with id, so "created at or after" holds from one id on.
// That id only moves forward as the clock does, so the last answer (any request's, shared) is
// checked first: two point reads while no lesson crossed the boundary, where a binary search over
// every lesson takes about log2(total). Otherwise the hint still halves the range searched. The
// hint only picks where to look; the answer is checked against the rows every time.
template <typename CreatedAt>
std::int64_t first_created_since(std::int64_t total, Micros cutoff, const CreatedAt& created_at) {
  static std::atomic<std::int64_t> hint{1};
  auto since = [&](std::int64_t id) { return id > total || created_at(id) >= cutoff; };
  const std::int64_t h =
      std::clamp<std::int64_t>(hint.load(std::memory_order_relaxed), 1, total + 1);
  std::int64_t lo = 1, hi = total + 1;  // the answer lies in [lo, hi]
  if (!since(h)) {
    lo = h + 1;
  } else if (h == 1 || !since(h - 1)) {
    lo = hi = h;
  } else {
    hi = h - 1;
  }
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (since(mid)) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  hint.store(lo, std::memory_order_relaxed);
  return lo;
}

}  // namespace

bool LessonsProjection::projects(fb::Payload type) const {
  return is_one_of(type, {fb::Payload::LessonRecorded, fb::Payload::LessonUpdated});
}

void LessonsProjection::reads(const events::StoredEvent& e, std::vector<std::string>& keys) const {
  if (e.type() == fb::Payload::LessonUpdated) keys.push_back("r" + inverted(lesson_id_of(e)));
}

void LessonsProjection::apply(const events::StoredEvent& e, Rows& rows) {
  switch (e.type()) {
    case fb::Payload::LessonRecorded: {
      auto r = events::decode_lesson_recorded(e);
      if (!r) return;
      const auto l = lesson::from_recorded(*r, e.event().recorded_at());
      write_lesson(l, e.event().version(), rows);
      rows.add_counter(counter_key('s', l.fields.status), 1);
      rows.add_counter(counter_key('t', l.fields.lesson_type), 1);
      rows.add_counter("cn", 1);
      return;
    }
    case fb::Payload::LessonUpdated: {
      auto u = events::decode_lesson_updated(e);
      const std::int64_t id = lesson_id_of(e);
      auto row = rows.get("r" + inverted(id));  // the key reads() names
      if (!u || !row) return;
      if (row->size() < kVersionBytes) return;
      auto l = parse_row(row->substr(kVersionBytes));
      const std::string old_status = l.fields.status;
      remove_indexes(l, rows);
      lesson::evolve(l, *u, e.event().recorded_at());
      write_lesson(l, e.event().version(), rows);
      if (old_status != l.fields.status) {
        rows.add_counter(counter_key('s', old_status), -1);
        rows.add_counter(counter_key('s', l.fields.status), 1);
      }
      return;
    }
    default:
      return;
  }
}

// ---------------------------------------------------------------------------------------------

std::optional<VersionedRow> LessonsQueries::get(std::int64_t id) const {
  if (id <= 0) return std::nullopt;
  std::string value;
  if (!db_->Get(view_.options(), cf_, "r" + inverted(id), &value).ok() ||
      value.size() < kVersionBytes) {
    return std::nullopt;
  }
  return VersionedRow{read_u64_be(value), value.substr(kVersionBytes)};
}

std::vector<std::string> LessonsQueries::list(const LessonFilter& f) const {
  // Drive the scan by the most selective filter present; check the others on the tuple.
  std::string prefix = "k";
  if (f.work_item_id) {
    prefix = index_prefix('w', *f.work_item_id);
  } else if (f.repo) {
    prefix = index_prefix('p', *f.repo);
  } else if (f.lesson_type) {
    prefix = index_prefix('t', *f.lesson_type);
  } else if (f.status) {
    prefix = index_prefix('s', *f.status);
  }
  const rocksdb::ReadOptions ro = view_.options();
  std::vector<std::string> keys;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  std::int64_t skipped = 0;
  for (it->Seek(prefix); it->Valid() && static_cast<std::int64_t>(keys.size()) < f.limit;
       it->Next()) {
    const auto key = it->key().ToStringView();
    if (!key.starts_with(prefix)) break;
    const Tuple t = decode(it->value().ToStringView());
    if ((f.lesson_type && t.lesson_type != *f.lesson_type) || (f.status && t.status != *f.status) ||
        (f.repo && t.repo != f.repo) || (f.work_item_id && t.work_item_id != f.work_item_id)) {
      continue;
    }
    if (skipped < f.offset) {
      ++skipped;
      continue;
    }
    keys.push_back("r" + inverted(id_from_inverted(key, key.size() - 8)));
  }
  std::vector<std::string> out;
  for (auto& row : events::multi_get(db_, ro, cf_, keys)) {
    if (row && row->size() >= kVersionBytes) out.push_back(row->substr(kVersionBytes));
  }
  return out;
}

std::string LessonsQueries::snapshot(Micros now) const {
  const rocksdb::ReadOptions ro = view_.options();
  auto count_at = [&](const std::string& key) -> std::uint64_t {
    std::string v;
    return db_->Get(ro, cf_, key, &v).ok() && v.size() == 8 ? read_u64_be(v) : 0;
  };
  const auto total = static_cast<std::int64_t>(count_at("cn"));
  auto created_at = [&](std::int64_t id) -> Micros {
    std::string v;
    return db_->Get(ro, cf_, "k" + inverted(id), &v).ok() ? decode(v).created_at : 0;
  };
  const std::int64_t lo =
      first_created_since(total, now - 24 * 3600 * kMicrosPerSecond, created_at);
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("enabled").value(true);
  w.key("total").value(total);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  for (char code : {'s', 't'}) {
    w.key(code == 's' ? "by_status" : "by_type").begin_object();
    const std::string prefix = {'c', code};
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      w.key(it->key().ToStringView().substr(2))
          .value(static_cast<std::int64_t>(read_u64_be(it->value().ToStringView())));
    }
    w.end_object();
  }
  w.key("last_24h").value(total + 1 - lo);
  w.key("latest").begin_array();
  int n = 0;
  for (it->Seek("k"); it->Valid() && it->key().starts_with("k") && n < 5; it->Next(), ++n) {
    const Tuple t = decode(it->value().ToStringView());
    w.begin_object();
    w.key("id").value(id_from_inverted(it->key().ToStringView(), 1));
    w.key("type").value(t.lesson_type);
    w.key("created_at").instant(t.created_at);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return out;
}

}  // namespace annals::projections

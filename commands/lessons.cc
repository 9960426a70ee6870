#include "commands/lessons.h"

#include <memory>

#include "commands/body.h"
#include "events/keys.h"
#include "events/lesson_codec.h"

namespace annals::commands {

namespace {

constexpr const char* kNextIdKey = "n";

std::string dedup_state_key(const lesson::Fields& f) { return "d" + lesson::dedup_key(f); }

// Folds lesson-<id> as the transaction sees it.
Folded<lesson::Lesson> fold(events::Transaction& tx, std::int64_t id) {
  return fold_stream<lesson::Lesson>(
      tx, lesson::stream_name(id),
      [](std::optional<lesson::Lesson>& l, const events::StoredEvent& e) {
        if (auto r = events::decode_lesson_recorded(e)) {
          l = lesson::from_recorded(*r, e.event().recorded_at());
        } else if (auto u = events::decode_lesson_updated(e); u && l) {
          lesson::evolve(*l, *u, e.event().recorded_at());
        }
      });
}

}  // namespace

std::expected<lesson::Fields, Problem> parse_record_lesson(const nlohmann::json& body) {
  BodyReader r(body);
  lesson::Fields f;
  f.lesson_type = r.required_string("lesson_type");
  f.work_item_id = r.opt_string("work_item_id");
  f.task_id = r.opt_string("task_id");
  f.stage = r.opt_string("stage");
  f.agent = r.opt_string("agent");
  f.repo = r.opt_string("repo");
  f.root_cause = r.opt_string("root_cause");
  f.suggestion = r.opt_string("suggestion");
  f.status = r.string_or("status", "new");
  f.related_task = r.opt_string("related_task");
  f.attribution = r.opt_string("attribution");
  f.target_repo = r.opt_string("target_repo");
  f.target_domain = r.opt_string("target_domain");
  f.source = r.string_or("source", "manual");
  f.detail = r.opt_json("detail");
  auto errors = r.finish();
  if (!errors.empty()) return std::unexpected(Problem::validation(std::move(errors)));
  return f;
}

std::expected<std::vector<lesson::Change>, Problem> parse_update_lesson(
    const nlohmann::json& body) {
  std::vector<lesson::Change> changes;
  std::vector<FieldError> errors;
  for (const auto& [k, v] : body.items()) {
    if (v.is_null()) {
      changes.push_back({k, std::nullopt});
    } else if (v.is_string()) {
      changes.push_back({k, v.get<std::string>()});
    } else {
      errors.push_back({k, "must be a string or null"});
    }
  }
  // Field names and values are checked by the domain (updatable fields, slugs, lengths).
  auto domain_errors = lesson::validate(changes);
  errors.insert(errors.end(), domain_errors.begin(), domain_errors.end());
  if (!errors.empty()) return std::unexpected(Problem::validation(std::move(errors)));
  return changes;
}

LessonCommands::LessonCommands(CommandBus& bus, const Config& config)
    : bus_(bus), config_(config), state_(bus.store().column_family("agg.lessons")) {}

Reply LessonCommands::decide_record(events::Transaction& tx, lesson::Fields fields,
                                    const CommandContext& ctx) {
  const std::string dkey = dedup_state_key(fields);
  std::optional<lesson::PriorAuto> prior;
  if (auto v = tx.get(state_, dkey); v && v->size() == 16) {
    prior = lesson::PriorAuto{static_cast<std::int64_t>(events::read_u64_be(*v)),
                              static_cast<Micros>(events::read_u64_be(*v, 8))};
  }
  std::int64_t next_id = 1;
  if (auto v = tx.get(state_, kNextIdKey); v && v->size() == 8) {
    next_id = static_cast<std::int64_t>(events::read_u64_be(*v));
  }
  auto decided = lesson::decide_record(std::move(fields), prior, next_id, tx.now(),
                                       config_.lessons_dedup_window_s);
  if (!decided) return Reply::error(decided.error());

  if (auto* dup = std::get_if<lesson::Deduplicated>(&*decided)) {
    deduplicated_.fetch_add(1);
    Reply r;
    r.status = 200;
    r.body = R"({"id":null,"deduplicated":true,"duplicate_of":)" +
             std::to_string(dup->duplicate_of) + "}";
    r.position = fold(tx, dup->duplicate_of).last_position;
    return r;
  }
  auto& recorded = std::get<lesson::Recorded>(*decided);
  const auto lesson_state = lesson::from_recorded(recorded, tx.now());
  const bool is_auto = recorded.fields.source == "auto";
  const std::vector<events::NewEvent> evs{events::encode(recorded)};
  auto appended =
      tx.append(lesson::stream_name(recorded.lesson_id), events::ExpectedVersion::no_stream(), evs,
                {ctx.actor, ctx.correlation_id, std::nullopt});
  if (!appended) return Reply::error(appended.error());
  tx.put(state_, kNextIdKey, events::u64_be(static_cast<std::uint64_t>(recorded.lesson_id + 1)));
  if (is_auto) {
    tx.put(state_, dkey,
           events::u64_be(static_cast<std::uint64_t>(recorded.lesson_id)) +
               events::u64_be(static_cast<std::uint64_t>(tx.now())));
  }
  Reply r;
  r.status = 201;
  r.body = lesson::render(lesson_state);
  r.etag = appended->stream_version;
  r.location = "/lessons/" + std::to_string(recorded.lesson_id);
  r.position = appended->last_position;
  return r;
}

void LessonCommands::record(lesson::Fields fields, CommandContext ctx,
                            std::function<void(Reply)> done) {
  auto shared = std::make_shared<lesson::Fields>(std::move(fields));
  bus_.execute(
      ctx, [this, shared, ctx](events::Transaction& tx) { return decide_record(tx, *shared, ctx); },
      std::move(done));
}

void LessonCommands::update(std::int64_t id, std::vector<lesson::Change> changes,
                            CommandContext ctx, std::function<void(Reply)> done) {
  auto shared = std::make_shared<std::vector<lesson::Change>>(std::move(changes));
  bus_.execute(
      ctx,
      [id, shared, ctx](events::Transaction& tx) {
        auto f = id > 0 ? fold(tx, id) : Folded<lesson::Lesson>{};
        if (!f.state) {
          return Reply::error(Problem::make(ProblemKind::kNotFound,
                                            "Lesson " + std::to_string(id) + " not found."));
        }
        if (auto p = precondition(ctx, f.version)) return *p;
        auto decided = lesson::decide_update(*shared, f.state);
        if (!decided) return Reply::error(decided.error());
        lesson::evolve(*f.state, *decided, tx.now());
        const std::vector<events::NewEvent> evs{events::encode(*decided)};
        auto appended =
            tx.append(lesson::stream_name(id), events::ExpectedVersion::exact(f.version), evs,
                      {ctx.actor, ctx.correlation_id, std::nullopt});
        if (!appended) return Reply::error(appended.error());
        Reply r;
        r.status = 200;
        r.body = lesson::render(*f.state);
        r.etag = appended->stream_version;
        r.position = appended->last_position;
        return r;
      },
      std::move(done));
}

}  // namespace annals::commands

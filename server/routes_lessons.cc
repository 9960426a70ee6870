// Lessons (API §13) and the queue (API §14).
#include "commands/lessons.h"
#include "projections/automations.h"
#include "projections/lessons.h"
#include "projections/skills.h"
#include "server/app.h"

namespace annals::server {

namespace {

constexpr const char* kDisabled = R"({"enabled":false})";

// A path id of a lesson: a positive decimal integer, else it names nothing (404).
std::optional<std::int64_t> lesson_id(const Call& c) {
  const std::string& s = c.params.at("id");
  if (s.empty() || s.size() > 18 || s[0] == '0' ||
      !std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return std::nullopt;
  }
  return std::stoll(s);
}

projections::LessonsQueries lesson_queries(App& app) {
  const auto view = app.store().read_view();
  return projections::LessonsQueries(app.store().db(), view.family("lessons"), view);
}

void list_lessons(App& app, const CallPtr& c) {
  if (!app.config().lessons_enabled) return app.reply_json(c, 200, kDisabled);
  projections::LessonFilter f;
  auto limit = query_int(*c, "limit", 1, 1000);
  auto offset = query_int(*c, "offset", 0, std::numeric_limits<std::int64_t>::max());
  if (!limit) return app.reply_problem(c, limit.error());
  if (!offset) return app.reply_problem(c, offset.error());
  f.limit = limit->value_or(app.config().lessons_query_limit_default);
  f.offset = offset->value_or(0);
  auto opt = [&](const char* name) -> std::optional<std::string> {
    const std::string* v = query_string(*c, name);
    return v ? std::optional(*v) : std::nullopt;
  };
  f.lesson_type = opt("lesson_type");
  f.status = opt("status");
  f.repo = opt("repo");
  f.work_item_id = opt("work_item_id");
  app.after_min_position(c, [&app, c, f] {
    const auto q = lesson_queries(app);
    app.reply_json(c, 200, render_page("lessons", q.list(f), f.limit, f.offset), q.position());
  });
}

void get_lesson(App& app, const CallPtr& c) {
  if (!app.config().lessons_enabled) return app.reply_json(c, 200, kDisabled);
  app.after_min_position(c, [&app, c] {
    const auto q = lesson_queries(app);
    const auto id = lesson_id(*c);
    app.reply_row(c, id ? q.get(*id) : std::nullopt, q.position(), "Lesson not found.");
  });
}

void post_lesson(App& app, const CallPtr& c) {
  if (!app.config().lessons_enabled) return app.reply_json(c, 200, kDisabled);
  auto ctx = app.command_context(c);
  if (auto replay = app.bus().replay(ctx)) return app.reply_command(c, *replay);
  auto fields = commands::parse_record_lesson(c->body);
  if (!fields) return app.reply_problem(c, fields.error());
  app.lessons().record(std::move(*fields), std::move(ctx),
                       [&app, c](commands::Reply r) { app.reply_command(c, r); });
}

void update_lesson(App& app, const CallPtr& c) {
  if (!app.config().lessons_enabled) return app.reply_json(c, 200, kDisabled);
  auto ctx = app.command_context(c);
  if (auto replay = app.bus().replay(ctx)) return app.reply_command(c, *replay);
  auto changes = commands::parse_update_lesson(c->body);
  if (!changes) return app.reply_problem(c, changes.error());
  auto id = lesson_id(*c);
  app.lessons().update(id.value_or(0), std::move(*changes), std::move(ctx),
                       [&app, c](commands::Reply r) { app.reply_command(c, r); });
}

void get_queue(App& app, const CallPtr& c) {
  app.after_min_position(c, [&app, c] {
    // One durable view for every block.
    const auto view = app.store().read_view();
    const projections::AutomationsQueries automations(app.store().db(), view.family("automations"),
                                                      view);
    const projections::LessonsQueries lessons(app.store().db(), view.family("lessons"), view);
    const projections::SkillsQueries skills(app.store(), view);
    const auto pending =
        skills.evolution_work({std::numeric_limits<std::int64_t>::max(), 0}).size();
    const projections::CandidatesQueries candidates(app.store().db(), view.family("candidates"),
                                                    view);
    const auto drafting =
        candidates.draft_work({std::numeric_limits<std::int64_t>::max(), 0}).size();
    std::string body = R"({"automations":)" + automations.queue_block(app.now()) +
                       R"(,"evolution":{"pending":)" + std::to_string(pending) +
                       R"(},"drafting":{"pending":)" + std::to_string(drafting) + R"(},"lessons":)";
    body += app.config().lessons_enabled ? lessons.snapshot(app.now()) : kDisabled;
    body += "}";
    app.reply_json(c, 200, std::move(body), view.head());
  });
}

}  // namespace

void add_lesson_routes(std::vector<Route>& routes) {
  routes.push_back({"GET",
                    "/lessons",
                    Role::kReader,
                    {"lesson_type", "status", "repo", "work_item_id", "limit", "offset"},
                    Route::Body::kNone,
                    list_lessons});
  routes.push_back({"GET", "/lessons/{id}", Role::kReader, {}, Route::Body::kNone, get_lesson});
  routes.push_back({"POST", "/lessons", Role::kWriter, {}, Route::Body::kJson, post_lesson});
  routes.push_back({"POST", "/lessons/{id}", Role::kWriter, {}, Route::Body::kJson, update_lesson});
  routes.push_back({"GET", "/queue", Role::kReader, {}, Route::Body::kNone, get_queue});
}

}  // namespace annals::server

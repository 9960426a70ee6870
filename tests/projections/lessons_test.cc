// The lessons read model and its queries, fed through the lesson commands (SPEC §4, §10.17).
#include "projections/lessons.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>

#include "tests/support/harness.h"

namespace annals {
namespace {

using nlohmann::json;
constexpr Micros kHour = 3600 * kMicrosPerSecond;

lesson::Fields make(std::string type, std::string status = "new",
                    std::optional<std::string> repo = std::nullopt,
                    std::optional<std::string> work_item = std::nullopt) {
  lesson::Fields f;
  f.lesson_type = std::move(type);
  f.status = std::move(status);
  f.repo = std::move(repo);
  f.work_item_id = std::move(work_item);
  return f;
}

std::vector<std::int64_t> ids(const std::vector<std::string>& rows) {
  std::vector<std::int64_t> out;
  for (const auto& r : rows) out.push_back(json::parse(r).at("id").get<std::int64_t>());
  return out;
}

TEST(LessonsReadModel, ListsNewestFirstWithFiltersAndPages) {
  testing::Harness h;
  ASSERT_EQ(h.record(make("gate_failure", "new", "repo-a", "W-1")).status, 201);
  ASSERT_EQ(h.record(make("merge_hold", "new", "repo-b")).status, 201);
  ASSERT_EQ(h.record(make("gate_failure", "closed", "repo-a", "W-2")).status, 201);
  ASSERT_EQ(h.record(make("gate_failure", "new", std::nullopt, "W-1")).status, 201);
  auto q = h.lesson_queries();
  projections::LessonFilter all;
  EXPECT_EQ(ids(q.list(all)), (std::vector<std::int64_t>{4, 3, 2, 1}));
  projections::LessonFilter f;
  f.lesson_type = "gate_failure";
  f.limit = 2;
  EXPECT_EQ(ids(q.list(f)), (std::vector<std::int64_t>{4, 3}));  // LS-05
  f.offset = 2;
  EXPECT_EQ(ids(q.list(f)), (std::vector<std::int64_t>{1}));
  projections::LessonFilter combined;
  combined.lesson_type = "gate_failure";
  combined.status = "new";
  combined.repo = "repo-a";
  EXPECT_EQ(ids(q.list(combined)), (std::vector<std::int64_t>{1}));
  projections::LessonFilter by_work_item;
  by_work_item.work_item_id = "W-1";
  EXPECT_EQ(ids(q.list(by_work_item)), (std::vector<std::int64_t>{4, 1}));
  projections::LessonFilter none;
  none.status = "linked";
  EXPECT_TRUE(q.list(none).empty());
}

TEST(LessonsReadModel, UpdatesMoveIndexesAndCounters) {
  testing::Harness h;
  ASSERT_EQ(h.record(make("gate_failure")).status, 201);
  ASSERT_EQ(h.record(make("gate_failure")).status, 201);
  h.advance(kMicrosPerSecond);
  auto r = h.update(1, {{"status", "closed"}, {"attribution", "platform"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.etag, 2u);
  auto body = json::parse(r.body);
  EXPECT_EQ(body["status"], "closed");
  EXPECT_EQ(body["updated_at"], format_instant(h.now()));
  auto q = h.lesson_queries();
  EXPECT_EQ(json::parse(q.get(1)->json), body);
  EXPECT_EQ(q.get(1)->version, 2u);
  projections::LessonFilter closed;
  closed.status = "closed";
  EXPECT_EQ(ids(q.list(closed)), (std::vector<std::int64_t>{1}));
  projections::LessonFilter fresh;
  fresh.status = "new";
  EXPECT_EQ(ids(q.list(fresh)), (std::vector<std::int64_t>{2}));
  auto snap = json::parse(q.snapshot(h.now()));
  EXPECT_EQ(snap["by_status"], json::parse(R"({"closed":1,"new":1})"));
}

// An update rewrites the row from the row itself: every member it does not change stays as it
// was, byte for byte (detail keeps its text: key order, escapes, number spelling).
TEST(LessonsReadModel, UpdatesKeepEveryOtherMemberOfTheRow) {
  for (const auto& detail :
       {std::optional<std::string>(R"({"z":1.50,"a":[1,{"q":"say \"hi\"\n"}],"m":null})"),
        std::optional<std::string>(R"([3,"x"])"), std::optional<std::string>(R"("just text")"),
        std::optional<std::string>("-2.5e-7"), std::optional<std::string>()}) {
    SCOPED_TRACE(detail.value_or("(none)"));
    testing::Harness h;
    auto f = make("gate_failure", "new", "repo-a", "W-1");
    f.task_id = "T-9";
    f.stage = "review";
    f.agent = "codex";
    f.root_cause = "a \"quoted\" cause \u00e9\t";
    f.suggestion = "split it";
    f.related_task = "T-1";
    f.target_domain = "ci";
    f.detail = detail;
    ASSERT_EQ(h.record(f).status, 201);
    const auto before = json::parse(h.lesson_queries().get(1)->json);
    ASSERT_EQ(h.update(1, {{"status", "closed"}, {"target_repo", "repo-z"}}).status, 200);
    const std::string after_text = h.lesson_queries().get(1)->json;
    auto after = json::parse(after_text);
    EXPECT_EQ(after.at("status"), "closed");
    EXPECT_EQ(after.at("target_repo"), "repo-z");
    EXPECT_TRUE(after.at("updated_at").is_string());
    for (const auto& [key, value] : before.items()) {
      if (key != "status" && key != "target_repo" && key != "updated_at") {
        EXPECT_EQ(after.at(key), value) << key;
      }
    }
    if (detail) {
      EXPECT_NE(after_text.find("\"detail\":" + *detail + ","), std::string::npos) << after_text;
    }
    // A second update reads back the row the first one wrote.
    ASSERT_EQ(h.update(1, {{"attribution", "platform"}}).status, 200);
    after = json::parse(h.lesson_queries().get(1)->json);
    EXPECT_EQ(after.at("root_cause"), before.at("root_cause"));
    EXPECT_EQ(after.at("target_repo"), "repo-z");
    EXPECT_EQ(after.at("attribution"), "platform");
  }
}

TEST(LessonsReadModel, UpdateErrorsAppendNothing) {
  testing::Harness h;
  ASSERT_EQ(h.record(make("gate_failure")).status, 201);
  const auto head = h.store().head();
  EXPECT_EQ(h.update(999, {{"status", "closed"}}).status, 404);
  EXPECT_EQ(h.update(1, {{"status", "closed"}}, /*if_match=*/7).status, 412);
  EXPECT_EQ(h.store().head(), head);
  EXPECT_EQ(h.update(1, {{"status", "closed"}}, /*if_match=*/1).status, 200);
}

TEST(LessonsReadModel, SnapshotMatchesLS08) {
  testing::Harness h;
  ASSERT_EQ(h.record(make("gate_failure")).status, 201);
  h.advance(48 * kHour);
  ASSERT_EQ(h.record(make("gate_failure")).status, 201);
  h.advance(kHour);
  ASSERT_EQ(h.record(make("merge_hold", "closed")).status, 201);
  auto snap = json::parse(h.lesson_queries().snapshot(h.now()));
  EXPECT_EQ(snap["enabled"], true);
  EXPECT_EQ(snap["total"], 3);
  EXPECT_EQ(snap["by_status"], json::parse(R"({"new":2,"closed":1})"));
  EXPECT_EQ(snap["by_type"], json::parse(R"({"gate_failure":2,"merge_hold":1})"));
  EXPECT_EQ(snap["last_24h"], 2);
  ASSERT_EQ(snap["latest"].size(), 3u);
  EXPECT_EQ(snap["latest"][0]["id"], 3);
  EXPECT_EQ(snap["latest"][0]["type"], "merge_hold");
  EXPECT_EQ(snap["latest"][2]["id"], 1);
}

// last_24h counts the lessons created in the 24 hours before `now`, whatever was asked before:
// queries at random times, forwards and backwards, against lessons recorded at random gaps
// (several in the same microsecond among them), each compared with a count over every lesson.
TEST(LessonsReadModel, Last24hCountsExactlyTheLessonsOfTheLastDay) {
  testing::Harness h;
  std::mt19937_64 rng(20261130);
  std::vector<Micros> created;
  auto check = [&](Micros now) {
    const auto expected = std::count_if(created.begin(), created.end(),
                                        [&](Micros at) { return at >= now - 24 * kHour; });
    const auto snap = json::parse(h.lesson_queries().snapshot(now));
    ASSERT_EQ(snap["total"], created.size());
    ASSERT_EQ(snap["last_24h"], expected) << "at " << now;
  };
  const Micros first = h.now();
  for (int i = 0; i < 300; ++i) {
    h.advance(rng() % 3 == 0 ? 0 : static_cast<Micros>(rng() % (6 * kHour)));
    created.push_back(h.now());
    ASSERT_EQ(h.record(make("gate_failure")).status, 201);
    // Now and then, queries over the whole history so far, in random order.
    if (i % 25 == 0) {
      for (int q = 0; q < 40; ++q) {
        check(first - kHour + static_cast<Micros>(rng() % (h.now() - first + 27 * kHour)));
      }
    }
    check(h.now());
  }
  for (int q = 0; q < 400; ++q) {
    check(first - kHour + static_cast<Micros>(rng() % (h.now() - first + 27 * kHour)));
  }
}

TEST(LessonsReadModel, DedupUsesTheWritersClock) {
  testing::Harness h;
  auto f = make("gate_failure", "new", std::nullopt, "W-1");
  f.stage = "review";
  f.source = "auto";
  EXPECT_EQ(h.record(f).status, 201);
  h.advance(600 * kMicrosPerSecond);
  auto dup = h.record(f);
  EXPECT_EQ(dup.status, 200);
  EXPECT_EQ(json::parse(dup.body),
            json::parse(R"({"id":null,"deduplicated":true,"duplicate_of":1})"));
  h.advance(3001 * kMicrosPerSecond);  // T + 3601 s
  auto again = h.record(f);
  EXPECT_EQ(again.status, 201);
  EXPECT_EQ(json::parse(again.body)["id"], 2);
}

TEST(LessonsReadModel, RebuildReproducesTheLiveDigestAndSurvivesReopen) {
  testing::Harness h;
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(h.record(make(i % 3 ? "gate_failure" : "merge_hold", "new",
                            i % 2 ? std::optional<std::string>("r") : std::nullopt))
                  .status,
              201);
    if (i % 5 == 0) {
      ASSERT_EQ(h.update(i + 1, {{"status", "closed"}}).status, 200);
    }
  }
  const auto live = h.projector().status("lessons");
  ASSERT_TRUE(live);
  EXPECT_EQ(live->rows, 50u);
  EXPECT_EQ(live->position, h.store().head());
  auto rebuilt = h.projector().rebuild({"lessons"}, 0);
  ASSERT_EQ(rebuilt.read_models.size(), 1u);
  EXPECT_EQ(rebuilt.read_models[0].digest, live->digest);
  EXPECT_EQ(rebuilt.read_models[0].generation, live->generation + 1);
  // Time travel: a rebuild to an earlier position differs, and catching up restores it.
  auto early = h.projector().rebuild({"lessons"}, 10);
  EXPECT_NE(early.read_models[0].digest, live->digest);
  h.close();
  h.open();
  EXPECT_EQ(h.projector().status("lessons")->digest, live->digest);
  EXPECT_EQ(h.record(make("after_reopen")).status, 201);
}

}  // namespace
}  // namespace annals

// The lesson rules of SPEC §4, table-driven from the acceptance examples of SPEC §10.17.
#include "domain/lesson.h"

#include <gtest/gtest.h>

namespace annals::lesson {
namespace {

constexpr Micros T = 1'776'340'800'000'000;  // 2026-04-16T12:00:00Z
constexpr Micros kSecond = kMicrosPerSecond;

Fields fields(std::string type, std::optional<std::string> work_item,
              std::optional<std::string> stage, std::string source) {
  Fields f;
  f.lesson_type = std::move(type);
  f.work_item_id = std::move(work_item);
  f.stage = std::move(stage);
  f.source = std::move(source);
  return f;
}

// ---- LS-01 .. LS-03: recording and deduplication ----

struct DedupCase {
  const char* name;
  Fields first;
  Micros first_at;
  Fields second;
  Micros second_at;
  std::int64_t window_s;
  bool deduplicated;
};

class Dedup : public ::testing::TestWithParam<DedupCase> {};

TEST_P(Dedup, FollowsTheWindowAndSourceRules) {
  const auto& c = GetParam();
  auto first = decide_record(c.first, std::nullopt, 1, c.first_at, c.window_s);
  ASSERT_TRUE(first);
  ASSERT_TRUE(std::holds_alternative<Recorded>(*first));
  // The writer keeps the latest auto lesson per dedup key.
  std::optional<PriorAuto> prior;
  if (c.first.source == "auto" && dedup_key(c.first) == dedup_key(c.second)) {
    prior = PriorAuto{1, c.first_at};
  }
  auto second = decide_record(c.second, prior, 2, c.second_at, c.window_s);
  ASSERT_TRUE(second);
  if (c.deduplicated) {
    ASSERT_TRUE(std::holds_alternative<Deduplicated>(*second)) << c.name;
    EXPECT_EQ(std::get<Deduplicated>(*second).duplicate_of, 1);
  } else {
    ASSERT_TRUE(std::holds_alternative<Recorded>(*second)) << c.name;
    EXPECT_EQ(std::get<Recorded>(*second).lesson_id, 2);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Lessons, Dedup,
    ::testing::Values(
        DedupCase{"LS-01 manual never deduplicated",
                  fields("gate_failure", "W-1", "review", "manual"), T,
                  fields("gate_failure", "W-1", "review", "manual"), T, 3600, false},
        DedupCase{"LS-02 auto within window", fields("gate_failure", "W-1", "review", "auto"), T,
                  fields("gate_failure", "W-1", "review", "auto"), T + 600 * kSecond, 3600, true},
        DedupCase{"LS-02 auto at the window edge", fields("gate_failure", "W-1", "review", "auto"),
                  T, fields("gate_failure", "W-1", "review", "auto"), T + 3600 * kSecond, 3600,
                  true},
        DedupCase{"LS-02 auto after the window", fields("gate_failure", "W-1", "review", "auto"), T,
                  fields("gate_failure", "W-1", "review", "auto"), T + 3601 * kSecond, 3600, false},
        DedupCase{"LS-03 null key equals null",
                  fields("merge_hold", std::nullopt, std::nullopt, "auto"), T,
                  fields("merge_hold", std::nullopt, std::nullopt, "auto"), T + 60 * kSecond, 3600,
                  true},
        DedupCase{"LS-03 window 0 turns dedup off",
                  fields("merge_hold", std::nullopt, std::nullopt, "auto"), T,
                  fields("merge_hold", std::nullopt, std::nullopt, "auto"), T + 60 * kSecond, 0,
                  false},
        DedupCase{"LS-03 manual then auto",
                  fields("merge_hold", std::nullopt, std::nullopt, "manual"), T,
                  fields("merge_hold", std::nullopt, std::nullopt, "auto"), T + 60 * kSecond, 3600,
                  false},
        DedupCase{"other stage", fields("gate_failure", "W-1", "review", "auto"), T,
                  fields("gate_failure", "W-1", "deploy", "auto"), T + 60 * kSecond, 3600, false},
        DedupCase{"null differs from empty", fields("gate_failure", std::nullopt, "", "auto"), T,
                  fields("gate_failure", std::nullopt, std::nullopt, "auto"), T + 60 * kSecond,
                  3600, false}),
    [](const auto& info) {
      std::string n = info.param.name;
      for (auto& ch : n) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return n;
    });

// ---- LS-04: slugs and source ----

struct FieldCase {
  const char* field;
  Fields f;
  bool valid;
};

Fields with(void (*edit)(Fields&)) {
  Fields f = fields("gate_failure", std::nullopt, std::nullopt, "manual");
  edit(f);
  return f;
}

class FieldRules : public ::testing::TestWithParam<FieldCase> {};

TEST_P(FieldRules, ValidatesEachField) {
  const auto& c = GetParam();
  auto r = decide_record(c.f, std::nullopt, 1, T, 3600);
  if (c.valid) {
    EXPECT_TRUE(r) << c.field;
  } else {
    ASSERT_FALSE(r) << c.field;
    EXPECT_EQ(r.error().kind, ProblemKind::kValidation);
    ASSERT_FALSE(r.error().errors.empty());
    EXPECT_EQ(r.error().errors.front().field, c.field);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Lessons, FieldRules,
    ::testing::Values(
        FieldCase{"lesson_type", with([](Fields& f) { f.lesson_type = "Gate Failure"; }), false},
        FieldCase{"lesson_type", with([](Fields& f) { f.lesson_type = "retro_signal"; }), true},
        FieldCase{"lesson_type", with([](Fields& f) { f.lesson_type = ""; }), false},
        FieldCase{"lesson_type", with([](Fields& f) { f.lesson_type = std::string(64, 'a'); }),
                  true},
        FieldCase{"lesson_type", with([](Fields& f) { f.lesson_type = std::string(65, 'a'); }),
                  false},
        FieldCase{"lesson_type", with([](Fields& f) { f.lesson_type = "_x"; }), false},
        FieldCase{"attribution", with([](Fields& f) { f.attribution = "vendor"; }), true},
        FieldCase{"attribution", with([](Fields& f) { f.attribution = "Vendor"; }), false},
        FieldCase{"target_domain", with([](Fields& f) { f.target_domain = "a.b-c_d"; }), true},
        FieldCase{"status", with([](Fields& f) { f.status = "in progress"; }), false},
        FieldCase{"source", with([](Fields& f) { f.source = "robot"; }), false},
        FieldCase{"source", with([](Fields& f) { f.source = "auto"; }), true},
        FieldCase{"work_item_id", with([](Fields& f) { f.work_item_id = std::string(200, 'w'); }),
                  true},
        FieldCase{"work_item_id", with([](Fields& f) { f.work_item_id = std::string(201, 'w'); }),
                  false},
        // Lengths count characters, not bytes: 100 two-byte characters fit in stage.
        FieldCase{"stage", with([](Fields& f) {
                    f.stage = "";
                    for (int i = 0; i < 100; ++i) *f.stage += "é";
                  }),
                  true},
        FieldCase{"stage", with([](Fields& f) { f.stage = std::string(101, 's'); }), false},
        FieldCase{"root_cause", with([](Fields& f) { f.root_cause = std::string(10000, 'r'); }),
                  true},
        FieldCase{"suggestion", with([](Fields& f) { f.suggestion = std::string(10001, 's'); }),
                  false}));

// ---- LS-06: updates ----

Lesson stored_lesson() {
  return from_recorded(Recorded{1, fields("gate_failure", "W-1", "review", "manual")}, T);
}

TEST(LessonUpdate, SetsFieldsAndStampsUpdatedAt) {
  auto lesson = stored_lesson();
  auto u = decide_update({{"status", "closed"}, {"attribution", "platform"}}, lesson);
  ASSERT_TRUE(u);
  evolve(lesson, *u, T + kSecond);
  EXPECT_EQ(lesson.fields.status, "closed");
  EXPECT_EQ(lesson.fields.attribution, "platform");
  EXPECT_EQ(lesson.updated_at, T + kSecond);
  EXPECT_EQ(lesson.created_at, T);
}

TEST(LessonUpdate, NullClearsANullableField) {
  auto lesson = stored_lesson();
  lesson.fields.root_cause = "x";
  auto u = decide_update({{"root_cause", std::nullopt}}, lesson);
  ASSERT_TRUE(u);
  evolve(lesson, *u, T);
  EXPECT_FALSE(lesson.fields.root_cause);
}

struct UpdateCase {
  const char* name;
  std::vector<Change> changes;
  bool exists;
  ProblemKind kind;
};

class UpdateErrors : public ::testing::TestWithParam<UpdateCase> {};

TEST_P(UpdateErrors, Rejects) {
  const auto& c = GetParam();
  auto r = decide_update(c.changes, c.exists ? std::optional(stored_lesson()) : std::nullopt);
  ASSERT_FALSE(r) << c.name;
  EXPECT_EQ(r.error().kind, c.kind) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Lessons, UpdateErrors,
    ::testing::Values(
        UpdateCase{
            "lesson_type is not updatable", {{"lesson_type", "x"}}, true, ProblemKind::kValidation},
        UpdateCase{"empty", {}, true, ProblemKind::kValidation},
        UpdateCase{
            "status cannot be null", {{"status", std::nullopt}}, true, ProblemKind::kValidation},
        UpdateCase{"bad slug", {{"target_domain", "Not A Slug"}}, true, ProblemKind::kValidation},
        UpdateCase{"unknown lesson", {{"status", "closed"}}, false, ProblemKind::kNotFound},
        UpdateCase{
            "validation before existence", {{"colour", "red"}}, false, ProblemKind::kValidation}));

TEST(LessonRender, AllFieldsPresentWithNulls) {
  Lesson l = stored_lesson();
  l.fields.detail = R"({"attempt_id":"a"})";
  EXPECT_EQ(render(l),
            R"({"id":1,"lesson_type":"gate_failure","work_item_id":"W-1","task_id":null,)"
            R"("stage":"review","agent":null,"repo":null,"root_cause":null,"suggestion":null,)"
            R"("status":"new","related_task":null,"attribution":null,"target_repo":null,)"
            R"("target_domain":null,"source":"manual","detail":{"attempt_id":"a"},)"
            R"("created_at":"2026-04-16T12:00:00.000000+00:00","updated_at":null})");
}

}  // namespace
}  // namespace annals::lesson

// The skill-run and divergence bodies read with simdjson (commands/fast_body.h): the rules and
// messages of the other routes, the JSON syntax check, and how sub-documents are kept.
#include <gtest/gtest.h>

#include "commands/json_syntax.h"
#include "commands/skills.h"

namespace annals {
namespace {

const std::string kSkill = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const std::string kVersion = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c";

std::string run_body(const std::string& extra) {
  return R"({"skill_id":")" + kSkill + R"(","skill_version_id":")" + kVersion +
         R"(","status":"succeeded","started_at":"2026-04-16T10:00:00Z",)"
         R"("finished_at":"2026-04-16T10:00:01Z")" +
         extra + "}";
}

std::vector<std::pair<std::string, std::string>> errors_of(const Problem& p) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : p.errors) out.emplace_back(e.field, e.message);
  return out;
}

TEST(SkillRunBody, ReadsEveryField) {
  auto d = commands::parse_skill_run(
      run_body(R"(,"task_id":"t-1","inputs":{ "b" : 1, "a" : [true, null] },"final_output":"done",)"
               R"("step_results":[{"step_name":"extract","step_index":0,"prompt_tokens":12,)"
               R"("output":{"x":1},"tool_calls":[],"latency_ms":5,"validation_status":"ok"}],)"
               R"("total_latency_ms":1840,"total_cost_usd":0.0031,"user_id":"u-1")"));
  ASSERT_TRUE(d.has_value()) << d.error().detail;
  EXPECT_EQ(d->skill_id, kSkill);
  EXPECT_EQ(d->run.skill_version_id, kVersion);
  EXPECT_EQ(d->run.task_id, "t-1");
  // Compact, keys in the order received.
  EXPECT_EQ(d->run.inputs, R"({"b":1,"a":[true,null]})");
  EXPECT_EQ(d->run.state_object, "{}");
  EXPECT_EQ(d->run.final_output, R"("done")");
  ASSERT_EQ(d->run.step_results.size(), 1u);
  EXPECT_EQ(d->run.step_results[0].step_kind, "llm");
  EXPECT_EQ(d->run.step_results[0].prompt_tokens, 12);
  EXPECT_EQ(d->run.step_results[0].output, R"({"x":1})");
  EXPECT_EQ(d->run.total_latency_ms, 1840);
  EXPECT_EQ(d->run.total_cost_micro_usd, 3100);
  EXPECT_EQ(d->run.user_id, "u-1");
  EXPECT_TRUE(d->user_given);
  EXPECT_EQ(d->run.finished_at - d->run.started_at, 1'000'000);
}

TEST(SkillRunBody, FieldErrorsNameEachField) {
  auto d = commands::parse_skill_run(
      R"({"skill_version_id":7,"status":"done","inputs":[],"started_at":"yesterday",)"
      R"("finished_at":"2026-04-16T10:00:01Z","total_cost_usd":-1,"total_latency_ms":1.5,)"
      R"("step_results":[{"step_index":-1,"step_kind":"robot"},3],"colour":"red"})");
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().kind, ProblemKind::kValidation);
  const auto errors = errors_of(d.error());
  const std::vector<std::pair<std::string, std::string>> expected{
      {"skill_id", "is required"},
      {"skill_version_id", "must be a string"},
      {"status", "must be one of: succeeded, failed, escalated"},
      {"inputs", "must be an object"},
      {"step_results[0].step_index", "is required and must be an integer >= 0"},
      {"step_results[0].step_kind", "must be one of: llm, tool, mixed"},
      {"step_results[0].step_name", "is required"},
      {"step_results[1]", "must be an object"},
      {"total_latency_ms", "must be an integer >= 0"},
      {"total_cost_usd", "must be a number >= 0"},
      {"started_at", "must be an RFC 3339 instant"},
      {"colour", "unknown field"}};
  for (const auto& e : expected) {
    EXPECT_NE(std::find(errors.begin(), errors.end(), e), errors.end())
        << e.first << ": " << e.second;
  }
  EXPECT_EQ(errors.size(), expected.size());
}

TEST(SkillRunBody, ARepeatedNameKeepsItsLastValue) {
  auto d = commands::parse_skill_run(run_body(R"(,"task_id":"first","task_id":"second")"));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->run.task_id, "second");
}

TEST(SkillRunBody, FinishedBeforeStartedIsRefused) {
  auto d = commands::parse_skill_run(
      R"({"skill_id":")" + kSkill + R"(","skill_version_id":")" + kVersion +
      R"(","status":"failed","started_at":"2026-04-16T10:00:01Z","finished_at":"2026-04-16T10:00:00Z"})");
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(errors_of(d.error()), (std::vector<std::pair<std::string, std::string>>{
                                      {"finished_at", "must not be before started_at"}}));
}

TEST(DivergenceBody, ReadsAndChecksFields) {
  auto d = commands::parse_divergence(R"({"overall_agreement":1.4,"diff_summary":{"k":"v"}})");
  ASSERT_TRUE(d.has_value());
  EXPECT_DOUBLE_EQ(d->submitted, 1.4);
  EXPECT_EQ(d->diff_summary, R"({"k":"v"})");
  EXPECT_FALSE(d->shadow_invocation_id);
  auto bad = commands::parse_divergence(R"({"overall_agreement":"high","diff_summary":[1]})");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(errors_of(bad.error()), (std::vector<std::pair<std::string, std::string>>{
                                        {"overall_agreement", "is required and must be a number"},
                                        {"diff_summary", "must be an object"}}));
  // An integer agreement is a number too.
  EXPECT_TRUE(commands::parse_divergence(R"({"overall_agreement":1})").has_value());
}

TEST(JsonSyntax, NamesWhatIsWrong) {
  EXPECT_FALSE(commands::json_syntax_problem(R"({"a":[1,2.5e3,"x\u00e9"]})"));
  const auto bad = commands::json_syntax_problem(R"({"a": tru})");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->kind, ProblemKind::kBadRequest);
  EXPECT_NE(bad->detail.find("Invalid JSON"), std::string::npos);
  EXPECT_NE(bad->detail.find("column"), std::string::npos) << bad->detail;
  const auto big = commands::json_syntax_problem(R"({"n":123456789012345678901234567890})");
  ASSERT_TRUE(big);
  EXPECT_NE(big->detail.find("does not fit a 64-bit integer or a double"), std::string::npos);
  EXPECT_TRUE(commands::json_syntax_problem("{\"a\":\"\xff\"}"));  // not UTF-8
  EXPECT_TRUE(commands::json_syntax_problem("{} {}"));
  const auto array = commands::json_object_problem("[1]");
  ASSERT_TRUE(array);
  EXPECT_EQ(array->kind, ProblemKind::kValidation);
  // Bodies that are not JSON are refused by the parsers themselves too.
  EXPECT_EQ(commands::parse_skill_run("{").error().kind, ProblemKind::kBadRequest);
  EXPECT_EQ(commands::parse_divergence("[]").error().kind, ProblemKind::kValidation);
}

}  // namespace
}  // namespace annals

// The nightly job's schedule and budget arithmetic (SPEC §2.20; NT-02, NT-03, NT-06, NT-07).
#include "commands/nightly.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "projections/skills.h"
#include "tests/support/eventually.h"
#include "tests/support/harness.h"

namespace annals {
namespace {

using nlohmann::json;

Micros at(const char* text) { return parse_instant(text).value(); }

TEST(Nightly, NT06FiresAtTheHourInTheConfiguredZone) {
  Config c;
  testing::Harness h(c);
  EXPECT_EQ(h.core().nightly->next_fire(at("2026-04-16T12:00:00Z")), at("2026-04-17T03:00:00Z"));
  h.config().nightly_timezone = "America/New_York";
  EXPECT_EQ(h.core().nightly->next_fire(at("2026-04-16T12:00:00Z")), at("2026-04-17T07:00:00Z"));
}

TEST(Nightly, NT07DisabledAnswers503) {
  Config c;
  c.enabled = false;
  testing::Harness h(c);
  EXPECT_EQ(h.core().nightly->run("manual").status, 503);
}

// NT-02 / NT-03: the cost tracker's remaining budget and the evolution reservation.
TEST(Nightly, NT02NT03BudgetArithmetic) {
  for (const auto& [spend, expected_scheduled, remaining_end] :
       std::vector<std::tuple<std::int64_t, std::size_t, double>>{{8'000'000, 2, 10.5},
                                                                  {19'000'000, 1, 0.25}}) {
    Config c;
    c.evolution_min_divergence_cases = 1;
    testing::Harness h(c, at("2026-04-16T03:00:00Z"));
    capability::Fields cap;
    cap.trigger_type = "on_message";
    for (const char* name : {"a_task", "b_task"}) {
      cap.name = name;
      ASSERT_EQ(h.run([&](auto ctx, auto done) {
                   h.capabilities().register_capability(cap, ctx, done);
                 }).status,
                201);
      auto reg = commands::parse_register_skill(json{{"capability_name", name},
                                                     {"requires_human_gate", false},
                                                     {"initial_state", "sandbox"},
                                                     {"initial_version",
                                                      {{"yaml_backbone", "steps: []"},
                                                       {"step_content", json::object()},
                                                       {"output_schemas", json::object()}}}});
      auto& skills = *h.core().skills;
      const json s = json::parse(
          h.run([&](auto ctx, auto done) { skills.register_skill(*reg, ctx, done); }).body);
      const std::string id = s["id"];
      auto run = commands::parse_skill_run(json{
          {"skill_id", id},
          {"skill_version_id", s["current_version_id"]},
          {"status", "succeeded"},
          {"started_at", "2026-04-16T01:00:00Z"},
          {"finished_at",
           "2026-04-16T01:00:01Z"}}.dump());
      const std::string run_id = json::parse(
          h.run([&](auto ctx, auto done) { skills.record_run(*run, ctx, done); }).body)["id"];
      commands::DivergenceDraft d;
      d.submitted = 0.2;
      ASSERT_EQ(h.run([&](auto ctx, auto done) {
                   skills.record_divergence(run_id, d, ctx, done);
                 }).status,
                201);
      for (const auto& [to, reason] : std::vector<std::pair<const char*, const char*>>{
               {"shadow_primary", "human_approval"},
               {"trusted", "human_approval"},
               {"flagged_for_review", "manual_override"},
               {"degraded", "human_approval"}}) {
        skill::TransitionRequest t{to, reason, "", std::nullopt, std::nullopt};
        ASSERT_EQ(h.run([&](auto ctx, auto done) { skills.transition(id, t, ctx, done); }).status,
                  200);
      }
    }
    commands::InvocationDraft inv;
    inv.invocation.task_type = "spend_task";
    inv.invocation.cost_micro_usd = spend;
    ASSERT_EQ(h.run([&](auto ctx, auto done) { h.ledger().record(inv, ctx, done); }).status, 201);
    const std::uint64_t before = h.store().head();
    const auto r = h.core().nightly->run("manual");
    ASSERT_EQ(r.status, 201) << r.body;
    const json nr = json::parse(r.body);
    // NT-01: the run's events in step order (here: the detector's candidate, the evolution
    // scheduler, the drafter dismissing that candidate), NightlyRunCompleted last, all correlated
    // by its id.
    const std::map<std::string, int> rank = {
        {"CandidateReported", 0}, {"EvolutionScheduled", 1},
        {"DraftScheduled", 2},    {"CandidateStatusChanged", 2},  // dismissals
        {"SkillStateChanged", 3}, {"NightlyRunCompleted", 5}};
    std::vector<std::string> types;
    int last_rank = -1;
    h.store().read_range(before + 1, h.store().head(), [&](const events::StoredEvent& e) {
      types.emplace_back(e.type_name());
      EXPECT_EQ(e.event().correlation_id()->str(), nr["id"].get<std::string>());
      EXPECT_TRUE(rank.contains(types.back())) << types.back();
      const int k = rank.contains(types.back()) ? rank.at(types.back()) : last_rank;
      EXPECT_GE(k, last_rank) << types.back();
      last_rank = k;
      return true;
    });
    ASSERT_FALSE(types.empty());
    EXPECT_EQ(types.back(), "NightlyRunCompleted");
    EXPECT_EQ(std::count(types.begin(), types.end(), "EvolutionScheduled"),
              static_cast<long>(expected_scheduled));
    EXPECT_EQ(nr["evolution_scheduled"].size(), expected_scheduled) << spend;
    EXPECT_EQ(nr["budget"]["remaining_at_start_usd"], (20'000'000 - spend) / 1e6);
    EXPECT_DOUBLE_EQ(nr["budget"]["remaining_at_end_usd"].get<double>(), remaining_end);
    EXPECT_TRUE(nr["errors"].empty());
  }
}

}  // namespace
}  // namespace annals

namespace annals {
namespace {

std::vector<std::string> nightly_runs(testing::Harness& h) {
  const projections::PerSkillQueries q(h.store().db(), h.projector().family("nightly_runs"),
                                       h.store().read_view());
  return q.all({100, 0});
}

// NT-07: down across the scheduled 03:00 → one run at start-up; a later start does not repeat it.
TEST(Nightly, NT07OverdueRunAtStartUp) {
  testing::Harness h(Config{}, at("2026-04-16T02:00:00Z"));
  lesson::Fields f;
  f.lesson_type = "x";
  ASSERT_EQ(h.record(f).status, 201);  // the store exists before 03:00
  h.close();
  h.set_now(at("2026-04-16T04:00:00Z"));
  h.open();
  h.core().start_dispatcher();
  std::vector<std::string> runs;
  testing::eventually([&] { return !(runs = nightly_runs(h)).empty(); });
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(json::parse(runs[0])["trigger"], "schedule");
  h.close();
  h.set_now(at("2026-04-16T05:00:00Z"));
  h.open();
  h.core().start_dispatcher();
  h.core().nightly->stop();  // the overdue check runs first in the timer thread; stop joins it
  EXPECT_EQ(nightly_runs(h).size(), 1u);
}

// A brand-new store has missed nothing.
TEST(Nightly, NoOverdueRunForANewStore) {
  testing::Harness h(Config{}, at("2026-04-16T04:00:00Z"));
  h.core().start_dispatcher();
  h.core().nightly->stop();
  EXPECT_TRUE(nightly_runs(h).empty());
}

}  // namespace
}  // namespace annals

// The automation decider (SPEC §3.1-3.3, §3.6) with the acceptance examples of SPEC §10.11 and
// §10.13 that need no dispatcher.
#include "domain/automation.h"

#include <gtest/gtest.h>

namespace annals::automation {
namespace {

using nlohmann::json;

Micros at(const char* t) { return parse_instant(t).value(); }

Draft watch_shirt() {
  Draft d;
  d.name = "watch shirt";
  d.capability_name = "product_watch";
  d.trigger_type = "on_schedule";
  d.schedule = "0 12 * * *";
  d.inputs = json{{"url", "https://shop.example/shirt"}};
  return d;
}

const json kDefaultAlerts = json::parse(R"({"field":"triggers_alert","op":"==","value":true})");

Automation created(Draft d, Micros now = at("2026-04-16T06:00:00Z")) {
  auto c = decide_create(std::move(d), "a1", "ops", kDefaultAlerts, false, now, Knobs{});
  EXPECT_TRUE(c) << (c ? "" : c.error().detail);
  return c->automation;
}

TEST(AutomationCreate, AppliesDefaultsAndComputesTheNextRun) {
  const Automation a = created(watch_shirt());
  EXPECT_EQ(a.status, "active");
  EXPECT_EQ(a.timezone, "UTC");
  EXPECT_EQ(a.alert_conditions, kDefaultAlerts);       // the capability's default
  EXPECT_EQ(a.max_cost_per_run_micro_usd, 2'000'000);  // AU-05
  EXPECT_EQ(a.min_interval_seconds, 300);
  EXPECT_EQ(a.next_run_at, at("2026-04-16T12:00:00Z"));
  EXPECT_EQ(a.created_via, "api");
}

TEST(AutomationCreate, ValidatesTheDefinition) {  // AU-04, MI-01..03
  struct Case {
    const char* name;
    void (*edit)(Draft&);
    const char* field;
  };
  const Case cases[] = {
      {"on_schedule without schedule", [](Draft& d) { d.schedule.reset(); }, "schedule"},
      {"bad trigger", [](Draft& d) { d.trigger_type = "sometimes"; }, "trigger_type"},
      {"bad cron", [](Draft& d) { d.schedule = "61 * * * *"; }, "schedule"},
      {"never fires", [](Draft& d) { d.schedule = "0 0 30 2 *"; }, "schedule"},
      {"too frequent", [](Draft& d) { d.schedule = "*/2 * * * *"; }, "schedule"},
      {"gap across midnight",
       [](Draft& d) {
         d.schedule = "0 0,23 * * *";
         d.min_interval_seconds = 7200;
       },
       "schedule"},
      {"86401 > a day", [](Draft& d) { d.min_interval_seconds = 86401; }, "schedule"},
      {"bad zone", [](Draft& d) { d.timezone = "Mars/Olympus"; }, "timezone"},
      {"bad alert", [](Draft& d) { d.alert_conditions = json::parse(R"({"any_of":"x"})"); },
       "alert_conditions.any_of"},
      {"duplicate channel",
       [](Draft& d) {
         d.alert_channels = std::vector<std::string>{"log", "log"};
       },
       "alert_channels[1]"},
      {"bad channel", [](Draft& d) { d.alert_channels = std::vector<std::string>{"Log"}; },
       "alert_channels[0]"},
      {"empty name", [](Draft& d) { d.name = ""; }, "name"},
      {"inputs not an object", [](Draft& d) { d.inputs = json::array(); }, "inputs"},
      {"min interval too large",
       [](Draft& d) {
         d.trigger_type = "on_manual";
         d.min_interval_seconds = 31622401;
       },
       "min_interval_seconds"},
  };
  for (const auto& c : cases) {
    Draft d = watch_shirt();
    c.edit(d);
    auto r =
        decide_create(d, "a1", "ops", kDefaultAlerts, false, at("2026-04-16T06:00:00Z"), Knobs{});
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().kind, ProblemKind::kValidation) << c.name;
    EXPECT_EQ(r.error().errors.front().field, c.field) << c.name << ": " << r.error().detail;
  }
  Draft gap = watch_shirt();
  gap.schedule = "*/2 * * * *";
  auto r =
      decide_create(gap, "a1", "ops", kDefaultAlerts, false, at("2026-04-16T06:00:00Z"), Knobs{});
  EXPECT_EQ(r.error().errors.front().message,
            "schedule fires every 120s, closer than min_interval_seconds 300");
}

TEST(AutomationCreate, AcceptsBoundaryCases) {
  Draft five = watch_shirt();
  five.schedule = "*/5 * * * *";  // MI-01: gap = 300
  EXPECT_TRUE(
      decide_create(five, "a", "ops", kDefaultAlerts, false, at("2026-04-16T06:00:00Z"), Knobs{}));
  Draft day = watch_shirt();
  day.min_interval_seconds = 86400;  // MI-03
  EXPECT_TRUE(
      decide_create(day, "a", "ops", kDefaultAlerts, false, at("2026-04-16T06:00:00Z"), Knobs{}));
  Draft manual = watch_shirt();
  manual.trigger_type = "on_manual";
  manual.schedule.reset();
  auto m = created(manual);  // AU-04
  EXPECT_FALSE(m.next_run_at);
  Draft uncapped = watch_shirt();
  uncapped.max_cost_given = true;  // AU-05: explicit null
  EXPECT_FALSE(created(uncapped).max_cost_per_run_micro_usd);
}

TEST(AutomationCreate, DuplicateNameIsAConflict) {  // AU-03
  auto r = decide_create(watch_shirt(), "a1", "ops", kDefaultAlerts, true,
                         at("2026-04-16T06:00:00Z"), Knobs{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ProblemKind::kDuplicate);
}

TEST(AutomationStatus, PauseResumeDeleteFollowTheStatusMachine) {  // AU-06, AU-07
  std::optional<Automation> a = created(watch_shirt());
  a->failure_count = 5;
  auto p = decide_pause(*a);
  ASSERT_TRUE(p && *p);
  evolve(a, **p, at("2026-04-16T07:00:00Z"));
  EXPECT_EQ(a->status, "paused");
  EXPECT_FALSE(a->next_run_at);
  EXPECT_FALSE(*decide_pause(*a));  // already paused: no event
  auto r = decide_resume(*a, at("2026-04-16T13:00:00Z"));
  ASSERT_TRUE(r && *r);
  EXPECT_EQ((*r)->next_run_at, at("2026-04-17T12:00:00Z"));
  evolve(a, **r, at("2026-04-16T13:00:00Z"));
  EXPECT_EQ(a->status, "active");
  EXPECT_EQ(a->failure_count, 0);
  EXPECT_FALSE(*decide_resume(*a, at("2026-04-16T13:00:00Z")));  // already active
  auto d = decide_delete(*a);
  ASSERT_TRUE(d);
  evolve(a, *d, at("2026-04-16T14:00:00Z"));
  EXPECT_EQ(a->status, "deleted");
  EXPECT_FALSE(decide_delete(*a));  // idempotent
  EXPECT_EQ(decide_pause(*a).error().kind, ProblemKind::kDeleted);
  EXPECT_EQ(decide_resume(*a, 0).error().kind, ProblemKind::kDeleted);
  EXPECT_EQ(decide_patch(*a, json{{"name", "x"}}, false, 0).error().kind, ProblemKind::kDeleted);
}

TEST(AutomationPatch, RecomputesTheScheduleAndClearsNullableFields) {  // AU-05, AU-08, AU-09
  std::optional<Automation> a = created(watch_shirt());
  a->description = "old";
  const Micros six = at("2026-04-16T06:00:00Z");
  auto u = decide_patch(*a, json{{"schedule", "0 18 * * *"}}, false, six);
  ASSERT_TRUE(u && *u);
  EXPECT_EQ((*u)->next_run_at, at("2026-04-16T18:00:00Z"));
  evolve(a, **u, six);
  auto tz = decide_patch(*a, json{{"timezone", "Europe/Berlin"}}, false, six);
  ASSERT_TRUE(tz && *tz);
  EXPECT_EQ((*tz)->next_run_at, at("2026-04-16T16:00:00Z"));
  auto cleared = decide_patch(
      *a, json::parse(R"({"description":null,"max_cost_per_run_usd":null})"), false, six);
  ASSERT_TRUE(cleared && *cleared);
  evolve(a, **cleared, six);
  EXPECT_FALSE(a->description);
  EXPECT_FALSE(a->max_cost_per_run_micro_usd);
  EXPECT_FALSE(*decide_patch(*a, json::object(), false, six));  // empty patch: no event
  EXPECT_EQ(decide_patch(*a, json{{"capability_name", "x"}}, false, six).error().kind,
            ProblemKind::kValidation);
  EXPECT_EQ(decide_patch(*a, json{{"colour", "red"}}, false, six).error().kind,
            ProblemKind::kValidation);
  EXPECT_TRUE(decide_patch(*a, json{{"min_interval_seconds", 7200}}, false, six));  // daily: fine
  EXPECT_EQ(decide_patch(*a, json{{"min_interval_seconds", 86401}}, false, six).error().kind,
            ProblemKind::kValidation);
}

TEST(AutomationPatch, MinIntervalOnManualAutomationsIsAccepted) {  // MI-03
  Draft d = watch_shirt();
  d.trigger_type = "on_manual";
  d.schedule = "0 * * * *";
  Automation a = created(d);
  EXPECT_TRUE(
      decide_patch(a, json{{"min_interval_seconds", 7200}}, false, at("2026-04-16T06:00:00Z")));
  Draft hourly = watch_shirt();
  hourly.schedule = "0 * * * *";
  Automation h = created(hourly);
  EXPECT_FALSE(
      decide_patch(h, json{{"min_interval_seconds", 7200}}, false, at("2026-04-16T06:00:00Z")));
}

}  // namespace
}  // namespace annals::automation

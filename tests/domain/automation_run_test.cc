// Run decisions (SPEC §3.7-3.12; acceptance examples of §10.13-10.15) through the pure domain.
#include "domain/automation_run.h"

#include <gtest/gtest.h>

#include "domain/ledger.h"

namespace annals {
namespace {

using automation::Trigger;
using nlohmann::json;
using nlohmann::ordered_json;

Micros at(const char* text) { return parse_instant(text).value(); }

automation::Automation watch_shirt() {
  automation::Automation a;
  a.id = "0196a200-0000-7aaa-8bbb-cccc00008888";
  a.user_id = "ops";
  a.name = "watch shirt";
  a.capability_name = "product_watch";
  a.inputs = json{{"url", "https://shop.example/shirt"}};
  a.trigger_type = "on_schedule";
  a.schedule = "0 12 * * *";
  a.alert_conditions = json::parse(R"({"all_of":[{"field":"price_usd","op":"<=","value":100}]})");
  a.max_cost_per_run_micro_usd = 2'000'000;
  a.next_run_at = at("2026-04-16T12:00:00Z");
  return a;
}

// Starts a run at `now` and applies it to `a`.
automation::RunStarted start(automation::Automation& a, Micros now,
                             Trigger t = Trigger::kSchedule) {
  auto s = automation::decide_start(a, t, "run-1", {}, false, now);
  if (!s) {
    ADD_FAILURE() << s.error().problem.detail;
    return {};
  }
  std::optional<automation::Automation> o = a;
  automation::evolve(o, s->started, now);
  a = *o;
  return s->started;
}

automation::Finish finish(automation::Automation& a, const std::string& answer,
                          Micros now = at("2026-04-16T12:00:02Z")) {
  auto f =
      automation::decide_finish(a, "run-1", {ordered_json::parse(answer), std::nullopt}, 5, now);
  if (!f) {
    ADD_FAILURE() << f.error().detail;
    return {};
  }
  std::optional<automation::Automation> o = a;
  automation::evolve(o, f->finished, now);
  if (f->paused) automation::evolve(o, *f->paused, now);
  a = *o;
  return *f;
}

TEST(RunDecisions, ScheduledStartAdvancesNextRunAndMarksInFlight) {
  auto a = watch_shirt();
  const auto s = start(a, at("2026-04-16T12:00:00.000412Z"));
  EXPECT_EQ(s.trigger, "schedule");
  EXPECT_EQ(s.scheduled_for, at("2026-04-16T12:00:00Z"));
  EXPECT_EQ(s.execution_path, "claude_native");
  EXPECT_EQ(s.next_run_at, at("2026-04-17T12:00:00Z"));
  EXPECT_EQ(a.in_flight_run_id, "run-1");
  EXPECT_EQ(a.last_run_at, at("2026-04-16T12:00:00.000412Z"));
  // Not due again while in flight, nor before next_run_at.
  auto again = automation::decide_start(a, Trigger::kSchedule, "run-2", {}, false,
                                        at("2026-04-18T00:00:00Z"));
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().problem.kind, ProblemKind::kWrongState);
}

TEST(RunDecisions, DP01SucceededRunWithAlertContent) {
  auto a = watch_shirt();
  start(a, at("2026-04-16T12:00:00Z"));
  const auto f = finish(
      a,
      R"({"status":"succeeded","output":{"price_usd":89,"in_stock":true},"cost_usd":0.02,"invocation_log_id":"inv-1"})");
  EXPECT_EQ(f.finished.status, "succeeded");
  EXPECT_EQ(f.finished.cost_micro_usd, 20'000);
  EXPECT_EQ(f.finished.invocation_log_id, "inv-1");
  EXPECT_TRUE(f.finished.alert_fired);
  EXPECT_EQ(
      f.finished.alert_content,
      "Automation 'watch shirt' alert:\nOutput: {\n  \"price_usd\": 89,\n  \"in_stock\": true\n}");
  EXPECT_EQ(a.run_count, 1);
  EXPECT_EQ(a.failure_count, 0);
  EXPECT_FALSE(a.in_flight_run_id);
  EXPECT_EQ(a.prior_run_end, at("2026-04-16T12:00:02Z"));
}

TEST(RunDecisions, AlertContentKeepsKeyOrderAndUtf8) {
  const auto content =
      automation::alert_content("n", ordered_json::parse(R"({"z":1,"a":"café ☕"})"));
  EXPECT_EQ(content, "Automation 'n' alert:\nOutput: {\n  \"z\": 1,\n  \"a\": \"café ☕\"\n}");
}

TEST(RunDecisions, DP02ExecutorRequest) {
  auto a = watch_shirt();
  const auto s = start(a, at("2026-04-16T12:00:00Z"));
  auto req = automation::executor_request(a, s);
  EXPECT_EQ(req["automation_name"], "watch shirt");
  EXPECT_EQ(req["user_id"], "ops");
  EXPECT_EQ(req["capability"], "product_watch");
  EXPECT_EQ(req["execution_path"], "claude_native");
  EXPECT_TRUE(req["skill_id"].is_null());
  EXPECT_EQ(req["inputs"],
            ordered_json::parse(R"({"url":"https://shop.example/shirt","prior_run_end":null})"));
  automation::Path skill{"skill", "skill-1", "version-1"};
  auto t = automation::decide_start(watch_shirt(), Trigger::kRunNow, "r", skill, false, 0);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->started.execution_path, "skill");
  EXPECT_EQ(t->started.skill_version_id, "version-1");
}

TEST(RunDecisions, DP03BudgetSkipLeavesCountersAndAdvances) {
  auto a = watch_shirt();
  a.failure_count = 3;
  a.run_count = 7;
  auto s = automation::decide_start(a, Trigger::kSchedule, "run-1", {}, true,
                                    at("2026-04-16T12:00:00Z"));
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->skipped);
  EXPECT_EQ(s->skipped->status, "skipped_budget");
  EXPECT_EQ(s->skipped->cost_micro_usd, 0);
  EXPECT_EQ(s->skipped->finished_at, s->started.started_at);
  EXPECT_EQ(s->skipped->run_count, 7);
  EXPECT_EQ(s->skipped->failure_count, 3);
  EXPECT_EQ(s->started.next_run_at, at("2026-04-17T12:00:00Z"));
}

TEST(RunDecisions, DP04CostCapIsStrict) {
  struct Case {
    std::optional<std::int64_t> cap;
    const char* cost;
    const char* status;
  };
  for (const auto& c : std::vector<Case>{{10'000, "0.50", "failed"},
                                         {500'000, "0.50", "succeeded"},
                                         {std::nullopt, "5.00", "succeeded"}}) {
    auto a = watch_shirt();
    a.max_cost_per_run_micro_usd = c.cap;
    start(a, at("2026-04-16T12:00:00Z"));
    const auto f =
        finish(a, std::string(R"({"status":"succeeded","output":{"price_usd":1},"cost_usd":)") +
                      c.cost + "}");
    EXPECT_EQ(f.finished.status, c.status) << c.cost;
    if (std::string(c.status) == "failed") {
      EXPECT_EQ(f.finished.error, "cost_exceeded");
      EXPECT_EQ(f.finished.output, R"({"price_usd":1})");
      EXPECT_FALSE(f.finished.alert_fired);
      EXPECT_EQ(a.failure_count, 1);
    }
  }
}

TEST(RunDecisions, DP05StatusesAndFailures) {
  auto a = watch_shirt();
  start(a, at("2026-04-16T12:00:00Z"));
  auto f = finish(a, R"({"status":"escalated","error":"needs human"})");
  EXPECT_EQ(f.finished.status, "escalated");
  EXPECT_EQ(f.finished.error, "needs human");
  EXPECT_EQ(a.failure_count, 1);
  a.last_run_at.reset();
  start(a, 0, Trigger::kRunNow);
  f = finish(a, R"({"status":"done"})");
  EXPECT_EQ(f.finished.status, "failed");
  EXPECT_EQ(f.finished.error, "executor returned invalid status");
  a.last_run_at.reset();
  start(a, 0, Trigger::kRunNow);
  auto timeout = automation::decide_finish(a, "run-1", {std::nullopt, "timeout"}, 5, 1);
  ASSERT_TRUE(timeout);
  EXPECT_EQ(timeout->finished.status, "failed");
  EXPECT_EQ(timeout->finished.error, "timeout");
  EXPECT_EQ(timeout->finished.failure_count, 3);
  // A run that is not in flight cannot be finished twice.
  EXPECT_FALSE(automation::decide_finish(a, "other", {std::nullopt, "timeout"}, 5, 1));
}

TEST(RunDecisions, DP06DP08OutputsAndAlerts) {
  auto a = watch_shirt();
  a.alert_conditions = json::parse(R"({"field":"price_usd","op":"<=","value":10})");
  start(a, at("2026-04-16T12:00:00Z"));
  auto f = finish(a, R"({"status":"succeeded","output":{"price_usd":89}})");
  EXPECT_FALSE(f.finished.alert_fired);
  EXPECT_FALSE(f.finished.alert_content);
  a.last_run_at.reset();
  start(a, 0, Trigger::kRunNow);
  f = finish(a, R"({"status":"succeeded","output":"plain"})");
  EXPECT_EQ(f.finished.output, R"({"output":"plain"})");
  a.last_run_at.reset();
  start(a, 0, Trigger::kRunNow);
  f = finish(a, R"({"status":"succeeded","output":null})");
  EXPECT_FALSE(f.finished.output);
}

TEST(RunDecisions, DP09StateWriteOnSuccessOnly) {
  auto a = watch_shirt();
  start(a, at("2026-04-16T12:00:00Z"));
  auto f = finish(a, R"({"status":"succeeded","output":{},"state_write":{"last_price":89,"x":1}})");
  EXPECT_EQ(a.state, json::parse(R"({"last_price":89,"x":1})"));
  ASSERT_TRUE(f.finished.state);
  a.last_run_at.reset();
  const auto s = start(a, 0, Trigger::kRunNow);
  EXPECT_EQ(automation::executor_request(a, s)["inputs"]["state"],
            ordered_json::parse(R"({"last_price":89,"x":1})"));
  f = finish(a, R"({"status":"failed","state_write":{"last_price":1}})");
  EXPECT_FALSE(f.finished.state);
  EXPECT_EQ(a.state["last_price"], 89);
  a.last_run_at.reset();
  start(a, 0, Trigger::kRunNow);
  f = finish(a, R"({"status":"succeeded","state_write":{"x":null,"last_price":89}})");
  EXPECT_EQ(a.state, json::parse(R"({"last_price":89})"));
  a.last_run_at.reset();
  start(a, 0, Trigger::kRunNow);
  f = finish(a, R"({"status":"succeeded","state_write":{"last_price":89}})");
  EXPECT_FALSE(f.finished.state) << "unchanged state is not recorded";
}

TEST(RunDecisions, FP01FailurePauseAtThresholdThenResume) {
  auto a = watch_shirt();
  a.failure_count = 4;
  start(a, at("2026-04-16T12:00:00Z"));
  auto f = finish(a, R"({"status":"failed","error":"boom"})");
  EXPECT_EQ(f.finished.failure_count, 5);
  ASSERT_TRUE(f.paused);
  EXPECT_EQ(f.paused->reason, "failures");
  EXPECT_EQ(f.paused->failure_count, 5);
  EXPECT_EQ(a.status, "paused");
  EXPECT_FALSE(a.next_run_at);
  auto resumed = automation::decide_resume(a, at("2026-04-16T13:00:00Z"));
  ASSERT_TRUE(resumed && *resumed);
  std::optional<automation::Automation> o = a;
  automation::evolve(o, **resumed, 0);
  a = *o;
  EXPECT_EQ(a.failure_count, 0);
  a.last_run_at.reset();
  start(a, 0, Trigger::kRunNow);
  f = finish(a, R"({"status":"failed"})");
  EXPECT_EQ(a.failure_count, 1);
  EXPECT_EQ(a.status, "active");
  EXPECT_FALSE(f.paused);
}

TEST(RunDecisions, FP02FP03SuccessNeverUnpausesAndForcedRunsOnPaused) {
  auto a = watch_shirt();
  start(a, at("2026-04-16T12:00:00Z"));
  std::optional<automation::Automation> o = a;
  automation::evolve(o, automation::Paused{"manual", 0}, 0);
  a = *o;
  finish(a, R"({"status":"succeeded"})");
  EXPECT_EQ(a.status, "paused");
  EXPECT_EQ(a.failure_count, 0);
  // Paused: run-now needs force; a forced run keeps the automation paused, next_run_at null.
  a.last_run_at.reset();
  auto refused = automation::decide_start(a, Trigger::kRunNow, "r", {}, false, 0);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().problem.kind, ProblemKind::kWrongState);
  a.failure_count = 4;
  const auto s = start(a, 0, Trigger::kRunNowForced);
  EXPECT_EQ(s.trigger, "run_now_forced");
  EXPECT_FALSE(s.next_run_at);
  const auto f = finish(a, R"({"status":"failed"})");
  EXPECT_EQ(a.failure_count, 5);
  EXPECT_FALSE(f.paused) << "no second AutomationPaused";
  // skipped_budget leaves failure_count.
  auto b = watch_shirt();
  b.failure_count = 3;
  start(b, at("2026-04-16T12:00:00Z"));
  finish(b, R"({"status":"skipped_budget"})");
  EXPECT_EQ(b.failure_count, 3);
  EXPECT_EQ(b.run_count, 0);
}

TEST(RunDecisions, RN02RunNowGuards) {
  auto deleted = watch_shirt();
  deleted.status = "deleted";
  auto r = automation::decide_start(deleted, Trigger::kRunNowForced, "r", {}, false, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().problem.kind, ProblemKind::kDeleted);
  auto busy = watch_shirt();
  busy.in_flight_run_id = "x";
  r = automation::decide_start(busy, Trigger::kRunNow, "r", {}, false, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().problem.kind, ProblemKind::kRunInFlight);
  auto manual = watch_shirt();
  manual.trigger_type = "on_manual";
  manual.next_run_at.reset();
  r = automation::decide_start(manual, Trigger::kRunNow, "r", {}, false, 0);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->started.next_run_at);
  EXPECT_FALSE(r->started.scheduled_for);
}

TEST(RunDecisions, MI04MI05MinimumIntervalOnRunNow) {
  auto a = watch_shirt();
  a.schedule = "0 * * * *";
  a.min_interval_seconds = 600;
  const auto s = start(a, at("2026-04-16T11:55:00Z"), Trigger::kRunNow);
  EXPECT_EQ(s.next_run_at, at("2026-04-16T13:00:00Z"));
  finish(a, R"({"status":"succeeded"})", at("2026-04-16T11:56:00Z"));
  auto r =
      automation::decide_start(a, Trigger::kRunNow, "r", {}, false, at("2026-04-16T11:58:00Z"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().problem.kind, ProblemKind::kMinInterval);
  EXPECT_EQ(r.error().retry_after_seconds, 420);
  EXPECT_TRUE(
      automation::decide_start(a, Trigger::kRunNow, "r", {}, false, at("2026-04-16T12:05:00Z")));
}

TEST(RunDecisions, InterruptedCountsAsFailure) {
  auto a = watch_shirt();
  a.failure_count = 4;
  start(a, at("2026-04-16T12:00:00Z"));
  auto f = automation::decide_interrupted(a, "run-1", 5, 10);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->finished.status, "failed");
  EXPECT_EQ(f->finished.error, "interrupted");
  EXPECT_TRUE(f->paused);
}

TEST(RunResource, RendersAndReadsBack) {
  auto a = watch_shirt();
  const auto s = start(a, at("2026-04-16T12:00:00.000412Z"));
  auto run = automation::run_started(a.id, s);
  const auto f = finish(a, R"({"status":"succeeded","output":{"z":1,"a":2},"cost_usd":0.000001})");
  automation::run_finished(run, f.finished);
  automation::run_delivered(run, {"run-1", "log", true, std::nullopt, std::nullopt, 0}, 5);
  automation::run_delivered(run, {"run-1", "sms", false, 500, "notifier http 500", 48}, 6);
  const std::string text = automation::render(run);
  auto back = automation::run_from_json(text);
  ASSERT_TRUE(back);
  EXPECT_EQ(automation::render(*back), text);
  const auto j = ordered_json::parse(text);
  EXPECT_EQ(j["output"].dump(), R"({"z":1,"a":2})");
  EXPECT_EQ(j["alert_sent"], true);
  EXPECT_EQ(j["cost_usd"].dump(), "1e-06");
}

TEST(Ledger, BG01BG02Guard) {
  EXPECT_FALSE(ledger::guard(19'990'000, 50'000'000, 20'000'000, 100'000'000).paused);
  auto g = ledger::guard(20'000'000, 50'000'000, 20'000'000, 100'000'000);
  EXPECT_TRUE(g.paused);
  EXPECT_EQ(g.reason, "daily_threshold");
  EXPECT_EQ(g.daily_remaining, 0);
  g = ledger::guard(1'000'000, 100'000'000, 20'000'000, 100'000'000);
  EXPECT_TRUE(g.paused);
  EXPECT_EQ(g.reason, "monthly_budget");
  g = ledger::guard(8'000'000, 41'500'000, 20'000'000, 100'000'000);
  EXPECT_EQ(g.daily_remaining, 12'000'000);
  ledger::DayTotals t;
  ledger::add(t, {"1", "parse_task", 19'990'000, {}, {}, 0});
  ledger::add(t, {"2", "external_llm_call", 50'000'000, {}, {}, 0});
  EXPECT_EQ(ledger::decode_day_totals(ledger::encode(t)), t);
  const auto counted = ledger::counted(t, {"external_llm_call"});
  EXPECT_EQ(counted.micro_usd, 19'990'000);
  EXPECT_EQ(counted.count, 1);
  // BG-03: the UTC day of the instant.
  EXPECT_EQ(ledger::stream_name(at("2026-04-17T01:00:00+02:00")), "ledger-2026-04-16");
}

}  // namespace
}  // namespace annals

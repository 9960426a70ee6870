// The dispatcher and scheduler (SPEC §3.7-3.14; acceptance examples §10.14-10.15) with an
// injected clock, a real loopback webhook executor and a real loopback notifier.
#include "commands/dispatcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "commands/automations.h"
#include "events/automation_codec.h"
#include "projections/automation_runs.h"
#include "projections/automations.h"
#include "tests/support/eventually.h"
#include "tests/support/harness.h"
#include "tests/support/stub_server.h"

namespace annals {
namespace {

using testing::eventually;

using nlohmann::json;
using testing::StubRequest;
using testing::StubResponse;
using namespace std::chrono_literals;

Micros at(const char* text) { return parse_instant(text).value(); }
constexpr Micros kMinute = 60 * kMicrosPerSecond;

const char* kAnswer =
    R"({"status":"succeeded","output":{"price_usd":89,"in_stock":true},"cost_usd":0.02,"invocation_log_id":"inv-1"})";

class Dispatch : public ::testing::Test {
 protected:
  testing::StubServer executor{[](const StubRequest&) { return StubResponse{200, kAnswer}; }};
  testing::StubServer notifier{[](const StubRequest&) { return StubResponse{204, ""}; }};
  std::unique_ptr<testing::Harness> h;

  void SetUp() override {
    Config c;
    c.executors["product_watch"] = {"webhook", executor.url("/run"), 5.0, {{"X-Token", "t"}}};
    c.notifier_url = notifier.url("/notify");
    c.automation_poll_interval_seconds = 1;
    h = std::make_unique<testing::Harness>(c, at("2026-04-16T06:00:00Z"));
    capability::Fields cap;
    cap.name = "product_watch";
    cap.trigger_type = "on_schedule";
    ASSERT_EQ(h->run([&](auto ctx, auto done) {
                 h->capabilities().register_capability(cap, ctx, done);
               }).status,
              201);
  }

  std::string create(json body) {
    json base = {{"name", "watch shirt"},
                 {"capability_name", "product_watch"},
                 {"inputs", {{"url", "https://shop.example/shirt"}}},
                 {"trigger_type", "on_schedule"},
                 {"schedule", "0 12 * * *"},
                 {"alert_channels", {"log", "discord_channel"}},
                 {"alert_conditions",
                  json::parse(R"({"all_of":[{"field":"price_usd","op":"<=","value":100}]})")}};
    if (body.is_object()) base.update(body);
    auto draft = commands::parse_create_automation(base);
    EXPECT_TRUE(draft.has_value());
    auto r = h->run([&](auto ctx, auto done) { h->automations().create(*draft, ctx, done); });
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body)["id"];
  }

  json automation(const std::string& id) {
    projections::AutomationsQueries q(h->store().db(), h->projector().family("automations"),
                                      h->store().read_view());
    return json::parse(q.get(id).value().json);
  }
  json runs(const std::string& id) {
    projections::AutomationRunsQueries q(h->store().db(), h->projector().family("automation_runs"),
                                         h->store().read_view());
    json out = json::array();
    for (const auto& r : q.list(id, std::nullopt, 500, 0)) out.push_back(json::parse(r));
    return out;
  }
  // Waits until `id` has n runs and nothing is in progress; returns the newest run.
  json settle(const std::string& id, std::size_t n) {
    EXPECT_TRUE(eventually([&] {
      return runs(id).size() == n && h->dispatcher().in_progress() == 0 &&
             runs(id)[0]["status"] != "running";
    })) << runs(id).dump();
    return runs(id).empty() ? json() : runs(id)[0];
  }
  // Moves the clock to `t` and lets the scheduler look.
  void tick(Micros t) {
    h->set_now(t);
    h->dispatcher().wake();
  }
  commands::Reply run_now(const std::string& id, bool force = false) {
    return h->run([&](auto ctx, auto done) { h->dispatcher().run_now(id, force, ctx, done); });
  }
  // The executor answers kAnswer once `gate` is ready.
  void hold(std::shared_future<void> gate) {
    executor.set_handler([gate](const StubRequest&) {
      gate.wait();
      return StubResponse{200, kAnswer};
    });
  }
  std::string queue_block() {
    projections::AutomationsQueries q(h->store().db(), h->projector().family("automations"),
                                      h->store().read_view());
    return q.queue_block(h->now());
  }
  void answer(int status, std::string body, std::chrono::milliseconds delay = 0ms) {
    executor.set_handler([=](const StubRequest&) {
      return StubResponse{status, body, "application/json", delay};
    });
  }
};

// Observers hand their work to the caller's threads; wait_posted() returns once it has all run,
// including what that work posted in turn (tests settle on it before comparing digests).
TEST(HttpCallerPost, WaitPostedReturnsOnceEveryPostedFunctionHasRun) {
  commands::HttpCaller caller(2);
  std::atomic<int> ran{0};
  std::promise<void> go, nested_go;
  auto started = go.get_future().share();
  auto nested_started = nested_go.get_future().share();
  // Four functions, each posting one more that waits until all four have run.
  for (int i = 0; i < 4; ++i) {
    caller.post([&, started, nested_started] {
      started.wait();
      caller.post([&, nested_started] {
        nested_started.wait();
        ++ran;
      });
      ++ran;
    });
  }
  std::thread releaser([&] {
    while (ran.load() < 4) std::this_thread::yield();
    nested_go.set_value();
  });
  go.set_value();
  caller.wait_posted();
  EXPECT_EQ(ran.load(), 8);
  releaser.join();
}

TEST_F(Dispatch, DP01DP02ScheduledRunExecutesAlertsAndDelivers) {
  const std::string id = create({});
  h->dispatcher().start();
  tick(at("2026-04-16T12:00:00Z"));
  const json run = settle(id, 1);
  EXPECT_EQ(run["status"], "succeeded");
  EXPECT_EQ(run["trigger"], "schedule");
  EXPECT_EQ(run["scheduled_for"], "2026-04-16T12:00:00.000000+00:00");
  EXPECT_EQ(run["started_at"], "2026-04-16T12:00:00.000000+00:00");
  EXPECT_EQ(run["execution_path"], "claude_native");
  EXPECT_EQ(run["cost_usd"], 0.02);
  EXPECT_EQ(run["invocation_log_id"], "inv-1");
  EXPECT_EQ(run["output"], json::parse(R"({"price_usd":89,"in_stock":true})"));
  EXPECT_EQ(run["alert_fired"], true);
  EXPECT_EQ(
      run["alert_content"],
      "Automation 'watch shirt' alert:\nOutput: {\n  \"price_usd\": 89,\n  \"in_stock\": true\n}");
  ASSERT_EQ(run["deliveries"].size(), 2u);
  EXPECT_EQ(run["deliveries"][0]["channel"], "log");
  EXPECT_EQ(run["deliveries"][0]["delivered"], true);
  EXPECT_EQ(run["deliveries"][1]["channel"], "discord_channel");
  EXPECT_EQ(run["deliveries"][1]["delivered"], true);
  EXPECT_EQ(run["deliveries"][1]["http_status"], 204);
  EXPECT_EQ(run["alert_sent"], true);
  const json a = automation(id);
  EXPECT_EQ(a["run_count"], 1);
  EXPECT_EQ(a["failure_count"], 0);
  EXPECT_EQ(a["last_run_at"], "2026-04-16T12:00:00.000000+00:00");
  EXPECT_EQ(a["next_run_at"], "2026-04-17T12:00:00.000000+00:00");
  EXPECT_TRUE(a["in_flight_run_id"].is_null());
  // The executor's request (DP-02) and the notifier's message.
  const auto reqs = executor.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/run");
  EXPECT_NE(std::find(reqs[0].headers.begin(), reqs[0].headers.end(),
                      std::pair<std::string, std::string>{"X-Token", "t"}),
            reqs[0].headers.end());
  const json body = json::parse(reqs[0].body);
  EXPECT_EQ(body["automation_id"], id);
  EXPECT_EQ(body["automation_name"], "watch shirt");
  EXPECT_EQ(body["run_id"], run["id"]);
  EXPECT_EQ(body["user_id"], "tester");
  EXPECT_EQ(body["capability"], "product_watch");
  EXPECT_TRUE(body["skill_id"].is_null());
  EXPECT_EQ(body["inputs"],
            json::parse(R"({"url":"https://shop.example/shirt","prior_run_end":null})"));
  const auto notes = notifier.requests();
  ASSERT_EQ(notes.size(), 1u);
  const json note = json::parse(notes[0].body);
  EXPECT_EQ(note["kind"], "automation_alert");
  EXPECT_EQ(note["channel"], "discord_channel");
  EXPECT_EQ(note["priority"], 3);
  EXPECT_EQ(note["run_id"], run["id"]);
  EXPECT_EQ(note["output"]["price_usd"], 89);
  // The next day's run gets prior_run_end = the first run's finished_at.
  tick(at("2026-04-17T12:00:00Z"));
  settle(id, 2);
  ASSERT_EQ(executor.requests().size(), 2u);
  EXPECT_EQ(json::parse(executor.requests()[1].body)["inputs"]["prior_run_end"],
            run["finished_at"]);
}

TEST_F(Dispatch, DP03BudgetGuardSkipsWithoutCallingTheExecutor) {
  const std::string id = create({});
  h->set_now(at("2026-04-16T11:00:00Z"));
  commands::InvocationDraft inv;
  inv.invocation.task_type = "parse_task";
  inv.invocation.cost_micro_usd = 20'000'000;
  ASSERT_EQ(h->run([&](auto ctx, auto done) { h->ledger().record(inv, ctx, done); }).status, 201);
  h->dispatcher().start();
  tick(at("2026-04-16T12:00:00Z"));
  const json run = settle(id, 1);
  EXPECT_EQ(run["status"], "skipped_budget");
  EXPECT_EQ(run["cost_usd"], 0.0);
  EXPECT_EQ(run["started_at"], run["finished_at"]);
  EXPECT_TRUE(executor.requests().empty());
  const json a = automation(id);
  EXPECT_EQ(a["run_count"], 0);
  EXPECT_EQ(a["failure_count"], 0);
  EXPECT_EQ(a["next_run_at"], "2026-04-17T12:00:00.000000+00:00");
}

TEST_F(Dispatch, DP05TimeoutHttpErrorsAndInvalidAnswers) {
  h->config().executors["product_watch"].timeout_seconds = 0.3;
  const std::string id = create({{"trigger_type", "on_manual"}, {"min_interval_seconds", 0}});
  h->dispatcher().start();
  struct Case {
    int status;
    std::string body;
    std::chrono::milliseconds delay;
    std::string run_status, error;
  };
  const std::vector<Case> cases = {
      {200, kAnswer, 3000ms, "failed", "timeout"},
      {500, "{}", 0ms, "failed", "executor http 500"},
      {200, "[1,2]", 0ms, "failed", "executor returned invalid JSON"},
      {200, R"({"status":"escalated","error":"needs human"})", 0ms, "escalated", "needs human"},
      {200, R"({"status":"done"})", 0ms, "failed", "executor returned invalid status"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    answer(cases[i].status, cases[i].body, cases[i].delay);
    ASSERT_EQ(run_now(id).status, 202);
    const json run = settle(id, i + 1);
    EXPECT_EQ(run["status"], cases[i].run_status) << i;
    EXPECT_EQ(run["error"], cases[i].error) << i;
    EXPECT_EQ(automation(id)["failure_count"], static_cast<int>(i + 1));
  }
}

TEST_F(Dispatch, DP04CostCapFailsTheRunButKeepsTheOutput) {
  const std::string id = create(
      {{"trigger_type", "on_manual"}, {"max_cost_per_run_usd", 0.01}, {"min_interval_seconds", 0}});
  h->dispatcher().start();
  answer(200, R"({"status":"succeeded","output":{"price_usd":50},"cost_usd":0.5})");
  ASSERT_EQ(run_now(id).status, 202);
  const json run = settle(id, 1);
  EXPECT_EQ(run["status"], "failed");
  EXPECT_EQ(run["error"], "cost_exceeded");
  EXPECT_EQ(run["output"]["price_usd"], 50);
  EXPECT_EQ(run["alert_fired"], false);
  EXPECT_TRUE(run["deliveries"].empty());
  EXPECT_EQ(automation(id)["failure_count"], 1);
}

TEST_F(Dispatch, DP07NotifierFailureAndNoNotifier) {
  notifier.set_handler([](const StubRequest&) { return StubResponse{500, "{}"}; });
  const std::string id = create({{"trigger_type", "on_manual"}, {"min_interval_seconds", 0}});
  h->dispatcher().start();
  ASSERT_EQ(run_now(id).status, 202);
  json run = settle(id, 1);
  ASSERT_EQ(run["deliveries"].size(), 2u);
  EXPECT_EQ(run["deliveries"][1]["delivered"], false);
  EXPECT_EQ(run["deliveries"][1]["http_status"], 500);
  EXPECT_EQ(run["alert_sent"], true);
  // No notifier and a channel other than log → not delivered, alert_sent false.
  h->config().notifier_url.reset();
  auto patch = commands::parse_patch_automation(json{{"alert_channels", {"sms"}}});
  ASSERT_EQ(
      h->run([&](auto ctx, auto done) { h->automations().patch(id, *patch, ctx, done); }).status,
      200);
  ASSERT_EQ(run_now(id).status, 202);
  run = settle(id, 2);
  ASSERT_EQ(run["deliveries"].size(), 1u);
  EXPECT_EQ(run["deliveries"][0]["channel"], "sms");
  EXPECT_EQ(run["deliveries"][0]["delivered"], false);
  EXPECT_EQ(run["deliveries"][0]["error"], "notifier not configured");
  EXPECT_EQ(run["alert_sent"], false);
  // Empty channels → the default list (log).
  patch = commands::parse_patch_automation(json{{"alert_channels", json::array()}});
  ASSERT_EQ(
      h->run([&](auto ctx, auto done) { h->automations().patch(id, *patch, ctx, done); }).status,
      200);
  ASSERT_EQ(run_now(id).status, 202);
  run = settle(id, 3);
  ASSERT_EQ(run["deliveries"].size(), 1u);
  EXPECT_EQ(run["deliveries"][0]["channel"], "log");
  EXPECT_EQ(run["alert_sent"], true);
}

TEST_F(Dispatch, DP08DP10DP11BuiltInExecutorsAndMissingExecutor) {
  testing::StubServer target([](const StubRequest& r) {
    return r.target == "/health" ? StubResponse{200, R"({"ok":true})"}
                                 : StubResponse{503, "down", "text/plain"};
  });
  const std::string id = create({{"trigger_type", "on_manual"},
                                 {"min_interval_seconds", 0},
                                 {"inputs", {{"n", 1}}},
                                 {"alert_conditions", json::object()}});
  h->dispatcher().start();
  h->config().executors["product_watch"] = {"echo", "", std::nullopt, {}};
  ASSERT_EQ(run_now(id).status, 202);
  json run = settle(id, 1);
  EXPECT_EQ(run["status"], "succeeded");
  EXPECT_EQ(run["output"], json::parse(R"({"n":1,"prior_run_end":null})"));
  EXPECT_EQ(run["cost_usd"], 0.0);
  // http_check: a 200 JSON answer, a 503, and a host outside the allowlist.
  h->config().executors["product_watch"] = {"http_check", "", std::nullopt, {}};
  struct Case {
    std::string url;
    std::string status;
    json expect;
  };
  const std::vector<Case> cases = {
      {target.url("/health"),
       "succeeded",
       {{"status_code", 200}, {"ok", true}, {"json", {{"ok", true}}}}},
      {target.url("/down"), "succeeded", {{"status_code", 503}, {"ok", false}, {"json", nullptr}}},
      {"https://example.com/", "failed", nullptr},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto patch = commands::parse_patch_automation(json{{"inputs", {{"url", cases[i].url}}}});
    ASSERT_EQ(
        h->run([&](auto ctx, auto done) { h->automations().patch(id, *patch, ctx, done); }).status,
        200);
    ASSERT_EQ(run_now(id).status, 202);
    run = settle(id, i + 2);
    EXPECT_EQ(run["status"], cases[i].status) << i;
    if (cases[i].expect.is_null()) {
      EXPECT_EQ(run["error"], "host not allowed: example.com");
    } else {
      for (const auto& [k, v] : cases[i].expect.items()) EXPECT_EQ(run["output"][k], v) << k;
      EXPECT_TRUE(run["output"]["latency_ms"].is_number_integer());
    }
  }
  // No executor for the capability and no default.
  h->config().executors.clear();
  ASSERT_EQ(run_now(id).status, 202);
  run = settle(id, 5);
  EXPECT_EQ(run["status"], "failed");
  EXPECT_EQ(run["error"], "no executor configured for capability 'product_watch'");
}

TEST_F(Dispatch, DP09StateWritePersistsBetweenRuns) {
  const std::string id = create({{"trigger_type", "on_manual"}, {"min_interval_seconds", 0}});
  h->dispatcher().start();
  answer(200,
         R"({"status":"succeeded","output":{"price_usd":500},"state_write":{"last_price":89}})");
  ASSERT_EQ(run_now(id).status, 202);
  settle(id, 1);
  EXPECT_EQ(automation(id)["state"], json::parse(R"({"last_price":89})"));
  ASSERT_EQ(run_now(id).status, 202);
  settle(id, 2);
  EXPECT_EQ(json::parse(executor.requests()[1].body)["inputs"]["state"],
            json::parse(R"({"last_price":89})"));
}

TEST_F(Dispatch, FP01FailurePauseNotifiesAndRecordsALesson) {
  const std::string id = create({{"trigger_type", "on_manual"}, {"min_interval_seconds", 0}});
  h->dispatcher().start();
  answer(200, R"({"status":"failed","error":"timeout"})");
  for (std::size_t i = 1; i <= 5; ++i) {
    ASSERT_EQ(run_now(id).status, 202);
    settle(id, i);
  }
  const json a = automation(id);
  EXPECT_EQ(a["status"], "paused");
  EXPECT_EQ(a["failure_count"], 5);
  EXPECT_TRUE(a["next_run_at"].is_null());
  ASSERT_TRUE(notifier.wait_for_requests(1, 5s));  // failed runs do not alert
  std::optional<json> paused_note;
  for (const auto& r : notifier.requests()) {
    const json n = json::parse(r.body);
    if (n["kind"] == "automation_paused") paused_note = n;
  }
  ASSERT_TRUE(paused_note);
  EXPECT_EQ((*paused_note)["content"],
            "Automation 'watch shirt' paused after 5 consecutive failures. Last error: timeout");
  EXPECT_EQ((*paused_note)["priority"], 4);
  EXPECT_EQ((*paused_note)["channel"], "system");
  EXPECT_EQ((*paused_note)["automation_id"], id);
  ASSERT_TRUE(eventually([&] { return !h->lesson_queries().list({}).empty(); }));
  const json lesson = json::parse(h->lesson_queries().list({}).front());
  EXPECT_EQ(lesson["lesson_type"], "transient_retry");
  EXPECT_EQ(lesson["work_item_id"], id);
  EXPECT_EQ(lesson["stage"], "dispatch");
  EXPECT_EQ(lesson["source"], "auto");
  EXPECT_EQ(lesson["root_cause"],
            "automation paused after 5 consecutive failures; last error: timeout");
}

TEST_F(Dispatch, RN01RN02RunNowAnswersAndRefusals) {
  const std::string id = create({{"schedule", "0 * * * *"}, {"min_interval_seconds", 600}});
  h->dispatcher().start();
  h->set_now(at("2026-04-16T11:55:00Z"));
  answer(200, kAnswer, 800ms);
  auto r = run_now(id);
  ASSERT_EQ(r.status, 202) << r.body;
  const json body = json::parse(r.body);
  EXPECT_EQ(body["status"], "scheduled");
  EXPECT_EQ(body["next_run_at"], "2026-04-16T13:00:00.000000+00:00");  // MI-04
  // The start is durable when run-now answers.
  EXPECT_EQ(runs(id).size(), 1u);
  EXPECT_EQ(runs(id)[0]["id"], body["run_id"]);
  EXPECT_EQ(runs(id)[0]["trigger"], "run_now");
  // In flight → 409.
  r = run_now(id);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.problem->kind, ProblemKind::kRunInFlight);
  settle(id, 1);
  // MI-05: within the interval → 409 with Retry-After.
  h->set_now(at("2026-04-16T11:58:00Z"));
  r = run_now(id);
  ASSERT_EQ(r.status, 409);
  EXPECT_EQ(r.problem->kind, ProblemKind::kMinInterval);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Retry-After", "420"}));
  // Paused: 409 without force; forced → run_now_forced, stays paused.
  h->set_now(at("2026-04-16T12:30:00Z"));
  ASSERT_EQ(h->run([&](auto ctx, auto done) {
               h->automations().act(id, commands::AutomationCommands::Action::kPause, ctx, done);
             }).status,
            200);
  r = run_now(id);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.problem->kind, ProblemKind::kWrongState);
  answer(200, kAnswer);
  r = run_now(id, true);
  ASSERT_EQ(r.status, 202);
  EXPECT_TRUE(json::parse(r.body)["next_run_at"].is_null());
  json run = settle(id, 2);
  EXPECT_EQ(run["trigger"], "run_now_forced");
  EXPECT_EQ(automation(id)["status"], "paused");
  // Deleted (even forced) → 409; unknown → 404.
  ASSERT_EQ(h->run([&](auto ctx, auto done) {
               h->automations().act(id, commands::AutomationCommands::Action::kDelete, ctx, done);
             }).status,
            200);
  h->set_now(at("2026-04-16T14:00:00Z"));
  EXPECT_EQ(run_now(id, true).problem->kind, ProblemKind::kDeleted);
  EXPECT_EQ(run_now("0196a200-0000-7aaa-8bbb-cccc00000000").status, 404);
  // automations_enabled false → 503.
  h->config().automations_enabled = false;
  EXPECT_EQ(run_now(id).status, 503);
}

TEST_F(Dispatch, FP02RunInFlightWhenPausedFinishesAndStaysPaused) {
  const std::string id = create({});
  h->dispatcher().start();
  answer(200, kAnswer, 500ms);
  tick(at("2026-04-16T12:00:00Z"));
  ASSERT_TRUE(executor.wait_for_requests(1, 5s));
  ASSERT_EQ(h->run([&](auto ctx, auto done) {
               h->automations().act(id, commands::AutomationCommands::Action::kPause, ctx, done);
             }).status,
            200);
  const json run = settle(id, 1);
  EXPECT_EQ(run["status"], "succeeded");
  EXPECT_EQ(run["alert_sent"], true) << "its alert is still delivered";
  const json a = automation(id);
  EXPECT_EQ(a["status"], "paused");
  EXPECT_EQ(a["run_count"], 1);
  EXPECT_TRUE(a["next_run_at"].is_null());
}

TEST_F(Dispatch, SC01ConcurrencyLimitAcrossAutomations) {
  h->config().automation_max_concurrent_runs = 8;
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(create({{"name", "a" + std::to_string(i)}}));
  std::promise<void> open_gate;
  hold(open_gate.get_future().share());
  h->dispatcher().start();
  tick(at("2026-04-16T12:00:00Z"));
  ASSERT_TRUE(executor.wait_for_requests(8, 5s));
  // Eight runs are held by the executor; the other two wait for a slot.
  EXPECT_FALSE(executor.wait_for_requests(9, 300ms));
  EXPECT_EQ(json::parse(queue_block())["running"], 8);
  open_gate.set_value();
  ASSERT_TRUE(executor.wait_for_requests(10, 5s));
  for (const auto& id : ids) {
    const json run = settle(id, 1);
    EXPECT_EQ(run["status"], "succeeded");
    EXPECT_EQ(run["scheduled_for"], "2026-04-16T12:00:00.000000+00:00");
  }
}

TEST_F(Dispatch, SC02AFireDuringARunCoalescesIntoOneRun) {
  const std::string id = create({{"schedule", "* * * * *"}, {"min_interval_seconds", 60}});
  std::promise<void> open_gate;
  hold(open_gate.get_future().share());
  h->dispatcher().start();
  tick(at("2026-04-16T12:00:00Z"));
  ASSERT_TRUE(executor.wait_for_requests(1, 5s));
  tick(at("2026-04-16T12:01:30Z"));  // 12:01 falls due while the run is in flight
  EXPECT_FALSE(executor.wait_for_requests(2, 200ms));
  open_gate.set_value();
  ASSERT_TRUE(eventually([&] { return runs(id).size() == 2; }));
  const json second = settle(id, 2);
  EXPECT_EQ(second["scheduled_for"], "2026-04-16T12:01:00.000000+00:00");
  EXPECT_EQ(second["started_at"], "2026-04-16T12:01:30.000000+00:00");
  EXPECT_EQ(automation(id)["next_run_at"], "2026-04-16T12:03:00.000000+00:00");
  EXPECT_EQ(executor.requests().size(), 2u);
}

TEST_F(Dispatch, SC03OverdueAtStartupRunsOnce) {
  h->set_now(at("2026-04-16T09:00:00Z"));
  const std::string id = create({{"schedule", "0 * * * *"}});
  EXPECT_EQ(automation(id)["next_run_at"], "2026-04-16T10:00:00.000000+00:00");
  h->close();
  h->set_now(at("2026-04-16T13:37:00Z"));
  h->open();
  h->dispatcher().start();
  const json run = settle(id, 1);
  EXPECT_EQ(run["scheduled_for"], "2026-04-16T10:00:00.000000+00:00");
  EXPECT_EQ(automation(id)["next_run_at"], "2026-04-16T14:00:00.000000+00:00");
  // 14:00 is not due at 13:37: a look at what is due starts nothing more.
  h->dispatcher().wake();
  EXPECT_TRUE(h->dispatcher().wait_idle(5s));
  EXPECT_EQ(runs(id).size(), 1u);
}

TEST_F(Dispatch, RC01RunInFlightAtShutdownIsInterruptedOnRestart) {
  const std::string id = create({});
  answer(200, kAnswer, 30'000ms);
  h->dispatcher().start();
  tick(at("2026-04-16T12:00:00Z"));
  ASSERT_TRUE(executor.wait_for_requests(1, 5s));
  h->core().dispatcher->stop(0ms);
  h->close();
  h->set_now(at("2026-04-16T12:10:00Z"));
  h->open();
  EXPECT_EQ(runs(id)[0]["status"], "running");
  h->dispatcher().start();  // recovery completes before start() returns
  const json run = runs(id)[0];
  EXPECT_EQ(run["status"], "failed");
  EXPECT_EQ(run["error"], "interrupted");
  EXPECT_EQ(run["finished_at"], "2026-04-16T12:10:00.000000+00:00");
  EXPECT_EQ(automation(id)["failure_count"], 1);
  EXPECT_TRUE(automation(id)["in_flight_run_id"].is_null());
}

TEST_F(Dispatch, RC02FiredAlertWithoutDeliveriesIsDeliveredOnStart) {
  const std::string id = create({});
  // A run whose finish committed but whose deliveries were never recorded.
  automation::RunStarted s;
  s.run_id = "0196a201-0000-7aaa-8bbb-cccc00009999";
  s.trigger = "schedule";
  s.started_at = h->now();
  s.execution_path = "claude_native";
  automation::RunFinished f;
  f.run_id = s.run_id;
  f.status = "succeeded";
  f.output = R"({"price_usd":89})";
  f.alert_fired = true;
  f.alert_content = "Automation 'watch shirt' alert:\nOutput: {\n  \"price_usd\": 89\n}";
  f.finished_at = h->now();
  f.run_count = 1;
  ASSERT_TRUE(h->store().append(
      automation::stream_name(id), events::ExpectedVersion::exact(1),
      {events::encode(automation::Event{s}), events::encode(automation::Event{f})},
      {"system", "test", std::nullopt}));
  h->dispatcher().start();
  ASSERT_TRUE(eventually([&] { return runs(id)[0]["deliveries"].size() == 2; }));
  ASSERT_TRUE(h->dispatcher().wait_idle(5s));
  EXPECT_EQ(runs(id)[0]["alert_sent"], true);
  ASSERT_EQ(notifier.requests().size(), 1u);
  // Delivered once: a restart does not deliver again.
  h->close();
  h->open();
  h->dispatcher().start();
  ASSERT_TRUE(h->dispatcher().wait_idle(5s));
  EXPECT_EQ(notifier.requests().size(), 1u);
  EXPECT_EQ(runs(id)[0]["deliveries"].size(), 2u);
}

TEST_F(Dispatch, LiveAndRebuiltRunReadModelsAgree) {
  const std::string id = create({{"trigger_type", "on_manual"}, {"min_interval_seconds", 0}});
  h->dispatcher().start();
  for (std::size_t i = 1; i <= 3; ++i) {
    ASSERT_EQ(run_now(id).status, 202);
    settle(id, i);
  }
  for (const char* name : {"automations", "automation_runs"}) {
    const auto live = h->projector().status(name);
    EXPECT_EQ(h->projector().rebuild({name}, 0).read_models[0].digest, live->digest) << name;
  }
}

}  // namespace
}  // namespace annals

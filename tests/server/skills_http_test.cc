// Skills over HTTP against a real annalsd (API §3-5; SPEC §10.1-10.4): registration, the
// transition route and its errors, runs and divergences with the promotion gates, held promotions,
// degradation with its notification and auto-lesson, and the dispatcher's skill path.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/eventually.h"
#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/stub_server.h"
#include "tests/support/temp_dir.h"

namespace annals::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kOps = "ops-secret";
constexpr const char* kWorker = "worker-secret";
constexpr const char* kViewer = "viewer-secret";

class SkillsHttp : public ::testing::Test {
 protected:
  StubServer notifier{[](const StubRequest&) { return StubResponse{204, ""}; }};

  void SetUp() override {
    const std::string config = dir_.sub("annals.yaml");
    std::ofstream(config) << "tokens:\n"
                          << "  - {name: ops, token: " << kOps << ", role: admin}\n"
                          << "  - {name: worker, token: " << kWorker << ", role: writer}\n"
                          << "  - {name: viewer, token: " << kViewer << ", role: reader}\n"
                          << "executors:\n  default: {type: echo}\n"
                          << "notifier_url: '" << notifier.url("/notify") << "'\n";
    server_ = std::make_unique<ServerProcess>(
        ANNALSD_PATH, std::vector<std::string>{"--config", config, "--data", dir_.sub("data"),
                                               "--listen", "127.0.0.1:0", "--log-level", "warn"});
    client_ = std::make_unique<HttpClient>(server_->port());
    ASSERT_EQ(client_
                  ->post("/admin/capabilities",
                         R"({"name":"parse_task","trigger_type":"on_message"})", kOps)
                  .status,
              201);
  }

  HttpReply post(const std::string& target, const json& body, const char* token = kOps,
                 const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    return client_->post(target, body.dump(), token, headers);
  }
  json get(const std::string& target) {
    auto r = client_->get(target, kViewer);
    EXPECT_EQ(r.status, 200) << target << " " << r.body;
    return json::parse(r.body, nullptr, false);
  }
  // Registers the `summarize` capability and records `n` of its invocations at `cost_usd` each.
  void summarize_with_invocations(int n, double cost_usd) {
    ASSERT_EQ(client_
                  ->post("/admin/capabilities",
                         R"({"name":"summarize","trigger_type":"on_message"})", kOps)
                  .status,
              201);
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(
          post("/admin/invocations",
               {{"task_type", "summarize"}, {"cost_usd", cost_usd}, {"output", {{"summary", "x"}}}},
               kWorker)
              .status,
          201);
    }
  }
  static json version() {
    return {{"yaml_backbone", "steps:\n  - name: extract\n    kind: llm\n"},
            {"step_content", {{"extract", "Extract the task fields"}}},
            {"output_schemas", {{"extract", {{"type", "object"}}}}}};
  }
  // Registers a skill of `capability` with a version in `state` and returns its S+.
  json register_skill(const std::string& state, bool gate,
                      const std::string& capability = "parse_task") {
    auto r = post("/admin/skills", {{"capability_name", capability},
                                    {"requires_human_gate", gate},
                                    {"initial_state", state},
                                    {"initial_version", version()}});
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body);
  }
  json transition(const std::string& id, const std::string& to, const std::string& reason) {
    auto r = post("/admin/skills/" + id + "/state", {{"to_state", to}, {"reason", reason}});
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  json record_run(const json& s, const std::string& status = "succeeded",
                  json extra = json::object()) {
    json body = {{"skill_id", s["id"]},
                 {"skill_version_id", s["current_version_id"]},
                 {"status", status},
                 {"started_at", "2026-04-16T10:00:00Z"},
                 {"finished_at", "2026-04-16T10:00:01.840Z"}};
    body.update(extra);
    auto r = post("/admin/skill-runs", body, kWorker);
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  json diverge(const std::string& run_id, double agreement) {
    auto r = post("/admin/skill-runs/" + run_id + "/divergence", {{"overall_agreement", agreement}},
                  kWorker);
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  // The first notification of `kind` the notifier received, waiting for it with a deadline.
  std::optional<json> notification(const std::string& kind) {
    std::optional<json> found;
    eventually([&] {
      for (const auto& n : notifier.requests()) {
        const json note = json::parse(n.body);
        if (note["kind"] == kind) found = note;
      }
      return found.has_value();
    });
    return found;
  }
  std::vector<json> lessons(const std::string& type) {
    const json page = get("/lessons?lesson_type=" + type);
    return page["lessons"].get<std::vector<json>>();
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(SkillsHttp, SK11SK12RegistrationAndTheTable) {
  const json table = get("/admin/skills/_transitions");
  EXPECT_EQ(table["count"], 18);
  EXPECT_EQ(
      table["transitions"][0],
      json::parse(
          R"({"from_state":"claude_native","to_state":"claude_native","allowed_reasons":["manual_override"]})"));
  auto r = post("/admin/skills", {{"capability_name", "parse_task"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const json s = json::parse(r.body);
  EXPECT_EQ(s["state"], "claude_native");
  EXPECT_EQ(s["requires_human_gate"], true);
  EXPECT_TRUE(s["baseline_agreement"].is_null());
  EXPECT_TRUE(s["current_version_id"].is_null());
  EXPECT_EQ(s["shadow_sample_rate"], 0.0);
  EXPECT_EQ(r.header("location"), "/admin/skills/" + s["id"].get<std::string>());
  EXPECT_EQ(r.header("etag"), "\"1\"");
  EXPECT_EQ(post("/admin/skills", {{"capability_name", "parse_task"}}).status, 409);
  EXPECT_EQ(post("/admin/skills", {{"capability_name", "ghost"}}).status, 422);
  ASSERT_EQ(
      client_->post("/admin/capabilities", R"({"name":"fresh","trigger_type":"on_message"})", kOps)
          .status,
      201);
  r = post(
      "/admin/skills",
      {{"capability_name", "fresh"}, {"initial_state", "sandbox"}, {"initial_version", version()}});
  ASSERT_EQ(r.status, 201) << r.body;
  const json fresh = json::parse(r.body);
  EXPECT_EQ(fresh["state"], "sandbox");
  EXPECT_EQ(fresh["current_version"]["version_number"], 1);
  EXPECT_EQ(fresh["current_version"]["created_by"], "human");
  EXPECT_EQ(get("/admin/skills/" + fresh["id"].get<std::string>() + "/transitions")["count"], 0);
  EXPECT_EQ(get("/admin/skills/" + fresh["id"].get<std::string>() + "/versions")["count"], 1);
  EXPECT_EQ(get("/admin/skills/" + fresh["id"].get<std::string>() + "/versions/" +
                fresh["current_version_id"].get<std::string>()),
            fresh["current_version"]);
  // Structural check and state/version mismatches → 422.
  ASSERT_EQ(
      client_->post("/admin/capabilities", R"({"name":"other","trigger_type":"on_message"})", kOps)
          .status,
      201);
  json bad = version();
  bad["yaml_backbone"] = "steps: [{kind: llm}]";
  r = post("/admin/skills", {{"capability_name", "other"}, {"initial_version", bad}});
  EXPECT_EQ(r.status, 422);
  EXPECT_NE(r.body.find("step 0 has no name"), std::string::npos) << r.body;
  EXPECT_EQ(
      post("/admin/skills", {{"capability_name", "other"}, {"initial_state", "sandbox"}}).status,
      422);
  EXPECT_EQ(post("/admin/skills", {{"capability_name", "other"},
                                   {"initial_state", "claude_native"},
                                   {"initial_version", version()}})
                .status,
            422);
  EXPECT_EQ(post("/admin/skills", {{"capability_name", "other"}}, kWorker).status, 403);
}

TEST_F(SkillsHttp, SK01ToSK10TransitionsOverHttp) {
  const json s = json::parse(post("/admin/skills", {{"capability_name", "parse_task"}}).body);
  const std::string id = s["id"];
  const std::string base = "/admin/skills/" + id + "/state";
  json t = transition(id, "skill_candidate", "gate_passed");
  EXPECT_EQ(t["skill"]["state"], "skill_candidate");
  EXPECT_EQ(t["transition"]["actor"], "ops");
  EXPECT_TRUE(t["transition"]["actor_id"].is_null());
  // SK-03 / SK-04 / SK-05: 409 with the exact details; nothing appended.
  auto r = post(base, {{"to_state", "trusted"}, {"reason", "gate_passed"}});
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(json::parse(r.body)["detail"],
            "Transition 'skill_candidate' → 'trusted' is not permitted.");
  EXPECT_EQ(json::parse(r.body)["type"], "urn:annals:problem:illegal-transition");
  r = post(base, {{"to_state", "skill_candidate"}, {"reason", "gate_passed"}});
  EXPECT_TRUE(json::parse(r.body)["detail"].get<std::string>().starts_with(
      "Self-loop transition not allowed"));
  r = post(base, {{"to_state", "claude_native"}, {"reason", "gate_passed"}});
  EXPECT_TRUE(
      json::parse(r.body)["detail"].get<std::string>().ends_with("allowed: manual_override"));
  // SK-06: unknown id → 404; a bad enum → 422 first.
  const std::string unknown = "/admin/skills/0196a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b/state";
  EXPECT_EQ(post(unknown, {{"to_state", "draft"}, {"reason", "gate_passed"}}).status, 404);
  r = post(unknown, {{"to_state", "not_a_real_state"}, {"reason", "gate_passed"}});
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(json::parse(r.body)["errors"][0]["field"], "to_state");
  // If-Match.
  EXPECT_EQ(
      post(base, {{"to_state", "draft"}, {"reason", "gate_passed"}}, kOps, {{"If-Match", "\"1\""}})
          .status,
      412);
  EXPECT_EQ(get("/admin/skills/" + id + "/transitions")["count"], 1);
  // SK-02: the walk to trusted (a human actor is never blocked by the gate).
  transition(id, "draft", "gate_passed");
  transition(id, "sandbox", "human_approval");
  transition(id, "shadow_primary", "gate_passed");
  t = transition(id, "trusted", "human_approval");
  EXPECT_TRUE(t["skill"]["baseline_agreement"].is_null()) << "BL-03: no divergences";
  EXPECT_EQ(t["skill"]["shadow_sample_rate"], 0.05);
  EXPECT_EQ(get("/admin/skills/" + id + "/transitions")["count"], 5);
  transition(id, "flagged_for_review", "degradation");
  // SK-10: actor_id and notes; `at` is the skill's new updated_at.
  r = post(base, {{"to_state", "trusted"},
                  {"reason", "human_approval"},
                  {"actor_id", "nick"},
                  {"notes", "reviewed"}});
  ASSERT_EQ(r.status, 200);
  const json row = json::parse(r.body)["transition"];
  EXPECT_EQ(row["actor"], "ops");
  EXPECT_EQ(row["actor_id"], "nick");
  EXPECT_EQ(row["notes"], "reviewed");
  EXPECT_EQ(row["at"], json::parse(r.body)["skill"]["updated_at"]);
  EXPECT_EQ(get("/admin/skills/" + id + "/transitions?limit=1")["transitions"][0], row);
  EXPECT_EQ(get("/admin/skills?state=trusted")["count"], 1);
  EXPECT_EQ(get("/admin/skills?state=draft")["count"], 0);
  EXPECT_EQ(client_->get("/admin/skills?state=bogus", kViewer).status, 422);
}

TEST_F(SkillsHttp, GT01GT05GT06SandboxGateHeldPromotionAndTheFlag) {
  const json s = register_skill("sandbox", true);
  const std::string id = s["id"];
  for (int i = 1; i <= 19; ++i) {
    EXPECT_TRUE(record_run(s)["effects"].empty()) << i;
  }
  json last = record_run(s);
  ASSERT_EQ(last["effects"].size(), 1u);
  EXPECT_EQ(last["effects"][0]["type"], "SkillPromotionHeld");
  EXPECT_EQ(last["effects"][0]["to_state"], "shadow_primary");
  EXPECT_TRUE(record_run(s)["effects"].empty()) << "held once per version and state";
  json detail = get("/admin/skills/" + id);
  EXPECT_EQ(detail["state"], "sandbox");
  EXPECT_EQ(detail["promotion_held"]["metrics"],
            json::parse(R"({"validity_rate":1.0,"runs_examined":20})"));
  // The list serves S: the detail (S+) without its detail-only members, the rest unchanged.
  json summary = detail;
  for (const char* member : {"current_version", "promotion_held", "evolution_pending"}) {
    ASSERT_TRUE(summary.contains(member)) << member;
    summary.erase(member);
  }
  EXPECT_EQ(get("/admin/skills?state=sandbox")["skills"][0], summary);
  // The merge_hold auto-lesson (an observer, after the commit).
  std::vector<json> holds;
  eventually([&] { return !(holds = lessons("merge_hold")).empty(); });
  ASSERT_EQ(holds.size(), 1u);
  EXPECT_EQ(holds[0]["work_item_id"], id);
  EXPECT_EQ(holds[0]["stage"], "shadow_primary");
  // GT-06: the flag off promotes in the same response.
  auto r = post("/admin/skills/" + id + "/flags/requires_human_gate", {{"value", false}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json flagged = json::parse(r.body);
  const std::string etag = r.header("etag");
  EXPECT_EQ(flagged["skill"]["state"], "shadow_primary");
  ASSERT_EQ(flagged["effects"].size(), 1u);
  EXPECT_EQ(flagged["effects"][0]["reason"], "gate_passed");
  const json row = get("/admin/skills/" + id + "/transitions?limit=1")["transitions"][0];
  EXPECT_EQ(row["actor"], "system");
  EXPECT_EQ(row["to_state"], "shadow_primary");
  // Same value again: no event.
  r = post("/admin/skills/" + id + "/flags/requires_human_gate", {{"value", false}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("etag"), etag);
  EXPECT_TRUE(json::parse(r.body)["effects"].empty());
  EXPECT_EQ(post("/admin/skills/" + id + "/flags/requires_human_gate", {{"value", "no"}}).status,
            422);
}

TEST_F(SkillsHttp, GT07DG03ShadowGateThenDegradationWithNotificationAndLesson) {
  const json s = register_skill("sandbox", false);
  const std::string id = s["id"];
  transition(id, "shadow_primary", "human_approval");
  json last;
  for (int i = 1; i <= 100; ++i) {
    const json run = record_run(s);
    last = diverge(run["id"], 0.9);
    if (i < 100) {
      EXPECT_TRUE(last["effects"].empty()) << i;
    }
  }
  ASSERT_EQ(last["effects"].size(), 1u);
  EXPECT_EQ(last["effects"][0]["to_state"], "trusted");
  EXPECT_EQ(last["effects"][0]["notes"], R"({"mean_agreement":0.9,"runs_examined":100})");
  json detail = get("/admin/skills/" + id);
  EXPECT_EQ(detail["state"], "trusted");
  EXPECT_EQ(detail["baseline_agreement"], 0.9);
  // Degradation over the latest 30 divergences (all of them, older ones included): 0.4s push the
  // 0.9s out; the 7th leaves 23 successes of 30 → upper 0.882078 < 0.9 → flagged (DG-07).
  const json run = record_run(s);
  for (int i = 1; i <= 7; ++i) {
    last = diverge(run["id"], 0.4);
    if (i < 7) {
      EXPECT_TRUE(last["effects"].empty()) << i;
    }
  }
  ASSERT_EQ(last["effects"].size(), 1u);
  EXPECT_EQ(last["effects"][0]["to_state"], "flagged_for_review");
  EXPECT_EQ(last["effects"][0]["reason"], "degradation");
  EXPECT_TRUE(last["effects"][0]["notes"].get<std::string>().starts_with(
      R"({"current_successes":23,"current_trials":30,"current_ci_lower":0.5907)"))
      << last["effects"][0]["notes"];
  ASSERT_TRUE(notifier.wait_for_requests(1, 5s));
  const json note = json::parse(notifier.requests()[0].body);
  EXPECT_EQ(note["kind"], "skill_flagged");
  EXPECT_EQ(note["priority"], 4);
  EXPECT_EQ(note["skill_id"], id);
  EXPECT_EQ(note["content"], "Trusted skill 'parse_task' (" + id +
                                 ") degraded: CI upper 0.88 < baseline 0.90; demoted to "
                                 "flagged_for_review pending human decision.");
  std::vector<json> degraded;
  eventually([&] { return !(degraded = lessons("deploy_degraded")).empty(); });
  ASSERT_EQ(degraded.size(), 1u);
  EXPECT_EQ(degraded[0]["stage"], "degradation");
  // BL-01: human approval back to trusted → baseline = mean of the latest 100 divergences.
  const json back = transition(id, "trusted", "human_approval");
  EXPECT_NEAR(back["skill"]["baseline_agreement"].get<double>(), (93 * 0.9 + 7 * 0.4) / 100, 1e-12);
  // Divergence reads.
  EXPECT_EQ(
      get("/admin/skill-runs/" + run["id"].get<std::string>() + "/divergence")["overall_agreement"],
      0.4);
  EXPECT_EQ(get("/admin/skills/" + id + "/divergences")["count"], 100);
}

TEST_F(SkillsHttp, RunsAndDivergencesValidateAndRead) {
  const json s = register_skill("sandbox", true);
  const std::string id = s["id"];
  const json run = record_run(
      s, "failed",
      {{"inputs", {{"text", "pay rent"}}},
       {"step_results",
        json::parse(
            R"([{"step_name":"b","step_index":1},{"step_name":"a","step_index":0,"validation_status":"continued","prompt_tokens":12}])")},
       {"total_cost_usd", 0.0031}});
  EXPECT_EQ(run["inputs"]["text"], "pay rent");
  EXPECT_EQ(run["step_results"][0]["step_name"], "a");
  EXPECT_EQ(run["step_results"][0]["step_kind"], "llm");
  EXPECT_EQ(run["total_cost_usd"], 0.0031);
  EXPECT_EQ(run["user_id"], "worker");
  const json stored = get("/admin/skill-runs/" + run["id"].get<std::string>());
  json expected = run;
  expected.erase("effects");
  EXPECT_EQ(stored, expected);
  EXPECT_EQ(get("/admin/skills/" + id + "/runs?status=failed")["count"], 1);
  EXPECT_EQ(get("/admin/skills/" + id + "/runs?status=succeeded")["count"], 0);
  EXPECT_EQ(get("/admin/skill-runs?skill_id=" + id)["count"], 1);
  EXPECT_FALSE(get("/admin/skill-runs")["runs"][0].contains("inputs")) << "lists serve R";
  auto bad = [&](json patch) {
    json body = {{"skill_id", id},
                 {"skill_version_id", s["current_version_id"]},
                 {"status", "succeeded"},
                 {"started_at", "2026-04-16T10:00:00Z"},
                 {"finished_at", "2026-04-16T10:00:01Z"}};
    body.update(patch);
    return post("/admin/skill-runs", body, kWorker).status;
  };
  EXPECT_EQ(bad({{"skill_id", "0196a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b"}}), 422);
  EXPECT_EQ(bad({{"skill_version_id", "0196a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b"}}), 422);
  EXPECT_EQ(bad({{"finished_at", "2026-04-16T09:00:00Z"}}), 422);
  EXPECT_EQ(bad({{"automation_run_id", "0196a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b"}}), 422);
  EXPECT_EQ(bad({{"status", "done"}}), 422);
  EXPECT_EQ(bad({{"step_results", json::parse(R"([{"step_index":-1}])")}}), 422);
  EXPECT_EQ(bad({{"colour", "red"}}), 422);
  // Divergences: clamped, submitted kept; bad values 422; unknown run 404.
  const json d = diverge(run["id"], -0.3);
  EXPECT_EQ(d["overall_agreement"], 0.0);
  EXPECT_EQ(d["submitted_agreement"], -0.3);
  EXPECT_EQ(post("/admin/skill-runs/" + run["id"].get<std::string>() + "/divergence",
                 {{"overall_agreement", true}}, kWorker)
                .status,
            422);
  EXPECT_EQ(post("/admin/skill-runs/0196a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b/divergence",
                 {{"overall_agreement", 0.5}}, kWorker)
                .status,
            404);
  EXPECT_EQ(client_->get("/admin/skills/0196a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b/runs", kViewer).status,
            404);
  EXPECT_EQ(
      client_->get("/admin/skill-runs/0196a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b/divergence", kViewer)
          .status,
      404);
}

TEST_F(SkillsHttp, DP02AutomationsRunThroughALiveSkill) {
  const json s = register_skill("sandbox", false);
  const std::string id = s["id"];
  auto a = post("/admin/automations", {{"name", "parse inbox"},
                                       {"capability_name", "parse_task"},
                                       {"inputs", json::object()},
                                       {"trigger_type", "on_manual"},
                                       {"min_interval_seconds", 0}});
  ASSERT_EQ(a.status, 201) << a.body;
  const std::string automation = json::parse(a.body)["id"];
  auto run_path = [&] {
    auto r = post("/admin/automations/" + automation + "/run-now", json::object());
    EXPECT_EQ(r.status, 202) << r.body;
    json run;
    EXPECT_TRUE(eventually([&] {
      run = get("/admin/automations/" + automation + "/runs?limit=1")["runs"][0];
      return run["status"] != "running";
    }));
    return run;
  };
  EXPECT_EQ(run_path()["execution_path"], "claude_native");  // sandbox
  transition(id, "shadow_primary", "human_approval");
  transition(id, "trusted", "human_approval");
  const json run = run_path();
  EXPECT_EQ(run["execution_path"], "skill");
  EXPECT_EQ(run["skill_id"], id);
  EXPECT_EQ(run["skill_version_id"], s["current_version_id"]);
  // A skill run can name that automation run.
  const json linked = record_run(s, "succeeded", {{"automation_run_id", run["id"]}});
  EXPECT_EQ(linked["automation_run_id"], run["id"]);
}

TEST_F(SkillsHttp, LifecycleToDegradedThenEvolution) {
  // register → draft → sandbox (human) → 20 runs → shadow_primary → 100 divergences → trusted.
  const json s = register_skill("draft", true);
  const std::string id = s["id"];
  transition(id, "sandbox", "human_approval");
  ASSERT_EQ(post("/admin/skills/" + id + "/flags/requires_human_gate", {{"value", false}}).status,
            200);
  std::vector<std::string> runs;
  for (int i = 0; i < 20; ++i) runs.push_back(record_run(s)["id"]);
  EXPECT_EQ(get("/admin/skills/" + id)["state"], "shadow_primary");
  for (int i = 0; i < 100; ++i) diverge(record_run(s)["id"], 0.92);
  EXPECT_EQ(get("/admin/skills/" + id)["state"], "trusted");
  // Low agreement → flagged_for_review (system) → degraded (human).
  const json bad_run = record_run(s, "failed");
  for (int i = 0; i < 7; ++i) diverge(bad_run["id"], 0.1);
  EXPECT_EQ(get("/admin/skills/" + id)["state"], "flagged_for_review");
  transition(id, "degraded", "human_approval");
  // The evolution input package.
  const json input = get("/admin/skills/" + id + "/evolution-input");
  EXPECT_EQ(input["skill_id"], id);
  EXPECT_EQ(input["capability"]["name"], "parse_task");
  EXPECT_EQ(input["capability"]["trigger_type"], "on_message");
  EXPECT_EQ(input["current_version"]["id"], s["current_version_id"]);
  ASSERT_EQ(input["divergence_cases"].size(), 30u);
  EXPECT_EQ(input["divergence_cases"][0]["run_id"], bad_run["id"]);
  EXPECT_EQ(input["divergence_cases"][0]["agreement"], 0.1);
  EXPECT_TRUE(input["divergence_cases"][0]["inputs"].is_object());
  EXPECT_EQ(input["stats"]["total_divergence_samples"], 107);
  EXPECT_EQ(input["stats"]["skill_run_failure_count"], 1);
  EXPECT_NEAR(input["stats"]["current_mean_agreement"].get<double>(), (100 * 0.92 + 7 * 0.1) / 107,
              1e-9);
  EXPECT_TRUE(input["correction_log"].empty());
  EXPECT_TRUE(input["prior_evolution_log"].empty());
  EXPECT_TRUE(input["fixture_library"].empty());
  EXPECT_TRUE(input["gate_cases"]["recent_success"].empty()) << "the runs started in April";
  const std::string attempts = "/admin/skills/" + id + "/evolution-attempts";
  // Not degraded / bad bodies.
  EXPECT_EQ(post(attempts, {{"malformed_output", "yes"}}, kWorker).status, 422);
  EXPECT_EQ(post(attempts, {{"diagnosis", json::object()}}, kWorker).status, 422);
  // Two rejected attempts → claude_native.
  auto r = post(attempts, {{"malformed_output", true}, {"cost_usd", 0.42}}, kWorker);
  ASSERT_EQ(r.status, 201) << r.body;
  json a = json::parse(r.body);
  EXPECT_EQ(a["outcome"], "rejected_validation");
  EXPECT_EQ(a["rationale"], "malformed llm output");
  EXPECT_EQ(a["validation_results"], json::parse(R"({"malformed_output":true})"));
  EXPECT_EQ(a["from_version_id"], s["current_version_id"]);
  EXPECT_TRUE(a["effects"].empty());
  json bad_version = version();
  bad_version["yaml_backbone"] = "steps: [{kind: llm}]";
  r = post(attempts,
           {{"diagnosis", {{"failure_pattern", "dates"}}},
            {"new_skill_version", bad_version},
            {"changelog", "try"},
            {"targeted_failure_cases", {bad_run["id"]}}},
           kWorker);
  ASSERT_EQ(r.status, 201) << r.body;
  a = json::parse(r.body);
  EXPECT_EQ(a["rationale"], "structural gate failed: step 0 has no name");
  ASSERT_EQ(a["effects"].size(), 1u);
  EXPECT_EQ(a["effects"][0]["to_state"], "claude_native");
  EXPECT_EQ(a["effects"][0]["reason"], "evolution_failed");
  EXPECT_EQ(a["effects"][0]["notes"], "2 consecutive rejected evolution attempts");
  EXPECT_EQ(get("/admin/skills/" + id)["state"], "claude_native");
  const json log = get(attempts);
  ASSERT_EQ(log["count"], 2);
  EXPECT_EQ(log["attempts"][0]["id"], a["id"]);
  EXPECT_EQ(post(attempts, {{"malformed_output", true}}, kWorker).status, 409);  // not degraded
  std::vector<json> failures;
  eventually([&] { return (failures = lessons("gate_failure")).size() >= 2; });
  ASSERT_EQ(failures.size(), 2u);
  EXPECT_EQ(failures[0]["stage"], "structural");
  EXPECT_EQ(failures[1]["stage"], "malformed_output");

  // A successful attempt on another degraded skill → a new version parked in draft.
  ASSERT_EQ(
      client_->post("/admin/capabilities", R"({"name":"triage","trigger_type":"on_message"})", kOps)
          .status,
      201);
  const json s2 = register_skill("sandbox", false, "triage");
  ASSERT_TRUE(s2.contains("id"));
  const std::string id2 = s2["id"];
  transition(id2, "shadow_primary", "human_approval");
  const json run2 = record_run(s2);
  for (int i = 0; i < 14; ++i) diverge(run2["id"], 0.3);
  auto early = client_->get("/admin/skills/" + id2 + "/evolution-input", kViewer);
  EXPECT_EQ(early.status, 409);
  EXPECT_EQ(json::parse(early.body)["detail"], "insufficient divergence data: 14 < 15");
  diverge(run2["id"], 0.3);
  EXPECT_EQ(
      post("/admin/skills/" + id2 + "/evolution-attempts", {{"malformed_output", true}}, kWorker)
          .status,
      409);
  transition(id2, "trusted", "human_approval");
  transition(id2, "flagged_for_review", "manual_override");
  transition(id2, "degraded", "human_approval");
  json good = version();
  good["step_content"]["extract"] = "Extract, resolving relative dates";
  r = post("/admin/skills/" + id2 + "/evolution-attempts",
           {{"diagnosis", {{"failure_pattern", "relative dates"}}},
            {"new_skill_version", good},
            {"changelog", "Handle relative dates"},
            {"targeted_failure_cases", {run2["id"]}},
            {"evidence", {{"targeted", {{{"run_id", run2["id"]}, {"status", "succeeded"}}}}}}},
           kWorker);
  ASSERT_EQ(r.status, 201) << r.body;
  a = json::parse(r.body);
  EXPECT_EQ(a["outcome"], "success");
  EXPECT_EQ(a["rationale"], "all 4 gates passed");
  EXPECT_EQ(a["validation_results"]["targeted"]["pass_rate"], 1.0);
  EXPECT_EQ(a["validation_results"]["structural"]["step_count"], 1);
  ASSERT_EQ(a["effects"].size(), 2u);
  EXPECT_EQ(a["effects"][0]["type"], "SkillVersionAdded");
  EXPECT_EQ(a["effects"][0]["version_number"], 2);
  EXPECT_EQ(a["effects"][1]["to_state"], "draft");
  const json after = get("/admin/skills/" + id2);
  EXPECT_EQ(after["state"], "draft");
  EXPECT_TRUE(after["baseline_agreement"].is_null());
  EXPECT_EQ(after["current_version"]["version_number"], 2);
  EXPECT_EQ(after["current_version"]["created_by"], "claude_evolution");
  EXPECT_EQ(after["current_version_id"], a["to_version_id"]);
  EXPECT_EQ(get("/admin/skills/" + id2 + "/versions")["count"], 2);
  const auto evolved = notification("skill_evolved");
  ASSERT_TRUE(evolved);
  EXPECT_EQ((*evolved)["content"],
            "Evolved version 2 of skill 'triage' is parked in draft and needs human approval.");
}

TEST_F(SkillsHttp, NightlyRunSchedulesEvolutionAndSweepsSkills) {
  // A degraded skill with enough divergences and a trusted one.
  const json s = register_skill("sandbox", false);
  const std::string id = s["id"];
  transition(id, "shadow_primary", "human_approval");
  const json run = record_run(s);
  for (int i = 0; i < 15; ++i) diverge(run["id"], 0.3);
  transition(id, "trusted", "human_approval");
  transition(id, "flagged_for_review", "manual_override");
  transition(id, "degraded", "human_approval");
  ASSERT_EQ(
      client_->post("/admin/capabilities", R"({"name":"triage","trigger_type":"on_message"})", kOps)
          .status,
      201);
  const json s2 = register_skill("sandbox", false, "triage");
  transition(s2["id"], "shadow_primary", "human_approval");
  transition(s2["id"], "trusted", "human_approval");
  ASSERT_EQ(
      post("/admin/invocations", {{"task_type", "parse_task"}, {"cost_usd", 8.0}}, kWorker).status,
      201);

  auto r = post("/admin/nightly/run", json::object());
  ASSERT_EQ(r.status, 201) << r.body;
  const json nr = json::parse(r.body);
  EXPECT_EQ(r.header("location"), "/admin/nightly/runs/" + nr["id"].get<std::string>());
  EXPECT_EQ(nr["trigger"], "manual");
  ASSERT_EQ(nr["evolution_scheduled"].size(), 1u);
  EXPECT_EQ(nr["evolution_scheduled"][0]["skill_id"], id);
  EXPECT_EQ(nr["budget"]["daily_spend_usd"], 8.0);
  EXPECT_EQ(nr["budget"]["remaining_at_start_usd"], 12.0);
  EXPECT_EQ(nr["budget"]["remaining_at_end_usd"], 11.25);
  ASSERT_EQ(nr["degradation"].size(), 1u);
  EXPECT_EQ(nr["degradation"][0]["skill_id"], s2["id"]);
  EXPECT_EQ(nr["degradation"][0]["outcome"], "insufficient_data");
  EXPECT_EQ(nr["degradation"][0]["current_trials"], 0);
  EXPECT_TRUE(nr["correction_flagged"].empty());
  EXPECT_TRUE(nr["errors"].empty()) << nr["errors"].dump();
  EXPECT_TRUE(nr["new_candidates"].empty())
      << "8.00 of spend → 6.80 of savings, but a skill exists";
  // The pending work: the work list, the queue, the skill's detail.
  const json work = get("/admin/evolution/work");
  ASSERT_EQ(work["count"], 1);
  EXPECT_EQ(work["work"][0]["skill_id"], id);
  EXPECT_EQ(work["work"][0]["triggered_by"], "nightly");
  EXPECT_EQ(work["work"][0]["nightly_run_id"], nr["id"]);
  EXPECT_EQ(get("/queue")["evolution"]["pending"], 1);
  EXPECT_EQ(get("/admin/skills/" + id)["evolution_pending"]["work_id"],
            nr["evolution_scheduled"][0]["work_id"]);
  // A second run leaves the pending work as is.
  const json again = json::parse(post("/admin/nightly/run", json::object()).body);
  EXPECT_TRUE(again["evolution_scheduled"].empty());
  EXPECT_EQ(again["budget"]["remaining_at_end_usd"], 12.0);
  // Any posted attempt ends it.
  ASSERT_EQ(
      post("/admin/skills/" + id + "/evolution-attempts", {{"malformed_output", true}}, kWorker)
          .status,
      201);
  EXPECT_EQ(get("/admin/evolution/work")["count"], 0);
  EXPECT_EQ(get("/queue")["evolution"]["pending"], 0);
  EXPECT_TRUE(get("/admin/skills/" + id)["evolution_pending"].is_null());
  // The report is kept.
  const json runs = get("/admin/nightly/runs");
  ASSERT_EQ(runs["count"], 2);
  EXPECT_EQ(runs["runs"][1], nr);
  EXPECT_EQ(get("/admin/nightly/runs/" + nr["id"].get<std::string>()), nr);
  EXPECT_EQ(client_->get("/admin/nightly/runs/nope", kViewer).status, 404);
  EXPECT_EQ(post("/admin/nightly/run", json::object(), kWorker).status, 403);
}

TEST_F(SkillsHttp, DetectorRegistrationsAndDismissal) {
  // Registered, so the nightly drafting step keeps the candidate (the spent budget leaves no room
  // for a draft).
  ASSERT_NO_FATAL_FAILURE(summarize_with_invocations(200, 0.10));
  for (int i = 0; i < 200; ++i) {  // excluded task type (DT-06)
    ASSERT_EQ(
        post("/admin/invocations", {{"task_type", "skill_evolution"}, {"cost_usd", 0.10}}, kWorker)
            .status,
        201);
  }
  for (int i = 0; i < 60; ++i) {  // registered as claude-native below (DT-08)
    ASSERT_EQ(
        post("/admin/invocations", {{"task_type", "novel_pattern"}, {"cost_usd", 0.10}}, kWorker)
            .status,
        201);
  }
  // DT-08 / DT-09: registrations upsert per key.
  auto r = post("/admin/skill-candidates/registrations",
                {{"message", "Novel_Pattern "}, {"reasoning", "one-off"}}, kWorker);
  ASSERT_EQ(r.status, 201) << r.body;
  const json reg = json::parse(r.body);
  EXPECT_EQ(reg["pattern_fingerprint"], "683444d1fab55f34cbef726b474133ae");
  EXPECT_EQ(reg["status"], "claude_native_registered");
  EXPECT_EQ(reg["resolved_at"], reg["reported_at"]);
  r = post("/admin/skill-candidates/registrations",
           {{"capability_name", "inbox"}, {"reasoning", "a"}}, kWorker);
  ASSERT_EQ(r.status, 201);
  const std::string inbox = json::parse(r.body)["id"];
  r = post("/admin/skill-candidates/registrations",
           {{"capability_name", "inbox"}, {"reasoning", "b"}}, kWorker);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["id"], inbox);
  EXPECT_EQ(json::parse(r.body)["reasoning"], "b");
  EXPECT_EQ(post("/admin/skill-candidates/registrations", {{"reasoning", "x"}}, kWorker).status,
            422);
  EXPECT_EQ(post("/admin/skill-candidates/registrations",
                 {{"message", "a"},
                  {"pattern_fingerprint", "683444d1fab55f34cbef726b474133ae"},
                  {"reasoning", "x"}},
                 kWorker)
                .status,
            422);
  // DT-01: the nightly detector.
  const json nr = json::parse(post("/admin/nightly/run", json::object()).body);
  ASSERT_EQ(nr["new_candidates"].size(), 1u) << nr.dump();
  const json n = get("/admin/skill-candidates/" + nr["new_candidates"][0].get<std::string>());
  EXPECT_EQ(n["capability_name"], "summarize");
  EXPECT_EQ(n["status"], "new");
  EXPECT_EQ(n["expected_savings_usd"], 17.0);
  EXPECT_EQ(n["volume_30d"], 200);
  EXPECT_NEAR(n["variance_score"].get<double>(), 0.995, 1e-12);
  EXPECT_EQ(get("/admin/skill-candidates")["count"], 1);
  EXPECT_EQ(get("/admin/skill-candidates?status=all")["count"], 3);
  // DT-04: an open report blocks a second one; dismissed does not.
  EXPECT_TRUE(
      json::parse(post("/admin/nightly/run", json::object()).body)["new_candidates"].empty());
  r = post("/admin/skill-candidates/" + n["id"].get<std::string>() + "/dismiss", json::object());
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["status"], "dismissed");
  const auto position = r.header("annals-position");
  r = post("/admin/skill-candidates/" + n["id"].get<std::string>() + "/dismiss", json::object());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("annals-position"), position) << "already dismissed: nothing appended";
  EXPECT_EQ(json::parse(post("/admin/nightly/run", json::object()).body)["new_candidates"].size(),
            1u);
  EXPECT_EQ(
      post("/admin/skill-candidates/0196a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b/dismiss", json::object())
          .status,
      404);
  EXPECT_EQ(client_->get("/admin/skill-candidates?status=bogus", kViewer).status, 422);
}

TEST_F(SkillsHttp, DraftingFromACandidateToADraftSkill) {
  ASSERT_NO_FATAL_FAILURE(summarize_with_invocations(100, 0.06));
  for (int i = 0; i < 100; ++i) {  // a candidate whose capability is not registered
    ASSERT_EQ(post("/admin/invocations", {{"task_type", "ghost_task"}, {"cost_usd", 0.06}}, kWorker)
                  .status,
              201);
  }
  const json nr = json::parse(post("/admin/nightly/run", json::object()).body);
  ASSERT_EQ(nr["new_candidates"].size(), 2u) << nr.dump();
  ASSERT_EQ(nr["drafts_scheduled"].size(), 1u) << nr.dump();
  ASSERT_EQ(nr["candidates_dismissed"].size(), 1u);
  EXPECT_EQ(nr["candidates_dismissed"][0]["reason"], "capability not found");
  EXPECT_EQ(nr["budget"]["remaining_at_start_usd"], 8.0);
  EXPECT_EQ(nr["budget"]["remaining_at_end_usd"], 7.5);
  const std::string cand = nr["drafts_scheduled"][0]["candidate_id"];
  const json work = get("/admin/drafting/work");
  ASSERT_EQ(work["count"], 1);
  EXPECT_EQ(work["work"][0]["candidate_id"], cand);
  EXPECT_EQ(work["work"][0]["expected_savings_usd"], 5.1);
  EXPECT_EQ(get("/queue")["drafting"]["pending"], 1);
  EXPECT_EQ(get("/admin/skill-candidates/" + cand)["draft_work"]["work_id"],
            work["work"][0]["work_id"]);
  // draft-now returns the pending work as is.
  auto now = post("/admin/skill-candidates/" + cand + "/draft-now", json::object());
  ASSERT_EQ(now.status, 202);
  EXPECT_EQ(json::parse(now.body)["work_id"], work["work"][0]["work_id"]);
  const json input = get("/admin/skill-candidates/" + cand + "/draft-input");
  EXPECT_EQ(input["candidate"]["id"], cand);
  EXPECT_EQ(input["capability"]["name"], "summarize");
  EXPECT_EQ(input["samples"].size(), 5u);
  // The posted draft: 4 of 5 fixtures succeeded (0.80 passes).
  json fixtures = json::array();
  for (int i = 0; i < 5; ++i) {
    fixtures.push_back({{"input", {{"text", "t" + std::to_string(i)}}},
                        {"status", i < 4 ? "succeeded" : "failed"}});
  }
  auto r = post("/admin/skill-candidates/" + cand + "/drafts",
                {{"skill_version", version()}, {"fixtures", fixtures}, {"cost_usd", 0.3}}, kWorker);
  ASSERT_EQ(r.status, 201) << r.body;
  const json drafted = json::parse(r.body);
  EXPECT_EQ(drafted["outcome"], "drafted");
  EXPECT_EQ(drafted["rationale"], "fixture pass rate 0.80 meets threshold 0.80");
  EXPECT_EQ(drafted["candidate_status"], "drafted");
  EXPECT_EQ(drafted["fixture_ids"].size(), 5u);
  const std::string skill_id = drafted["skill_id"];
  const json skill = get("/admin/skills/" + skill_id);
  EXPECT_EQ(skill["state"], "draft");
  EXPECT_EQ(skill["requires_human_gate"], true);
  EXPECT_EQ(skill["current_version"]["created_by"], "claude_auto_draft");
  EXPECT_EQ(skill["current_version"]["changelog"], "Auto-drafted from candidate report");
  const json rows = get("/admin/skills/" + skill_id + "/transitions");
  ASSERT_EQ(rows["count"], 2);
  EXPECT_EQ(rows["transitions"][0]["notes"], "auto-drafted from candidate " + cand);
  EXPECT_EQ(rows["transitions"][1]["notes"],
            "auto-draft candidate " + cand + ": detector gate passed");
  const json fx = get("/admin/skills/" + skill_id + "/fixtures");
  EXPECT_EQ(fx["count"], 5);
  EXPECT_EQ(fx["fixtures"][4]["case_name"], "case_0");
  EXPECT_EQ(fx["fixtures"][4]["source"], "claude_generated");
  const json c = get("/admin/skill-candidates/" + cand);
  EXPECT_EQ(c["status"], "drafted");
  EXPECT_EQ(c["skill_id"], skill_id);
  EXPECT_TRUE(c["draft_work"].is_null());
  EXPECT_EQ(get("/queue")["drafting"]["pending"], 0);
  const auto drafted_note = notification("skill_drafted");
  ASSERT_TRUE(drafted_note);
  EXPECT_EQ((*drafted_note)["content"],
            "Drafted a new skill for 'summarize' awaiting your approval.");
  // A decided candidate is no longer new.
  EXPECT_EQ(
      post("/admin/skill-candidates/" + cand + "/drafts", {{"malformed_output", true}}, kWorker)
          .status,
      409);
  EXPECT_EQ(post("/admin/skill-candidates/" + cand + "/draft-now", json::object()).status, 409);
  EXPECT_EQ(
      post("/admin/skill-candidates/" + cand + "/drafts", {{"fixtures", "x"}}, kWorker).status,
      422);
}

TEST_F(SkillsHttp, DR04DR05DR07DraftDecisions) {
  for (const char* cap : {"alpha_task", "beta_task", "gamma_task"}) {
    ASSERT_EQ(
        client_
            ->post("/admin/capabilities",
                   std::string(R"({"name":")") + cap + R"(","trigger_type":"on_message"})", kOps)
            .status,
        201);
    for (int i = 0; i < 60; ++i) {
      ASSERT_EQ(
          post("/admin/invocations", {{"task_type", cap}, {"cost_usd", 0.10}}, kWorker).status,
          201);
    }
  }
  const json nr = json::parse(post("/admin/nightly/run", json::object()).body);
  ASSERT_EQ(nr["new_candidates"].size(), 3u) << nr.dump();
  std::map<std::string, std::string> by_cap;
  for (const auto& id : nr["new_candidates"]) {
    by_cap[get("/admin/skill-candidates/" + id.get<std::string>())["capability_name"]] = id;
  }
  auto fixtures = [](std::vector<const char*> statuses) {
    json out = json::array();
    for (const char* st : statuses) out.push_back({{"input", json::object()}, {"status", st}});
    return out;
  };
  // DR-04: 2 of 5 → dismissed with the rate in the rationale; no skill created.
  auto r = post("/admin/skill-candidates/" + by_cap["alpha_task"] + "/drafts",
                {{"skill_version", version()},
                 {"fixtures", fixtures({"failed", "failed", "failed", "succeeded", "succeeded"})}},
                kWorker);
  ASSERT_EQ(r.status, 201) << r.body;
  json d = json::parse(r.body);
  EXPECT_EQ(d["outcome"], "dismissed");
  EXPECT_EQ(d["rationale"], "fixture pass rate 0.40 below threshold 0.80");
  EXPECT_EQ(d["candidate_status"], "dismissed");
  EXPECT_FALSE(d.contains("skill_id"));
  EXPECT_EQ(get("/admin/skills?capability_name=alpha_task&state=draft")["count"], 0);
  // DR-05: a structural failure is malformed output.
  json bad = version();
  bad["yaml_backbone"] = "this: is: not: valid: yaml: ::::";
  r = post("/admin/skill-candidates/" + by_cap["beta_task"] + "/drafts",
           {{"skill_version", bad}, {"fixtures", fixtures({"succeeded"})}}, kWorker);
  ASSERT_EQ(r.status, 201) << r.body;
  d = json::parse(r.body);
  EXPECT_EQ(d["outcome"], "malformed_output");
  EXPECT_TRUE(d["rationale"].get<std::string>().starts_with("structural check failed: "))
      << d.dump();
  EXPECT_EQ(get("/admin/skill-candidates/" + by_cap["beta_task"])["status"], "dismissed");
  // DR-07: the capability's skill is trusted → dismissed.
  auto reg = post("/admin/skills", {{"capability_name", "gamma_task"},
                                    {"requires_human_gate", false},
                                    {"initial_state", "sandbox"},
                                    {"initial_version", version()}});
  const std::string skill = json::parse(reg.body)["id"];
  transition(skill, "shadow_primary", "human_approval");
  transition(skill, "trusted", "human_approval");
  r = post("/admin/skill-candidates/" + by_cap["gamma_task"] + "/drafts",
           {{"malformed_output", true}}, kWorker);
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(json::parse(r.body)["rationale"], "capability already has a skill in state trusted");
}

TEST_F(SkillsHttp, FixturesAddedAndCaptured) {
  const json s = register_skill("sandbox", true);
  const std::string id = s["id"];
  auto r = post("/admin/skills/" + id + "/fixtures",
                {{"case_name", "rent"}, {"input", {{"message", "pay rent"}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(json::parse(r.body)["source"], "manual");
  EXPECT_EQ(
      post("/admin/skills/" + id + "/fixtures", {{"case_name", ""}, {"input", json::object()}})
          .status,
      422);
  EXPECT_EQ(
      post("/admin/skills/" + id + "/fixtures", {{"case_name", "x"}, {"input", "text"}}).status,
      422);
  EXPECT_EQ(post("/admin/skills/0196a1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b/fixtures",
                 {{"case_name", "x"}, {"input", json::object()}})
                .status,
            404);
  const json failed = record_run(s, "failed");
  r = post("/admin/skill-runs/" + failed["id"].get<std::string>() + "/capture-fixture",
           json::object());
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(json::parse(r.body)["detail"], "can only capture fixtures from succeeded runs");
  const json ok = record_run(
      s, "succeeded",
      {{"inputs", {{"message", "pay rent next friday"}}},
       {"final_output", {{"title", "Pay rent"}}},
       {"tool_result_cache",
        json::parse(
            R"({"c1":{"tool":"web_fetch","args":{"url":"https://a.example","x":1},"result":{"ok":true}}})")}});
  r = post("/admin/skill-runs/" + ok["id"].get<std::string>() + "/capture-fixture", json::object());
  ASSERT_EQ(r.status, 201) << r.body;
  const json f = json::parse(r.body);
  EXPECT_EQ(f["case_name"], "captured_from_" + ok["id"].get<std::string>());
  EXPECT_EQ(f["input"], ok["inputs"]);
  EXPECT_EQ(
      f["expected_output_shape"],
      json::parse(
          R"({"type":"object","properties":{"title":{"type":"string"}},"required":["title"]})"));
  EXPECT_EQ(f["tool_mocks"],
            json::parse(R"({"web_fetch:{\"url\":\"https://a.example\"}":{"ok":true}})"));
  EXPECT_EQ(f["captured_run_id"], ok["id"]);
  const json list = get("/admin/skills/" + id + "/fixtures");
  ASSERT_EQ(list["count"], 2);
  EXPECT_EQ(list["fixtures"][0], f);
  // The skill's ETag follows its stream (runs and fixtures included).
  auto detail = client_->get("/admin/skills/" + id, kViewer);
  EXPECT_EQ(post("/admin/skills/" + id + "/state",
                 {{"to_state", "claude_native"}, {"reason", "manual_override"}}, kOps,
                 {{"If-Match", detail.header("etag")}})
                .status,
            200);
}

TEST_F(SkillsHttp, CC01CC02CorrectionClustersFlagOnTheFastPath) {
  const json s = register_skill("sandbox", false);
  const std::string id = s["id"];
  transition(id, "shadow_primary", "human_approval");
  transition(id, "trusted", "human_approval");
  for (int i = 0; i < 10; ++i) {
    char at[32];
    std::snprintf(at, sizeof at, "2026-04-16T10:%02d:00Z", i);
    record_run(s, "succeeded", {{"started_at", at}, {"finished_at", at}});
  }
  auto correct = [&](const char* ts) {
    auto r = post("/admin/corrections",
                  {{"task_type", "parse_task"},
                   {"field_corrected", "due_date"},
                   {"timestamp", ts},
                   {"original_value", "2026-04-17"},
                   {"corrected_value", "2026-04-24"}},
                  kWorker);
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body);
  };
  // CC-02: one before the oldest run of the window does not count.
  json k = correct("2026-04-16T09:59:00Z");
  EXPECT_TRUE(k["cluster"].is_null());
  k = correct("2026-04-16T10:30:00Z");
  EXPECT_TRUE(k["cluster"].is_null());
  EXPECT_EQ(k["field_corrected"], "due_date");
  EXPECT_EQ(k["timestamp"], "2026-04-16T10:30:00.000000+00:00");
  k = correct("2026-04-16T10:31:00Z");
  EXPECT_EQ(k["cluster"], json::parse(R"({"skill_id":")" + id +
                                      R"(","capability_name":"parse_task","correction_count":2})"));
  ASSERT_EQ(k["effects"].size(), 1u);
  EXPECT_EQ(k["effects"][0]["notes"], "correction_cluster: 2 corrections over last 10 runs");
  EXPECT_EQ(get("/admin/skills/" + id)["state"], "flagged_for_review");
  ASSERT_TRUE(notifier.wait_for_requests(1, 5s));
  EXPECT_EQ(json::parse(notifier.requests()[0].body)["content"],
            "Skill 'parse_task' flagged for review: 2 user corrections in the last 10 runs. Review "
            "at /admin/skills/" +
                id + ".");
  // CC-03: an already flagged skill is not checked again.
  EXPECT_TRUE(correct("2026-04-16T10:32:00Z")["cluster"].is_null());
  // Corrections list: newest timestamp first, filters, until exclusive.
  EXPECT_EQ(get("/admin/corrections?task_type=parse_task")["count"], 4);
  const json window =
      get("/admin/corrections?since=2026-04-16T10:00:00Z&until=2026-04-16T10:31:00Z");
  ASSERT_EQ(window["count"], 1);
  EXPECT_EQ(window["corrections"][0]["timestamp"], "2026-04-16T10:30:00.000000+00:00");
  EXPECT_EQ(
      post("/admin/corrections", {{"task_type", "Parse Task"}, {"field_corrected", "x"}}, kWorker)
          .status,
      422);
  EXPECT_EQ(post("/admin/corrections", {{"task_type", "parse_task"}}, kWorker).status, 422);
  // A task type without a capability or skill is still recorded.
  EXPECT_EQ(
      post("/admin/corrections", {{"task_type", "unknown_task"}, {"field_corrected", "x"}}, kWorker)
          .status,
      201);
}

}  // namespace
}  // namespace annals::testing

// Bad input over HTTP, as a property: every command route given a mutated version of a valid body
// (a value of another type or out of range, a field removed or added, the body cut short, a byte
// replaced) answers 2xx or a well-formed problem+json 4xx, never 5xx, never a dropped connection;
// and nothing a rejected request sent is ever appended (no event carries its request id as its
// correlation id, follow-ups included). The server answers afterwards.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace annals::testing {
namespace {

using nlohmann::json;

constexpr const char* kOps = "ops-secret";

struct Seed {
  std::string method, target;
  json body;
};

// Every node of a JSON document but the root, as pointers.
void collect(const json& j, const json::json_pointer& at, std::vector<json::json_pointer>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      out.push_back(at / k);
      collect(v, at / k, out);
    }
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) {
      out.push_back(at / i);
      collect(j[i], at / i, out);
    }
  }
}

// Raw JSON texts a value may be replaced with: other types, out of range, odd strings, deep.
const std::vector<std::string>& raw_values() {
  static const std::vector<std::string> v = {"null",
                                             "true",
                                             "false",
                                             "0",
                                             "-1",
                                             "-0",
                                             "1.5",
                                             "1e400",
                                             "-1e400",
                                             "99999999999999999999999",
                                             "18446744073709551616",
                                             "9223372036854775808",
                                             "[]",
                                             "{}",
                                             R"("")",
                                             R"("x")",
                                             R"("\u0000")",
                                             R"("\ud800")",
                                             R"("2026-02-30T25:61:00Z")",
                                             R"("not-a-uuid")",
                                             R"("01a22e26-5910-7a38-af16-7c258ce9bcbc")",
                                             R"([1,"a",null])",
                                             R"({"a":{"b":[]}})",
                                             "\"" + std::string(20000, 'a') + "\"",
                                             std::string(200, '[') + std::string(200, ']'),
                                             "\"\xff\xfe\""};
  return v;
}

// Arbitrary strings may hold invalid UTF-8; nlohmann writes U+FFFD for it.
std::string lenient(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

// The seed's body with one mutation drawn by rapidcheck.
std::string mutate(const json& seed) {
  std::vector<json::json_pointer> nodes;
  collect(seed, json::json_pointer(), nodes);
  const int kind = *rc::gen::inRange(0, 6);
  json j = seed;
  switch (kind) {
    case 0: {  // a node replaced by a raw text
      if (nodes.empty()) break;
      const auto at = nodes[*rc::gen::inRange<std::size_t>(0, nodes.size())];
      j[at] = "@@RAW@@";
      std::string text = j.dump();
      const std::string raw = *rc::gen::elementOf(raw_values());
      text.replace(text.find("\"@@RAW@@\""), 9, raw);
      return text;
    }
    case 1: {  // a node removed
      if (nodes.empty()) break;
      const auto at = nodes[*rc::gen::inRange<std::size_t>(0, nodes.size())];
      json& parent = j[at.parent_pointer()];
      if (parent.is_object()) {
        parent.erase(at.back());
      } else {
        parent.erase(static_cast<std::size_t>(std::stoul(at.back())));
      }
      return j.dump();
    }
    case 2: {  // an unknown member added to some object
      std::vector<json::json_pointer> objects{json::json_pointer()};
      for (const auto& p : nodes) {
        if (j[p].is_object()) objects.push_back(p);
      }
      j[objects[*rc::gen::inRange<std::size_t>(0, objects.size())]]["unexpected_member"] =
          *rc::gen::arbitrary<std::string>();
      return lenient(j);
    }
    case 3: {  // a string value replaced by arbitrary text (valid JSON)
      if (nodes.empty()) break;
      j[nodes[*rc::gen::inRange<std::size_t>(0, nodes.size())]] =
          *rc::gen::arbitrary<std::string>();
      return lenient(j);
    }
    case 4: {  // cut short
      const std::string text = j.dump();
      return text.substr(0, *rc::gen::inRange<std::size_t>(0, text.size()));
    }
    default: {  // one byte replaced by any byte
      std::string text = j.dump();
      text[*rc::gen::inRange<std::size_t>(0, text.size())] = *rc::gen::arbitrary<char>();
      return text;
    }
  }
  return j.dump();
}

class Server {
 public:
  Server() {
    const std::string config = dir_.sub("annals.yaml");
    std::ofstream(config) << "tokens:\n"
                          << "  - {name: ops, token: " << kOps << ", role: admin}\n"
                          << "executors:\n  default: {type: echo}\n";
    process_ = std::make_unique<ServerProcess>(
        ANNALSD_PATH, std::vector<std::string>{"--config", config, "--data", dir_.sub("data"),
                                               "--listen", "127.0.0.1:0", "--log-level", "warn"});
    client_ = std::make_unique<HttpClient>(process_->port());
  }
  HttpClient& client() { return *client_; }
  pid_t pid() const { return process_->pid(); }
  json post(const std::string& target, const json& body) {
    auto r = client_->post(target, body.dump(), kOps);
    EXPECT_EQ(r.status / 100, 2) << target << " " << r.body;
    return json::parse(r.body, nullptr, false);
  }

 private:
  TempDir dir_;
  std::unique_ptr<ServerProcess> process_;
  std::unique_ptr<HttpClient> client_;
};

TEST(BadInputProperty, RejectedCommandsAppendNothingAndGetAProblem) {
  Server s;
  const json version = {{"yaml_backbone", "steps:\n  - name: extract\n    kind: llm\n"},
                        {"step_content", {{"extract", "Extract the task fields"}}},
                        {"output_schemas", {{"extract", {{"type", "object"}}}}}};
  s.post("/admin/capabilities", {{"name", "parse_task"}, {"trigger_type", "on_message"}});
  s.post("/admin/capabilities", {{"name", "watch"}, {"trigger_type", "on_schedule"}});
  const json skill =
      s.post("/admin/skills", {{"capability_name", "parse_task"}, {"initial_version", version}});
  const std::string sid = skill.value("id", ""), vid = skill.value("current_version_id", "");
  ASSERT_FALSE(sid.empty());
  ASSERT_FALSE(vid.empty());
  const json run_body = {{"skill_id", sid},
                         {"skill_version_id", vid},
                         {"task_id", "task-1"},
                         {"status", "succeeded"},
                         {"inputs", {{"message", "Pay rent on the 24th"}}},
                         {"state_object", {{"step", 2}}},
                         {"final_output", {{"title", "Pay rent"}}},
                         {"step_results",
                          {{{"step_name", "extract"},
                            {"step_index", 0},
                            {"prompt_tokens", 812},
                            {"output", {{"title", "Pay rent"}}},
                            {"latency_ms", 840},
                            {"validation_status", "ok"}}}},
                         {"total_latency_ms", 1840},
                         {"total_cost_usd", 0.0031},
                         {"started_at", "2026-04-16T10:00:00Z"},
                         {"finished_at", "2026-04-16T10:00:01.840Z"}};
  const std::string rid = s.post("/admin/skill-runs", run_body).value("id", "");
  ASSERT_FALSE(rid.empty());
  s.post("/lessons", {{"lesson_type", "gate_failure"}});
  const json automation = {
      {"name", "watch shirt"},
      {"capability_name", "watch"},
      {"inputs", {{"url", "https://shop.example/shirt"}}},
      {"trigger_type", "on_manual"},
      {"alert_channels", {"log"}},
      {"alert_conditions", {{"field", "price_usd"}, {"op", "<="}, {"value", 100}}}};
  const std::string aid = s.post("/admin/automations", automation).value("id", "");
  ASSERT_FALSE(aid.empty());

  const std::vector<Seed> seeds = {
      {"POST",
       "/lessons",
       {{"lesson_type", "gate_failure"},
        {"work_item_id", "W-1"},
        {"stage", "review"},
        {"root_cause", "r"},
        {"source", "manual"},
        {"detail", {{"a", {1, 2}}}}}},
      {"POST", "/lessons/1", {{"status", "triaged"}, {"root_cause", "x"}}},
      {"POST",
       "/admin/capabilities",
       {{"name", "cap_x"},
        {"description", "d"},
        {"trigger_type", "on_manual"},
        {"input_schema", {{"type", "object"}}},
        {"default_alert_conditions", {{"field", "p"}, {"op", "<="}, {"value", 1}}}}},
      {"POST",
       "/admin/skills",
       {{"capability_name", "parse_task"},
        {"requires_human_gate", true},
        {"initial_version", version}}},
      {"POST",
       "/admin/skills/" + sid + "/state",
       {{"to_state", "sandbox"}, {"reason", "human_approval"}, {"notes", "n"}}},
      {"POST", "/admin/skills/" + sid + "/flags/requires_human_gate", {{"value", false}}},
      {"POST", "/admin/skill-runs", run_body},
      {"POST",
       "/admin/skill-runs/" + rid + "/divergence",
       {{"overall_agreement", 0.8}, {"diff_summary", {{"a", 1}}}}},
      {"POST",
       "/admin/corrections",
       {{"task_type", "parse_task"},
        {"field_corrected", "title"},
        {"original_value", "a"},
        {"corrected_value", "b"},
        {"timestamp", "2026-04-16T10:00:00Z"}}},
      {"POST",
       "/admin/invocations",
       {{"task_type", "parse_task"}, {"cost_usd", 0.01}, {"output", {{"x", 1}}}}},
      {"POST",
       "/admin/skills/" + sid + "/fixtures",
       {{"case_name", "c"},
        {"input", {{"m", "x"}}},
        {"expected_output_shape", {{"type", "object"}}}}},
      {"POST",
       "/admin/skill-candidates/registrations",
       {{"capability_name", "parse_task"}, {"reasoning", "r"}}},
      {"POST", "/admin/automations", automation},
      {"PATCH",
       "/admin/automations/" + aid,
       {{"name", "watch 2"}, {"inputs", {{"url", "https://shop.example/hat"}}}}},
  };

  std::vector<std::string> rejected;  // request ids answered 4xx
  std::vector<std::string> created;   // and 201
  int n = 0;
  // Ten requests a case (a thousand in a default run of a hundred cases).
  const bool ok = rc::check("a mutated command body gets 2xx or a problem, never 5xx", [&] {
    for (int i = 0; i < 10; ++i) {
      const Seed& seed = *rc::gen::elementOf(seeds);
      const std::string body = mutate(seed.body);
      const std::string request_id = "bad-" + std::to_string(++n);
      const auto r = s.client().request(seed.method, seed.target, body,
                                        {{"Authorization", std::string("Bearer ") + kOps},
                                         {"Content-Type", "application/json"},
                                         {"X-Request-Id", request_id}});
      RC_LOG() << seed.method << " " << seed.target << " " << body << "\n-> " << r.status << " "
               << r.body << "\n";
      RC_ASSERT(r.status >= 200);
      RC_ASSERT(r.status < 500);
      if (r.status == 201) created.push_back(request_id);
      if (r.status >= 400) {
        rejected.push_back(request_id);
        RC_ASSERT(r.header("content-type") == "application/problem+json");
        const json p = json::parse(r.body, nullptr, false);
        RC_ASSERT(p.is_object());
        RC_ASSERT(p.value("status", 0) == r.status);
        RC_ASSERT(p.value("type", "").starts_with("urn:annals:problem:"));
        RC_ASSERT(!p.value("detail", "").empty());
        RC_ASSERT(p.contains("errors"));
      }
    }
  });
  EXPECT_TRUE(ok);
  EXPECT_GT(rejected.size(), 0u);

  // No event anywhere in the log carries a rejected request's id.
  std::set<std::string> correlated;
  std::uint64_t from = 1;
  for (;;) {
    const auto page = s.client().request(
        "GET", "/events?limit=10000&from=" + std::to_string(from), "",
        {{"Authorization", std::string("Bearer ") + kOps}, {"Accept", "application/json"}});
    ASSERT_EQ(page.status, 200) << page.body;
    const json events = json::parse(page.body);
    for (const auto& e : events) correlated.insert(e.value("correlation_id", ""));
    const std::string next = page.header("annals-next-from");
    if (next.empty() || events.empty()) break;
    from = std::stoull(next);
  }
  EXPECT_GT(created.size(), 0u);
  for (const auto& id : created) EXPECT_TRUE(correlated.contains(id)) << id << " created nothing";
  for (const auto& id : rejected) EXPECT_FALSE(correlated.contains(id)) << id << " appended";
  EXPECT_EQ(::kill(s.pid(), 0), 0) << "the server is still running";
  EXPECT_EQ(s.client().get("/healthz").status, 200);
}

}  // namespace
}  // namespace annals::testing

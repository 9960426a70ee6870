// Bad input over HTTP, as properties: every command route given a mutated version of a valid body
// (a value of another type or out of range, a field removed or added, the body cut short, a byte
// replaced) answers 2xx or a well-formed problem+json 4xx, never 5xx, never a dropped connection;
// nothing a rejected request sent is ever appended (no event carries its request id as its
// correlation id, follow-ups included). Reads with bad query parameters and path segments answer
// 200 or a problem and append nothing. The server answers afterwards.
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

// rapidcheck scales gen::inRange (and so gen::elementOf) with a case's size, which starts at 0;
// every choice here is drawn over its whole range from the first case on.
template <typename T>
T pick(T lo, T hi) {
  return *rc::gen::resize(100, rc::gen::inRange<T>(lo, hi));
}
template <typename C>
const typename C::value_type& pick_of(const C& c) {
  return c[pick<std::size_t>(0, c.size())];
}

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
  const int kind = pick(0, 6);
  json j = seed;
  switch (kind) {
    case 0: {  // a node replaced by a raw text
      if (nodes.empty()) break;
      const auto at = nodes[pick<std::size_t>(0, nodes.size())];
      j[at] = "@@RAW@@";
      std::string text = j.dump();
      const std::string raw = pick_of(raw_values());
      text.replace(text.find("\"@@RAW@@\""), 9, raw);
      return text;
    }
    case 1: {  // a node removed
      if (nodes.empty()) break;
      const auto at = nodes[pick<std::size_t>(0, nodes.size())];
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
      j[objects[pick<std::size_t>(0, objects.size())]]["unexpected_member"] =
          *rc::gen::resize(100, rc::gen::arbitrary<std::string>());
      return lenient(j);
    }
    case 3: {  // a string value replaced by arbitrary text (valid JSON)
      if (nodes.empty()) break;
      j[nodes[pick<std::size_t>(0, nodes.size())]] =
          *rc::gen::resize(100, rc::gen::arbitrary<std::string>());
      return lenient(j);
    }
    case 4: {  // cut short
      const std::string text = j.dump();
      return text.substr(0, pick<std::size_t>(0, text.size()));
    }
    default: {  // one byte replaced by any byte
      std::string text = j.dump();
      text[pick<std::size_t>(0, text.size())] = *rc::gen::resize(100, rc::gen::arbitrary<char>());
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

// A skill with a version and a run, a lesson, an automation, three degraded skills, and a valid
// body for each command route (the seeds the mutations start from).
struct World {
  std::string sid, vid, rid, aid;
  std::vector<Seed> seeds;
};

World populate(Server& s) {
  World w;
  const json version = {{"yaml_backbone", "steps:\n  - name: extract\n    kind: llm\n"},
                        {"step_content", {{"extract", "Extract the task fields"}}},
                        {"output_schemas", {{"extract", {{"type", "object"}}}}}};
  s.post("/admin/capabilities", {{"name", "parse_task"}, {"trigger_type", "on_message"}});
  s.post("/admin/capabilities", {{"name", "watch"}, {"trigger_type", "on_schedule"}});
  const json skill =
      s.post("/admin/skills", {{"capability_name", "parse_task"}, {"initial_version", version}});
  w.sid = skill.value("id", "");
  w.vid = skill.value("current_version_id", "");
  const std::string& sid = w.sid;
  const std::string& vid = w.vid;
  EXPECT_FALSE(sid.empty());
  EXPECT_FALSE(vid.empty());
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
  w.rid = s.post("/admin/skill-runs", run_body).value("id", "");
  const std::string& rid = w.rid;
  EXPECT_FALSE(rid.empty());
  s.post("/lessons", {{"lesson_type", "gate_failure"}});
  const json automation = {
      {"name", "watch shirt"},
      {"capability_name", "watch"},
      {"inputs", {{"url", "https://shop.example/shirt"}}},
      {"trigger_type", "on_manual"},
      {"alert_channels", {"log"}},
      {"alert_conditions", {{"field", "price_usd"}, {"op", "<="}, {"value", 100}}}};
  w.aid = s.post("/admin/automations", automation).value("id", "");
  const std::string& aid = w.aid;
  EXPECT_FALSE(aid.empty());

  w.seeds = {
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

  // Degraded skills with enough divergence samples, for evolution attempts (each takes a success
  // or two rejections before it leaves `degraded`).
  for (int k = 0; k < 3; ++k) {
    // One skill per capability.
    const std::string capability = "triage_" + std::to_string(k);
    s.post("/admin/capabilities", {{"name", capability}, {"trigger_type", "on_message"}});
    const json d = s.post("/admin/skills", {{"capability_name", capability},
                                            {"requires_human_gate", false},
                                            {"initial_state", "sandbox"},
                                            {"initial_version", version}});
    const std::string id = d.value("id", "");
    auto state = [&](const std::string& to, const std::string& reason) {
      s.post("/admin/skills/" + id + "/state", {{"to_state", to}, {"reason", reason}});
    };
    state("shadow_primary", "human_approval");
    json run = run_body;
    run["skill_id"] = id;
    run["skill_version_id"] = d.value("current_version_id", "");
    const std::string run_id = s.post("/admin/skill-runs", run).value("id", "");
    for (int i = 0; i < 15; ++i) {
      s.post("/admin/skill-runs/" + run_id + "/divergence", {{"overall_agreement", 0.3}});
    }
    state("trusted", "human_approval");
    state("flagged_for_review", "manual_override");
    state("degraded", "human_approval");
    json better = version;
    better["step_content"]["extract"] = "Extract, resolving relative dates";
    w.seeds.push_back(
        {"POST", "/admin/skills/" + id + "/evolution-attempts",
         k < 2 ? json{{"diagnosis", {{"failure_pattern", "relative dates"}}},
                      {"new_skill_version", better},
                      {"changelog", "Handle relative dates"},
                      {"targeted_failure_cases", {run_id}},
                      {"cost_usd", 0.2},
                      {"evidence", {{"targeted", {{{"run_id", run_id}, {"status", "succeeded"}}}}}}}
               : json{{"malformed_output", true}, {"cost_usd", 0.42}}});
  }
  return w;
}

// A reply to bad input: a success, or a well-formed problem (never 5xx, never no answer).
void check_answer(const HttpReply& r) {
  RC_ASSERT(r.status >= 200);
  RC_ASSERT(r.status < 500);
  if (r.status >= 400) {
    RC_ASSERT(r.header("content-type") == "application/problem+json");
    const json p = json::parse(r.body, nullptr, false);
    RC_ASSERT(p.is_object());
    RC_ASSERT(p.value("status", 0) == r.status);
    RC_ASSERT(p.value("type", "").starts_with("urn:annals:problem:"));
    RC_ASSERT(!p.value("detail", "").empty());
    RC_ASSERT(p.contains("errors"));
  } else if (r.header("content-type").starts_with("application/json")) {
    RC_ASSERT(!json::parse(r.body, nullptr, false).is_discarded());
  }
}

// The correlation ids of every event in the log.
std::set<std::string> correlation_ids(Server& s) {
  std::set<std::string> out;
  std::uint64_t from = 1;
  for (;;) {
    const auto page = s.client().request(
        "GET", "/events?limit=10000&from=" + std::to_string(from), "",
        {{"Authorization", std::string("Bearer ") + kOps}, {"Accept", "application/json"}});
    EXPECT_EQ(page.status, 200) << page.body;
    const json events = json::parse(page.body, nullptr, false);
    if (!events.is_array()) break;
    for (const auto& e : events) out.insert(e.value("correlation_id", ""));
    const std::string next = page.header("annals-next-from");
    if (next.empty() || events.empty()) break;
    from = std::stoull(next);
  }
  return out;
}

TEST(BadInputProperty, RejectedCommandsAppendNothingAndGetAProblem) {
  Server s;
  const World w = populate(s);
  ASSERT_FALSE(w.sid.empty() || w.vid.empty() || w.rid.empty() || w.aid.empty());
  const auto& seeds = w.seeds;
  std::vector<std::string> rejected;  // request ids answered 4xx
  std::vector<std::string> created;   // and 201
  int n = 0;
  // Ten requests a case (a thousand in a default run of a hundred cases).
  const bool ok = rc::check("a mutated command body gets 2xx or a problem, never 5xx", [&] {
    for (int i = 0; i < 10; ++i) {
      const Seed& seed = pick_of(seeds);
      const std::string body = mutate(seed.body);
      const std::string request_id = "bad-" + std::to_string(++n);
      std::vector<std::pair<std::string, std::string>> headers = {
          {"Authorization", std::string("Bearer ") + kOps},
          {"Content-Type", "application/json"},
          {"X-Request-Id", request_id}};
      if (pick(0, 4) == 0) {  // a precondition or idempotency header, odd or not
        static const std::vector<std::string> names = {"If-Match", "Idempotency-Key"};
        static const std::vector<std::string> odd = {"*",           "\"1\"",
                                                     "\"0\"",       "1",
                                                     "\"-1\"",      "\"99999999999999999999\"",
                                                     "W/\"1\"",     "\"\"",
                                                     "\"abc\"",     "\"1\", \"2\"",
                                                     "key-1",       std::string(300, 'k'),
                                                     "caf\xC3\xA9", "a b"};
        headers.emplace_back(pick_of(names), pick_of(odd));
      }
      const auto r = s.client().request(seed.method, seed.target, body, headers);
      RC_LOG() << seed.method << " " << seed.target << " " << body << " "
               << (headers.size() > 3 ? headers.back().first + ": " + headers.back().second : "")
               << "\n-> " << r.status << " " << r.body << "\n";
      check_answer(r);
      if (r.status == 201) created.push_back(request_id);
      if (r.status >= 400) rejected.push_back(request_id);
    }
  });
  EXPECT_TRUE(ok);
  EXPECT_GT(rejected.size(), 0u);

  // No event anywhere in the log carries a rejected request's id; every 201 appended.
  const auto correlated = correlation_ids(s);
  EXPECT_GT(created.size(), 0u);
  for (const auto& id : created) EXPECT_TRUE(correlated.contains(id)) << id << " created nothing";
  for (const auto& id : rejected) EXPECT_FALSE(correlated.contains(id)) << id << " appended";
  EXPECT_EQ(::kill(s.pid(), 0), 0) << "the server is still running";
  EXPECT_EQ(s.client().get("/healthz").status, 200);
}

// Reads with arbitrary query parameters and path segments: every answer is a 200 (JSON that
// parses, when it says JSON) or a well-formed problem, and no read appends anything.
TEST(BadInputProperty, ReadsWithBadParametersGetAProblemAndAppendNothing) {
  Server s;
  const World w = populate(s);
  ASSERT_FALSE(w.sid.empty() || w.vid.empty() || w.rid.empty() || w.aid.empty());
  struct Read {
    std::string path;
    std::vector<std::string> keys;  // the query parameters the route takes
  };
  const std::string skill = "/admin/skills/" + w.sid;
  const std::vector<std::string> page = {"limit", "offset"};
  const std::vector<Read> reads = {
      {"/lessons", {"lesson_type", "status", "repo", "work_item_id", "limit", "offset"}},
      {"/lessons/1", {}},
      {"/admin/skills", {"state", "capability_name", "limit", "offset"}},
      {skill, {}},
      {skill + "/runs", {"status", "skill_version_id", "limit", "offset"}},
      {skill + "/divergences", page},
      {skill + "/transitions", page},
      {skill + "/versions", page},
      {skill + "/versions/" + w.vid, {}},
      {skill + "/fixtures", page},
      {skill + "/evolution-attempts", page},
      {skill + "/evolution-input", {}},
      {"/admin/skills/_transitions", {}},
      {"/admin/skill-runs", {"status", "skill_id", "limit", "offset"}},
      {"/admin/skill-runs/" + w.rid, {}},
      {"/admin/skill-runs/" + w.rid + "/divergence", {}},
      {"/admin/skill-candidates", {"status", "capability_name", "limit", "offset"}},
      {"/admin/skill-drafts", page},
      {"/admin/evolution/work", page},
      {"/admin/drafting/work", page},
      {"/admin/corrections", {"task_type", "since", "until", "limit", "offset"}},
      {"/admin/invocations", {"task_type", "since", "until", "limit", "offset"}},
      {"/admin/spend", {"days"}},
      {"/admin/capabilities", {"trigger_type", "limit", "offset"}},
      {"/admin/capabilities/parse_task", {}},
      {"/admin/automations", {"status", "capability_name", "user_id", "limit", "offset"}},
      {"/admin/automations/" + w.aid, {}},
      {"/admin/automations/" + w.aid + "/runs", {"status", "limit", "offset"}},
      {"/admin/nightly/runs", page},
      {"/admin/projections", {}},
      {"/admin/projections/lessons", {}},
      {"/events",
       {"from", "to", "limit", "stream", "category", "type", "since", "until", "direction"}},
      {"/events/1", {}},
      {"/streams/lesson-1", {"from", "limit", "direction"}},
      {"/audit/digest", {"at"}},
      {"/audit/verify", {"from", "to"}},
      {"/queue", {}}};
  const std::vector<std::string> any_keys = {"at", "days", "from", "limit", "status", "x"};
  const std::vector<std::string> values = {"",
                                           "0",
                                           "1",
                                           "-1",
                                           "2",
                                           "10001",
                                           "99999999999999999999",
                                           "9999999999999999999",
                                           "-9999999999999999999",
                                           "1.5",
                                           "abc",
                                           "%zz",
                                           "%00",
                                           "%FF%FE",
                                           "%C0%AF",
                                           "2026-04-16T10:00:00Z",
                                           "2026-13-45T99:00:00Z",
                                           "forward",
                                           "backward",
                                           "sideways",
                                           "lesson",
                                           "lesson-1",
                                           "true",
                                           "01a22e26-5910-7a38-af16-7c258ce9bcbc",
                                           "not-a-uuid",
                                           std::string(300, 'a'),
                                           "LessonRecorded,Nope",
                                           "%2F..%2F",
                                           "+",
                                           "a%20b"};
  std::vector<std::string> ids;
  int n = 0;
  const bool ok = rc::check("a read with bad parameters gets 200 or a problem", [&] {
    for (int i = 0; i < 10; ++i) {
      const Read& read = pick_of(reads);
      std::string path = read.path;
      if (pick(0, 4) == 0) {  // one path segment (an id, most often) replaced
        std::vector<std::size_t> starts;
        for (std::size_t k = 1; k < path.size(); ++k) {
          if (path[k - 1] == '/') starts.push_back(k);
        }
        const std::size_t from =
            starts[pick<std::size_t>(starts.size() > 1 ? 1 : 0, starts.size())];
        const std::size_t to = std::min(path.find('/', from), path.size());
        std::string value = pick_of(values);
        if (value.empty()) value = "x";
        path.replace(from, to - from, value);
      }
      std::string query;
      const int params = pick(0, 4);
      for (int k = 0; k < params; ++k) {
        const std::string& key =
            read.keys.empty() || pick(0, 5) == 0 ? pick_of(any_keys) : pick_of(read.keys);
        query += (query.empty() ? "?" : "&") + key + "=" + pick_of(values);
      }
      const std::string request_id = "read-" + std::to_string(++n);
      ids.push_back(request_id);
      const auto r = s.client().request("GET", path + query, "",
                                        {{"Authorization", std::string("Bearer ") + kOps},
                                         {"Accept", "application/json"},
                                         {"X-Request-Id", request_id}});
      RC_LOG() << "GET " << path + query << "\n-> " << r.status << " " << r.body.substr(0, 300)
               << "\n";
      check_answer(r);
    }
  });
  EXPECT_TRUE(ok);
  const auto correlated = correlation_ids(s);
  for (const auto& id : ids) EXPECT_FALSE(correlated.contains(id)) << id << " appended";
  EXPECT_EQ(::kill(s.pid(), 0), 0) << "the server is still running";
  EXPECT_EQ(s.client().get("/healthz").status, 200);
}

}  // namespace
}  // namespace annals::testing

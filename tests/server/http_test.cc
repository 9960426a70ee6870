// HTTP end to end against a real annalsd on an ephemeral loopback port (API §1, §13-15, §17).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace annals::testing {
namespace {

using nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kOps = "ops-secret";
constexpr const char* kWorker = "worker-secret";
constexpr const char* kViewer = "viewer-secret";

class Http : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = dir_.sub("annals.yaml");
    std::ofstream(config_) << "tokens:\n"
                              "  - {name: ops, token: "
                           << kOps
                           << ", role: admin}\n"
                              "  - {name: worker, token: "
                           << kWorker
                           << ", role: writer}\n"
                              "  - {name: viewer, token: "
                           << kViewer << ", role: reader}\n";
    start();
  }

  void start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--config", config_,       "--data",      dir_.sub("data"),
                                     "--listen", "127.0.0.1:0", "--log-level", "warn"};
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<ServerProcess>(ANNALSD_PATH, args);
    client_ = std::make_unique<HttpClient>(server_->port());
  }
  int stop() {
    client_.reset();
    const int status = server_->stop();
    server_.reset();
    return status;
  }

  HttpReply post_lesson(const std::string& body, const std::string& token = kWorker,
                        const Headers& h = {}) {
    return client_->post("/lessons", body, token, h);
  }
  std::uint64_t head() {
    return std::stoull(client_->get("/audit/digest", kViewer).header("annals-position"));
  }

  TempDir dir_;
  std::string config_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(Http, RecordsAndReadsLessons) {
  // LS-01: manual lessons are never deduplicated.
  auto first =
      post_lesson(R"({"lesson_type":"gate_failure","work_item_id":"W-1","stage":"review"})");
  ASSERT_EQ(first.status, 201) << first.body;
  auto l1 = json::parse(first.body);
  EXPECT_EQ(l1["id"], 1);
  EXPECT_EQ(l1["source"], "manual");
  EXPECT_EQ(l1["status"], "new");
  EXPECT_TRUE(l1["updated_at"].is_null());
  EXPECT_EQ(first.header("location"), "/lessons/1");
  EXPECT_EQ(first.header("etag"), "\"1\"");
  EXPECT_EQ(first.header("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(first.header("annals-position"), "1");
  EXPECT_FALSE(first.header("annals-request-id").empty());
  auto second =
      post_lesson(R"({"lesson_type":"gate_failure","work_item_id":"W-1","stage":"review"})");
  EXPECT_EQ(json::parse(second.body)["id"], 2);

  // LS-02 (within the window): an auto repeat is deduplicated and appends nothing.
  auto a1 = post_lesson(
      R"({"lesson_type":"gate_failure","work_item_id":"W-1","stage":"review","source":"auto"})");
  ASSERT_EQ(a1.status, 201);
  const auto before = head();
  auto a2 = post_lesson(
      R"({"lesson_type":"gate_failure","work_item_id":"W-1","stage":"review","source":"auto"})");
  EXPECT_EQ(a2.status, 200);
  EXPECT_EQ(json::parse(a2.body),
            json::parse(R"({"id":null,"deduplicated":true,"duplicate_of":3})"));
  EXPECT_EQ(head(), before);

  auto got = client_->get("/lessons/1", kViewer);
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(json::parse(got.body), l1);
  EXPECT_EQ(got.header("etag"), "\"1\"");
  EXPECT_EQ(client_->get("/lessons/99", kViewer).status, 404);
  EXPECT_EQ(client_->get("/lessons/abc", kViewer).status, 404);
  EXPECT_EQ(client_->get("/lessons/0", kViewer).status, 404);

  // LS-04
  EXPECT_EQ(post_lesson(R"({"lesson_type":"Gate Failure"})").status, 422);
  EXPECT_EQ(post_lesson(R"({"lesson_type":"retro_signal"})").status, 201);
  EXPECT_EQ(post_lesson(R"({"lesson_type":"x","attribution":"vendor"})").status, 201);
  auto robot = post_lesson(R"({"lesson_type":"x","source":"robot"})");
  EXPECT_EQ(robot.status, 422);
  EXPECT_EQ(json::parse(robot.body)["errors"][0]["field"], "source");
  auto unknown = post_lesson(R"({"lesson_type":"x","colour":"red"})");
  EXPECT_EQ(unknown.status, 422);
  EXPECT_EQ(json::parse(unknown.body)["errors"][0]["field"], "colour");
  EXPECT_EQ(post_lesson(R"({"lesson_type":5})").status, 422);
  EXPECT_EQ(post_lesson(R"({})").status, 422);
  auto detail = post_lesson(R"({"lesson_type":"x","detail":{"attempt":[1,2,{"k":null}]}})");
  EXPECT_EQ(json::parse(detail.body)["detail"], json::parse(R"({"attempt":[1,2,{"k":null}]})"));

  // LS-05
  auto page = client_->get("/lessons?lesson_type=gate_failure&limit=2", kViewer);
  ASSERT_EQ(page.status, 200);
  auto p = json::parse(page.body);
  EXPECT_EQ(p["count"], 2);
  EXPECT_EQ(p["next_offset"], 2);
  EXPECT_EQ(p["lessons"][0]["id"], 3);
  EXPECT_EQ(p["lessons"][1]["id"], 2);
  auto rest =
      json::parse(client_->get("/lessons?lesson_type=gate_failure&limit=2&offset=2", kViewer).body);
  EXPECT_EQ(rest["count"], 1);
  EXPECT_FALSE(rest.contains("next_offset"));
  EXPECT_EQ(client_->get("/lessons?limit=1001", kViewer).status, 422);
  EXPECT_EQ(client_->get("/lessons?limit=0", kViewer).status, 422);
  EXPECT_EQ(client_->get("/lessons?limit=abc", kViewer).status, 400);
  EXPECT_EQ(client_->get("/lessons?offset=-1", kViewer).status, 422);
  EXPECT_EQ(client_->get("/lessons?colour=red", kViewer).status, 400);
  auto by_item = json::parse(client_->get("/lessons?work_item_id=W-1&status=new", kViewer).body);
  EXPECT_EQ(by_item["count"], 3);
}

TEST_F(Http, UpdatesLessonsWithIfMatch) {
  ASSERT_EQ(post_lesson(R"({"lesson_type":"gate_failure"})").status, 201);
  // LS-06
  auto upd =
      client_->post("/lessons/1", R"({"status":"closed","attribution":"platform"})", kWorker);
  ASSERT_EQ(upd.status, 200) << upd.body;
  auto l = json::parse(upd.body);
  EXPECT_EQ(l["status"], "closed");
  EXPECT_EQ(l["attribution"], "platform");
  EXPECT_TRUE(l["updated_at"].is_string());
  EXPECT_EQ(upd.header("etag"), "\"2\"");
  EXPECT_EQ(client_->post("/lessons/1", R"({"lesson_type":"x"})", kWorker).status, 422);
  EXPECT_EQ(client_->post("/lessons/1", R"({})", kWorker).status, 422);
  EXPECT_EQ(client_->post("/lessons/999", R"({"status":"closed"})", kWorker).status, 404);
  EXPECT_EQ(client_->post("/lessons/1", R"({"root_cause":null})", kWorker).status, 200);
  // If-Match: stale → 412 and nothing appended; weak → 400; current → 200.
  const auto before = head();
  auto stale = client_->post("/lessons/1", R"({"status":"new"})", kWorker, {{"If-Match", "\"1\""}});
  EXPECT_EQ(stale.status, 412);
  EXPECT_EQ(stale.header("content-type"), "application/problem+json");
  EXPECT_EQ(head(), before);
  EXPECT_EQ(
      client_->post("/lessons/1", R"({"status":"new"})", kWorker, {{"If-Match", "W/\"3\""}}).status,
      400);
  EXPECT_EQ(
      client_->post("/lessons/1", R"({"status":"new"})", kWorker, {{"If-Match", "\"3\""}}).status,
      200);
  EXPECT_EQ(
      client_->post("/lessons/1", R"({"status":"linked"})", kWorker, {{"If-Match", "*"}}).status,
      200);
}

TEST_F(Http, AuthenticatesAndAuthorizesByRole) {
  auto none = client_->get("/lessons");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.header("www-authenticate"), "Bearer realm=\"annals\"");
  EXPECT_EQ(json::parse(none.body)["type"], "urn:annals:problem:unauthorized");
  EXPECT_EQ(client_->get("/lessons", "wrong-token").status, 401);
  EXPECT_EQ(post_lesson(R"({"lesson_type":"x"})", kViewer).status, 403);
  EXPECT_EQ(post_lesson(R"({"lesson_type":"x"})", kWorker).status, 201);
  EXPECT_EQ(post_lesson(R"({"lesson_type":"x"})", kOps).status, 201);
  // The token's name is the actor on the event.
  auto e = json::parse(client_->get("/events/1", kViewer).body);
  EXPECT_EQ(e["actor"], "worker");
  EXPECT_EQ(client_->get("/healthz").status, 200);
  EXPECT_EQ(client_->get("/readyz").status, 200);
  EXPECT_EQ(client_->get("/openapi.json").status, 200);
  EXPECT_EQ(client_->get("/metrics").status, 401);
  auto metrics = client_->get("/metrics", kViewer);
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find(
                "annals_http_requests_total{route=\"/lessons\",method=\"POST\",status=\"201\"} 2"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("annals_commit_seconds_count"), std::string::npos);
  EXPECT_NE(metrics.body.find("annals_projection_position{name=\"lessons\"} 2"), std::string::npos);
}

TEST_F(Http, IdempotencyKeyReplaysTheFirstResponse) {
  const Headers key = {{"Idempotency-Key", "k1"}};
  auto first = post_lesson(R"({"lesson_type":"x"})", kWorker, key);
  auto repeat = post_lesson(R"({"lesson_type":"x"})", kWorker, key);
  ASSERT_EQ(first.status, 201);
  EXPECT_EQ(repeat.status, 201);
  EXPECT_EQ(repeat.body, first.body);
  EXPECT_EQ(repeat.header("annals-position"), first.header("annals-position"));
  EXPECT_EQ(repeat.header("etag"), first.header("etag"));
  EXPECT_EQ(repeat.header("idempotent-replayed"), "true");
  EXPECT_EQ(head(), 1u);
  auto other = post_lesson(R"({"lesson_type":"y"})", kWorker, key);
  EXPECT_EQ(other.status, 422);
  EXPECT_EQ(json::parse(other.body)["type"], "urn:annals:problem:idempotency-key-reused");
  // Keys are scoped to the actor; errors are not stored.
  EXPECT_EQ(post_lesson(R"({"lesson_type":"x"})", kOps, key).status, 201);
  EXPECT_EQ(post_lesson(R"({"lesson_type":"BAD"})", kWorker, {{"Idempotency-Key", "k2"}}).status,
            422);
  EXPECT_EQ(post_lesson(R"({"lesson_type":"ok"})", kWorker, {{"Idempotency-Key", "k2"}}).status,
            201);
  EXPECT_EQ(
      post_lesson(R"({"lesson_type":"x"})", kWorker, {{"Idempotency-Key", std::string(201, 'k')}})
          .status,
      400);
  // Concurrent repeats: exactly one append.
  const auto before = head();
  std::vector<std::thread> threads;
  std::atomic<int> created{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      HttpClient c(server_->port());
      auto r =
          c.post("/lessons", R"({"lesson_type":"race"})", kWorker, {{"Idempotency-Key", "race"}});
      if (r.status == 201) ++created;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 8);
  EXPECT_EQ(head(), before + 1);
}

// Routing: a literal segment beats a parameter, a parameter is percent-decoded, a segment that
// does not decode matches no route, and a known path with another method lists what it allows.
TEST_F(Http, RoutesPreferLiteralsAndDecodeParameters) {
  ASSERT_EQ(post_lesson(R"({"lesson_type":"routing"})", kWorker).status, 201);
  const auto one = client_->get("/lessons/1", kViewer);
  ASSERT_EQ(one.status, 200);
  const auto encoded = client_->get("/lessons/%31", kViewer);
  EXPECT_EQ(encoded.status, 200);
  EXPECT_EQ(encoded.body, one.body);
  EXPECT_EQ(client_->get("/lessons/%zz", kViewer).status, 404);
  EXPECT_EQ(client_->get("/lessons/%", kViewer).status, 404);
  const auto table = client_->get("/admin/skills/_transitions", kViewer);
  EXPECT_EQ(table.status, 200) << table.body;
  EXPECT_NE(table.body.find("transitions"), std::string::npos) << table.body;
  auto wrong = client_->request("DELETE",
                                "/admin/skill-runs/01a22e26-5910-7a38-af16-7c258ce9bcbc/divergence",
                                "", {{"Authorization", std::string("Bearer ") + kOps}});
  EXPECT_EQ(wrong.status, 405);
  EXPECT_EQ(wrong.header("allow"), "POST, GET");
}

// If-Match takes a strong ETag whose number fits 64 bits; a longer one is a bad request, not an
// internal error, and appends nothing.
TEST_F(Http, AnIfMatchBeyondSixtyFourBitsIsABadRequest) {
  ASSERT_EQ(post_lesson(R"({"lesson_type":"etag"})", kWorker).status, 201);
  const auto before = head();
  for (const std::string etag :
       {"\"18446744073709551616\"", "\"99999999999999999999\"", "\"1e3\"", "\"\"", "3"}) {
    const auto r =
        client_->post("/lessons/1", R"({"status":"triaged"})", kWorker, {{"If-Match", etag}});
    EXPECT_EQ(r.status, 400) << etag << " " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json");
  }
  EXPECT_EQ(head(), before);
  const auto max = client_->post("/lessons/1", R"({"status":"triaged"})", kWorker,
                                 {{"If-Match", "\"18446744073709551615\""}});
  EXPECT_EQ(max.status, 412) << max.body;
  EXPECT_EQ(client_->post("/lessons/1", R"({"status":"triaged"})", kWorker, {{"If-Match", "\"1\""}})
                .status,
            200);
}

// Query integers with more digits than 64 bits hold are out of range (422), not internal errors.
TEST_F(Http, QueryIntegersBeyondSixtyFourBitsAreOutOfRange) {
  for (const std::string q :
       {"/lessons?limit=9999999999999999999", "/events?from=9999999999999999999",
        "/audit/digest?at=9999999999999999999", "/lessons?offset=-9999999999999999999",
        "/lessons?limit=123456789012345678901234567890"}) {
    const auto r = client_->get(q, kViewer);
    EXPECT_EQ(r.status, 422) << q << " " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << q;
  }
  EXPECT_EQ(client_->get("/lessons?limit=12x", kViewer).status, 400);
}

TEST_F(Http, RejectsBadRequestsInTheOrderOfChecks) {
  EXPECT_EQ(client_->get("/nope", kViewer).status, 404);
  auto wrong_method = client_->request("DELETE", "/lessons", "",
                                       {{"Authorization", std::string("Bearer ") + kOps}});
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.header("allow"), "GET, POST");
  // Route before auth: an unknown path without a token is 404, a known one 401.
  EXPECT_EQ(client_->get("/nope").status, 404);
  EXPECT_EQ(post_lesson("hello", kWorker, {{"Content-Type", "text/plain"}}).status, 415);
  EXPECT_EQ(post_lesson("{bad json", kWorker).status, 400);
  EXPECT_EQ(post_lesson(R"(["array"])", kWorker).status, 422);
  EXPECT_EQ(post_lesson(std::string(70, '[') + std::string(70, ']'), kWorker).status, 400);
  EXPECT_EQ(post_lesson("{\"lesson_type\":\"\xff\"}", kWorker).status, 400);
  auto big = post_lesson(R"({"lesson_type":"x","root_cause":")" + std::string(2 << 20, 'a') + "\"}",
                         kWorker);
  EXPECT_EQ(big.status, 413);
  auto big_unauth = client_->request("POST", "/lessons", std::string(2 << 20, 'a'));
  EXPECT_EQ(big_unauth.status, 401);
  auto huge_head = client_->get("/lessons?x=" + std::string(20000, 'a'), kViewer);
  EXPECT_EQ(huge_head.status, 431);
  EXPECT_EQ(post_lesson(R"({"lesson_type":"x"})", kWorker,
                        {{"Content-Type", "application/json; charset=utf-8"}})
                .status,
            201);
  // Every failure appended nothing.
  EXPECT_EQ(head(), 1u);
  // The server is still up.
  EXPECT_EQ(client_->get("/healthz").status, 200);
}

TEST_F(Http, MinPositionWaitsThenGivesUp) {
  ASSERT_EQ(stop(), 0);
  start({"--set", "min_position_wait_ms=300"});
  ASSERT_EQ(post_lesson(R"({"lesson_type":"x"})").status, 201);
  auto now = client_->get("/lessons?min_position=1", kViewer);
  EXPECT_EQ(now.status, 200);
  EXPECT_GE(std::stoull(now.header("annals-position")), 1u);
  auto later = client_->get("/lessons?min_position=1000", kViewer);
  EXPECT_EQ(later.status, 503);
  EXPECT_EQ(later.header("retry-after"), "1");
  EXPECT_EQ(client_->get("/lessons?min_position=x", kViewer).status, 400);
  // A write that lands while the request waits releases it.
  std::thread writer([&] {
    HttpClient c(server_->port());
    std::this_thread::yield();
    c.post("/lessons", R"({"lesson_type":"y"})", kWorker);
  });
  auto waited = client_->get("/lessons?min_position=2", kViewer);
  writer.join();
  if (waited.status == 200) {
    EXPECT_GE(std::stoull(waited.header("annals-position")), 2u);
  } else {
    EXPECT_EQ(waited.status, 503);  // the write took longer than the wait
  }
}

TEST_F(Http, ServesEventsStreamsAndAudit) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(post_lesson(R"({"lesson_type":"x"})").status, 201);
  ASSERT_EQ(client_->post("/lessons/1", R"({"status":"closed"})", kWorker).status, 200);
  // EA-03
  auto nd = client_->get("/events?from=1&limit=2", kViewer);
  ASSERT_EQ(nd.status, 200);
  EXPECT_EQ(nd.header("content-type"), "application/x-ndjson");
  EXPECT_EQ(nd.header("annals-next-from"), "3");
  ASSERT_EQ(std::count(nd.body.begin(), nd.body.end(), '\n'), 2);
  auto line1 = json::parse(nd.body.substr(0, nd.body.find('\n')));
  EXPECT_EQ(line1["position"], 1);
  EXPECT_EQ(line1["stream"], "lesson-1");
  EXPECT_EQ(line1["type"], "LessonRecorded");
  EXPECT_EQ(line1["data"]["lesson_type"], "x");
  EXPECT_EQ(line1["hash"].get<std::string>().size(), 64u);
  auto arr = client_->get("/events?from=1&limit=2", kViewer);
  auto as_json = client_->request(
      "GET", "/events", "",
      {{"Authorization", std::string("Bearer ") + kViewer}, {"Accept", "application/json"}});
  ASSERT_EQ(as_json.status, 200);
  EXPECT_EQ(json::parse(as_json.body).size(), 4u);
  auto updated =
      json::parse(client_->get("/events?type=LessonUpdated&category=lesson", kViewer).body);
  EXPECT_EQ(updated["data"]["changes"], json::parse(R"({"status":"closed"})"));
  auto backward = client_->get("/events?direction=backward&limit=1", kViewer);
  EXPECT_EQ(json::parse(backward.body)["position"], 4);
  EXPECT_EQ(backward.header("annals-next-from"), "3");
  EXPECT_EQ(client_->get("/events?direction=sideways", kViewer).status, 422);
  EXPECT_EQ(client_->get("/events?since=yesterday", kViewer).status, 400);
  EXPECT_EQ(client_->get("/events?limit=10001", kViewer).status, 422);
  EXPECT_EQ(client_->get("/events/4", kViewer).status, 200);
  EXPECT_EQ(client_->get("/events/5", kViewer).status, 404);
  auto stream = client_->get("/streams/lesson-1", kViewer);
  EXPECT_EQ(stream.status, 200);
  EXPECT_EQ(std::count(stream.body.begin(), stream.body.end(), '\n'), 2);
  EXPECT_EQ(client_->get("/streams/lesson-99", kViewer).status, 404);
  // EA-01
  auto digest = json::parse(client_->get("/audit/digest", kViewer).body);
  auto e4 = json::parse(client_->get("/events/4", kViewer).body);
  EXPECT_EQ(digest["position"], 4);
  EXPECT_EQ(digest["hash"], e4["hash"]);
  EXPECT_EQ(digest["recorded_at"], e4["recorded_at"]);
  EXPECT_EQ(client_->get("/audit/digest?at=5", kViewer).status, 404);
  auto zero = json::parse(client_->get("/audit/digest?at=0", kViewer).body);
  EXPECT_EQ(zero["hash"], std::string(64, '0'));
  auto verify = json::parse(client_->get("/audit/verify", kViewer).body);
  EXPECT_EQ(verify["ok"], true);
  EXPECT_EQ(verify["events"], 4);
  EXPECT_EQ(verify["hash"], e4["hash"]);
  auto projections = json::parse(client_->get("/admin/projections", kViewer).body);
  json lessons;
  for (const auto& p : projections["projections"]) {
    if (p["name"] == "lessons") lessons = p;
  }
  EXPECT_EQ(lessons["position"], 4);
  EXPECT_EQ(lessons["rows"], 3);
  EXPECT_EQ(lessons["lag"], 0);
  EXPECT_EQ(lessons["digest"].get<std::string>().size(), 64u);
  EXPECT_EQ(client_->get("/admin/projections/nope", kViewer).status, 404);
}

TEST_F(Http, QueueShowsTheLessonsSnapshot) {
  ASSERT_EQ(post_lesson(R"({"lesson_type":"gate_failure"})").status, 201);
  ASSERT_EQ(post_lesson(R"({"lesson_type":"merge_hold","status":"closed"})").status, 201);
  auto q = json::parse(client_->get("/queue", kViewer).body);
  EXPECT_EQ(q["lessons"]["total"], 2);
  EXPECT_EQ(q["lessons"]["last_24h"], 2);
  EXPECT_EQ(q["lessons"]["by_type"], json::parse(R"({"gate_failure":1,"merge_hold":1})"));
  EXPECT_EQ(q["lessons"]["latest"][0]["id"], 2);
  EXPECT_EQ(q["automations"]["due"], 0);
}

TEST_F(Http, RestartKeepsEverythingAndTheKillSwitchHidesLessons) {
  for (int i = 0; i < 5; ++i) ASSERT_EQ(post_lesson(R"({"lesson_type":"x"})").status, 201);
  const auto digest = client_->get("/audit/digest", kViewer).body;
  const auto lessons = client_->get("/lessons", kViewer).body;
  EXPECT_EQ(stop(), 0);  // SIGTERM: graceful

  // LS-07: the kill switch.
  start({"--set", "lessons_enabled=false"});
  EXPECT_EQ(client_->get("/audit/digest", kViewer).body, digest);
  const std::string off = R"({"enabled":false})";
  EXPECT_EQ(client_->get("/lessons", kViewer).body, off);
  EXPECT_EQ(client_->get("/lessons/1", kViewer).body, off);
  auto p = post_lesson(R"({"lesson_type":"Not Valid"})");
  EXPECT_EQ(p.status, 200);
  EXPECT_EQ(p.body, off);
  EXPECT_EQ(client_->post("/lessons/1", R"({"status":"closed"})", kWorker).body, off);
  EXPECT_EQ(json::parse(client_->get("/queue", kViewer).body)["lessons"], json::parse(off));
  EXPECT_EQ(client_->get("/audit/digest", kViewer).body, digest);
  EXPECT_EQ(stop(), 0);

  start();
  EXPECT_EQ(client_->get("/lessons", kViewer).body, lessons);
  auto next = post_lesson(R"({"lesson_type":"x"})");
  EXPECT_EQ(json::parse(next.body)["id"], 6);
}

TEST_F(Http, ConcurrentWritersAllLandDurably) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      HttpClient c(server_->port());
      for (int i = 0; i < 25; ++i) {
        if (c.post("/lessons", R"({"lesson_type":"load"})", kWorker).status == 201) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 200);
  // Every acknowledged lesson is there after a hard kill.
  client_.reset();
  server_->kill();
  server_.reset();
  start();
  auto page = json::parse(client_->get("/lessons?limit=1000", kViewer).body);
  EXPECT_EQ(page["count"], 200);
  EXPECT_EQ(json::parse(client_->get("/audit/verify", kViewer).body)["ok"], true);
}

TEST_F(Http, RegistersAndListsCapabilities) {
  const std::string product_watch =
      R"({"name":"product_watch","description":"Watch a product page","trigger_type":"on_schedule",)"
      R"("input_schema":{"type":"object"},)"
      R"("default_alert_conditions":{"field":"triggers_alert","op":"==","value":true}})";
  auto created = client_->post("/admin/capabilities", product_watch, kOps);
  ASSERT_EQ(created.status, 201) << created.body;
  auto c = json::parse(created.body);
  EXPECT_EQ(c["name"], "product_watch");
  EXPECT_EQ(c["created_by"], "ops");
  EXPECT_EQ(c["input_schema"], json::parse(R"({"type":"object"})"));
  EXPECT_EQ(c["default_alert_conditions"]["op"], "==");
  EXPECT_EQ(created.header("location"), "/admin/capabilities/product_watch");
  EXPECT_EQ(created.header("etag"), "\"1\"");
  auto dup = client_->post("/admin/capabilities", product_watch, kOps);
  EXPECT_EQ(dup.status, 409);
  EXPECT_EQ(json::parse(dup.body)["type"], "urn:annals:problem:duplicate");
  EXPECT_EQ(client_->post("/admin/capabilities", product_watch, kWorker).status, 403);
  ASSERT_EQ(client_
                ->post("/admin/capabilities",
                       R"({"name":"parse_task","trigger_type":"on_message"})", kOps)
                .status,
            201);
  auto defaults = json::parse(client_->get("/admin/capabilities/parse_task", kViewer).body);
  EXPECT_EQ(defaults["description"], "");
  EXPECT_EQ(defaults["input_schema"], json::object());
  EXPECT_EQ(defaults["default_alert_conditions"], json::object());
  struct Bad {
    const char* body;
    const char* field;
  };
  for (const Bad& b :
       {Bad{R"({"name":"Bad Name","trigger_type":"on_message"})", "name"},
        Bad{R"({"name":"x","trigger_type":"sometimes"})", "trigger_type"},
        Bad{R"({"name":"x","trigger_type":"on_message","input_schema":[]})", "input_schema"},
        Bad{R"({"name":"x","trigger_type":"on_message","default_alert_conditions":{"any_of":"x"}})",
            "default_alert_conditions.any_of"},
        Bad{R"({"name":"x","trigger_type":"on_message","colour":"red"})", "colour"},
        Bad{R"({"trigger_type":"on_message"})", "name"}}) {
    auto r = client_->post("/admin/capabilities", b.body, kOps);
    EXPECT_EQ(r.status, 422) << b.body;
    EXPECT_EQ(json::parse(r.body)["errors"][0]["field"], b.field) << b.body;
  }
  auto list = json::parse(client_->get("/admin/capabilities", kViewer).body);
  ASSERT_EQ(list["count"], 2);
  EXPECT_EQ(list["capabilities"][0]["name"], "parse_task");  // newest first
  auto scheduled =
      json::parse(client_->get("/admin/capabilities?trigger_type=on_schedule", kViewer).body);
  ASSERT_EQ(scheduled["count"], 1);
  EXPECT_EQ(scheduled["capabilities"][0]["name"], "product_watch");
  EXPECT_EQ(client_->get("/admin/capabilities?trigger_type=bogus", kViewer).status, 422);
  EXPECT_EQ(client_->get("/admin/capabilities?limit=501", kViewer).status, 422);
  EXPECT_EQ(client_->get("/admin/capabilities/ghost", kViewer).status, 404);
  EXPECT_EQ(head(), 2u);
}

TEST_F(Http, ManagesAutomationDefinitions) {
  ASSERT_EQ(
      client_
          ->post("/admin/capabilities",
                 R"({"name":"product_watch","trigger_type":"on_schedule",)"
                 R"("default_alert_conditions":{"field":"triggers_alert","op":"==","value":true}})",
                 kOps)
          .status,
      201);
  const std::string shirt =
      R"({"name":"watch shirt","capability_name":"product_watch","inputs":{"url":"https://shop.example/shirt"},)"
      R"("trigger_type":"on_schedule","schedule":"0 12 * * *","alert_channels":["log","discord_channel"]})";
  auto created = client_->post("/admin/automations", shirt, kOps);
  ASSERT_EQ(created.status, 201) << created.body;
  auto a = json::parse(created.body);
  const std::string id = a["id"];
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(a["user_id"], "ops");
  EXPECT_EQ(a["status"], "active");
  EXPECT_EQ(a["max_cost_per_run_usd"], 2.0);  // AU-05
  EXPECT_EQ(a["min_interval_seconds"], 300);
  EXPECT_EQ(a["alert_conditions"]["field"], "triggers_alert");
  EXPECT_TRUE(a["next_run_at"].is_string());
  EXPECT_EQ(a["state"], json::object());
  EXPECT_EQ(created.header("location"), "/admin/automations/" + id);
  EXPECT_EQ(created.header("etag"), "\"1\"");
  // AU-03: one name per owner among non-deleted automations.
  EXPECT_EQ(client_->post("/admin/automations", shirt, kOps).status, 409);
  // AU-04, AU-10, unknown fields and capabilities.
  struct Bad {
    const char* patch;
    const char* field;
  };
  for (const Bad& b :
       {Bad{R"({"schedule":null})", "schedule"},
        Bad{R"({"trigger_type":"sometimes"})", "trigger_type"},
        Bad{R"({"alert_conditions":{"all_of":[{"field":"p","op":"lol","value":1}]}})",
            "alert_conditions.all_of[0].op"},
        Bad{R"({"capability_name":"ghost"})", "capability_name"},
        Bad{R"({"user_id":"someone"})", "user_id"},
        Bad{R"({"schedule":"*/2 * * * *"})", "schedule"},
        Bad{R"({"max_cost_per_run_usd":true})", "max_cost_per_run_usd"},
        Bad{R"({"max_cost_per_run_usd":-1})", "max_cost_per_run_usd"}}) {
    json body = json::parse(shirt);
    body["name"] = "other";
    const json overrides = json::parse(b.patch);
    for (const auto& [k, v] : overrides.items()) body[k] = v;
    auto r = client_->post("/admin/automations", body.dump(), kOps);
    EXPECT_EQ(r.status, 422) << b.patch << " " << r.body;
    EXPECT_EQ(json::parse(r.body)["errors"][0]["field"], b.field) << b.patch;
  }
  auto manual = json::parse(
      client_
          ->post(
              "/admin/automations",
              R"({"name":"manual","capability_name":"product_watch","inputs":{},"trigger_type":"on_manual","max_cost_per_run_usd":null})",
              kOps)
          .body);
  EXPECT_TRUE(manual["next_run_at"].is_null());
  EXPECT_TRUE(manual["max_cost_per_run_usd"].is_null());
  EXPECT_EQ(client_->post("/admin/automations", shirt, kWorker).status, 403);

  // PATCH (AU-05, AU-09).
  auto patch = [&](const std::string& body, const Headers& h = {}) {
    auto hh = h;
    hh.emplace_back("Authorization", std::string("Bearer ") + kOps);
    return client_->request("PATCH", "/admin/automations/" + id, body, hh);
  };
  auto p1 = patch(R"({"description":"the red one","max_cost_per_run_usd":0.5})");
  ASSERT_EQ(p1.status, 200) << p1.body;
  EXPECT_EQ(json::parse(p1.body)["max_cost_per_run_usd"], 0.5);
  EXPECT_EQ(p1.header("etag"), "\"2\"");
  auto p2 = patch(R"({"description":null,"max_cost_per_run_usd":null})");
  EXPECT_TRUE(json::parse(p2.body)["description"].is_null());
  EXPECT_TRUE(json::parse(p2.body)["max_cost_per_run_usd"].is_null());
  const auto before_empty = head();
  EXPECT_EQ(patch("{}").status, 200);
  EXPECT_EQ(head(), before_empty);
  EXPECT_EQ(patch(R"({"capability_name":"x"})").status, 422);
  EXPECT_EQ(patch(R"({"colour":"red"})").status, 422);
  EXPECT_EQ(patch(R"({"name":"manual"})").status, 409);
  EXPECT_EQ(patch(R"({"name":"renamed"})", {{"If-Match", "\"1\""}}).status, 412);
  EXPECT_EQ(head(), before_empty);

  // Pause and resume (AU-06): repeats are no-ops answering the same position.
  const std::string base = "/admin/automations/" + id;
  auto paused = client_->post(base + "/pause", "", kOps);
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(json::parse(paused.body)["status"], "paused");
  EXPECT_TRUE(json::parse(paused.body)["next_run_at"].is_null());
  auto again = client_->post(base + "/pause", "", kOps);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.header("annals-position"), paused.header("annals-position"));
  auto resumed = client_->post(base + "/resume", "", kOps);
  EXPECT_EQ(json::parse(resumed.body)["status"], "active");
  EXPECT_EQ(json::parse(resumed.body)["failure_count"], 0);
  EXPECT_TRUE(json::parse(resumed.body)["next_run_at"].is_string());

  // AU-11: list filters.
  ASSERT_EQ(client_->post(base + "/pause", "", kOps).status, 200);
  auto active = json::parse(client_->get("/admin/automations", kViewer).body);
  ASSERT_EQ(active["count"], 1);
  EXPECT_EQ(active["automations"][0]["name"], "manual");
  EXPECT_EQ(json::parse(client_->get("/admin/automations?status=paused", kViewer).body)["count"],
            1);
  EXPECT_EQ(json::parse(
                client_->get("/admin/automations?status=all&capability_name=product_watch", kViewer)
                    .body)["count"],
            2);
  EXPECT_EQ(
      json::parse(
          client_->get("/admin/automations?status=all&user_id=nobody", kViewer).body)["count"],
      0);
  EXPECT_EQ(client_->get("/admin/automations?status=sleeping", kViewer).status, 422);

  // AU-07: delete is terminal and idempotent; the name is freed.
  auto del_headers = Headers{{"Authorization", std::string("Bearer ") + kOps}};
  auto del = client_->request("DELETE", base, "", del_headers);
  ASSERT_EQ(del.status, 200);
  EXPECT_EQ(json::parse(del.body), json::parse(R"({"id":")" + id + R"(","status":"deleted"})"));
  auto del2 = client_->request("DELETE", base, "", del_headers);
  EXPECT_EQ(del2.body, del.body);
  EXPECT_EQ(del2.header("annals-position"), del.header("annals-position"));
  EXPECT_EQ(client_->post(base + "/pause", "", kOps).status, 409);
  EXPECT_EQ(client_->post(base + "/resume", "", kOps).status, 409);
  EXPECT_EQ(patch(R"({"name":"x"})").status, 409);
  EXPECT_EQ(json::parse(client_->get(base, kViewer).body)["status"], "deleted");
  // The queue counts active automations by next_run_at: "manual" has none, so nothing is due.
  auto queue = json::parse(client_->get("/queue", kViewer).body)["automations"];
  EXPECT_EQ(queue["due"], 0);
  EXPECT_TRUE(queue["next_due_at"].is_null());
  auto recreated = json::parse(client_->post("/admin/automations", shirt, kOps).body);
  EXPECT_EQ(recreated["name"], "watch shirt");
  auto queued = json::parse(client_->get("/queue", kViewer).body)["automations"];
  EXPECT_EQ(queued["next_due_at"], recreated["next_run_at"]);
  EXPECT_EQ(queued["due"], 0);  // the next 12:00 lies in the future
  EXPECT_EQ(client_->get("/admin/automations/not-a-uuid", kViewer).status, 404);
  EXPECT_EQ(client_->get("/admin/automations/01970000-0000-7000-8000-000000000000", kViewer).status,
            404);
}

TEST_F(Http, RequestIdsBecomeCorrelationIds) {
  auto r = post_lesson(R"({"lesson_type":"x"})", kWorker, {{"X-Request-Id", "req-42"}});
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(r.header("annals-request-id"), "req-42");
  EXPECT_EQ(json::parse(client_->get("/events/1", kViewer).body)["correlation_id"], "req-42");
  auto generated = post_lesson(R"({"lesson_type":"x"})");
  const std::string id = generated.header("annals-request-id");
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '7');  // UUIDv7
  EXPECT_EQ(json::parse(client_->get("/events/2", kViewer).body)["correlation_id"], id);
}

TEST_F(Http, SlowRequestsTimeOutWith408) {
  ASSERT_EQ(stop(), 0);
  start({"--set", "http_read_timeout_seconds=1"});
  // A request head that never completes.
  auto r = client_->raw("POST /lessons HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"lesson");
  EXPECT_EQ(r.status, 408);
  EXPECT_EQ(client_->get("/healthz").status, 200);
}

TEST_F(Http, SigtermUnderLoadLosesNoAcknowledgedWrite) {
  std::atomic<bool> go{true};
  std::atomic<int> acked{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&] {
      HttpClient c(server_->port());
      while (go.load()) {
        try {
          if (c.post("/lessons", R"({"lesson_type":"shutdown"})", kWorker).status == 201) ++acked;
        } catch (const std::exception&) {
          return;  // the server went away
        }
      }
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (acked.load() < 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_GE(acked.load(), 200);
  client_.reset();
  EXPECT_EQ(server_->stop(), 0);  // SIGTERM while the writers are still sending
  server_.reset();
  go = false;
  for (auto& t : writers) t.join();
  start();
  auto page = json::parse(client_->get("/lessons?limit=1000&lesson_type=shutdown", kViewer).body);
  EXPECT_GE(page["count"].get<int>(), acked.load());
}

TEST(HttpStartup, EnvironmentOverridesTheFile) {
  TempDir dir;
  std::ofstream(dir.sub("annals.yaml")) << "lessons_enabled: true\nlessons_dedup_window_s: 10\n";
  ::setenv("ANNALS_LESSONS_DEDUP_WINDOW_S", "77", 1);
  auto env = run_command(ANNALSD_PATH, {"--check-config", "--config", dir.sub("annals.yaml")});
  auto flag = run_command(ANNALSD_PATH, {"--check-config", "--config", dir.sub("annals.yaml"),
                                         "--set", "lessons_dedup_window_s=5"});
  ::unsetenv("ANNALS_LESSONS_DEDUP_WINDOW_S");
  EXPECT_NE(env.out.find("lessons_dedup_window_s: 77"), std::string::npos) << env.out;
  EXPECT_NE(flag.out.find("lessons_dedup_window_s: 5"), std::string::npos);
  ::setenv("ANNALS_HTTP_MAX_BODY_BYTES", "big", 1);
  auto bad = run_command(ANNALSD_PATH, {"--check-config"});
  ::unsetenv("ANNALS_HTTP_MAX_BODY_BYTES");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("http_max_body_bytes"), std::string::npos);
  std::ofstream(dir.sub("bad.yaml")) << "tokens:\n  - {name: system, token: x, role: admin}\n";
  auto reserved = run_command(ANNALSD_PATH, {"--check-config", "--config", dir.sub("bad.yaml")});
  EXPECT_EQ(reserved.exit_code, 2);
  EXPECT_NE(reserved.err.find("reserved"), std::string::npos);
}

TEST(HttpStartup, RefusesUnsafeOrHeldConfigurations) {
  TempDir dir;
  // EA-07: non-loopback listen without tokens.
  auto open = run_command(ANNALSD_PATH, {"--data", dir.sub("d"), "--listen", "0.0.0.0:0"});
  EXPECT_EQ(open.exit_code, 2);
  EXPECT_NE(open.err.find("tokens"), std::string::npos);
  auto bad = run_command(ANNALSD_PATH, {"--data", dir.sub("d"), "--set", "http_threads=lots"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("http_threads"), std::string::npos);
  // Executors and the notifier need http(s) URLs; executor types are checked.
  std::ofstream(dir.sub("exec.yaml"))
      << "executors:\n  product_watch: {type: webhook, url: ftp://x}\n";
  auto exec = run_command(ANNALSD_PATH, {"--check-config", "--config", dir.sub("exec.yaml")});
  EXPECT_EQ(exec.exit_code, 2);
  EXPECT_NE(exec.err.find("executors.product_watch.url"), std::string::npos);
  std::ofstream(dir.sub("type.yaml")) << "executors:\n  default: {type: shell}\n";
  EXPECT_EQ(
      run_command(ANNALSD_PATH, {"--check-config", "--config", dir.sub("type.yaml")}).exit_code, 2);
  auto notifier = run_command(ANNALSD_PATH, {"--check-config", "--set", "notifier_url=nope"});
  EXPECT_EQ(notifier.exit_code, 2);
  EXPECT_NE(notifier.err.find("notifier_url"), std::string::npos);
  auto check = run_command(ANNALSD_PATH, {"--check-config", "--set", "lessons_dedup_window_s=60"});
  EXPECT_EQ(check.exit_code, 0);
  EXPECT_NE(check.out.find("lessons_dedup_window_s: 60"), std::string::npos);
  // Exit 3 while another annalsd holds the data directory.
  ServerProcess first(ANNALSD_PATH, {"--data", dir.sub("d"), "--listen", "127.0.0.1:0"});
  auto second = run_command(ANNALSD_PATH, {"--data", dir.sub("d"), "--listen", "127.0.0.1:0"});
  EXPECT_EQ(second.exit_code, 3);
  EXPECT_NE(second.err.find("held by another process"), std::string::npos);
}

}  // namespace
}  // namespace annals::testing

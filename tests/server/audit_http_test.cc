// The live tail, verification and online rebuilds over HTTP against a real annalsd (API §15-16,
// SPEC §10.18 EA-04, EA-09; issue #5).
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/support/eventually.h"
#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/sse_client.h"
#include "tests/support/temp_dir.h"

namespace annals::testing {
namespace {

using nlohmann::json;

ServerProcess start_server(const std::string& data, std::vector<std::string> sets = {}) {
  std::vector<std::string> args = {"--data",      data,          "--listen",
                                   "127.0.0.1:0", "--log-level", "warn"};
  for (auto& s : sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  return ServerProcess(ANNALSD_PATH, args);
}

void record_lessons(HttpClient& c, int n, const std::string& type = "gate_failure",
                    std::size_t detail_bytes = 0) {
  for (int i = 0; i < n; ++i) {
    std::string body = R"({"lesson_type":")" + type + R"(")";
    if (detail_bytes > 0)
      body += R"(,"detail":{"blob":")" + std::string(detail_bytes, 'x') + R"("})";
    body += "}";
    ASSERT_EQ(c.post("/lessons", body).status, 201);
  }
}

// Reads frames until one with id `last` (inclusive), collecting event ids; heartbeats skipped.
std::vector<std::uint64_t> read_until(SseClient& s, std::uint64_t last) {
  std::vector<std::uint64_t> ids;
  while (ids.empty() || ids.back() < last) {
    auto f = s.next();
    if (!f) break;
    if (!f->id) continue;
    const auto e = json::parse(f->data);
    EXPECT_EQ(e["position"], *f->id);
    EXPECT_EQ(e["type"], f->event);
    ids.push_back(*f->id);
  }
  return ids;
}

TEST(LiveTail, FromAPositionAndResumedWithLastEventIdWithoutGapsOrDuplicates) {
  TempDir dir;
  auto server = start_server(dir.sub("data"));
  HttpClient c(server.port());
  record_lessons(c, 5);
  // EA-04: from=1 → ids 1, 2, 3, …
  SseClient first(server.port(), "/events/subscribe?from=1");
  ASSERT_EQ(first.status(), 200);
  EXPECT_NE(first.head().find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_EQ(read_until(first, 5), (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
  // Appends continue while the client reads, disconnects and comes back.
  std::thread writer([port = server.port()] {
    HttpClient w(port);
    record_lessons(w, 60);
  });
  std::vector<std::uint64_t> seen = {1, 2, 3, 4, 5};
  auto more = read_until(first, 20);
  seen.insert(seen.end(), more.begin(), more.end());
  first.close();
  const std::uint64_t last = seen.back();
  SseClient second(server.port(), "/events/subscribe?from=1",
                   {{"Last-Event-ID", std::to_string(last)}});  // wins over from
  ASSERT_EQ(second.status(), 200);
  writer.join();
  auto rest = read_until(second, 65);
  ASSERT_FALSE(rest.empty());
  EXPECT_EQ(rest.front(), last + 1);
  seen.insert(seen.end(), rest.begin(), rest.end());
  std::vector<std::uint64_t> expected(65);
  for (std::uint64_t i = 0; i < 65; ++i) expected[i] = i + 1;
  EXPECT_EQ(seen, expected);
  // Default start: the head + 1, so only new events arrive.
  SseClient tail(server.port(), "/events/subscribe");
  record_lessons(c, 1);
  auto f = tail.next();
  ASSERT_TRUE(f && f->id);
  EXPECT_EQ(*f->id, 66u);
}

TEST(LiveTail, HeartbeatsFiltersCapAndBadInput) {
  TempDir dir;
  auto server = start_server(dir.sub("data"), {"sse_heartbeat_seconds=1", "sse_max_clients=2"});
  HttpClient c(server.port());
  record_lessons(c, 3, "merge_hold");
  ASSERT_EQ(c.post("/lessons/2", R"({"status":"closed"})").status, 200);
  {
    SseClient idle(server.port(), "/events/subscribe");
    auto hb = idle.next(std::chrono::seconds(5));
    ASSERT_TRUE(hb.has_value());
    EXPECT_FALSE(hb->id.has_value());
    EXPECT_TRUE(hb->comment.starts_with(" heartbeat 20")) << hb->comment;
    // Filters: only LessonUpdated events of the lesson category.
    SseClient updates(server.port(), "/events/subscribe?from=1&category=lesson&type=LessonUpdated");
    auto u = updates.next();
    ASSERT_TRUE(u && u->id);
    EXPECT_EQ(u->event, "LessonUpdated");
    EXPECT_EQ(*u->id, 4u);
    // The cap: a third subscriber gets 503 problem+json.
    SseClient third(server.port(), "/events/subscribe");
    EXPECT_EQ(third.status(), 503);
    EXPECT_NE(third.head().find("application/problem+json"), std::string::npos);
    auto metrics = c.get("/metrics").body;
    EXPECT_NE(metrics.find("annals_sse_subscribers 2"), std::string::npos);
  }
  // Closed subscribers free their slots.
  EXPECT_TRUE(eventually([&] {
    return c.get("/metrics").body.find("annals_sse_subscribers 0") != std::string::npos;
  }));
  EXPECT_EQ(SseClient(server.port(), "/events/subscribe").status(), 200);
  EXPECT_EQ(SseClient(server.port(), "/events/subscribe", {{"Last-Event-ID", "x"}}).status(), 400);
  EXPECT_EQ(SseClient(server.port(), "/events/subscribe?from=abc").status(), 400);
  EXPECT_EQ(SseClient(server.port(), "/events/subscribe?from=0").status(), 422);
  EXPECT_EQ(SseClient(server.port(), "/events/subscribe?bogus=1").status(), 400);
}

TEST(LiveTail, ASlowSubscriberNeverHoldsAppendsAndCatchesUpFromTheLog) {
  TempDir dir;
  auto server = start_server(dir.sub("data"));
  HttpClient c(server.port());
  SseClient slow(server.port(), "/events/subscribe?from=1", {}, 256 * 1024);
  ASSERT_EQ(slow.status(), 200);
  // ≈ 10 MB of events while the subscriber reads nothing: more than the socket buffers hold.
  record_lessons(c, 2000, "gate_failure", 5000);
  auto ids = read_until(slow, 2000);
  ASSERT_EQ(ids.size(), 2000u);
  for (std::uint64_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], i + 1);
}

TEST(LiveTail, AStalledSubscriberIsDroppedAndSubscribersAreToldWhenTheServerStops) {
  TempDir dir;
  auto server = start_server(dir.sub("data"), {"http_read_timeout_seconds=1"});
  HttpClient c(server.port());
  SseClient stalled(server.port(), "/events/subscribe?from=1", {}, 256 * 1024);
  record_lessons(c, 1500, "gate_failure", 5000);
  EXPECT_TRUE(eventually([&] {
    return c.get("/metrics").body.find(R"(annals_sse_dropped_total{reason="write_stalled"} 1)") !=
           std::string::npos;
  }));
  SseClient live(server.port(), "/events/subscribe");
  ASSERT_EQ(live.status(), 200);
  EXPECT_EQ(server.stop(), 0);
  std::optional<SseFrame> f;
  while ((f = live.next()) && f->event != "dropped") {
  }
  ASSERT_TRUE(f.has_value());
  const auto d = json::parse(f->data);
  EXPECT_EQ(d["reason"], "server_stopping");
  EXPECT_EQ(d["resume_from"], 1501);
  EXPECT_FALSE(live.next().has_value());
  EXPECT_TRUE(live.closed());
}

TEST(OnlineRebuild, ANewGenerationIsSwappedInWithTheSameDigest) {
  TempDir dir;
  auto server = start_server(dir.sub("data"));
  HttpClient c(server.port());
  record_lessons(c, 40);
  ASSERT_EQ(c.post("/lessons/3", R"({"status":"closed"})").status, 200);
  const auto before = json::parse(c.get("/admin/projections/lessons").body);
  EXPECT_EQ(before["generation"], 1);
  EXPECT_EQ(before["status"], "live");
  // EA-09: 202, then the new generation serves with the same digest.
  auto r = c.post("/admin/projections/lessons/rebuild", "");
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(json::parse(r.body),
            json::parse(R"({"name":"lessons","generation":2,"status":"building"})"));
  ASSERT_TRUE(eventually(
      [&] { return json::parse(c.get("/admin/projections/lessons").body)["generation"] == 2; }));
  auto after = json::parse(c.get("/admin/projections/lessons").body);
  EXPECT_EQ(after["digest"], before["digest"]);
  EXPECT_EQ(after["rows"], 40);
  EXPECT_EQ(after["rebuild"], nullptr);
  // Reads and writes go on through the new generation.
  record_lessons(c, 1);
  EXPECT_EQ(json::parse(c.get("/lessons/41").body)["id"], 41);
  // All read models at once, while commands commit.
  auto all_before = json::parse(c.get("/admin/projections").body);
  auto all = c.post("/admin/projections/all/rebuild", "");
  ASSERT_EQ(all.status, 202);
  EXPECT_EQ(json::parse(all.body)["projections"].size(), all_before["count"]);
  ASSERT_TRUE(eventually([&] {
    const auto now = json::parse(c.get("/admin/projections").body);
    for (const auto& p : now["projections"]) {
      if (!p["rebuild"].is_null()) return false;
    }
    return true;
  }));
  auto all_after = json::parse(c.get("/admin/projections").body);
  for (std::size_t i = 0; i < all_after["projections"].size(); ++i) {
    const auto& a = all_after["projections"][i];
    const auto& b = all_before["projections"][i];
    EXPECT_EQ(a["digest"], b["digest"]) << a["name"];
    EXPECT_EQ(a["generation"], b["generation"].get<int>() + 1) << a["name"];
  }
  EXPECT_EQ(c.post("/admin/projections/nope/rebuild", "").status, 404);
  // The server restarts on the swapped-in generations.
  EXPECT_EQ(server.stop(), 0);
  auto again = start_server(dir.sub("data"));
  HttpClient c2(again.port());
  auto reopened = json::parse(c2.get("/admin/projections/lessons").body);
  EXPECT_EQ(reopened["generation"], 3);
  EXPECT_EQ(reopened["rows"], 41);
}

}  // namespace
}  // namespace annals::testing

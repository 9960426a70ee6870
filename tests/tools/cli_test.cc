// The annals tool against real stores (API §18.2, SPEC §10.18 EA-02, EA-09).
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "events/keys.h"
#include "events/store.h"
#include "tests/support/eventually.h"
#include "tests/support/http_client.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"

namespace annals::testing {
namespace {

using nlohmann::json;

// Starts a tokenless loopback annalsd on `data` and records `n` lessons (one updated).
json populate(const std::string& data, int n) {
  ServerProcess server(ANNALSD_PATH,
                       {"--data", data, "--listen", "127.0.0.1:0", "--log-level", "warn"});
  HttpClient c(server.port());
  EXPECT_EQ(
      c.post("/admin/capabilities", R"({"name":"parse_task","trigger_type":"on_message"})").status,
      201);
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(c.post("/lessons", R"({"lesson_type":"t)" + std::to_string(i % 3) + R"("})").status,
              201);
  }
  EXPECT_EQ(c.post("/lessons/1", R"({"status":"closed"})").status, 200);
  auto projections = json::parse(c.get("/admin/projections").body);
  EXPECT_EQ(server.stop(), 0);
  return projections;
}

// Adds automation history (create, patch, pause, delete) on top of populate().
json with_automations(const std::string& data) {
  ServerProcess server(ANNALSD_PATH,
                       {"--data", data, "--listen", "127.0.0.1:0", "--log-level", "warn"});
  HttpClient c(server.port());
  for (int i = 0; i < 3; ++i) {
    auto r = c.post(
        "/admin/automations",
        R"({"name":"a)" + std::to_string(i) +
            R"(","capability_name":"parse_task","inputs":{},"trigger_type":"on_schedule","schedule":"0 * * * *"})");
    EXPECT_EQ(r.status, 201) << r.body;
    const std::string id = json::parse(r.body)["id"];
    EXPECT_EQ(c.request("PATCH", "/admin/automations/" + id, R"({"description":"d"})").status, 200);
    if (i == 1) {
      EXPECT_EQ(c.post("/admin/automations/" + id + "/pause", "").status, 200);
    } else if (i == 2) {
      EXPECT_EQ(c.request("DELETE", "/admin/automations/" + id).status, 200);
    }
  }
  auto projections = json::parse(c.get("/admin/projections").body);
  EXPECT_EQ(server.stop(), 0);
  return projections;
}

TEST(Cli, RebuildMatchesTheLiveDigestAndRefusesBesideAServer) {
  TempDir dir;
  const auto data = dir.sub("data");
  populate(data, 30);
  const auto live = with_automations(data);
  std::string live_digest;  // of lessons
  for (const auto& p : live["projections"]) {
    if (p["name"] == "lessons") live_digest = p["digest"];
  }
  // EA-09: offline rebuild with the server stopped.
  auto rebuild = run_command(ANNALS_PATH, {"rebuild", "--data", data});
  ASSERT_EQ(rebuild.exit_code, 0) << rebuild.err;
  EXPECT_NE(rebuild.out.find("events/s"), std::string::npos);
  EXPECT_NE(rebuild.out.find("lessons"), std::string::npos);
  EXPECT_NE(rebuild.out.find("generation 2"), std::string::npos);
  // Every read model's rebuilt digest equals its live digest.
  for (const auto& p : live["projections"]) {
    EXPECT_NE(rebuild.out.find("digest " + p["digest"].get<std::string>()), std::string::npos)
        << p["name"] << "\n"
        << rebuild.out;
  }
  // Time travel: rebuild to position 10, then a server catches the read model up again.
  auto early = run_command(ANNALS_PATH, {"rebuild", "--data", data, "--until", "10"});
  ASSERT_EQ(early.exit_code, 0);
  EXPECT_NE(early.out.find("lessons                generation 3 position 10 rows 9 "),
            std::string::npos)
      << early.out;
  {
    ServerProcess server(ANNALSD_PATH, {"--data", data, "--listen", "127.0.0.1:0"});
    HttpClient c(server.port());
    auto now = json::parse(c.get("/admin/projections/lessons").body);
    EXPECT_EQ(now["digest"], live_digest);
    EXPECT_EQ(now["generation"], 3);
    // While a server holds the directory: rebuild refuses (exit 3); reads still work.
    auto refused = run_command(ANNALS_PATH, {"rebuild", "--data", data});
    EXPECT_EQ(refused.exit_code, 3);
    EXPECT_NE(refused.err.find("held by another process"), std::string::npos);
    auto digest = run_command(ANNALS_PATH, {"digest", "--data", data, "--chain-only"});
    EXPECT_EQ(digest.exit_code, 0);
    EXPECT_EQ(json::parse(digest.out), json::parse(c.get("/audit/digest").body));
  }
  EXPECT_EQ(run_command(ANNALS_PATH, {"rebuild", "--data", data, "--projection", "nope"}).exit_code,
            2);
  EXPECT_EQ(run_command(ANNALS_PATH, {"rebuild"}).exit_code, 2);
  EXPECT_EQ(run_command(ANNALS_PATH, {"digest", "--data", dir.sub("missing")}).exit_code, 3);
}

// Time travel beside a running server: `annals digest --at POS` gives every read model as the
// server had it at POS (and at the head, the stored read models themselves).
TEST(Cli, DigestAtAPositionGivesEveryReadModelAsOfThatPosition) {
  TempDir dir;
  const auto data = dir.sub("data");
  ServerProcess server(ANNALSD_PATH,
                       {"--data", data, "--listen", "127.0.0.1:0", "--log-level", "warn"});
  HttpClient c(server.port());
  std::map<std::uint64_t, json> seen;  // position → read model name → digest
  auto snapshot = [&] {
    const auto all = json::parse(c.get("/admin/projections").body);
    json by_name = json::object();
    std::uint64_t pos = 0;
    for (const auto& p : all["projections"]) {
      by_name[p["name"].get<std::string>()] = {{"rows", p["rows"]}, {"digest", p["digest"]}};
      pos = p["position"];
    }
    seen[pos] = by_name;
  };
  snapshot();
  ASSERT_EQ(
      c.post("/admin/capabilities", R"({"name":"parse_task","trigger_type":"on_message"})").status,
      201);
  snapshot();
  for (int i = 0; i < 6; ++i) {
    ASSERT_EQ(c.post("/lessons", R"({"lesson_type":"t)" + std::to_string(i % 2) + R"("})").status,
              201);
    if (i == 3) {
      ASSERT_EQ(c.post("/lessons/2", R"({"status":"closed"})").status, 200);
    }
    ASSERT_EQ(c.post("/admin/invocations",
                     R"({"task_type":"parse_task","cost_usd":0.25,"at":"2026-11-20T10:00:00Z"})")
                  .status,
              201);
    snapshot();
  }
  ASSERT_GE(seen.size(), 8u);
  for (const auto& [pos, by_name] : seen) {
    auto out = run_command(ANNALS_PATH, {"digest", "--data", data, "--at", std::to_string(pos)});
    ASSERT_EQ(out.exit_code, 0) << out.err;
    const auto d = json::parse(out.out);
    EXPECT_EQ(d["position"], pos);
    EXPECT_EQ(d["read_models"], by_name) << "at " << pos;
    if (pos > 0) {
      EXPECT_EQ(d["hash"],
                json::parse(c.get("/audit/digest?at=" + std::to_string(pos)).body)["hash"]);
    }
  }
  // The head: the stored generations, digested in place.
  auto head = json::parse(run_command(ANNALS_PATH, {"digest", "--data", data}).out);
  EXPECT_EQ(head["read_models"], seen.rbegin()->second);
  EXPECT_EQ(run_command(ANNALS_PATH, {"digest", "--data", data, "--at", "999"}).exit_code, 1);
}

TEST(Cli, ReplayFiltersAndFormats) {
  TempDir dir;
  const auto data = dir.sub("data");
  populate(data, 5);
  auto all = run_command(ANNALS_PATH, {"replay", "--data", data});
  ASSERT_EQ(all.exit_code, 0);
  EXPECT_EQ(std::count(all.out.begin(), all.out.end(), '\n'), 7);
  auto first = json::parse(all.out.substr(0, all.out.find('\n')));
  EXPECT_EQ(first["position"], 1);
  EXPECT_EQ(first["type"], "CapabilityRegistered");
  EXPECT_EQ(first["data"]["name"], "parse_task");
  auto updates = run_command(ANNALS_PATH, {"replay", "--data", data, "--type", "LessonUpdated"});
  EXPECT_EQ(std::count(updates.out.begin(), updates.out.end(), '\n'), 1);
  auto stream = run_command(ANNALS_PATH, {"replay", "--data", data, "--stream", "lesson-1"});
  EXPECT_EQ(std::count(stream.out.begin(), stream.out.end(), '\n'), 2);
  auto window = run_command(ANNALS_PATH,
                            {"replay", "--data", data, "--from", "2", "--to", "4", "--limit", "2"});
  EXPECT_EQ(std::count(window.out.begin(), window.out.end(), '\n'), 2);
  auto pretty =
      run_command(ANNALS_PATH, {"replay", "--data", data, "--to", "1", "--format", "pretty"});
  EXPECT_NE(pretty.out.find("\n  \"position\": 1"), std::string::npos);
  EXPECT_EQ(run_command(ANNALS_PATH, {"replay", "--data", data, "--format", "xml"}).exit_code, 2);
  EXPECT_EQ(run_command(ANNALS_PATH, {"replay", "--data", data, "--since", "x"}).exit_code, 2);
}

TEST(Cli, VerifyFindsATamperedEvent) {
  TempDir dir;
  const auto data = dir.sub("data");
  populate(data, 3);
  auto ok = run_command(ANNALS_PATH, {"verify", "--data", data});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  std::istringstream line(ok.out);
  std::string word, hash;
  std::uint64_t pos = 0;
  line >> word >> pos >> hash;
  EXPECT_EQ(word, "ok");
  EXPECT_EQ(pos, 5u);
  EXPECT_EQ(
      run_command(ANNALS_PATH, {"verify", "--data", data, "--at", "5", "--expect", hash}).exit_code,
      0);
  EXPECT_EQ(
      run_command(ANNALS_PATH, {"verify", "--data", data, "--at", "4", "--expect", hash}).exit_code,
      1);
  // EA-02: alter one byte of event 2 offline (test-only access to the log family).
  {
    events::StoreOptions o;
    o.dir = data;
    auto store = events::EventStore::open(o);
    ASSERT_TRUE(store);
    auto* log = (*store)->column_family("log");
    std::string value;
    ASSERT_TRUE((*store)->db()->Get(rocksdb::ReadOptions(), log, events::u64_be(2), &value).ok());
    value[value.size() / 2] ^= 0x20;
    ASSERT_TRUE((*store)->db()->Put(rocksdb::WriteOptions(), log, events::u64_be(2), value).ok());
  }
  auto bad = run_command(ANNALS_PATH, {"verify", "--data", data});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(bad.out.starts_with("bad 2 ")) << bad.out;
  ServerProcess server(ANNALSD_PATH, {"--data", data, "--listen", "127.0.0.1:0"});
  HttpClient c(server.port());
  auto verify = json::parse(c.get("/audit/verify").body);
  EXPECT_EQ(verify["ok"], false);
  EXPECT_EQ(verify["first_bad_position"], 2);
}

// `annals bench --stop-file`: the run ends when the file appears, long before its --duration, and
// reports what it sent until then.
TEST(Cli, BenchStopsWhenItsStopFileAppears) {
  TempDir dir;
  ServerProcess server(
      ANNALSD_PATH, {"--data", dir.sub("data"), "--listen", "127.0.0.1:0", "--log-level", "warn"});
  HttpClient c(server.port());
  const std::string stop = dir.sub("stop");
  auto bench = std::async(std::launch::async, [&] {
    return run_command(
        ANNALS_PATH,
        {"bench", "--url", "http://127.0.0.1:" + std::to_string(server.port()), "--scenario", "get",
         "--path", "/healthz", "--connections", "2", "--duration", "600", "--stop-file", stop});
  });
  // Once the server has answered some of the bench's requests, the file appears.
  ASSERT_TRUE(eventually(
      [&] {
        const auto metrics = c.get("/metrics").body;
        return metrics.find(R"(route="/healthz",method="GET",status="200"} )") != std::string::npos;
      },
      std::chrono::seconds(30)));
  std::ofstream(stop) << "done\n";
  const auto out = bench.get();
  ASSERT_EQ(out.exit_code, 0) << out.err;
  double secs = 0;
  unsigned long long requests = 0;
  const auto at = out.out.find("scenario get: ");
  ASSERT_NE(at, std::string::npos) << out.out;
  ASSERT_EQ(
      std::sscanf(out.out.c_str() + at, "scenario get: %llu requests in %lf s", &requests, &secs),
      2);
  EXPECT_GT(requests, 0u);
  EXPECT_LT(secs, 600.0);
  EXPECT_NE(out.out.find("RESULT scenario=get"), std::string::npos);
}

TEST(Cli, StatsAndUsage) {
  TempDir dir;
  const auto data = dir.sub("data");
  populate(data, 4);
  auto stats = run_command(ANNALS_PATH, {"stats", "--data", data});
  ASSERT_EQ(stats.exit_code, 0);
  EXPECT_NE(stats.out.find("head 6"), std::string::npos);
  EXPECT_NE(stats.out.find("type LessonRecorded 4"), std::string::npos);
  EXPECT_NE(stats.out.find("category lesson 5"), std::string::npos);
  EXPECT_NE(stats.out.find("projection lessons generation 1 checkpoint 6 rows 4"),
            std::string::npos);
  EXPECT_EQ(run_command(ANNALS_PATH, {"--version"}).exit_code, 0);
  EXPECT_EQ(run_command(ANNALS_PATH, {"frobnicate"}).exit_code, 2);
  EXPECT_EQ(run_command(ANNALS_PATH, {"verify", "--data", data, "--bogus", "1"}).exit_code, 2);
}

}  // namespace
}  // namespace annals::testing

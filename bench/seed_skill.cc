// Seeds a store with one skill and N recorded runs, each with a divergence, through the real
// command path (skill commands on the writer thread with group commit and the live projector).
// Prints the skill id. Usage: seed_skill DIR N
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "bench/seed_window.h"
#include "server/core.h"

using namespace annals;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: seed_skill DIR N\n");
    return 2;
  }
  Config config;
  config.data_dir = argv[1];
  const std::int64_t n = std::stoll(argv[2]);
  server::Core core(config);
  const commands::CommandContext ctx{"bench", "seed", std::nullopt, "", std::nullopt};
  bench::SeedWindow window;
  auto wait_below = [&](std::int64_t limit) { window.acquire(limit); };
  auto done = window.done();
  capability::Fields cap;
  cap.name = "parse_task";
  cap.trigger_type = "on_message";
  wait_below(1);
  core.capabilities->register_capability(cap, ctx, done);
  auto reg = commands::parse_register_skill(nlohmann::json::parse(R"({
    "capability_name":"parse_task","initial_state":"draft","initial_version":{
      "yaml_backbone":"steps:\n  - name: extract\n","step_content":{"extract":"Extract"},
      "output_schemas":{"extract":{"type":"object"}}}})"));
  std::string skill_id, version_id;
  wait_below(1);
  core.skills->register_skill(*reg, ctx, [&](commands::Reply r) {
    auto j = nlohmann::json::parse(r.body);
    skill_id = j["id"];
    version_id = j["current_version_id"];
    done(r);
  });
  wait_below(1);  // registered
  done(commands::Reply{});
  const std::string text(1200, 'x');
  // Recent runs, so the recent_success gate cases are part of the package.
  const std::string started =
      format_instant(std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() -
                     3600 * kMicrosPerSecond);
  for (std::int64_t i = 0; i < n; ++i) {
    auto d = commands::parse_skill_run(nlohmann::json{
        {"skill_id", skill_id},
        {"skill_version_id", version_id},
        {"status", i % 10 == 0 ? "failed" : "succeeded"},
        {"inputs", {{"message", text}}},
        {"final_output", {{"title", "Pay rent"}}},
        {"tool_result_cache",
         {{"c1", {{"tool", "web_fetch"}, {"args", {{"url", "https://a"}}}, {"result", 1}}}}},
        {"started_at", started},
        {"finished_at", started}}.dump());
    wait_below(256);
    core.skills->record_run(*d, ctx, [&, i](commands::Reply r) {
      if (r.ok()) {
        const std::string run_id = nlohmann::json::parse(r.body)["id"];
        commands::DivergenceDraft div;
        div.submitted = 0.3 + static_cast<double>(i % 7) / 10.0;
        div.diff_summary =
            R"({"skill_output":{"title":"Pay rent"},"claude_output":{"title":"Pay the rent"}})";
        window.acquire();
        core.skills->record_divergence(run_id, div, ctx, done);
      }
      done(r);
    });
  }
  window.drain();
  std::printf("%s\n", skill_id.c_str());
  return window.failed() > 0 ? 1 : 0;
}

// Seeds a store with about N events of every domain through the real command path, for the
// offline-rebuild and export benchmarks (issue #5): skill runs with divergences over 10 skills,
// invocations, lessons with updates and corrections. Only the log is written (the read models are
// left for `annals rebuild` to build), and commits are not synced: the benchmark under test is
// what reads the log, not the seeding; the store is left at rest (bench::settle). Usage:
// seed_mixed DIR N
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "bench/seed_window.h"
#include "commands/capabilities.h"
#include "commands/command_bus.h"
#include "commands/ledger.h"
#include "commands/lessons.h"
#include "commands/skills.h"
#include "projections/projector.h"

using namespace annals;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: seed_mixed DIR N\n");
    return 2;
  }
  const std::int64_t target = std::stoll(argv[2]);
  auto opened = bench::open_unsynced(argv[1]);
  if (!opened) return 3;
  auto& store = *opened;
  projections::Projector projector(store, projections::all_projections());
  projector.open();  // generation 1 of every read model stays empty: not attached
  Config config;
  commands::CommandBus bus(store);
  commands::CapabilityCommands capabilities(bus);
  commands::LessonCommands lessons(bus, config);
  commands::LedgerCommands ledger(bus, config);
  commands::SkillCommands skills(bus, config, [](std::vector<commands::SkillEffect>) {});
  const commands::CommandContext ctx{"bench", "seed", std::nullopt, "", std::nullopt};

  bench::SeedWindow window;
  auto wait_below = [&](std::int64_t limit) { window.acquire(limit); };
  auto done = window.done();
  auto drain = [&] { window.drain(); };
  const char* caps[] = {"parse_task", "summarize", "classify", "extract_dates", "route"};
  for (const char* name : caps) {
    capability::Fields cap;
    cap.name = name;
    cap.trigger_type = "on_message";
    wait_below(1);
    capabilities.register_capability(cap, ctx, done);
  }
  drain();
  std::vector<std::pair<std::string, std::string>> skill_ids;  // skill, version
  for (int s = 0; s < 5; ++s) {
    auto reg = commands::parse_register_skill(nlohmann::json::parse(
        std::string(R"({"capability_name":")") + caps[s] + R"(","initial_state":"draft",
        "initial_version":{"yaml_backbone":"steps:\n  - name: extract\n",
        "step_content":{"extract":"Extract"},"output_schemas":{"extract":{"type":"object"}}}})"));
    wait_below(1);
    skills.register_skill(*reg, ctx, [&](commands::Reply r) {
      auto j = nlohmann::json::parse(r.body);
      skill_ids.emplace_back(j["id"], j["current_version_id"]);
      done(r);
    });
    drain();
  }
  const std::string text(400, 'x');
  const auto start = std::chrono::steady_clock::now();
  const std::string started =
      format_instant(std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() -
                     3600 * kMicrosPerSecond);
  std::int64_t lessons_recorded = 0;
  for (std::int64_t i = 0; static_cast<std::int64_t>(store.head()) < target; ++i) {
    const auto& [skill_id, version_id] = skill_ids[static_cast<std::size_t>(i) % skill_ids.size()];
    auto run = commands::parse_skill_run(nlohmann::json{
        {"skill_id", skill_id},
        {"skill_version_id", version_id},
        {"status", i % 10 == 0 ? "failed" : "succeeded"},
        {"inputs", {{"message", text}, {"n", i}}},
        {"final_output", {{"title", "Pay rent"}}},
        {"started_at", started},
        {"finished_at", started}}.dump());
    wait_below(2048);
    skills.record_run(*run, ctx, [&, i](commands::Reply r) {
      if (r.ok()) {
        const std::string run_id = nlohmann::json::parse(r.body)["id"];
        commands::DivergenceDraft div;
        div.submitted = 0.3 + static_cast<double>(i % 7) / 10.0;
        div.diff_summary = R"({"skill_output":{"title":"Pay rent"}})";
        window.acquire();
        skills.record_divergence(run_id, div, ctx, done);
      }
      done(r);
    });
    commands::InvocationDraft inv;
    inv.invocation.task_type = caps[i % 5];
    inv.invocation.cost_micro_usd = 1000 + i % 5000;
    inv.invocation.user_id = "u-" + std::to_string(i % 100);
    wait_below(2048);
    ledger.record(inv, ctx, done);
    lesson::Fields f;
    f.lesson_type = i % 2 ? "gate_failure" : "merge_hold";
    f.work_item_id = "W-" + std::to_string(i);
    f.repo = "repo-" + std::to_string(i % 20);
    f.root_cause = "seeded lesson " + std::to_string(i);
    wait_below(2048);
    lessons.record(std::move(f), ctx, done);
    ++lessons_recorded;
    if (i % 10 == 9) {
      wait_below(2048);
      lessons.update(lessons_recorded / 2, {{"status", "closed"}}, ctx, done);
    }
    if (i % 20 == 19) {
      auto c = commands::parse_correction(nlohmann::json{{"task_type", caps[i % 5]},
                                                         {"field_corrected", "title"},
                                                         {"original_value", "a"},
                                                         {"corrected_value", "b"}});
      if (c) {
        wait_below(2048);
        skills.record_correction(*c, ctx, done);
      }
    }
  }
  drain();
  store.stop();
  bench::settle(store);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("seeded %llu events in %.1f s (%.0f events/s), %lld commands failed\n",
              static_cast<unsigned long long>(store.head()), secs,
              static_cast<double>(store.head()) / secs, static_cast<long long>(window.failed()));
  return 0;
}

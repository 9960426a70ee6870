// Replay determinism (ARCHITECTURE.md): for random sequences of lesson commands, the live read
// model's digest equals the digest of an offline rebuild, and a rebuild to an intermediate
// position equals the live digest observed at that position.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <future>
#include <map>

#include "tests/support/harness.h"

namespace annals {
namespace {

struct Cmd {
  bool update = false;
  // record
  int type = 0, work_item = 0, stage = 0, status = 0;
  bool auto_source = false;
  // update
  int target = 0, field = 0, value = 0;
  bool clear = false;
  // time before the command, seconds
  int advance_s = 0;
};

const std::vector<std::string> kTypes = {"gate_failure", "merge_hold", "transient_retry"};
const std::vector<std::optional<std::string>> kKeys = {std::nullopt, "W-1", "W-2", ""};
const std::vector<std::string> kStatuses = {"new", "in_progress", "closed", "linked"};
const std::vector<std::string> kUpdateFields = {"status", "attribution", "target_repo",
                                                "root_cause", "suggestion"};

// Every read model's digest at one durable view, with the view's head.
struct Digests {
  std::uint64_t position = 0;
  std::map<std::string, std::string> by_name;
};

Digests live_digests(testing::Harness& h) {
  Digests d;
  const auto view = h.store().read_view();
  d.position = view.head();
  for (const auto& name : h.projector().names()) {
    auto st = h.projector().status(name, view);
    RC_ASSERT(st.has_value());
    RC_ASSERT(st->position == d.position);
    d.by_name[name] = st->digest;
  }
  return d;
}

// Replay determinism for every read model (issue #5): after the history, the live digests equal
// those of an online rebuild (one started mid-history, swapped in while commands committed, and
// one started at the end) and of an offline rebuild; the read models built as of a random
// position the history passed through equal the live digests seen at that position.
void check_every_read_model(testing::Harness& h, const std::vector<Digests>& seen) {
  h.settle();                         // auto-lessons of the last commands
  h.projector().wait_for_rebuilds();  // the mid-history rebuild
  const Digests live = live_digests(h);
  RC_ASSERT(live_digests(h).by_name == live.by_name);
  auto online = h.projector().start_rebuild(h.projector().names(), h.now());
  RC_ASSERT(online.has_value());
  h.projector().wait_for_rebuilds();
  const Digests after_online = live_digests(h);
  RC_ASSERT(after_online.by_name == live.by_name);
  // The generations the rebuild replaced are dropped (one family per read model remains).
  const auto families = h.store().column_family_names();
  for (const auto& name : h.projector().names()) {
    const auto generation = h.projector().status(name)->generation;
    RC_ASSERT(generation >= 2u);
    RC_ASSERT(std::count_if(families.begin(), families.end(), [&](const std::string& f) {
                return f.starts_with("rm." + name + ".g");
              }) == 1);
  }
  const auto offline = h.projector().rebuild({}, 0);
  for (const auto& st : offline.read_models) RC_ASSERT(st.digest == live.by_name.at(st.name));
  if (!seen.empty()) {
    const auto& past = seen[*rc::gen::inRange<std::size_t>(0, seen.size())];
    const auto at = projections::read_models_at(h.store(), past.position, {}, h.dir() + "-tt");
    RC_ASSERT(at.size() == past.by_name.size());
    for (const auto& st : at) RC_ASSERT(st.digest == past.by_name.at(st.name));
  }
}

// Starts an online rebuild of every read model (mid-history: it swaps in while later commands
// commit).
void start_online_rebuild(testing::Harness& h) {
  RC_ASSERT(h.projector().start_rebuild(h.projector().names(), h.now()).has_value());
}
}  // namespace
}  // namespace annals

namespace rc {
template <>
struct Arbitrary<annals::Cmd> {
  static Gen<annals::Cmd> arbitrary() {
    return gen::build<annals::Cmd>(
        gen::set(&annals::Cmd::update, gen::weightedElement<bool>({{3, false}, {1, true}})),
        gen::set(&annals::Cmd::type, gen::inRange(0, 3)),
        gen::set(&annals::Cmd::work_item, gen::inRange(0, 4)),
        gen::set(&annals::Cmd::stage, gen::inRange(0, 4)),
        gen::set(&annals::Cmd::status, gen::inRange(0, 4)),
        gen::set(&annals::Cmd::auto_source, gen::arbitrary<bool>()),
        gen::set(&annals::Cmd::target, gen::inRange(1, 40)),
        gen::set(&annals::Cmd::field, gen::inRange(0, 5)),
        gen::set(&annals::Cmd::value, gen::inRange(0, 4)),
        gen::set(&annals::Cmd::clear, gen::arbitrary<bool>()),
        gen::set(&annals::Cmd::advance_s, gen::inRange(0, 5000)));
  }
};
}  // namespace rc

namespace annals {
namespace {

RC_GTEST_PROP(ReplayDeterminism, LiveDigestEqualsRebuildDigest, (const std::vector<Cmd>& cmds)) {
  Config config;
  config.lessons_dedup_window_s = 3600;
  testing::Harness h(config);
  std::map<std::uint64_t, std::string> live_digest_at;  // position → digest
  std::int64_t recorded = 0;
  std::size_t step = 0;
  std::vector<Digests> seen;
  for (const Cmd& c : cmds) {
    if (step == cmds.size() / 2) start_online_rebuild(h);
    if (step++ % 8 == 0 && h.store().head() > 0) seen.push_back(live_digests(h));
    h.advance(static_cast<Micros>(c.advance_s) * kMicrosPerSecond);
    if (!c.update) {
      lesson::Fields f;
      f.lesson_type = kTypes[static_cast<std::size_t>(c.type)];
      f.work_item_id = kKeys[static_cast<std::size_t>(c.work_item)];
      f.stage = kKeys[static_cast<std::size_t>(c.stage)];
      f.status = kStatuses[static_cast<std::size_t>(c.status)];
      f.source = c.auto_source ? "auto" : "manual";
      const auto r = h.record(f);
      RC_ASSERT(r.status == 201 || r.status == 200);
      if (r.status == 201) ++recorded;
    } else {
      const std::string& field = kUpdateFields[static_cast<std::size_t>(c.field)];
      std::optional<std::string> value;
      if (field == "status") {
        value = kStatuses[static_cast<std::size_t>(c.value)];
      } else if (!c.clear) {
        value = field == "attribution" ? "platform" : "v" + std::to_string(c.value);
      }
      const auto r = h.update(c.target, {{field, value}});
      RC_ASSERT(r.status == (c.target <= recorded ? 200 : 404));
    }
    if (auto st = h.projector().status("lessons"); st && st->position > 0) {
      live_digest_at[st->position] = st->digest;
    }
  }
  check_every_read_model(h, seen);
  const auto live = h.projector().status("lessons");
  RC_ASSERT(live.has_value());
  RC_ASSERT(live->rows == static_cast<std::uint64_t>(recorded));
  const auto rebuilt = h.projector().rebuild({"lessons"}, 0);
  RC_ASSERT(rebuilt.read_models.size() == 1u);
  RC_ASSERT(rebuilt.read_models[0].digest == live->digest);
  if (!live_digest_at.empty()) {
    // Time travel to a position the live read model passed through.
    const auto pick = *rc::gen::inRange<std::size_t>(0, live_digest_at.size());
    auto it = std::next(live_digest_at.begin(), static_cast<std::ptrdiff_t>(pick));
    const auto past = h.projector().rebuild({"lessons"}, it->first);
    RC_ASSERT(past.read_models[0].digest == it->second);
  }
}

}  // namespace
}  // namespace annals

namespace annals {
namespace {

// Automation, run and ledger commands for the second property.
struct Op {
  int kind = 0;  // 0 create, 1 run-now, 2 finish, 3 deliver, 4 pause, 5 resume, 6 delete, 7 invoke
  int target = 0;   // which automation
  int variant = 0;  // force / answer / cost
  int advance_s = 0;
};

const std::vector<std::string> kAnswers = {
    R"({"status":"succeeded","output":{"price_usd":89},"cost_usd":0.02,"state_write":{"p":89}})",
    R"({"status":"succeeded","output":"plain","cost_usd":5})",
    R"({"status":"failed","error":"boom"})",
    R"({"status":"escalated"})",
    R"({"status":"skipped_budget"})",
    R"({"status":"weird"})",
};

}  // namespace
}  // namespace annals

namespace rc {
template <>
struct Arbitrary<annals::Op> {
  static Gen<annals::Op> arbitrary() {
    return gen::build<annals::Op>(gen::set(&annals::Op::kind, gen::inRange(0, 8)),
                                  gen::set(&annals::Op::target, gen::inRange(0, 4)),
                                  gen::set(&annals::Op::variant, gen::inRange(0, 6)),
                                  gen::set(&annals::Op::advance_s, gen::inRange(0, 4000)));
  }
};
}  // namespace rc

namespace annals {
namespace {

RC_GTEST_PROP(ReplayDeterminism, AutomationsRunsAndLedgerRebuildToTheLiveDigests,
              (const std::vector<Op>& ops)) {
  Config config;
  config.automation_failure_pause_threshold = 3;
  config.daily_pause_threshold_usd = 10;
  testing::Harness h(config);
  capability::Fields cap;
  cap.name = "product_watch";
  cap.trigger_type = "on_schedule";
  cap.default_alert_conditions = R"({"field":"price_usd","op":"<","value":100})";
  RC_ASSERT(h.run([&](auto ctx, auto done) {
               h.capabilities().register_capability(cap, ctx, done);
             }).status == 201);
  std::vector<std::string> ids;
  std::map<std::string, std::string> in_flight;  // automation → run
  std::size_t step = 0;
  std::vector<Digests> seen;
  for (const Op& op : ops) {
    if (step == ops.size() / 2) start_online_rebuild(h);
    if (step++ % 8 == 0 && h.store().head() > 0) seen.push_back(live_digests(h));
    h.advance(static_cast<Micros>(op.advance_s) * kMicrosPerSecond);
    const std::string id = ids.empty() ? "" : ids[static_cast<std::size_t>(op.target) % ids.size()];
    switch (op.kind) {
      case 0: {
        automation::Draft d;
        d.name = "a" + std::to_string(ids.size());
        d.capability_name = "product_watch";
        d.trigger_type = op.variant % 2 ? "on_manual" : "on_schedule";
        d.schedule = "0 * * * *";
        d.min_interval_seconds = 0;
        d.inputs = nlohmann::json{{"n", op.variant}};
        if (op.variant > 3) d.alert_channels = std::vector<std::string>{"log", "sms"};
        auto r = h.run([&](auto ctx, auto done) { h.automations().create(d, ctx, done); });
        RC_ASSERT(r.status == 201);
        ids.push_back(nlohmann::json::parse(r.body)["id"]);
        break;
      }
      case 1: {
        if (id.empty()) break;
        std::promise<std::optional<commands::StartedRun>> p;
        h.core().runs->start(
            id, op.variant % 2 ? automation::Trigger::kRunNowForced : automation::Trigger::kRunNow,
            {"tester", "c", std::nullopt, "", std::nullopt},
            [&](const commands::Reply&, std::optional<commands::StartedRun> s) {
              p.set_value(std::move(s));
            });
        if (auto s = p.get_future().get(); s && !s->skipped) in_flight[id] = s->started.run_id;
        break;
      }
      case 2:
      case 3: {
        auto it = in_flight.find(id);
        if (it == in_flight.end()) break;
        std::promise<std::optional<commands::FinishedRun>> p;
        h.core().runs->finish(
            id, it->second,
            automation::ExecutorAnswer{
                nlohmann::ordered_json::parse(kAnswers[static_cast<std::size_t>(op.variant)]),
                std::nullopt},
            {"system", "c", std::nullopt, "", std::nullopt},
            [&](const commands::Reply&, std::optional<commands::FinishedRun> f) {
              p.set_value(std::move(f));
            });
        auto f = p.get_future().get();
        RC_ASSERT(f.has_value());
        if (op.kind == 3 && f->finished.alert_fired) {
          std::promise<commands::Reply> d;
          h.core().runs->deliver(id,
                                 {{it->second, "log", true, std::nullopt, std::nullopt, 0},
                                  {it->second, "sms", false, 500, "notifier http 500", 3}},
                                 {"system", "c", std::nullopt, "", std::nullopt},
                                 [&](commands::Reply r) { d.set_value(std::move(r)); });
          RC_ASSERT(d.get_future().get().ok());
        }
        in_flight.erase(it);
        break;
      }
      case 4:
      case 5:
      case 6: {
        if (id.empty()) break;
        using A = commands::AutomationCommands::Action;
        const A action = op.kind == 4 ? A::kPause : op.kind == 5 ? A::kResume : A::kDelete;
        auto r = h.run([&](auto ctx, auto done) { h.automations().act(id, action, ctx, done); });
        RC_ASSERT(r.status == 200 || r.status == 409);
        break;
      }
      default: {
        commands::InvocationDraft inv;
        inv.invocation.task_type = op.variant % 2 ? "parse_task" : "external_llm_call";
        inv.invocation.cost_micro_usd = op.variant * 1'500'000;
        RC_ASSERT(h.run([&](auto ctx, auto done) { h.ledger().record(inv, ctx, done); }).status ==
                  201);
      }
    }
  }
  check_every_read_model(h, seen);
  for (const char* name : {"automations", "automation_runs", "invocations", "spend"}) {
    const auto live = h.projector().status(name);
    RC_ASSERT(live.has_value());
    const auto rebuilt = h.projector().rebuild({name}, 0);
    RC_ASSERT(rebuilt.read_models[0].digest == live->digest);
  }
}

}  // namespace
}  // namespace annals

namespace annals {
namespace {

struct SkillOp {
  int kind = 0;  // 0 run, 1 divergence, 2 transition, 3 flag
  int a = 0, b = 0;
};

}  // namespace
}  // namespace annals

namespace rc {
template <>
struct Arbitrary<annals::SkillOp> {
  static Gen<annals::SkillOp> arbitrary() {
    return gen::build<annals::SkillOp>(
        gen::set(&annals::SkillOp::kind,
                 gen::weightedElement<int>({{6, 0}, {6, 1}, {2, 2}, {1, 3}})),
        gen::set(&annals::SkillOp::a, gen::inRange(0, 8)),
        gen::set(&annals::SkillOp::b, gen::inRange(0, 5)));
  }
};
}  // namespace rc

namespace annals {
namespace {

RC_GTEST_PROP(ReplayDeterminism, SkillsRunsAndDivergencesRebuildToTheLiveDigests,
              (const std::vector<SkillOp>& ops)) {
  Config config;
  config.sandbox_promotion_min_runs = 3;
  config.shadow_primary_promotion_min_runs = 4;
  config.degradation_rolling_window = 4;
  testing::Harness h(config);
  capability::Fields cap;
  cap.name = "parse_task";
  cap.trigger_type = "on_message";
  RC_ASSERT(h.run([&](auto ctx, auto done) {
               h.capabilities().register_capability(cap, ctx, done);
             }).status == 201);
  auto reg = commands::parse_register_skill(
      nlohmann::json{{"capability_name", "parse_task"},
                     {"requires_human_gate", *rc::gen::arbitrary<bool>()},
                     {"initial_state", "sandbox"},
                     {"initial_version",
                      {{"yaml_backbone", "steps: []"},
                       {"step_content", nlohmann::json::object()},
                       {"output_schemas", nlohmann::json::object()}}}});
  RC_ASSERT(reg.has_value());
  auto& skills = *h.core().skills;
  auto r = h.run([&](auto ctx, auto done) { skills.register_skill(*reg, ctx, done); });
  RC_ASSERT(r.status == 201);
  const auto s = nlohmann::json::parse(r.body);
  const std::string id = s["id"], version = s["current_version_id"];
  std::vector<std::string> runs;
  static const std::vector<std::string> states = {
      "claude_native", "skill_candidate",    "draft",   "sandbox", "shadow_primary",
      "trusted",       "flagged_for_review", "degraded"};
  static const std::vector<std::string> reasons = {"gate_passed", "human_approval", "degradation",
                                                   "evolution_failed", "manual_override"};
  std::size_t step = 0;
  std::vector<Digests> seen;
  for (const auto& op : ops) {
    if (step == ops.size() / 2) start_online_rebuild(h);
    if (step++ % 8 == 0 && h.store().head() > 0) seen.push_back(live_digests(h));
    h.advance(1000);
    if (op.kind == 0) {
      auto d = commands::parse_skill_run(nlohmann::json{
          {"skill_id", id},
          {"skill_version_id", version},
          {"status", op.a % 4 == 0 ? "failed" : "succeeded"},
          {"started_at", "2026-04-16T10:00:00Z"},
          {"finished_at",
           "2026-04-16T10:00:01Z"}}.dump());
      RC_ASSERT(d.has_value());
      auto rr = h.run([&](auto ctx, auto done) { skills.record_run(*d, ctx, done); });
      RC_ASSERT(rr.status == 201);
      runs.push_back(nlohmann::json::parse(rr.body)["id"]);
    } else if (op.kind == 1 && !runs.empty()) {
      commands::DivergenceDraft d;
      d.submitted = op.b * 0.3 - 0.1;
      const std::string run = runs[static_cast<std::size_t>(op.a) % runs.size()];
      RC_ASSERT(h.run([&](auto ctx, auto done) {
                   skills.record_divergence(run, d, ctx, done);
                 }).status == 201);
    } else if (op.kind == 2) {
      skill::TransitionRequest t{states[static_cast<std::size_t>(op.a)],
                                 reasons[static_cast<std::size_t>(op.b)], "", std::nullopt,
                                 std::nullopt};
      const auto st =
          h.run([&](auto ctx, auto done) { skills.transition(id, t, ctx, done); }).status;
      RC_ASSERT(st == 200 || st == 409);
    } else if (op.kind == 3) {
      RC_ASSERT(h.run([&](auto ctx, auto done) {
                   skills.set_flag(id, op.a % 2 == 0, ctx, done);
                 }).status == 200);
    }
  }
  check_every_read_model(h, seen);
  for (const char* name : {"skills", "skill_runs", "divergences"}) {
    const auto live = h.projector().status(name);
    RC_ASSERT(live.has_value());
    RC_ASSERT(h.projector().rebuild({name}, 0).read_models[0].digest == live->digest);
  }
}

}  // namespace
}  // namespace annals

// The automations read model: the list order, filters and the queue block (API §12, §14).
#include "projections/automations.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/harness.h"

namespace annals {
namespace {

using nlohmann::json;
constexpr Micros kMinute = 60 * kMicrosPerSecond;

automation::Draft hourly(const std::string& name) {
  automation::Draft d;
  d.name = name;
  d.capability_name = "product_watch";
  d.trigger_type = "on_schedule";
  d.schedule = "0 * * * *";
  d.inputs = json::object();
  return d;
}

TEST(AutomationsReadModel, QueueCountsDueAutomationsAtQueryTime) {
  testing::Harness h;  // starts 2026-04-16T12:00:00Z
  capability::Fields cap;
  cap.name = "product_watch";
  cap.trigger_type = "on_schedule";
  ASSERT_EQ(h.run([&](auto ctx, auto done) {
               h.capabilities().register_capability(cap, ctx, done);
             }).status,
            201);
  std::vector<std::string> ids;
  for (const char* name : {"a", "b", "c"}) {
    auto r = h.run([&](auto ctx, auto done) { h.automations().create(hourly(name), ctx, done); });
    ASSERT_EQ(r.status, 201) << r.body;
    ids.push_back(json::parse(r.body)["id"]);
    h.advance(kMinute);
  }
  ASSERT_EQ(h.run([&](auto ctx, auto done) {
               h.automations().act(ids[1], commands::AutomationCommands::Action::kPause, ctx, done);
             }).status,
            200);
  const projections::AutomationsQueries q(h.store().db(), h.projector().family("automations"),
                                          h.store().read_view());
  auto before = json::parse(q.queue_block(h.now()));
  EXPECT_EQ(before["due"], 0);
  EXPECT_EQ(before["next_due_at"], "2026-04-16T13:00:00.000000+00:00");
  // At 13:30 both active automations are due; the paused one is not.
  auto after = json::parse(q.queue_block(parse_instant("2026-04-16T13:30:00Z").value()));
  EXPECT_EQ(after["due"], 2);
  // Newest change first; status filters.
  projections::AutomationFilter all;
  all.status.reset();
  auto rows = q.list(all);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(json::parse(rows[0])["id"], ids[1]);  // the pause is the latest change
  EXPECT_EQ(q.list(projections::AutomationFilter{}).size(), 2u);
  // Live and rebuilt read models agree.
  const auto live = h.projector().status("automations");
  EXPECT_EQ(h.projector().rebuild({"automations"}, 0).read_models[0].digest, live->digest);
}

}  // namespace
}  // namespace annals

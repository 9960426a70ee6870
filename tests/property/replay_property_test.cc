// Replay determinism (ARCHITECTURE.md): for random sequences of lesson commands, the live read
// model's digest equals the digest of an offline rebuild, and a rebuild to an intermediate
// position equals the live digest observed at that position.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

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
  for (const Cmd& c : cmds) {
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

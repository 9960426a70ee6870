// The skill codec's shortcut for runs: the facts the skill aggregate keeps of a run, read straight
// from the payload, equal what evolving the fully decoded event gives.
#include "events/skill_codec.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

namespace annals::events {
namespace {

StoredEvent stored(const NewEvent& e) {
  flatbuffers::FlatBufferBuilder b;
  const auto payload = e.build(b);
  const auto stream = b.CreateString("skill-s1");
  fb::EventBuilder eb(b);
  eb.add_position(7);
  eb.add_stream(stream);
  eb.add_version(3);
  eb.add_payload_type(e.type);
  eb.add_payload(payload);
  b.Finish(eb.Finish());
  return StoredEvent{
      7, {}, std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize())};
}

skill::RunFacts evolved_facts(const StoredEvent& e, const std::string& run_id) {
  std::optional<skill::Skill> s;
  skill::evolve(s, skill::Registered{"s1", "parse_task", "sandbox", true}, 1);
  const auto decoded = decode_skill_event(e);
  EXPECT_TRUE(decoded.has_value());
  if (decoded) skill::evolve(s, *decoded, 2);
  return s->runs.at(run_id);
}

RC_GTEST_PROP(SkillCodec, RunFactsEqualThoseOfTheDecodedRun, ()) {
  skill::RunRecorded run;
  run.run_id = "run-" + std::to_string(*rc::gen::inRange(0, 1000));
  run.skill_version_id = *rc::gen::element<std::string>("v1", "v2", "");
  run.status = *rc::gen::element<std::string>("succeeded", "failed", "escalated");
  run.started_at = *rc::gen::inRange<std::int64_t>(0, 1'000'000'000'000'000);
  run.inputs = R"({"message":"hello"})";
  const auto steps = *rc::gen::inRange(0, 5);
  for (int i = 0; i < steps; ++i) {
    skill::StepResult st;
    st.step_name = "step" + std::to_string(i);
    st.step_index = i;
    st.validation_status = *rc::gen::element<std::optional<std::string>>(
        std::nullopt, "ok", "continued", "step_failed", "skill_failed", "retried");
    run.step_results.push_back(std::move(st));
  }
  const bool valid = skill::is_valid_run(run);
  const std::string run_id = run.run_id;
  const StoredEvent e = stored(encode(skill::Event{run}));

  const auto facts = decode_run_facts(e);
  RC_ASSERT(facts.has_value());
  RC_ASSERT(facts->first == run_id);
  const skill::RunFacts expected = evolved_facts(e, run_id);
  RC_ASSERT(facts->second.version_id == expected.version_id);
  RC_ASSERT(facts->second.status == expected.status);
  RC_ASSERT(facts->second.valid == expected.valid);
  RC_ASSERT(facts->second.valid == valid);
  RC_ASSERT(facts->second.started_at == expected.started_at);
}

TEST(SkillCodec, RunFactsAreOnlyForRuns) {
  skill::DivergenceRecorded d;
  d.divergence_id = "d1";
  d.run_id = "r1";
  EXPECT_FALSE(decode_run_facts(stored(encode(skill::Event{d}))).has_value());
}

}  // namespace
}  // namespace annals::events

#include "events/candidate_codec.h"

#include "events/codec_util.h"

namespace annals::events {

using namespace codec;

NewEvent encode(const CandidateEvent& event) {
  if (const auto* r = std::get_if<candidate::Reported>(&event)) {
    return {fb::Payload::CandidateReported, [r = *r](Builder& b) {
              auto id = b.CreateString(r.candidate_id);
              auto cap = opt_string(b, r.capability_name);
              auto status = b.CreateString(r.status);
              auto fp = opt_string(b, r.pattern_fingerprint);
              auto reasoning = opt_string(b, r.reasoning);
              fb::CandidateReportedBuilder x(b);
              x.add_candidate_id(id);
              x.add_capability_name(cap);
              x.add_status(status);
              x.add_expected_savings_micro_usd(r.expected_savings_micro_usd);
              x.add_volume_30d(r.volume_30d);
              if (r.variance_score) x.add_variance_score(*r.variance_score);
              x.add_pattern_fingerprint(fp);
              x.add_reasoning(reasoning);
              if (r.window_start) x.add_window_start(*r.window_start);
              return x.Finish().Union();
            }};
  }
  if (const auto* d = std::get_if<candidate::DraftScheduled>(&event)) {
    return {fb::Payload::DraftScheduled, [d = *d](Builder& b) {
              auto work = b.CreateString(d.work_id);
              auto cand = b.CreateString(d.candidate_id);
              auto by = b.CreateString(d.triggered_by);
              auto run = opt_string(b, d.nightly_run_id);
              return fb::CreateDraftScheduled(b, work, cand, by, run, d.estimated_cost_micro_usd)
                  .Union();
            }};
  }
  if (const auto* d = std::get_if<candidate::DraftAttempted>(&event)) {
    return {fb::Payload::DraftAttempted, [d = *d](Builder& b) {
              std::vector<flatbuffers::Offset<fb::FixtureResult>> results;
              for (const auto& r : d.fixture_results) {
                results.push_back(fb::CreateFixtureResult(b, b.CreateString(r.case_name),
                                                          b.CreateString(r.status)));
              }
              auto vec = b.CreateVector(results);
              auto cand = b.CreateString(d.candidate_id);
              auto work = opt_string(b, d.work_id);
              auto outcome = b.CreateString(d.outcome);
              auto rationale = b.CreateString(d.rationale);
              auto skill = opt_string(b, d.skill_id);
              auto version = opt_string(b, d.version_id);
              auto inv = opt_string(b, d.claude_invocation_id);
              fb::DraftAttemptedBuilder x(b);
              x.add_candidate_id(cand);
              x.add_work_id(work);
              x.add_outcome(outcome);
              x.add_rationale(rationale);
              if (d.pass_rate) x.add_pass_rate(*d.pass_rate);
              x.add_fixture_results(vec);
              x.add_skill_id(skill);
              x.add_version_id(version);
              x.add_claude_invocation_id(inv);
              x.add_cost_micro_usd(d.cost_micro_usd);
              if (d.latency_ms) x.add_latency_ms(*d.latency_ms);
              return x.Finish().Union();
            }};
  }
  const auto& c = std::get<candidate::StatusChanged>(event);
  return {fb::Payload::CandidateStatusChanged, [c](Builder& b) {
            auto id = b.CreateString(c.candidate_id);
            auto from = b.CreateString(c.from_status);
            auto to = b.CreateString(c.to_status);
            auto reason = opt_string(b, c.reason);
            auto reasoning = opt_string(b, c.reasoning);
            return fb::CreateCandidateStatusChanged(b, id, from, to, reason, reasoning).Union();
          }};
}

std::optional<CandidateEvent> decode_candidate_event(const StoredEvent& e) {
  const auto& ev = e.event();
  if (const auto* p = ev.payload_as_CandidateReported()) {
    candidate::Reported r;
    r.candidate_id = p->candidate_id() ? p->candidate_id()->str() : "";
    r.capability_name = opt(p->capability_name());
    r.status = p->status() ? p->status()->str() : "new";
    r.expected_savings_micro_usd = p->expected_savings_micro_usd();
    r.volume_30d = p->volume_30d();
    if (p->variance_score()) r.variance_score = *p->variance_score();
    r.pattern_fingerprint = opt(p->pattern_fingerprint());
    r.reasoning = opt(p->reasoning());
    if (p->window_start()) r.window_start = *p->window_start();
    return r;
  }
  if (const auto* p = ev.payload_as_CandidateStatusChanged()) {
    candidate::StatusChanged c;
    c.candidate_id = p->candidate_id() ? p->candidate_id()->str() : "";
    c.from_status = p->from_status() ? p->from_status()->str() : "";
    c.to_status = p->to_status() ? p->to_status()->str() : "";
    c.reason = opt(p->reason());
    c.reasoning = opt(p->reasoning());
    return c;
  }
  if (const auto* p = ev.payload_as_DraftScheduled()) {
    candidate::DraftScheduled d;
    d.work_id = p->work_id() ? p->work_id()->str() : "";
    d.candidate_id = p->candidate_id() ? p->candidate_id()->str() : "";
    d.triggered_by = p->triggered_by() ? p->triggered_by()->str() : "";
    d.nightly_run_id = opt(p->nightly_run_id());
    d.estimated_cost_micro_usd = p->estimated_cost_micro_usd();
    return d;
  }
  if (const auto* p = ev.payload_as_DraftAttempted()) {
    candidate::DraftAttempted d;
    d.candidate_id = p->candidate_id() ? p->candidate_id()->str() : "";
    d.work_id = opt(p->work_id());
    d.outcome = p->outcome() ? p->outcome()->str() : "";
    d.rationale = p->rationale() ? p->rationale()->str() : "";
    if (p->pass_rate()) d.pass_rate = *p->pass_rate();
    if (p->fixture_results()) {
      for (const auto* r : *p->fixture_results()) {
        d.fixture_results.push_back(
            {r->case_name() ? r->case_name()->str() : "", r->status() ? r->status()->str() : ""});
      }
    }
    d.skill_id = opt(p->skill_id());
    d.version_id = opt(p->version_id());
    d.claude_invocation_id = opt(p->claude_invocation_id());
    d.cost_micro_usd = p->cost_micro_usd();
    if (p->latency_ms()) d.latency_ms = *p->latency_ms();
    return d;
  }
  return std::nullopt;
}

}  // namespace annals::events

#include "events/candidate_codec.h"

namespace annals::events {

namespace {

using Builder = flatbuffers::FlatBufferBuilder;
using Str = flatbuffers::Offset<flatbuffers::String>;

Str opt_string(Builder& b, const std::optional<std::string>& s) {
  return s ? b.CreateString(*s) : Str();
}
std::optional<std::string> opt(const flatbuffers::String* s) {
  return s ? std::optional<std::string>(s->str()) : std::nullopt;
}

}  // namespace

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
  return std::nullopt;
}

}  // namespace annals::events

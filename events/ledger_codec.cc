#include "events/ledger_codec.h"

namespace annals::events {

NewEvent encode(const ledger::Invocation& i) {
  return {fb::Payload::InvocationRecorded, [i](flatbuffers::FlatBufferBuilder& b) {
            auto id = b.CreateString(i.id);
            auto type = b.CreateString(i.task_type);
            auto output =
                i.output ? b.CreateString(*i.output) : flatbuffers::Offset<flatbuffers::String>();
            auto user =
                i.user_id ? b.CreateString(*i.user_id) : flatbuffers::Offset<flatbuffers::String>();
            return fb::CreateInvocationRecorded(b, id, type, i.cost_micro_usd, output, user, i.at)
                .Union();
          }};
}

std::optional<ledger::Invocation> decode_invocation(const StoredEvent& e) {
  const auto* p = e.event().payload_as_InvocationRecorded();
  if (p == nullptr) return std::nullopt;
  ledger::Invocation i;
  i.id = p->invocation_id() ? p->invocation_id()->str() : std::string();
  i.task_type = p->task_type() ? p->task_type()->str() : std::string();
  i.cost_micro_usd = p->cost_micro_usd();
  if (p->output()) i.output = p->output()->str();
  if (p->user_id()) i.user_id = p->user_id()->str();
  i.at = p->at();
  return i;
}

}  // namespace annals::events

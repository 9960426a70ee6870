#include "events/capability_codec.h"

namespace annals::events {

NewEvent encode(capability::Registered e) {
  return {fb::Payload::CapabilityRegistered, [e = std::move(e)](flatbuffers::FlatBufferBuilder& b) {
            const auto& f = e.fields;
            return fb::CreateCapabilityRegistered(
                       b, b.CreateString(f.name), b.CreateString(f.description),
                       b.CreateString(f.input_schema), b.CreateString(f.trigger_type),
                       b.CreateString(f.default_alert_conditions))
                .Union();
          }};
}

std::optional<capability::Registered> decode_capability_registered(const StoredEvent& e) {
  const auto* p = e.event().payload_as_CapabilityRegistered();
  if (p == nullptr) return std::nullopt;
  auto str = [](const flatbuffers::String* s) { return s ? s->str() : std::string(); };
  capability::Registered r;
  r.fields.name = str(p->name());
  r.fields.description = str(p->description());
  r.fields.input_schema = p->input_schema() ? p->input_schema()->str() : "{}";
  r.fields.trigger_type = str(p->trigger_type());
  r.fields.default_alert_conditions =
      p->default_alert_conditions() ? p->default_alert_conditions()->str() : "{}";
  return r;
}

}  // namespace annals::events

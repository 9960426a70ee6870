#include "commands/capabilities.h"

#include <memory>

#include "commands/body.h"
#include "events/capability_codec.h"

namespace annals::commands {

std::expected<capability::Fields, Problem> parse_register_capability(const nlohmann::json& body) {
  BodyReader r(body);
  capability::Fields f;
  f.name = r.required_string("name");
  f.description = r.string_or("description", "");
  f.trigger_type = r.required_string("trigger_type");
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& schema = body.contains("input_schema") ? body.at("input_schema") : empty;
  const nlohmann::json& alert =
      body.contains("default_alert_conditions") ? body.at("default_alert_conditions") : empty;
  r.opt_json("input_schema");
  r.opt_json("default_alert_conditions");
  auto errors = r.finish();
  if (errors.empty()) errors = capability::validate(f, schema, alert);
  if (!errors.empty()) return std::unexpected(Problem::validation(std::move(errors)));
  f.input_schema = schema.dump();
  f.default_alert_conditions = alert.dump();
  return f;
}

void CapabilityCommands::register_capability(capability::Fields fields, CommandContext ctx,
                                             std::function<void(Reply)> done) {
  auto shared = std::make_shared<capability::Fields>(std::move(fields));
  bus_.execute(
      ctx,
      [shared, ctx](events::Transaction& tx) {
        const std::string stream = capability::stream_name(shared->name);
        // Corrections and candidates may have created the stream before registration, so a
        // registered capability is one whose stream holds CapabilityRegistered.
        bool taken = false;
        tx.read_stream(stream, [&](const events::StoredEvent& e) {
          taken = taken || e.type() == fb::Payload::CapabilityRegistered;
        });
        auto decided = capability::decide_register(*shared, taken);
        if (!decided) return Reply::error(decided.error());
        const std::vector<events::NewEvent> evs{events::encode(*decided)};
        auto appended = tx.append(stream, events::ExpectedVersion::any(), evs,
                                  {ctx.actor, ctx.correlation_id, std::nullopt});
        if (!appended) return Reply::error(appended.error());
        Reply r;
        r.status = 201;
        r.body = capability::render({decided->fields, ctx.actor, tx.now()});
        r.etag = appended->stream_version;
        r.location = "/admin/capabilities/" + shared->name;
        r.position = appended->last_position;
        return r;
      },
      std::move(done));
}

}  // namespace annals::commands

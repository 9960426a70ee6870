#include "domain/capability.h"

#include "domain/alert.h"
#include "domain/text_rules.h"

namespace annals::capability {

std::string stream_name(const std::string& name) { return "capability-" + name; }

bool is_name(const std::string& name) { return is_slug(name, 100); }

bool is_trigger_type(const std::string& t) {
  return t == "on_message" || t == "on_schedule" || t == "on_manual";
}

std::vector<FieldError> validate(const Fields& f, const nlohmann::json& input_schema,
                                 const nlohmann::json& default_alert_conditions) {
  std::vector<FieldError> errors;
  if (!is_name(f.name)) errors.push_back({"name", "must match ^[a-z0-9][a-z0-9_.-]{0,99}$"});
  if (utf8_length(f.description) > 2000) {
    errors.push_back({"description", "must be at most 2000 characters"});
  }
  if (!input_schema.is_object()) errors.push_back({"input_schema", "must be an object"});
  if (!is_trigger_type(f.trigger_type)) {
    errors.push_back({"trigger_type", "must be one of: on_message, on_schedule, on_manual"});
  }
  auto alert_errors = alert::validate(default_alert_conditions, "default_alert_conditions");
  errors.insert(errors.end(), alert_errors.begin(), alert_errors.end());
  return errors;
}

std::expected<Registered, Problem> decide_register(Fields f, bool name_taken) {
  if (name_taken) {
    return std::unexpected(Problem::make(ProblemKind::kDuplicate,
                                         "Capability '" + f.name + "' is already registered."));
  }
  return Registered{std::move(f)};
}

void render(const Capability& c, JsonWriter& w) {
  w.begin_object();
  w.key("name").value(c.fields.name);
  w.key("description").value(c.fields.description);
  w.key("input_schema").raw(c.fields.input_schema);
  w.key("trigger_type").value(c.fields.trigger_type);
  w.key("default_alert_conditions").raw(c.fields.default_alert_conditions);
  w.key("created_by").value(c.created_by);
  w.key("created_at").instant(c.created_at);
  w.end_object();
}

std::string render(const Capability& c) {
  std::string out;
  JsonWriter w(out);
  render(c, w);
  return out;
}

}  // namespace annals::capability

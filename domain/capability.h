// Capabilities (SPEC §1, API §2): named units of work that skills and automations refer to.
// Registration is the only command; a capability is immutable afterwards.
#pragma once

#include <expected>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "domain/json_text.h"
#include "domain/problem.h"
#include "domain/time.h"

namespace annals::capability {

struct Fields {
  std::string name;
  std::string description;
  std::string input_schema = "{}";              // JSON object text
  std::string trigger_type;                     // on_message | on_schedule | on_manual
  std::string default_alert_conditions = "{}";  // a valid alert expression, JSON text
  bool operator==(const Fields&) const = default;
};

// The event CapabilityRegistered.
struct Registered {
  Fields fields;
};

struct Capability {
  Fields fields;
  std::string created_by;
  Micros created_at = 0;
};

std::string stream_name(const std::string& name);
// ^[a-z0-9][a-z0-9_.-]{0,99}$ — also the syntax of task types.
bool is_name(const std::string& name);
bool is_trigger_type(const std::string& t);

// Field rules of SPEC §1 (the JSON fields already parsed from the request body).
std::vector<FieldError> validate(const Fields& f, const nlohmann::json& input_schema,
                                 const nlohmann::json& default_alert_conditions);

// A duplicate name → Duplicate.
std::expected<Registered, Problem> decide_register(Fields f, bool name_taken);

void render(const Capability& c, JsonWriter& w);
std::string render(const Capability& c);

}  // namespace annals::capability

#include "commands/body.h"

namespace annals::commands {

const nlohmann::json* BodyReader::field(const std::string& name) {
  read_.insert(name);
  auto it = body_.find(name);
  return it == body_.end() ? nullptr : &*it;
}

std::optional<std::string> BodyReader::opt_string(const std::string& name) {
  const auto* v = field(name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_string()) {
    error(name, "must be a string");
    return std::nullopt;
  }
  return v->get<std::string>();
}

std::string BodyReader::string_or(const std::string& name, std::string fallback) {
  const auto* v = field(name);
  if (v == nullptr) return fallback;
  if (!v->is_string()) {
    error(name, "must be a string");
    return fallback;
  }
  return v->get<std::string>();
}

std::string BodyReader::required_string(const std::string& name) {
  const auto* v = field(name);
  if (v == nullptr || v->is_null()) {
    error(name, "is required");
    return {};
  }
  if (!v->is_string()) {
    error(name, "must be a string");
    return {};
  }
  return v->get<std::string>();
}

std::optional<std::string> BodyReader::opt_json(const std::string& name) {
  const auto* v = field(name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  return v->dump();
}

std::vector<FieldError> BodyReader::finish() {
  for (const auto& [k, v] : body_.items()) {
    if (!read_.contains(k)) errors_.push_back({k, "unknown field"});
  }
  return std::move(errors_);
}

}  // namespace annals::commands

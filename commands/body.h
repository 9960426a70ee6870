// BodyReader: reads the fields of one JSON request body and collects field errors (API §1.1):
// mistyped fields, missing required ones, and — at finish() — every field it was not asked for.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "domain/problem.h"

namespace annals::commands {

class BodyReader {
 public:
  explicit BodyReader(const nlohmann::json& body) : body_(body) {}

  bool has(const std::string& name) const { return body_.contains(name); }
  bool is_null(const std::string& name) const { return has(name) && body_.at(name).is_null(); }

  // Absent or null → nullopt; a non-string → error.
  std::optional<std::string> opt_string(const std::string& name);
  // Absent → `fallback`; null or non-string → error.
  std::string string_or(const std::string& name, std::string fallback);
  // Required string: absent, null or non-string → error.
  std::string required_string(const std::string& name);
  // Any JSON value as compact text; absent or null → nullopt.
  std::optional<std::string> opt_json(const std::string& name);

  void error(const std::string& field, const std::string& message) {
    errors_.push_back({field, message});
  }
  // Adds an error for every field not read; returns all errors.
  std::vector<FieldError> finish();

 private:
  const nlohmann::json* field(const std::string& name);

  const nlohmann::json& body_;
  std::set<std::string> read_;
  std::vector<FieldError> errors_;
};

}  // namespace annals::commands

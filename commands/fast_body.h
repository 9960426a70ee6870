// FastBody: reads the fields of one JSON request body parsed by simdjson, with the same rules and
// messages as BodyReader (API §1.1): mistyped fields, missing required ones, and — at finish() —
// every field it was not asked for. Sub-documents are kept as compact JSON text without building
// a DOM. For the hot command routes (skill runs, divergences); include from .cc files only.
//
// A repeated member name keeps its last value, as the rest of the API does.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/problem.h"
#include "domain/time.h"

namespace annals::commands {

class FastBody {
 public:
  explicit FastBody(simdjson::dom::object object);

  // The member `name` (nullptr when absent); marks it as read.
  const simdjson::dom::element* field(std::string_view name);
  // Absent or null → nullopt; a non-string → error.
  std::optional<std::string> opt_string(std::string_view name);
  // Absent → `fallback`; null or non-string → error.
  std::string string_or(std::string_view name, std::string fallback);
  // Required string: absent, null or non-string → error.
  std::string required_string(std::string_view name);
  // Any JSON value as compact text; absent or null → nullopt.
  std::optional<std::string> opt_json(std::string_view name);
  // An object member as compact text: absent or null → `fallback`; a non-object → error.
  std::string object_or(std::string_view name, std::string fallback);
  // An integer ≥ 0: absent or null → nullopt; anything else → error.
  std::optional<std::int64_t> non_negative_int(std::string_view name);
  // An RFC 3339 instant: absent or null → nullopt (an error when required).
  std::optional<Micros> instant(std::string_view name, bool required);

  void error(std::string field, std::string message) {
    errors_.push_back({std::move(field), std::move(message)});
  }
  // Adds an error for every member not read; returns all errors.
  std::vector<FieldError> finish();

 private:
  struct Member {
    std::string_view key;
    simdjson::dom::element value;
    bool read = false;
  };
  Member* find(std::string_view name);

  std::vector<Member> members_;
  std::vector<FieldError> errors_;
};

// Parses `text` as a JSON object with this thread's parser: 400 for bad syntax, 422 when it is
// not an object. The object is valid until the next parse on this thread.
std::expected<simdjson::dom::object, Problem> parse_object(std::string_view text);

}  // namespace annals::commands

#include "commands/fast_body.h"

#include <nlohmann/json.hpp>

#include "commands/json_syntax.h"

namespace annals::commands {

namespace {

simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

// Compact JSON text of a parsed value.
std::string compact(simdjson::dom::element value) { return simdjson::minify(value); }

}  // namespace

std::optional<Problem> json_syntax_problem(std::string_view text) {
  simdjson::dom::element doc;
  const auto err = thread_parser().parse(text.data(), text.size()).get(doc);
  if (!err) return std::nullopt;
  // The error path is rare: nlohmann's message names the line and column when it finds the fault;
  // when it accepts the text, a number was out of simdjson's range.
  std::string detail = simdjson::error_message(err);
  try {
    auto j = nlohmann::json::parse(text);
    if (err == simdjson::NUMBER_ERROR) {
      detail = "a number does not fit a 64-bit integer or a double";
    }
  } catch (const nlohmann::json::exception& e) {
    detail = e.what();
  }
  return Problem::make(ProblemKind::kBadRequest, "Invalid JSON: " + detail);
}

std::expected<simdjson::dom::object, Problem> parse_object(std::string_view text) {
  simdjson::dom::element doc;
  if (thread_parser().parse(text.data(), text.size()).get(doc)) {
    return std::unexpected(json_syntax_problem(text).value_or(
        Problem::make(ProblemKind::kBadRequest, "Invalid JSON.")));
  }
  simdjson::dom::object object;
  if (doc.get_object().get(object)) {
    return std::unexpected(Problem::validation({{"", "the body must be a JSON object"}}));
  }
  return object;
}

std::optional<Problem> json_object_problem(std::string_view text) {
  auto object = parse_object(text);
  if (!object) return object.error();
  return std::nullopt;
}

FastBody::FastBody(simdjson::dom::object object) {
  for (auto [key, value] : object) {
    if (Member* m = find(key)) {
      m->value = value;  // a repeated name keeps its last value
    } else {
      members_.push_back({key, value});
    }
  }
}

FastBody::Member* FastBody::find(std::string_view name) {
  for (auto& m : members_) {
    if (m.key == name) return &m;
  }
  return nullptr;
}

const simdjson::dom::element* FastBody::field(std::string_view name) {
  Member* m = find(name);
  if (m == nullptr) return nullptr;
  m->read = true;
  return &m->value;
}

std::optional<std::string> FastBody::opt_string(std::string_view name) {
  const auto* v = field(name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  std::string_view s;
  if (v->get_string().get(s)) {
    error(std::string(name), "must be a string");
    return std::nullopt;
  }
  return std::string(s);
}

std::string FastBody::string_or(std::string_view name, std::string fallback) {
  const auto* v = field(name);
  if (v == nullptr) return fallback;
  std::string_view s;
  if (v->get_string().get(s)) {
    error(std::string(name), "must be a string");
    return fallback;
  }
  return std::string(s);
}

std::string FastBody::required_string(std::string_view name) {
  const auto* v = field(name);
  if (v == nullptr || v->is_null()) {
    error(std::string(name), "is required");
    return {};
  }
  std::string_view s;
  if (v->get_string().get(s)) {
    error(std::string(name), "must be a string");
    return {};
  }
  return std::string(s);
}

std::optional<std::string> FastBody::opt_json(std::string_view name) {
  const auto* v = field(name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  return compact(*v);
}

std::string FastBody::object_or(std::string_view name, std::string fallback) {
  const auto* v = field(name);
  if (v == nullptr || v->is_null()) return fallback;
  if (!v->is_object()) {
    error(std::string(name), "must be an object");
    return fallback;
  }
  return compact(*v);
}

std::optional<std::int64_t> FastBody::non_negative_int(std::string_view name) {
  const auto* v = field(name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  std::int64_t n = 0;
  if (!v->is_int64() || v->get_int64().get(n) || n < 0) {
    error(std::string(name), "must be an integer >= 0");
    return std::nullopt;
  }
  return n;
}

std::optional<Micros> FastBody::instant(std::string_view name, bool required) {
  const auto* v = field(name);
  if (v == nullptr || v->is_null()) {
    if (required) error(std::string(name), "is required");
    return std::nullopt;
  }
  std::string_view s;
  std::optional<Micros> t;
  if (!v->get_string().get(s)) t = parse_instant(s);
  if (!t) error(std::string(name), "must be an RFC 3339 instant");
  return t;
}

std::vector<FieldError> FastBody::finish() {
  for (const auto& m : members_) {
    if (!m.read) errors_.push_back({std::string(m.key), "unknown field"});
  }
  return std::move(errors_);
}

}  // namespace annals::commands

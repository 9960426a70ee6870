// The text a simdjson on-demand value has in its document: an object or array whole, a scalar as
// its token, without trailing whitespace. Stored rows keep sub-documents byte for byte this way.
#pragma once

#include <simdjson.h>

#include <string_view>

namespace annals {

inline simdjson::error_code raw_json_of(simdjson::ondemand::value& value, std::string_view& raw) {
  simdjson::ondemand::json_type type;
  if (auto error = value.type().get(type)) return error;
  simdjson::error_code error = simdjson::SUCCESS;
  if (type == simdjson::ondemand::json_type::object) {
    simdjson::ondemand::object inner;
    error = value.get_object().get(inner);
    if (!error) error = inner.raw_json().get(raw);
  } else if (type == simdjson::ondemand::json_type::array) {
    simdjson::ondemand::array inner;
    error = value.get_array().get(inner);
    if (!error) error = inner.raw_json().get(raw);
  } else {
    raw = value.raw_json_token();
  }
  while (!error && !raw.empty() && (raw.back() == ' ' || raw.back() == '\n')) raw.remove_suffix(1);
  return error;
}

}  // namespace annals

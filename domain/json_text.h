// JsonWriter: the one fast JSON text builder used to render resources, read-model rows and event
// lines. It appends to a std::string and manages commas; the caller keeps keys and nesting right.
// Strings are escaped per RFC 8259 and UTF-8 is kept as is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "domain/time.h"

namespace annals {

void append_json_string(std::string& out, std::string_view s);
// Shortest text that reads back as the same double; integral values keep a ".0".
void append_json_double(std::string& out, double v);
// micro-USD rendered as USD: 20000 → 0.02, 2000000 → 2.0.
void append_json_usd(std::string& out, std::int64_t micro_usd);

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  // A key already in JSON form: its quotes and the colon (`"name":`).
  JsonWriter& quoted_key(std::string_view quoted);

  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(const std::string& s) { return value(std::string_view(s)); }
  JsonWriter& value(std::int64_t v);
  JsonWriter& value(std::uint64_t v);
  JsonWriter& value(int v) { return value(static_cast<std::int64_t>(v)); }
  JsonWriter& value(double v);
  JsonWriter& value(bool v);
  JsonWriter& null();
  // Already-serialised JSON, embedded verbatim.
  JsonWriter& raw(std::string_view json);
  JsonWriter& instant(Micros t);
  JsonWriter& usd(std::int64_t micro_usd);
  // Bytes as a string of lowercase hex digits.
  JsonWriter& hex(std::string_view bytes);

  JsonWriter& value(const std::optional<std::string>& s) { return s ? value(*s) : null(); }
  JsonWriter& instant(const std::optional<Micros>& t) { return t ? instant(*t) : null(); }
  // Optional already-serialised JSON (null when absent).
  JsonWriter& raw_or_null(const std::optional<std::string>& json) {
    return json ? raw(std::string_view(*json)) : null();
  }

 private:
  void separate();

  std::string& out_;
  bool need_comma_ = false;
};

}  // namespace annals

#include "domain/json_text.h"

#include <charconv>
#include <cmath>
#include <cstring>

namespace annals {

namespace {

// Whether any of the 8 bytes in x must be escaped in a JSON string: a control character
// (< 0x20), '"' or '\\'. Exact: the "has a byte less than n" bit trick, n <= 128.
bool needs_escape(std::uint64_t x) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHighs = 0x8080808080808080ULL;
  const std::uint64_t quote = x ^ (kOnes * '"'), backslash = x ^ (kOnes * '\\');
  return (((x - kOnes * 0x20) & ~x) | ((quote - kOnes) & ~quote) |
          ((backslash - kOnes) & ~backslash)) &
         kHighs;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0, i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    if (i + 8 <= n) {
      std::uint64_t x;
      std::memcpy(&x, s.data() + i, 8);
      if (!needs_escape(x)) {
        i += 8;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(s[i++]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - 1 - run);
    run = i;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default: {
        const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out.append(esc, 6);
      }
    }
  }
  out.append(s.data() + run, n - run);
  out.push_back('"');
}

void append_json_double(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string_view text(buf, static_cast<std::size_t>(end - buf));
  out += text;
  if (text.find_first_of(".eEn") == std::string_view::npos) out += ".0";
}

void append_json_usd(std::string& out, std::int64_t micro) {
  if (micro < 0) {
    out.push_back('-');
    micro = -micro;
  }
  out += std::to_string(micro / 1'000'000);
  std::int64_t frac = micro % 1'000'000;
  out.push_back('.');
  if (frac == 0) {
    out.push_back('0');
    return;
  }
  char digits[7] = "000000";
  for (int i = 5; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  int n = 6;
  while (n > 1 && digits[n - 1] == '0') --n;
  out.append(digits, static_cast<std::size_t>(n));
}

void JsonWriter::separate() {
  if (need_comma_) out_.push_back(',');
  need_comma_ = true;
}

JsonWriter& JsonWriter::begin_object() {
  separate();
  out_.push_back('{');
  need_comma_ = false;
  return *this;
}
JsonWriter& JsonWriter::end_object() {
  out_.push_back('}');
  need_comma_ = true;
  return *this;
}
JsonWriter& JsonWriter::begin_array() {
  separate();
  out_.push_back('[');
  need_comma_ = false;
  return *this;
}
JsonWriter& JsonWriter::end_array() {
  out_.push_back(']');
  need_comma_ = true;
  return *this;
}
JsonWriter& JsonWriter::key(std::string_view k) {
  separate();
  append_json_string(out_, k);
  out_.push_back(':');
  need_comma_ = false;
  return *this;
}
JsonWriter& JsonWriter::quoted_key(std::string_view quoted) {
  separate();
  out_ += quoted;
  need_comma_ = false;
  return *this;
}
JsonWriter& JsonWriter::hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  separate();
  const std::size_t at = out_.size();
  out_.resize(at + 2 * bytes.size() + 2);
  char* p = out_.data() + at;
  *p++ = '"';
  for (const char ch : bytes) {
    const auto b = static_cast<unsigned char>(ch);
    *p++ = kHex[b >> 4];
    *p++ = kHex[b & 15];
  }
  *p = '"';
  return *this;
}
JsonWriter& JsonWriter::value(std::string_view s) {
  separate();
  append_json_string(out_, s);
  return *this;
}
JsonWriter& JsonWriter::value(std::int64_t v) {
  separate();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, end);
  return *this;
}
JsonWriter& JsonWriter::value(std::uint64_t v) {
  separate();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out_.append(buf, end);
  return *this;
}
JsonWriter& JsonWriter::value(double v) {
  separate();
  append_json_double(out_, v);
  return *this;
}
JsonWriter& JsonWriter::value(bool v) {
  separate();
  out_ += v ? "true" : "false";
  return *this;
}
JsonWriter& JsonWriter::null() {
  separate();
  out_ += "null";
  return *this;
}
JsonWriter& JsonWriter::raw(std::string_view json) {
  separate();
  out_ += json;
  return *this;
}
JsonWriter& JsonWriter::instant(Micros t) {
  separate();
  out_.push_back('"');
  append_instant(out_, t);
  out_.push_back('"');
  return *this;
}
JsonWriter& JsonWriter::usd(std::int64_t micro_usd) {
  separate();
  append_json_usd(out_, micro_usd);
  return *this;
}

}  // namespace annals

#include "domain/text_rules.h"

namespace annals {

namespace {
bool slug_head(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
}  // namespace

bool is_slug(std::string_view s, std::size_t max_len) {
  if (s.empty() || s.size() > max_len || !slug_head(s[0])) return false;
  for (char c : s.substr(1)) {
    if (!slug_head(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  auto cont = [&](std::size_t i) { return i < s.size() && (byte(i) & 0xC0) == 0x80; };
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char b = byte(i);
    std::size_t len = 0;
    if (b < 0x80) {
      len = 1;
    } else if (b >= 0xC2 && b <= 0xDF) {
      len = cont(i + 1) ? 2 : 0;
    } else if (b >= 0xE0 && b <= 0xEF) {
      // E0: no overlong forms (second byte A0..BF); ED: no surrogates (80..9F).
      const bool second = i + 1 < s.size() && (b == 0xE0   ? byte(i + 1) >= 0xA0 && cont(i + 1)
                                               : b == 0xED ? byte(i + 1) <= 0x9F && cont(i + 1)
                                                           : cont(i + 1));
      len = second && cont(i + 2) ? 3 : 0;
    } else if (b >= 0xF0 && b <= 0xF4) {
      // F0: no overlong forms (90..BF); F4: nothing above U+10FFFF (80..8F).
      const bool second = i + 1 < s.size() && (b == 0xF0   ? byte(i + 1) >= 0x90 && cont(i + 1)
                                               : b == 0xF4 ? byte(i + 1) <= 0x8F && cont(i + 1)
                                                           : cont(i + 1));
      len = second && cont(i + 2) && cont(i + 3) ? 4 : 0;
    }
    if (len == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out.append(s, i, len);
      i += len;
    }
  }
  return out;
}

bool is_printable_ascii(std::string_view s, std::size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  for (char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace annals

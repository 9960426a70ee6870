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

bool is_printable_ascii(std::string_view s, std::size_t max_len) {
  if (s.empty() || s.size() > max_len) return false;
  for (char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace annals

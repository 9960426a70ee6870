// Text rules shared by every validator: slugs, lengths in characters, printable ASCII.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace annals {

// ^[a-z0-9][a-z0-9_.-]{0,max_len-1}$
bool is_slug(std::string_view s, std::size_t max_len = 64);
// Number of Unicode code points of valid UTF-8 text.
std::size_t utf8_length(std::string_view s);
// `s` with every byte that is not part of a well-formed UTF-8 sequence (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF) replaced by U+FFFD. For text that echoes input,
// such as a parser's message about the bytes it stopped at.
std::string valid_utf8(std::string_view s);
// 1..max_len characters in 0x21..0x7e (headers such as Idempotency-Key, X-Request-Id).
bool is_printable_ascii(std::string_view s, std::size_t max_len);

}  // namespace annals

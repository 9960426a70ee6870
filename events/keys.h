// Big-endian integer keys, so RocksDB's bytewise order is numeric order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace annals::events {

inline void append_u64_be(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

inline std::string u64_be(std::uint64_t v) {
  std::string s;
  s.reserve(8);
  append_u64_be(s, v);
  return s;
}

// Reads 8 bytes at `offset`; the caller guarantees they exist.
inline std::uint64_t read_u64_be(std::string_view s, std::size_t offset = 0) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = v << 8 | static_cast<unsigned char>(s[offset + i]);
  return v;
}

}  // namespace annals::events

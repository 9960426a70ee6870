// SHA-256 through OpenSSL's libcrypto: one reusable context, raw 32-byte digests, and hex.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace annals::events {

using Digest = std::array<std::uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& update(std::string_view bytes);
  Sha256& update(const Digest& d) {
    return update(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
  }
  // Returns the digest and resets the context for the next message.
  Digest finish();

 private:
  void* ctx_;  // EVP_MD_CTX
};

Digest sha256(std::string_view bytes);
std::string to_hex(const Digest& d);
std::string to_hex(std::string_view bytes);
// 64 lowercase/uppercase hex characters → digest; false otherwise.
bool from_hex(std::string_view hex, Digest& out);
// Compares in time independent of where the digests differ.
bool constant_time_equal(const Digest& a, const Digest& b);

}  // namespace annals::events

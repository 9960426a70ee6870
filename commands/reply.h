// Reply: what a command answers, decided on the writer thread and sent once durable. The HTTP
// layer renders it; the idempotency store keeps 2xx replies byte for byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "domain/problem.h"

namespace annals::commands {

struct Reply {
  int status = 200;
  std::string body;  // JSON (ignored when problem is set)
  std::optional<std::uint64_t> etag;
  std::string location;
  std::uint64_t position = 0;  // Annals-Position
  bool replayed = false;       // Idempotent-Replayed
  std::optional<Problem> problem;
  std::vector<std::pair<std::string, std::string>> headers;  // extra, e.g. Retry-After

  static Reply error(Problem p) {
    Reply r;
    r.status = problem_status(p.kind);
    r.problem = std::move(p);
    return r;
  }
  bool ok() const { return !problem && status >= 200 && status < 300; }
};

// Binary form of a 2xx reply for the idempotency store (fingerprint of the request included).
std::string encode_stored_reply(const std::string& fingerprint, const Reply& r);
// Returns the stored fingerprint and reply; nullopt when malformed.
std::optional<std::pair<std::string, Reply>> decode_stored_reply(std::string_view bytes);

}  // namespace annals::commands

#include "commands/reply.h"

#include "events/keys.h"

namespace annals::commands {

namespace {

void put_string(std::string& out, std::string_view s) {
  events::append_u64_be(out, s.size());
  out += s;
}

bool get_u64(std::string_view in, std::size_t& pos, std::uint64_t& v) {
  if (pos + 8 > in.size()) return false;
  v = events::read_u64_be(in, pos);
  pos += 8;
  return true;
}

bool get_string(std::string_view in, std::size_t& pos, std::string& s) {
  std::uint64_t n = 0;
  if (!get_u64(in, pos, n) || pos + n > in.size()) return false;
  s.assign(in.substr(pos, n));
  pos += n;
  return true;
}

}  // namespace

std::string encode_stored_reply(const std::string& fingerprint, const Reply& r) {
  std::string out;
  put_string(out, fingerprint);
  events::append_u64_be(out, static_cast<std::uint64_t>(r.status));
  events::append_u64_be(out, r.etag ? *r.etag + 1 : 0);
  events::append_u64_be(out, r.position);
  put_string(out, r.location);
  put_string(out, r.body);
  events::append_u64_be(out, r.headers.size());
  for (const auto& [k, v] : r.headers) {
    put_string(out, k);
    put_string(out, v);
  }
  return out;
}

std::optional<std::pair<std::string, Reply>> decode_stored_reply(std::string_view in) {
  std::size_t pos = 0;
  std::string fingerprint;
  Reply r;
  std::uint64_t status = 0, etag = 0, n = 0;
  if (!get_string(in, pos, fingerprint) || !get_u64(in, pos, status) || !get_u64(in, pos, etag) ||
      !get_u64(in, pos, r.position) || !get_string(in, pos, r.location) ||
      !get_string(in, pos, r.body) || !get_u64(in, pos, n)) {
    return std::nullopt;
  }
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string k, v;
    if (!get_string(in, pos, k) || !get_string(in, pos, v)) return std::nullopt;
    r.headers.emplace_back(std::move(k), std::move(v));
  }
  r.status = static_cast<int>(status);
  if (etag > 0) r.etag = etag - 1;
  return std::pair{std::move(fingerprint), std::move(r)};
}

}  // namespace annals::commands

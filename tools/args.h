// Minimal flag parsing for the annals tool: --name value, repeatable flags, and usage errors.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace annals::tools {

struct Args {
  std::string verb;
  std::multimap<std::string, std::string> flags;  // without the leading "--"

  std::optional<std::string> get(const std::string& name) const {
    auto it = flags.find(name);
    return it == flags.end() ? std::nullopt : std::optional(it->second);
  }
  std::vector<std::string> all(const std::string& name) const {
    std::vector<std::string> v;
    for (auto [a, b] = flags.equal_range(name); a != b; ++a) v.push_back(a->second);
    return v;
  }
  bool has(const std::string& name) const { return flags.contains(name); }
};

// Exit codes of API §18.2.
constexpr int kOk = 0, kCheckFailed = 1, kUsage = 2, kUnavailable = 3;

int run_rebuild(const Args& a);
int run_replay(const Args& a);
int run_verify(const Args& a);
int run_digest(const Args& a);
int run_stats(const Args& a);
int run_bench(const Args& a);

// Parses an unsigned integer flag; prints a usage error and returns nullopt when malformed.
std::optional<std::uint64_t> uint_flag(const Args& a, const std::string& name,
                                       std::uint64_t fallback);

}  // namespace annals::tools

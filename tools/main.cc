// annals: the offline and operator tool (API §18.2).
#include <iostream>
#include <set>

#include "tools/args.h"

using namespace annals::tools;

namespace {

constexpr const char* kUsageText =
    "usage: annals <verb> [flags]\n"
    "  rebuild --data DIR [--projection NAME]... [--until POS]\n"
    "  replay  --data DIR [--from POS] [--to POS] [--stream S] [--category C] [--type T]...\n"
    "          [--since T] [--until T] [--limit N] [--format ndjson|pretty]\n"
    "  verify  --data DIR [--at POS --expect HASH]\n"
    "  digest  --data DIR [--at POS] [--chain-only]\n"
    "  stats   --data DIR\n"
    "  bench   [--url URL] [--token T] [--duration SECONDS] [--connections N] [--rate PER_SECOND]\n"
    "          [--scenario lessons|reads|mixed|get|skill_runs|divergences|run_shape]\n"
    "          [--path PATH] [--threads N] [--stop-file PATH]\n"
    "global flags: --help, --version\n";

const std::set<std::string> kBooleanFlags = {"chain-only", "help", "version"};

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s.starts_with("--")) {
      std::string name = s.substr(2);
      if (kBooleanFlags.contains(name)) {
        a.flags.emplace(name, "");
      } else if (i + 1 < argc) {
        a.flags.emplace(name, argv[++i]);
      } else {
        std::cerr << "annals: --" << name << " needs a value\n" << kUsageText;
        return kUsage;
      }
    } else if (a.verb.empty()) {
      a.verb = s;
    } else {
      std::cerr << "annals: unexpected argument '" << s << "'\n" << kUsageText;
      return kUsage;
    }
  }
  if (a.has("version")) {
    std::cout << "annals 0.1.0\n";
    return kOk;
  }
  if (a.has("help") || a.verb.empty()) {
    std::cout << kUsageText;
    return a.verb.empty() && !a.has("help") ? kUsage : kOk;
  }
  if (a.verb == "rebuild") return run_rebuild(a);
  if (a.verb == "replay") return run_replay(a);
  if (a.verb == "verify") return run_verify(a);
  if (a.verb == "digest") return run_digest(a);
  if (a.verb == "stats") return run_stats(a);
  if (a.verb == "bench") return run_bench(a);
  std::cerr << "annals: unknown verb '" << a.verb << "'\n" << kUsageText;
  return kUsage;
}

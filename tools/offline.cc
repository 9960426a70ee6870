// The offline verbs: rebuild, replay, verify, digest, stats. Reads open the store read-only, so
// they work beside a running server; rebuild needs the store to itself.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "domain/json_text.h"
#include "events/event_filter.h"
#include "events/event_json.h"
#include "events/verify.h"
#include "projections/projector.h"
#include "tools/args.h"

namespace annals::tools {

namespace {

bool check_flags(const Args& a, std::set<std::string> allowed) {
  allowed.insert("help");
  for (const auto& [k, v] : a.flags) {
    if (!allowed.contains(k)) {
      std::cerr << "annals " << a.verb << ": unknown flag --" << k << "\n";
      return false;
    }
  }
  if (!a.has("data")) {
    std::cerr << "annals " << a.verb << ": --data DIR is required\n";
    return false;
  }
  return true;
}

std::unique_ptr<events::EventStore> open_store(const Args& a, bool read_only, int& exit_code) {
  events::StoreOptions o;
  o.dir = *a.get("data");
  o.read_only = read_only;
  if (read_only && !std::filesystem::exists(o.dir)) {
    std::cerr << "annals " << a.verb << ": no store at '" << o.dir << "'\n";
    exit_code = kUnavailable;
    return nullptr;
  }
  auto s = events::EventStore::open(o);
  if (!s) {
    std::cerr << "annals " << a.verb << ": " << s.error().detail << "\n";
    exit_code = kUnavailable;
    return nullptr;
  }
  return std::move(*s);
}

// The chain digest at `pos` as GET /audit/digest renders it, plus every read model as of `pos`
// (`read_models`: name → {rows, digest}) unless `read_models` is empty.
void print_digest_line(const events::EventStore& store, std::uint64_t pos,
                       const std::vector<projections::ReadModelStatus>& read_models) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().key("position").value(pos);
  auto e = pos > 0 ? store.read(pos) : std::nullopt;
  if (e) {
    w.key("hash")
        .value(events::to_hex(e->hash))
        .key("recorded_at")
        .instant(e->event().recorded_at());
  } else {
    w.key("hash").value(std::string(64, '0')).key("recorded_at").null();
  }
  if (!read_models.empty()) {
    w.key("read_models").begin_object();
    for (const auto& st : read_models) {
      w.key(st.name).begin_object().key("rows").value(st.rows).key("digest").value(st.digest);
      w.end_object();
    }
    w.end_object();
  }
  w.end_object();
  std::cout << out << "\n";
}

long peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

}  // namespace

std::optional<std::uint64_t> uint_flag(const Args& a, const std::string& name,
                                       std::uint64_t fallback) {
  auto v = a.get(name);
  if (!v) return fallback;
  if (v->empty() ||
      !std::all_of(v->begin(), v->end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::cerr << "annals " << a.verb << ": --" << name << " expects a non-negative integer\n";
    return std::nullopt;
  }
  return std::stoull(*v);
}

int run_rebuild(const Args& a) {
  if (!check_flags(a, {"data", "projection", "until"})) return kUsage;
  auto until = uint_flag(a, "until", 0);
  if (!until) return kUsage;
  int code = kOk;
  auto store = open_store(a, false, code);
  if (!store) return code;
  projections::Projector projector(*store, projections::all_projections());
  projector.open(/*catch_up=*/false);
  auto names = a.all("projection");
  for (const auto& n : names) {
    const auto known = projector.names();
    if (std::find(known.begin(), known.end(), n) == known.end()) {
      std::cerr << "annals rebuild: unknown read model '" << n << "'\n";
      return kUsage;
    }
  }
  const bool tty = isatty(STDERR_FILENO) != 0;
  const auto started = std::chrono::steady_clock::now();
  auto last_draw = started;
  auto result = projector.rebuild(names, *until, [&](const projections::RebuildProgress& p) {
    if (!tty || p.until == 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_draw < std::chrono::milliseconds(100) && p.position != p.until) return;
    last_draw = now;
    const double frac = static_cast<double>(p.position) / static_cast<double>(p.until);
    const int width = 40, filled = static_cast<int>(frac * width);
    const double secs = std::chrono::duration<double>(now - started).count();
    std::fprintf(stderr, "\r[%s%s] %5.1f%% %llu/%llu events %.0f ev/s ",
                 std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(width - filled), ' ').c_str(), frac * 100,
                 static_cast<unsigned long long>(p.position),
                 static_cast<unsigned long long>(p.until), secs > 0 ? p.position / secs : 0.0);
  });
  if (tty) std::fprintf(stderr, "\n");
  const double rate = result.seconds > 0 ? static_cast<double>(result.events) / result.seconds : 0;
  std::printf(
      "rebuilt %zu read model(s) to position %llu: %llu events in %.3f s (%.0f events/s), "
      "peak RSS %ld MiB\n",
      result.read_models.size(), static_cast<unsigned long long>(result.until),
      static_cast<unsigned long long>(result.events), result.seconds, rate, peak_rss_mib());
  for (const auto& st : result.read_models) {
    std::printf("%-22s generation %llu position %llu rows %llu digest %s\n", st.name.c_str(),
                static_cast<unsigned long long>(st.generation),
                static_cast<unsigned long long>(st.position),
                static_cast<unsigned long long>(st.rows), st.digest.c_str());
  }
  return kOk;
}

int run_replay(const Args& a) {
  if (!check_flags(a, {"data", "from", "to", "stream", "category", "type", "since", "until",
                       "limit", "format"})) {
    return kUsage;
  }
  auto from = uint_flag(a, "from", 1), to = uint_flag(a, "to", 0), limit = uint_flag(a, "limit", 0);
  if (!from || !to || !limit) return kUsage;
  events::EventFilter filter;
  for (auto [name, slot] : {std::pair{"since", &filter.since}, std::pair{"until", &filter.until}}) {
    if (auto v = a.get(name)) {
      *slot = parse_instant(*v);
      if (!*slot) {
        std::cerr << "annals replay: --" << name << " expects an RFC 3339 instant\n";
        return kUsage;
      }
    }
  }
  const std::string format = a.get("format").value_or("ndjson");
  if (format != "ndjson" && format != "pretty") {
    std::cerr << "annals replay: --format is ndjson or pretty\n";
    return kUsage;
  }
  for (const auto& t : a.all("type")) filter.types.insert(t);
  filter.stream = a.get("stream");
  filter.category = a.get("category");
  int code = kOk;
  auto store = open_store(a, true, code);
  if (!store) return code;
  std::uint64_t written = 0;
  std::string line;
  store->read_range(*from, *to == 0 ? store->head() : *to, [&](const events::StoredEvent& e) {
    if (!filter.matches(e)) return true;
    line = events::render_event(e);
    if (format == "pretty") {
      std::cout << nlohmann::ordered_json::parse(line).dump(2) << "\n\n";
    } else {
      std::cout << line << "\n";
    }
    return *limit == 0 || ++written < *limit;
  });
  return kOk;
}

int run_verify(const Args& a) {
  if (!check_flags(a, {"data", "at", "expect"})) return kUsage;
  auto at = uint_flag(a, "at", 0);
  if (!at) return kUsage;
  if (a.has("expect") && !a.has("at")) {
    std::cerr << "annals verify: --expect needs --at\n";
    return kUsage;
  }
  int code = kOk;
  auto store = open_store(a, true, code);
  if (!store) return code;
  const std::uint64_t to = *at == 0 ? store->head() : *at;
  if (to > store->head()) {
    std::cerr << "annals verify: position " << to << " is beyond the head " << store->head()
              << "\n";
    return kCheckFailed;
  }
  const auto check = events::verify_chain(*store, 1, to);
  if (!check.ok) {
    std::printf("bad %llu expected %s stored %s\n",
                static_cast<unsigned long long>(check.first_bad_position),
                events::to_hex(check.expected_hash).c_str(),
                events::to_hex(check.stored_hash).c_str());
    return kCheckFailed;
  }
  const std::string hash = to == 0 ? std::string(64, '0') : events::to_hex(check.hash);
  if (auto expect = a.get("expect"); expect && *expect != hash) {
    std::printf("mismatch %llu expected %s actual %s\n", static_cast<unsigned long long>(to),
                expect->c_str(), hash.c_str());
    return kCheckFailed;
  }
  std::printf("ok %llu %s\n", static_cast<unsigned long long>(to), hash.c_str());
  return kOk;
}

int run_digest(const Args& a) {
  if (!check_flags(a, {"data", "at", "chain-only"})) return kUsage;
  auto at = uint_flag(a, "at", 0);
  if (!at) return kUsage;
  int code = kOk;
  auto store = open_store(a, true, code);
  if (!store) return code;
  const std::uint64_t pos = a.has("at") ? *at : store->head();
  if (pos > store->head()) {
    std::cerr << "annals digest: position " << pos << " is beyond the head " << store->head()
              << "\n";
    return kCheckFailed;
  }
  std::vector<projections::ReadModelStatus> read_models;
  if (!a.has("chain-only")) {
    // Read models whose stored generation is at `pos` are digested in place; any other position
    // is rebuilt from the log into a scratch store (time travel) and leaves DIR untouched.
    projections::Projector projector(*store, projections::all_projections());
    projector.open(false);
    bool stored = true;
    for (const auto& name : projector.names()) {
      auto st = projector.status(name);
      if (!st || st->position != pos) {
        stored = false;
        break;
      }
      read_models.push_back(*st);
    }
    if (!stored) {
      const auto scratch =
          std::filesystem::temp_directory_path() / ("annals-digest-" + std::to_string(::getpid()));
      read_models = projections::read_models_at(*store, pos, {}, scratch.string());
    }
  }
  print_digest_line(*store, pos, read_models);
  return kOk;
}

int run_stats(const Args& a) {
  if (!check_flags(a, {"data"})) return kUsage;
  int code = kOk;
  auto store = open_store(a, true, code);
  if (!store) return code;
  std::map<std::string, std::uint64_t> by_type, by_category;
  std::optional<Micros> first, last;
  store->read_range(1, store->head(), [&](const events::StoredEvent& e) {
    ++by_type[std::string(e.type_name())];
    const auto* s = e.event().stream();
    const std::string_view sv = s ? s->string_view() : std::string_view();
    ++by_category[std::string(sv.substr(0, sv.find('-')))];
    if (!first) first = e.event().recorded_at();
    last = e.event().recorded_at();
    return true;
  });
  std::uintmax_t bytes = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(store->dir())) {
    if (f.is_regular_file()) bytes += f.file_size();
  }
  std::printf("head %llu\n", static_cast<unsigned long long>(store->head()));
  std::printf("first_recorded_at %s\nlast_recorded_at %s\n",
              first ? format_instant(*first).c_str() : "null",
              last ? format_instant(*last).c_str() : "null");
  std::printf("store_bytes %ju\n", bytes);
  for (const auto& [t, n] : by_type)
    std::printf("type %s %llu\n", t.c_str(), static_cast<unsigned long long>(n));
  for (const auto& [c, n] : by_category)
    std::printf("category %s %llu\n", c.c_str(), static_cast<unsigned long long>(n));
  projections::Projector projector(*store, projections::all_projections());
  projector.open(false);
  for (const auto& name : projector.names()) {
    if (auto st = projector.status(name)) {
      std::printf("projection %s generation %llu checkpoint %llu rows %llu digest %s\n",
                  name.c_str(), static_cast<unsigned long long>(st->generation),
                  static_cast<unsigned long long>(st->position),
                  static_cast<unsigned long long>(st->rows), st->digest.c_str());
    }
  }
  return kOk;
}

}  // namespace annals::tools

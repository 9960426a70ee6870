#include "server/config_loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <variant>

#include "commands/http_call.h"
#include "domain/text_rules.h"
#include "events/sha256.h"

extern char** environ;

namespace annals::server {

namespace {

using Member =
    std::variant<bool Config::*, std::int64_t Config::*, double Config::*, std::string Config::*,
                 std::vector<std::string> Config::*, std::optional<std::string> Config::*>;

struct Knob {
  const char* name;
  Member member;
  double min = -1e300, max = 1e300;
  std::vector<std::string> choices = {};
};

const std::vector<Knob>& knobs() {
  static const std::vector<Knob> k = {
      {"enabled", &Config::enabled},
      {"shadow_sample_rate_trusted", &Config::shadow_sample_rate_trusted, 0, 1},
      {"sandbox_promotion_min_runs", &Config::sandbox_promotion_min_runs, 1, 1e9},
      {"sandbox_promotion_validity_rate", &Config::sandbox_promotion_validity_rate, 0, 1},
      {"shadow_primary_promotion_min_runs", &Config::shadow_primary_promotion_min_runs, 1, 1e9},
      {"shadow_primary_promotion_agreement_rate", &Config::shadow_primary_promotion_agreement_rate,
       0, 1},
      {"shadow_primary_promotion_max_failure_rate",
       &Config::shadow_primary_promotion_max_failure_rate, 0, 1},
      {"baseline_reset_window", &Config::baseline_reset_window, 1, 1e9},
      {"degradation_rolling_window", &Config::degradation_rolling_window, 1, 1e9},
      {"degradation_ci_confidence", &Config::degradation_ci_confidence, 0, 1},
      {"degradation_agreement_threshold", &Config::degradation_agreement_threshold, 0, 1},
      {"correction_cluster_window_runs", &Config::correction_cluster_window_runs, 1, 1e9},
      {"correction_cluster_threshold", &Config::correction_cluster_threshold, 1, 1e9},
      {"auto_draft_daily_cap", &Config::auto_draft_daily_cap, 0, 1e9},
      {"auto_draft_min_expected_savings_usd", &Config::auto_draft_min_expected_savings_usd, 0,
       1e12},
      {"auto_draft_fixture_pass_rate", &Config::auto_draft_fixture_pass_rate, 0, 1},
      {"auto_draft_estimated_cost_usd", &Config::auto_draft_estimated_cost_usd, 0, 1e12},
      {"candidate_excluded_task_types", &Config::candidate_excluded_task_types},
      {"evolution_min_divergence_cases", &Config::evolution_min_divergence_cases, 0, 1e9},
      {"evolution_max_divergence_cases", &Config::evolution_max_divergence_cases, 1, 1e9},
      {"evolution_targeted_case_pass_rate", &Config::evolution_targeted_case_pass_rate, 0, 1},
      {"evolution_fixture_regression_pass_rate", &Config::evolution_fixture_regression_pass_rate, 0,
       1},
      {"evolution_recent_success_count", &Config::evolution_recent_success_count, 0, 1e9},
      {"evolution_recent_success_window_days", &Config::evolution_recent_success_window_days, 0,
       1e6},
      {"evolution_max_consecutive_failures", &Config::evolution_max_consecutive_failures, 1, 1e9},
      {"evolution_estimated_cost_usd", &Config::evolution_estimated_cost_usd, 0, 1e12},
      {"evolution_daily_cap", &Config::evolution_daily_cap, 0, 1e9},
      {"evolution_require_gate_evidence", &Config::evolution_require_gate_evidence},
      {"nightly_run_hour_utc", &Config::nightly_run_hour_utc, 0, 23},
      {"nightly_timezone", &Config::nightly_timezone},
      {"daily_pause_threshold_usd", &Config::daily_pause_threshold_usd, 0, 1e12},
      {"monthly_budget_usd", &Config::monthly_budget_usd, 0, 1e12},
      {"budget_excluded_task_types", &Config::budget_excluded_task_types},
      {"automations_enabled", &Config::automations_enabled},
      {"automation_poll_interval_seconds", &Config::automation_poll_interval_seconds, 1, 86400},
      {"automation_min_interval_default_seconds", &Config::automation_min_interval_default_seconds,
       0, 31622400},
      {"automation_failure_pause_threshold", &Config::automation_failure_pause_threshold, 1, 1e9},
      {"automation_max_cost_per_run_default_usd", &Config::automation_max_cost_per_run_default_usd,
       0, 1e12},
      {"automation_max_concurrent_runs", &Config::automation_max_concurrent_runs, 1, 10000},
      {"automation_default_alert_channels", &Config::automation_default_alert_channels},
      {"lessons_enabled", &Config::lessons_enabled},
      {"lessons_query_limit_default", &Config::lessons_query_limit_default, 1, 1000},
      {"lessons_dedup_window_s", &Config::lessons_dedup_window_s, 0, 1e12},
      {"listen", &Config::listen},
      {"data_dir", &Config::data_dir},
      {"http_threads", &Config::http_threads, 0, 256},
      {"http_max_body_bytes", &Config::http_max_body_bytes, 1, 1e12},
      {"http_max_header_bytes", &Config::http_max_header_bytes, 256, 1e9},
      {"http_read_timeout_seconds", &Config::http_read_timeout_seconds, 1, 86400},
      {"http_keepalive_timeout_seconds", &Config::http_keepalive_timeout_seconds, 1, 86400},
      {"min_position_wait_ms", &Config::min_position_wait_ms, 0, 600000},
      {"sse_heartbeat_seconds", &Config::sse_heartbeat_seconds, 1, 86400},
      {"sse_max_clients", &Config::sse_max_clients, 0, 100000},
      {"clock_skew_tolerance_seconds", &Config::clock_skew_tolerance_seconds, 0, 1e9},
      {"writer_max_batch", &Config::writer_max_batch, 1, 100000},
      {"log_level",
       &Config::log_level,
       0,
       0,
       {"trace", "debug", "info", "warn", "warning", "error", "critical", "off"}},
      {"log_format", &Config::log_format, 0, 0, {"text", "json"}},
      {"executor_timeout_seconds", &Config::executor_timeout_seconds, 1, 86400},
      {"http_check_allowed_hosts", &Config::http_check_allowed_hosts},
      {"http_check_timeout_seconds", &Config::http_check_timeout_seconds, 1, 86400},
      {"notifier_url", &Config::notifier_url},
      {"notifier_timeout_seconds", &Config::notifier_timeout_seconds, 1, 86400},
      {"notifier_system_channel", &Config::notifier_system_channel},
  };
  return k;
}

const Knob* find_knob(const std::string& name) {
  for (const auto& k : knobs()) {
    if (name == k.name) return &k;
  }
  return nullptr;
}

std::optional<bool> parse_bool(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  return std::nullopt;
}

std::optional<std::int64_t> parse_int(const std::string& s) {
  std::size_t used = 0;
  try {
    const long long v = std::stoll(s, &used);
    if (used == s.size()) return v;
  } catch (...) {
  }
  return std::nullopt;
}

std::optional<double> parse_double(const std::string& s) {
  std::size_t used = 0;
  try {
    const double v = std::stod(s, &used);
    if (used == s.size() && std::isfinite(v)) return v;
  } catch (...) {
  }
  return std::nullopt;
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// Sets a knob from text (env, --set) or a YAML node (file). Returns an error message.
std::optional<std::string> set_knob(Config& c, const Knob& k, const YAML::Node* node,
                                    const std::string& text) {
  const std::string key = k.name;
  auto range = [&](double v) -> std::optional<std::string> {
    if (v < k.min || v > k.max) {
      std::ostringstream os;
      os << key << ": " << v << " is out of range [" << k.min << ", " << k.max << "]";
      return os.str();
    }
    return std::nullopt;
  };
  auto scalar = [&]() -> std::optional<std::string> {
    if (node == nullptr) return text;
    if (!node->IsScalar()) return std::nullopt;
    return node->Scalar();
  };
  return std::visit(
      [&](auto member) -> std::optional<std::string> {
        using T = std::remove_cvref_t<decltype(c.*member)>;
        if constexpr (std::is_same_v<T, bool>) {
          auto s = scalar();
          auto v = s ? parse_bool(*s) : std::nullopt;
          if (!v) return key + ": expected a boolean";
          c.*member = *v;
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          auto s = scalar();
          auto v = s ? parse_int(*s) : std::nullopt;
          if (!v) return key + ": expected an integer";
          if (auto e = range(static_cast<double>(*v))) return e;
          c.*member = *v;
        } else if constexpr (std::is_same_v<T, double>) {
          auto s = scalar();
          auto v = s ? parse_double(*s) : std::nullopt;
          if (!v) return key + ": expected a number";
          if (auto e = range(*v)) return e;
          c.*member = *v;
        } else if constexpr (std::is_same_v<T, std::string>) {
          auto s = scalar();
          if (!s) return key + ": expected a string";
          if (!k.choices.empty() &&
              std::find(k.choices.begin(), k.choices.end(), *s) == k.choices.end()) {
            return key + ": '" + *s + "' is not one of the allowed values";
          }
          c.*member = *s;
        } else if constexpr (std::is_same_v<T, std::optional<std::string>>) {
          if (node != nullptr && node->IsNull()) {
            c.*member = std::nullopt;
          } else {
            auto s = scalar();
            if (!s) return key + ": expected a string or null";
            if (*s == "null" || s->empty()) {
              c.*member = std::nullopt;
            } else {
              c.*member = *s;
            }
          }
        } else {
          if (node == nullptr) {
            c.*member = split_list(text);
          } else if (node->IsSequence()) {
            std::vector<std::string> v;
            for (const auto& item : *node) {
              if (!item.IsScalar()) return key + ": expected a list of strings";
              v.push_back(item.Scalar());
            }
            c.*member = v;
          } else {
            return key + ": expected a list of strings";
          }
        }
        return std::nullopt;
      },
      k.member);
}

std::optional<std::string> load_tokens(Config& c, const YAML::Node& node) {
  if (node.IsNull()) return std::nullopt;
  if (!node.IsSequence()) return "tokens: expected a list of {name, token | token_sha256, role}";
  std::set<std::string> names;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const auto& t = node[i];
    const std::string where = "tokens[" + std::to_string(i) + "]";
    if (!t.IsMap() || !t["name"] || !t["role"]) return where + ": needs name and role";
    TokenConfig tc;
    tc.name = t["name"].as<std::string>();
    if (!is_slug(tc.name)) return where + ".name: must be a slug";
    if (tc.name == "system") return where + ".name: 'system' is reserved";
    if (!names.insert(tc.name).second)
      return where + ".name: duplicate token name '" + tc.name + "'";
    const auto role = t["role"].as<std::string>();
    if (role == "admin") {
      tc.role = Role::kAdmin;
    } else if (role == "writer") {
      tc.role = Role::kWriter;
    } else if (role == "reader") {
      tc.role = Role::kReader;
    } else {
      return where + ".role: must be admin, writer or reader";
    }
    if (t["token"]) {
      tc.token_sha256 = events::to_hex(events::sha256(t["token"].as<std::string>()));
    } else if (t["token_sha256"]) {
      events::Digest d;
      if (!events::from_hex(t["token_sha256"].as<std::string>(), d)) {
        return where + ".token_sha256: expected 64 hex characters";
      }
      tc.token_sha256 = events::to_hex(d);
    } else {
      return where + ": needs token or token_sha256";
    }
    c.tokens.push_back(std::move(tc));
  }
  return std::nullopt;
}

std::optional<std::string> load_string_map(std::map<std::string, std::string>& out,
                                           const YAML::Node& node, const std::string& key) {
  if (node.IsNull()) return std::nullopt;
  if (!node.IsMap()) return key + ": expected a map of strings";
  for (const auto& kv : node) out[kv.first.as<std::string>()] = kv.second.as<std::string>();
  return std::nullopt;
}

std::optional<std::string> load_executors(Config& c, const YAML::Node& node) {
  if (node.IsNull()) return std::nullopt;
  if (!node.IsMap()) return "executors: expected a map";
  for (const auto& kv : node) {
    const std::string name = kv.first.as<std::string>();
    const auto& e = kv.second;
    const std::string where = "executors." + name;
    if (!e.IsMap() || !e["type"]) return where + ": needs a type";
    ExecutorConfig ec;
    ec.type = e["type"].as<std::string>();
    if (ec.type != "webhook" && ec.type != "echo" && ec.type != "http_check") {
      return where + ".type: must be webhook, echo or http_check";
    }
    if (e["url"]) ec.url = e["url"].as<std::string>();
    if (ec.type == "webhook" && !commands::parse_url(ec.url)) {
      return where + ".url: an http(s) URL is required for webhook";
    }
    if (e["timeout_seconds"]) {
      auto v = parse_double(e["timeout_seconds"].as<std::string>());
      if (!v || *v <= 0) return where + ".timeout_seconds: expected a positive number";
      ec.timeout_seconds = *v;
    }
    if (e["headers"]) {
      if (auto err = load_string_map(ec.headers, e["headers"], where + ".headers")) return err;
    }
    c.executors[name] = std::move(ec);
  }
  return std::nullopt;
}

std::string knob_from_env(const std::string& var) {
  std::string k = var.substr(7);  // after ANNALS_
  std::transform(k.begin(), k.end(), k.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return k;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> annals_environment() {
  std::vector<std::pair<std::string, std::string>> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv = *e;
    if (!kv.starts_with("ANNALS_")) continue;
    const auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    out.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return out;
}

bool split_listen(const std::string& listen, std::string& host, unsigned short& port) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  auto p = parse_int(listen.substr(colon + 1));
  if (!p || *p < 0 || *p > 65535) return false;
  port = static_cast<unsigned short>(*p);
  return true;
}

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

std::expected<LoadedConfig, std::string> load_config(const ConfigSources& sources) {
  LoadedConfig out;
  Config& c = out.config;
  std::string file = sources.file;
  if (file.empty() && std::filesystem::exists("config/annals.yaml")) file = "config/annals.yaml";
  if (!file.empty()) {
    YAML::Node root;
    try {
      root = YAML::LoadFile(file);
    } catch (const std::exception& e) {
      return std::unexpected("config file '" + file + "': " + e.what());
    }
    if (root && !root.IsNull()) {
      if (!root.IsMap()) return std::unexpected("config file '" + file + "': expected a mapping");
      for (const auto& kv : root) {
        const std::string key = kv.first.as<std::string>();
        std::optional<std::string> err;
        try {
          if (key == "tokens") {
            err = load_tokens(c, kv.second);
          } else if (key == "executors") {
            err = load_executors(c, kv.second);
          } else if (key == "notifier_headers") {
            err = load_string_map(c.notifier_headers, kv.second, key);
          } else if (const Knob* k = find_knob(key)) {
            err = set_knob(c, *k, &kv.second, "");
          } else {
            out.warnings.push_back("unknown config key '" + key + "' ignored");
          }
        } catch (const std::exception& e) {
          err = key + ": " + e.what();
        }
        if (err) return std::unexpected(*err);
      }
    }
  }
  for (const auto& [var, value] : sources.environment) {
    const std::string key = knob_from_env(var);
    if (const Knob* k = find_knob(key)) {
      if (auto err = set_knob(c, *k, nullptr, value))
        return std::unexpected(*err + " (from " + var + ")");
    } else {
      out.warnings.push_back("unknown environment variable '" + var + "' ignored");
    }
  }
  for (const auto& [key, value] : sources.overrides) {
    const Knob* k = find_knob(key);
    if (k == nullptr) return std::unexpected("--set " + key + ": unknown knob");
    if (auto err = set_knob(c, *k, nullptr, value)) return std::unexpected(*err);
  }
  // Cross-knob rules.
  std::string host;
  unsigned short port = 0;
  if (!split_listen(c.listen, host, port)) return std::unexpected("listen: expected HOST:PORT");
  if (c.tokens.empty() && !is_loopback_host(host)) {
    return std::unexpected(
        "tokens: no tokens are configured, which is allowed only when listen is a loopback "
        "address (listen is '" +
        c.listen + "')");
  }
  if (c.notifier_url && !commands::parse_url(*c.notifier_url)) {
    return std::unexpected("notifier_url: expected an http(s) URL");
  }
  const double z = c.degradation_ci_confidence;
  if (z != 0.90 && z != 0.95 && z != 0.99) {
    out.warnings.push_back("degradation_ci_confidence " + std::to_string(z) +
                           " is not one of 0.90, 0.95, 0.99; using z = 1.96");
  }
  return out;
}

std::string describe_config(const Config& c) {
  YAML::Emitter y;
  y.SetDoublePrecision(15);
  y << YAML::BeginMap;
  for (const auto& k : knobs()) {
    y << YAML::Key << k.name << YAML::Value;
    std::visit(
        [&](auto member) {
          using T = std::remove_cvref_t<decltype(c.*member)>;
          if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            y << YAML::Flow << YAML::BeginSeq;
            for (const auto& s : c.*member) y << s;
            y << YAML::EndSeq;
          } else if constexpr (std::is_same_v<T, std::optional<std::string>>) {
            if (c.*member) {
              y << *(c.*member);
            } else {
              y << YAML::Null;
            }
          } else {
            y << c.*member;
          }
        },
        k.member);
  }
  y << YAML::Key << "tokens" << YAML::Value << YAML::BeginSeq;
  for (const auto& t : c.tokens) {
    y << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << t.name << YAML::Key
      << "role" << YAML::Value
      << (t.role == Role::kAdmin    ? "admin"
          : t.role == Role::kWriter ? "writer"
                                    : "reader")
      << YAML::EndMap;
  }
  y << YAML::EndSeq;
  y << YAML::EndMap;
  return std::string(y.c_str()) + "\n";
}

}  // namespace annals::server

// Config: every knob of SPEC §8 with its default. Plain data; the loader (server/config_loader.h)
// fills it from YAML, ANNALS_* environment variables and flags, and validates ranges.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace annals {

enum class Role { kReader = 0, kWriter = 1, kAdmin = 2 };

struct TokenConfig {
  std::string name;
  std::string token_sha256;  // lowercase hex of SHA-256(token)
  Role role = Role::kReader;
};

struct ExecutorConfig {
  std::string type;  // webhook | echo | http_check
  std::string url;
  std::optional<double> timeout_seconds;
  std::map<std::string, std::string> headers;
};

struct Config {
  // Skills
  bool enabled = true;
  double shadow_sample_rate_trusted = 0.05;
  std::int64_t sandbox_promotion_min_runs = 20;
  double sandbox_promotion_validity_rate = 0.90;
  std::int64_t shadow_primary_promotion_min_runs = 100;
  double shadow_primary_promotion_agreement_rate = 0.85;
  double shadow_primary_promotion_max_failure_rate = 0.10;
  std::int64_t baseline_reset_window = 100;
  std::int64_t degradation_rolling_window = 30;
  double degradation_ci_confidence = 0.95;
  double degradation_agreement_threshold = 0.5;
  std::int64_t correction_cluster_window_runs = 10;
  std::int64_t correction_cluster_threshold = 2;
  std::int64_t auto_draft_daily_cap = 50;
  double auto_draft_min_expected_savings_usd = 5.0;
  double auto_draft_fixture_pass_rate = 0.80;
  double auto_draft_estimated_cost_usd = 0.50;
  std::vector<std::string> candidate_excluded_task_types = {
      "skill_evolution",   "skill_auto_draft",     "skill_equivalence_judge",
      "external_llm_call", "escalation_lifecycle", "tool_gap_lifecycle"};
  std::int64_t evolution_min_divergence_cases = 15;
  std::int64_t evolution_max_divergence_cases = 30;
  double evolution_targeted_case_pass_rate = 0.80;
  double evolution_fixture_regression_pass_rate = 0.95;
  std::int64_t evolution_recent_success_count = 20;
  std::int64_t evolution_recent_success_window_days = 30;
  std::int64_t evolution_max_consecutive_failures = 2;
  double evolution_estimated_cost_usd = 0.75;
  std::int64_t evolution_daily_cap = 10;
  bool evolution_require_gate_evidence = false;
  std::int64_t nightly_run_hour_utc = 3;
  std::string nightly_timezone = "UTC";
  double daily_pause_threshold_usd = 20.0;
  double monthly_budget_usd = 100.0;
  std::vector<std::string> budget_excluded_task_types = {
      "external_llm_call", "escalation_lifecycle", "tool_gap_lifecycle"};
  // Automations
  bool automations_enabled = true;
  std::int64_t automation_poll_interval_seconds = 15;
  std::int64_t automation_min_interval_default_seconds = 300;
  std::int64_t automation_failure_pause_threshold = 5;
  double automation_max_cost_per_run_default_usd = 2.0;
  std::int64_t automation_max_concurrent_runs = 8;
  std::vector<std::string> automation_default_alert_channels = {"log"};
  // Lessons
  bool lessons_enabled = true;
  std::int64_t lessons_query_limit_default = 100;
  std::int64_t lessons_dedup_window_s = 3600;
  // Server
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "data";
  std::int64_t http_threads = 0;
  std::int64_t http_max_body_bytes = 1048576;
  std::int64_t http_max_header_bytes = 16384;
  std::int64_t http_read_timeout_seconds = 30;
  std::int64_t http_keepalive_timeout_seconds = 60;
  std::int64_t min_position_wait_ms = 2000;
  std::int64_t sse_heartbeat_seconds = 15;
  std::int64_t sse_max_clients = 64;
  std::int64_t clock_skew_tolerance_seconds = 300;
  std::int64_t writer_max_batch = 512;
  std::string log_level = "info";
  std::string log_format = "text";
  // Auth
  std::vector<TokenConfig> tokens;
  // Executors and notifier
  std::map<std::string, ExecutorConfig> executors;
  std::int64_t executor_timeout_seconds = 60;
  std::vector<std::string> http_check_allowed_hosts = {"127.0.0.1", "::1", "localhost"};
  std::int64_t http_check_timeout_seconds = 10;
  std::optional<std::string> notifier_url;
  std::int64_t notifier_timeout_seconds = 10;
  std::map<std::string, std::string> notifier_headers;
  std::string notifier_system_channel = "system";
};

}  // namespace annals

// Candidates and the detector (SPEC §2.17): claude-native registrations, dismissal, and the
// detector's arithmetic over a window of the ledger (volume, spend, exact savings, the variance of
// output shapes). Pure.
#pragma once

#include <expected>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "domain/problem.h"
#include "domain/time.h"

namespace annals::candidate {

struct PendingDraft {
  std::string work_id, triggered_by;
  std::optional<std::string> nightly_run_id;
  Micros scheduled_at = 0;
};

struct Candidate {
  std::string id;
  std::optional<std::string> capability_name;
  std::int64_t expected_savings_micro_usd = 0, volume_30d = 0;
  std::optional<double> variance_score;
  std::string status = "new";  // new | drafted | dismissed | stale | claude_native_registered
  Micros reported_at = 0;
  std::optional<Micros> resolved_at;
  std::optional<std::string> reasoning, pattern_fingerprint;
  std::optional<PendingDraft> draft_work;  // pending draft work (SPEC §2.18)
  std::optional<std::string> skill_id;     // once drafted
};

struct Reported {
  std::string candidate_id;
  std::optional<std::string> capability_name;
  std::string status;
  std::int64_t expected_savings_micro_usd = 0, volume_30d = 0;
  std::optional<double> variance_score;
  std::optional<std::string> pattern_fingerprint, reasoning;
  std::optional<Micros> window_start;
};
struct StatusChanged {
  std::string candidate_id, from_status, to_status;
  std::optional<std::string> reason, reasoning;
};

struct DraftScheduled {
  std::string work_id, candidate_id, triggered_by;
  std::optional<std::string> nightly_run_id;
  std::int64_t estimated_cost_micro_usd = 0;
};
struct FixtureResult {
  std::string case_name, status;
};
struct DraftAttempted {
  std::string candidate_id;
  std::optional<std::string> work_id;
  std::string outcome, rationale;  // drafted | dismissed | malformed_output
  std::optional<double> pass_rate;
  std::vector<FixtureResult> fixture_results;
  std::optional<std::string> skill_id, version_id, claude_invocation_id;
  std::int64_t cost_micro_usd = 0;
  std::optional<std::int64_t> latency_ms;
};

// lowercase, whitespace runs collapsed to one space, trimmed; SHA-256; the first 32 hex digits.
std::string fingerprint(std::string_view message);
bool is_fingerprint(const std::string& s);

// The shape of an invocation output (a string is parsed as JSON first).
std::string shape_of(const nlohmann::json& output);
// max(0, 1 − distinct shapes / outputs); 0.0 without outputs.
double variance_score(const std::vector<std::string>& shapes);

// Per task type over the window.
struct TypeStats {
  std::int64_t volume = 0, spend_micro_usd = 0;
  std::vector<std::string> shapes;  // of outputs that are not null
};
// 85 × spend ≥ 100 × min_savings (exact); savings = round_half_even(85 × spend / 100).
bool qualifies(std::int64_t spend_micro_usd, std::int64_t min_savings_micro_usd);
std::int64_t expected_savings(std::int64_t spend_micro_usd);

void apply(std::map<std::string, Candidate>& by_id, const Reported& r, Micros recorded_at);
void apply(std::map<std::string, Candidate>& by_id, const StatusChanged& c, Micros recorded_at);
void apply(std::map<std::string, Candidate>& by_id, const DraftScheduled& d, Micros recorded_at);
void apply(std::map<std::string, Candidate>& by_id, const DraftAttempted& d, Micros recorded_at);

std::string render(const Candidate& c);

}  // namespace annals::candidate

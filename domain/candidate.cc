#include "domain/candidate.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "domain/json_text.h"

namespace annals::candidate {

using nlohmann::json;

std::string fingerprint(std::string_view message) {
  std::string norm;
  bool space = false;
  for (unsigned char ch : message) {
    if (std::isspace(ch)) {
      space = true;
      continue;
    }
    if (space && !norm.empty()) norm.push_back(' ');
    space = false;
    norm.push_back(static_cast<char>(std::tolower(ch)));
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(norm.data()), norm.size(), digest);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    out.push_back(hex[digest[i] >> 4]);
    out.push_back(hex[digest[i] & 15]);
  }
  return out;
}

bool is_fingerprint(const std::string& s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string shape_of(const json& output) {
  if (output.is_string()) {
    const auto parsed = json::parse(output.get<std::string>(), nullptr, false);
    if (parsed.is_discarded()) return "unparseable";
    if (parsed.is_string()) return "str";
    return shape_of(parsed);
  }
  if (output.is_object()) {
    std::string keys = "{";
    for (const auto& [k, v] : output.items()) keys += k + ",";  // std::map: sorted
    return keys + "}";
  }
  if (output.is_array()) return "list";
  if (output.is_boolean()) return "bool";
  if (output.is_number_integer()) return "int";
  if (output.is_number_float()) return "float";
  return "null";
}

double variance_score(const std::vector<std::string>& shapes) {
  if (shapes.empty()) return 0.0;
  const std::set<std::string> distinct(shapes.begin(), shapes.end());
  return std::max(0.0,
                  1.0 - static_cast<double>(distinct.size()) / static_cast<double>(shapes.size()));
}

bool qualifies(std::int64_t spend, std::int64_t min_savings) {
  return 85 * spend >= 100 * min_savings;
}

std::int64_t expected_savings(std::int64_t spend) {
  const std::int64_t num = 85 * spend;
  std::int64_t q = num / 100;
  const std::int64_t rem = num % 100;
  if (rem > 50 || (rem == 50 && q % 2 == 1)) ++q;
  return q;
}

void apply(std::map<std::string, Candidate>& by_id, const Reported& r, Micros at) {
  Candidate c;
  c.id = r.candidate_id;
  c.capability_name = r.capability_name;
  c.expected_savings_micro_usd = r.expected_savings_micro_usd;
  c.volume_30d = r.volume_30d;
  c.variance_score = r.variance_score;
  c.status = r.status;
  c.reported_at = at;
  if (r.status == "claude_native_registered") c.resolved_at = at;
  c.reasoning = r.reasoning;
  c.pattern_fingerprint = r.pattern_fingerprint;
  by_id[c.id] = std::move(c);
}

void apply(std::map<std::string, Candidate>& by_id, const StatusChanged& s, Micros at) {
  auto it = by_id.find(s.candidate_id);
  if (it == by_id.end()) return;
  it->second.status = s.to_status;
  it->second.resolved_at = at;
  if (s.reasoning) it->second.reasoning = s.reasoning;
  if (s.to_status != "new") it->second.draft_work.reset();  // dismissing ends pending work
}

void apply(std::map<std::string, Candidate>& by_id, const DraftScheduled& d, Micros at) {
  auto it = by_id.find(d.candidate_id);
  if (it == by_id.end()) return;
  it->second.draft_work = PendingDraft{d.work_id, d.triggered_by, d.nightly_run_id, at};
}

void apply(std::map<std::string, Candidate>& by_id, const DraftAttempted& d, Micros) {
  auto it = by_id.find(d.candidate_id);
  if (it == by_id.end()) return;
  it->second.draft_work.reset();
  if (d.skill_id) it->second.skill_id = d.skill_id;
}

std::string render(const Candidate& c) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("id").value(c.id);
  w.key("capability_name").value(c.capability_name);
  w.key("expected_savings_usd").usd(c.expected_savings_micro_usd);
  w.key("volume_30d").value(c.volume_30d);
  w.key("variance_score");
  if (c.variance_score) {
    w.value(*c.variance_score);
  } else {
    w.null();
  }
  w.key("status").value(c.status);
  w.key("reported_at").instant(c.reported_at);
  w.key("resolved_at").instant(c.resolved_at);
  w.key("reasoning").value(c.reasoning);
  w.key("pattern_fingerprint").value(c.pattern_fingerprint);
  w.key("draft_work");
  if (c.draft_work) {
    w.begin_object();
    w.key("work_id").value(c.draft_work->work_id);
    w.key("scheduled_at").instant(c.draft_work->scheduled_at);
    w.key("triggered_by").value(c.draft_work->triggered_by);
    w.end_object();
  } else {
    w.null();
  }
  w.key("skill_id").value(c.skill_id);
  w.end_object();
  return out;
}

}  // namespace annals::candidate

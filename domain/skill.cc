#include "domain/skill.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include "domain/json_text.h"

namespace annals::skill {

namespace {

using nlohmann::json;

const std::set<std::string> kStates = {
    "claude_native", "skill_candidate",    "draft",   "sandbox", "shadow_primary",
    "trusted",       "flagged_for_review", "degraded"};
const std::set<std::string> kReasons = {"gate_passed", "human_approval", "degradation",
                                        "evolution_failed", "manual_override"};
const std::set<std::string> kPromotions = {"sandbox", "shadow_primary", "trusted"};

const TransitionRow* find_row(const std::string& from, const std::string& to) {
  for (const auto& r : transition_table()) {
    if (r.from == from && r.to == to) return &r;
  }
  return nullptr;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string number(double v) {
  std::string out;
  append_json_double(out, v);
  return out;
}

// A mean without the drift of naive double summation (100 × 0.9 averages to 0.9).
double mean(const std::vector<double>& xs) {
  long double sum = 0;
  for (double x : xs) sum += x;
  return static_cast<double>(sum / static_cast<long double>(xs.size()));
}

StateChanged gate_transition(const Skill& s, const std::string& to, const std::string& id,
                             std::string notes) {
  StateChanged c;
  c.transition_id = id;
  c.from_state = s.state;
  c.to_state = to;
  c.reason = "gate_passed";
  c.notes = std::move(notes);
  return c;
}

// A passed automatic promotion: a transition, or a held promotion when the human gate blocks it
// (once per current version and target state).
PolicyOutcome promote_or_hold(const Skill& s, const std::string& to, const std::string& id,
                              const std::string& metrics) {
  PolicyOutcome out;
  if (human_gate_blocks(s, "system", to)) {
    if (s.held && s.held->to_state == to && s.held->version_id == *s.current_version_id) {
      return out;
    }
    out.held = PromotionHeld{to, *s.current_version_id, metrics};
    return out;
  }
  out.transition = gate_transition(s, to, id, metrics);
  return out;
}

}  // namespace

bool is_state(const std::string& s) { return kStates.contains(s); }
bool is_reason(const std::string& r) { return kReasons.contains(r); }

const std::vector<TransitionRow>& transition_table() {
  static const std::vector<TransitionRow> table = [] {
    std::vector<TransitionRow> rows = {
        {"claude_native", "skill_candidate", {"gate_passed"}},
        {"skill_candidate", "draft", {"gate_passed"}},
        {"draft", "sandbox", {"human_approval"}},
        {"sandbox", "shadow_primary", {"gate_passed", "human_approval"}},
        {"shadow_primary", "trusted", {"gate_passed", "human_approval"}},
        {"shadow_primary", "flagged_for_review", {"degradation"}},
        {"trusted", "flagged_for_review", {"degradation"}},
        {"flagged_for_review", "trusted", {"human_approval"}},
        {"flagged_for_review", "degraded", {"human_approval"}},
        {"degraded", "draft", {"gate_passed"}},
        {"degraded", "claude_native", {"evolution_failed"}},
    };
    // manual_override on every explicit pair and on S → claude_native for every state S.
    for (auto& r : rows) r.reasons.push_back("manual_override");
    for (const auto& s : kStates) {
      if (s == "degraded") continue;  // merged into the explicit degraded row
      rows.push_back({s, "claude_native", {"manual_override"}});
    }
    for (auto& r : rows) std::sort(r.reasons.begin(), r.reasons.end());
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
      return std::tie(a.from, a.to) < std::tie(b.from, b.to);
    });
    return rows;
  }();
  return table;
}

std::string stream_name(const std::string& id) { return "skill-" + id; }

double shadow_sample_rate(const Skill& s, double trusted_rate) {
  if (s.state == "shadow_primary") return 1.0;
  if (s.state == "trusted") return trusted_rate;
  return 0.0;
}

bool invalidates_run(std::string_view validation_status) {
  return validation_status == "continued" || validation_status == "step_failed" ||
         validation_status == "skill_failed";
}

bool is_valid_run(const RunRecorded& r) {
  if (r.status != "succeeded") return false;
  return std::none_of(r.step_results.begin(), r.step_results.end(), [](const StepResult& s) {
    return s.validation_status && invalidates_run(*s.validation_status);
  });
}

void add_run(Skill& s, std::string run_id, RunFacts facts) {
  s.run_order.push_back(run_id);
  s.runs[std::move(run_id)] = std::move(facts);
}

void evolve(std::optional<Skill>& s, const Event& e, Micros recorded_at) {
  if (const auto* r = std::get_if<Registered>(&e)) {
    s = Skill{};
    s->id = r->skill_id;
    s->capability_name = r->capability_name;
    s->state = r->state;
    s->requires_human_gate = r->requires_human_gate;
    s->created_at = s->updated_at = recorded_at;
    return;
  }
  if (!s) return;
  if (const auto* v = std::get_if<VersionAdded>(&e)) {
    s->versions.push_back({v->version_id, v->version_number, v->yaml_backbone, v->step_content,
                           v->output_schemas, v->created_by, v->changelog, recorded_at});
    if (v->becomes_current) {
      s->current_version_id = v->version_id;
      s->held.reset();
      s->updated_at = recorded_at;
    }
    if (v->baseline_cleared) {
      s->baseline_agreement.reset();
      s->updated_at = recorded_at;
    }
  } else if (const auto* c = std::get_if<StateChanged>(&e)) {
    s->state = c->to_state;
    if (s->state != "degraded") s->pending_evolution.reset();
    if (c->baseline_agreement) s->baseline_agreement = c->baseline_agreement;
    s->held.reset();
    s->updated_at = recorded_at;
  } else if (const auto* f = std::get_if<FlagChanged>(&e)) {
    s->requires_human_gate = f->value;
    s->updated_at = recorded_at;
  } else if (const auto* h = std::get_if<PromotionHeld>(&e)) {
    s->held = Held{h->to_state, h->version_id, h->metrics, recorded_at};
  } else if (const auto* run = std::get_if<RunRecorded>(&e)) {
    add_run(*s, run->run_id,
            RunFacts{run->skill_version_id, run->status, is_valid_run(*run), run->started_at});
  } else if (const auto* d = std::get_if<DivergenceRecorded>(&e)) {
    s->divergences.push_back({d->run_id, d->overall_agreement});
  } else if (const auto* fx = std::get_if<FixtureAdded>(&e)) {
    s->fixtures.push_back(fx->fixture_id);
  } else if (const auto* a = std::get_if<EvolutionAttempted>(&e)) {
    s->attempt_outcomes.push_back(a->outcome);
    s->pending_evolution.reset();  // any posted attempt ends the pending work
  } else if (const auto* w = std::get_if<EvolutionScheduled>(&e)) {
    s->pending_evolution = PendingWork{w->work_id, w->triggered_by, w->nightly_run_id, recorded_at};
  }
}

std::optional<std::string> structural_check(const std::string& yaml_backbone,
                                            const json& step_content, const json& output_schemas) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_backbone);
  } catch (const YAML::Exception& e) {
    return "yaml did not parse: " + e.msg;
  }
  if (!root.IsMap()) return "yaml top level is not a mapping";
  const YAML::Node steps = root["steps"];
  if (steps && !steps.IsNull() && !steps.IsSequence()) return "steps is not a list";
  if (steps && steps.IsSequence()) {
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const YAML::Node step = steps[i];
      std::string name;
      if (step.IsMap() && step["name"] && step["name"].IsScalar()) name = step["name"].Scalar();
      if (name.empty()) return "step " + std::to_string(i) + " has no name";
      std::string kind = "llm";
      if (step["kind"] && step["kind"].IsScalar()) kind = step["kind"].Scalar();
      if (kind == "llm") {
        if (!step_content.is_object() || !step_content.contains(name)) {
          return "missing step_content for step '" + name + "'";
        }
        if (!output_schemas.is_object() || !output_schemas.contains(name)) {
          return "missing output_schema for step '" + name + "'";
        }
      }
    }
  }
  static const std::set<std::string> kTypes = {"array",  "boolean", "integer", "null",
                                               "number", "object",  "string"};
  if (output_schemas.is_object()) {
    for (const auto& [k, v] : output_schemas.items()) {
      if (!v.is_object()) return "output_schema '" + k + "' is not an object";
      if (!v.contains("type")) continue;
      const json& t = v.at("type");
      bool ok = t.is_string() && kTypes.contains(t.get<std::string>());
      if (t.is_array() && !t.empty()) {
        ok = std::all_of(t.begin(), t.end(), [](const json& x) {
          return x.is_string() && kTypes.contains(x.get<std::string>());
        });
      }
      if (!ok) return "output_schema '" + k + "' has invalid type";
    }
  }
  return std::nullopt;
}

std::int64_t step_count(const std::string& yaml_backbone) {
  try {
    const YAML::Node root = YAML::Load(yaml_backbone);
    const YAML::Node steps = root["steps"];
    return steps && steps.IsSequence() ? static_cast<std::int64_t>(steps.size()) : 0;
  } catch (const YAML::Exception&) {
    return 0;
  }
}

std::pair<double, double> wilson(std::int64_t successes, std::int64_t trials, double confidence) {
  if (trials <= 0) return {0.0, 1.0};
  double z = 1.96;
  if (confidence == 0.90) z = 1.645;
  if (confidence == 0.99) z = 2.576;
  const double t = static_cast<double>(trials);
  const double p = static_cast<double>(successes) / t;
  const double denom = 1 + z * z / t;
  const double centre = p + z * z / (2 * t);
  const double margin = z * std::sqrt((p * (1 - p) + z * z / (4 * t)) / t);
  return {std::max(0.0, (centre - margin) / denom), std::min(1.0, (centre + margin) / denom)};
}

bool human_gate_blocks(const Skill& s, const std::string& actor, const std::string& to_state) {
  return s.requires_human_gate && actor == "system" && kPromotions.contains(to_state);
}

std::expected<StateChanged, Problem> decide_transition(const Skill& s, const TransitionRequest& r,
                                                       const std::string& transition_id,
                                                       std::optional<double> human_baseline) {
  auto conflict = [](std::string detail) {
    return std::unexpected(Problem::make(ProblemKind::kIllegalTransition, std::move(detail)));
  };
  if (r.to_state == s.state) {
    return conflict("Self-loop transition not allowed: '" + s.state + "' → '" + r.to_state + "'");
  }
  const TransitionRow* row = find_row(s.state, r.to_state);
  if (row == nullptr) {
    return conflict("Transition '" + s.state + "' → '" + r.to_state + "' is not permitted.");
  }
  if (std::find(row->reasons.begin(), row->reasons.end(), r.reason) == row->reasons.end()) {
    return conflict("Reason '" + r.reason + "' is not allowed for '" + s.state + "' → '" +
                    r.to_state + "'; allowed: " + join(row->reasons));
  }
  if (r.reason == "human_approval" && r.actor == "system") {
    return conflict("human_approval requires a non-system actor");
  }
  if (human_gate_blocks(s, r.actor, r.to_state)) {
    return std::unexpected(Problem::make(
        ProblemKind::kHumanGateRequired,
        "The human gate requires a human to move skill " + s.id + " to '" + r.to_state + "'."));
  }
  StateChanged c;
  c.transition_id = transition_id;
  c.from_state = s.state;
  c.to_state = r.to_state;
  c.reason = r.reason;
  c.actor_id = r.actor_id;
  c.notes = r.notes;
  if (r.to_state == "trusted" && r.reason == "human_approval")
    c.baseline_agreement = human_baseline;
  return c;
}

std::optional<double> recent_mean_agreement(const Skill& s, std::int64_t window) {
  std::vector<double> xs;
  for (auto it = s.divergences.rbegin();
       it != s.divergences.rend() && static_cast<std::int64_t>(xs.size()) < window; ++it) {
    xs.push_back(it->agreement);
  }
  if (xs.empty()) return std::nullopt;
  return mean(xs);
}

PolicyOutcome sandbox_gate(const Skill& s, const Knobs& k, const std::string& transition_id) {
  if (s.state != "sandbox" || !s.current_version_id) return {};
  std::int64_t examined = 0, valid = 0;
  for (auto it = s.run_order.rbegin(); it != s.run_order.rend() && examined < k.sandbox_min_runs;
       ++it) {
    const RunFacts& r = s.runs.at(*it);
    if (r.version_id != *s.current_version_id) continue;
    ++examined;
    if (r.valid) ++valid;
  }
  if (examined < k.sandbox_min_runs || examined == 0) return {};
  const double rate = static_cast<double>(valid) / static_cast<double>(examined);
  if (rate < k.sandbox_validity_rate) return {};
  const std::string metrics = R"({"validity_rate":)" + number(rate) + R"(,"runs_examined":)" +
                              std::to_string(examined) + "}";
  return promote_or_hold(s, "shadow_primary", transition_id, metrics);
}

PolicyOutcome shadow_gate(const Skill& s, const Knobs& k, const std::string& transition_id) {
  if (s.state != "shadow_primary" || !s.current_version_id) return {};
  std::vector<double> agreements;
  std::int64_t failed = 0;
  for (auto it = s.divergences.rbegin();
       it != s.divergences.rend() &&
       static_cast<std::int64_t>(agreements.size()) < k.shadow_min_runs;
       ++it) {
    auto run = s.runs.find(it->run_id);
    if (run == s.runs.end() || run->second.version_id != *s.current_version_id) continue;
    agreements.push_back(it->agreement);
    if (run->second.status != "succeeded") ++failed;
  }
  const auto m = static_cast<std::int64_t>(agreements.size());
  if (m < k.shadow_min_runs || m == 0) return {};
  if (static_cast<double>(failed) / static_cast<double>(m) > k.shadow_max_failure_rate) return {};
  const double mean_agreement = mean(agreements);
  if (mean_agreement < k.shadow_agreement_rate) return {};
  const std::string metrics = R"({"mean_agreement":)" + number(mean_agreement) +
                              R"(,"runs_examined":)" + std::to_string(m) + "}";
  PolicyOutcome out = promote_or_hold(s, "trusted", transition_id, metrics);
  if (out.transition) out.transition->baseline_agreement = mean_agreement;
  return out;
}

Degradation detect_degradation(const Skill& s, const Knobs& k, const std::string& transition_id) {
  Degradation d;
  d.baseline = s.baseline_agreement;
  std::vector<double> window;
  for (auto it = s.divergences.rbegin();
       it != s.divergences.rend() &&
       static_cast<std::int64_t>(window.size()) < k.degradation_window;
       ++it) {
    window.push_back(it->agreement);
  }
  if (static_cast<std::int64_t>(window.size()) < k.degradation_window) {
    d.outcome = "insufficient_data";
    d.trials = static_cast<std::int64_t>(window.size());
    return d;
  }
  d.trials = static_cast<std::int64_t>(window.size());
  d.successes = std::count_if(window.begin(), window.end(),
                              [&](double a) { return a >= k.degradation_threshold; });
  std::tie(d.lower, d.upper) = wilson(d.successes, d.trials, k.degradation_confidence);
  if (!s.baseline_agreement) {
    d.outcome = "insufficient_data";
    return d;
  }
  if (d.upper < *s.baseline_agreement) {
    d.outcome = "flagged";
    StateChanged c;
    c.transition_id = transition_id;
    c.from_state = s.state;
    c.to_state = "flagged_for_review";
    c.reason = "degradation";
    c.notes = R"({"current_successes":)" + std::to_string(d.successes) + R"(,"current_trials":)" +
              std::to_string(d.trials) + R"(,"current_ci_lower":)" + number(d.lower) +
              R"(,"current_ci_upper":)" + number(d.upper) + R"(,"baseline_agreement":)" +
              number(*s.baseline_agreement) + "}";
    d.transition = std::move(c);
    return d;
  }
  d.outcome = "no_degradation";
  return d;
}

std::optional<Version> version_from_json(const json& j) {
  try {
    Version v;
    v.id = j.at("id").get<std::string>();
    v.version_number = j.at("version_number").get<std::int64_t>();
    v.yaml_backbone = j.at("yaml_backbone").get<std::string>();
    v.step_content = j.at("step_content").dump();
    v.output_schemas = j.at("output_schemas").dump();
    v.created_by = j.at("created_by").get<std::string>();
    if (!j.at("changelog").is_null()) v.changelog = j.at("changelog").get<std::string>();
    v.created_at = parse_instant(j.at("created_at").get<std::string>()).value_or(0);
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<Skill> skill_from_json(std::string_view text) {
  try {
    const json j = json::parse(text);
    Skill s;
    s.id = j.at("id").get<std::string>();
    s.capability_name = j.at("capability_name").get<std::string>();
    s.state = j.at("state").get<std::string>();
    s.requires_human_gate = j.at("requires_human_gate").get<bool>();
    if (!j.at("baseline_agreement").is_null()) {
      s.baseline_agreement = j.at("baseline_agreement").get<double>();
    }
    if (!j.at("current_version_id").is_null()) {
      s.current_version_id = j.at("current_version_id").get<std::string>();
    }
    s.created_at = parse_instant(j.at("created_at").get<std::string>()).value_or(0);
    s.updated_at = parse_instant(j.at("updated_at").get<std::string>()).value_or(0);
    if (!j.at("current_version").is_null()) {
      auto v = version_from_json(j.at("current_version"));
      if (!v) return std::nullopt;
      s.versions.push_back(std::move(*v));
    }
    if (const json& p = j.at("evolution_pending"); !p.is_null()) {
      s.pending_evolution = PendingWork{
          p.at("work_id").get<std::string>(), p.at("triggered_by").get<std::string>(), std::nullopt,
          parse_instant(p.at("scheduled_at").get<std::string>()).value_or(0)};
    }
    if (const json& h = j.at("promotion_held"); !h.is_null()) {
      s.held =
          Held{h.at("to_state").get<std::string>(), h.at("version_id").get<std::string>(),
               h.at("metrics").dump(), parse_instant(h.at("since").get<std::string>()).value_or(0)};
    }
    return s;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string render_correction(const CorrectionRecorded& c, Micros recorded_at) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("id").value(c.correction_id);
  w.key("task_type").value(c.task_type);
  w.key("user_id").value(c.user_id);
  w.key("task_id").value(c.task_id);
  w.key("input_text").value(c.input_text);
  w.key("field_corrected").value(c.field_corrected);
  w.key("original_value").value(c.original_value);
  w.key("corrected_value").value(c.corrected_value);
  w.key("rule_extracted").value(c.rule_extracted);
  w.key("timestamp").instant(c.timestamp);
  w.key("recorded_at").instant(recorded_at);
  w.end_object();
  return out;
}

std::optional<ClusterHit> correction_cluster(const Skill& s, const std::vector<Micros>& timestamps,
                                             std::int64_t window_runs, std::int64_t threshold,
                                             const std::string& transition_id) {
  if (s.state != "trusted" && s.state != "shadow_primary") return std::nullopt;
  std::int64_t window = 0;
  Micros oldest_at = 0;
  for (auto it = s.run_order.rbegin(); it != s.run_order.rend() && window < window_runs; ++it) {
    oldest_at = s.runs.at(*it).started_at;
    ++window;
  }
  if (window == 0) return std::nullopt;
  const auto count =
      std::count_if(timestamps.begin(), timestamps.end(), [&](Micros t) { return t >= oldest_at; });
  if (count < threshold) return std::nullopt;
  ClusterHit hit;
  hit.count = count;
  hit.window = window;
  hit.transition.transition_id = transition_id;
  hit.transition.from_state = s.state;
  hit.transition.to_state = "flagged_for_review";
  hit.transition.reason = "degradation";
  hit.transition.notes = "correction_cluster: " + std::to_string(count) +
                         " corrections over last " + std::to_string(window) + " runs";
  return hit;
}

nlohmann::ordered_json infer_schema(const nlohmann::ordered_json& v) {
  using oj = nlohmann::ordered_json;
  if (v.is_object()) {
    oj properties = oj::object(), required = oj::array();
    for (const auto& [k, x] : v.items()) {
      properties[k] = infer_schema(x);
      required.push_back(k);
    }
    return oj{{"type", "object"}, {"properties", properties}, {"required", required}};
  }
  if (v.is_array()) {
    if (v.empty()) return oj{{"type", "array"}};
    return oj{{"type", "array"}, {"items", infer_schema(v.front())}};
  }
  if (v.is_string()) return oj{{"type", "string"}};
  if (v.is_boolean()) return oj{{"type", "boolean"}};
  if (v.is_number()) return oj{{"type", "number"}};
  return oj{{"type", "null"}};
}

std::optional<json> tool_mocks_from_cache(const json& cache) {
  if (!cache.is_object()) return std::nullopt;
  static const std::map<std::string, std::vector<std::string>> kKept = {
      {"web_fetch", {"url"}},
      {"gmail_read", {"message_id"}},
      {"gmail_send", {"to", "subject", "body"}}};
  json mocks = json::object();
  for (const auto& [id, entry] : cache.items()) {
    if (!entry.is_object() || !entry.contains("tool") || !entry.contains("result") ||
        !entry.at("tool").is_string()) {
      continue;
    }
    const std::string tool = entry.at("tool").get<std::string>();
    json args = entry.contains("args") ? entry.at("args") : json::object();
    if (auto kept = kKept.find(tool); kept != kKept.end() && args.is_object()) {
      json reduced = json::object();
      for (const auto& k : kept->second) {
        if (args.contains(k)) reduced[k] = args.at(k);
      }
      args = std::move(reduced);
    }
    // Sorted keys (std::map), no whitespace, non-ASCII escaped as \uXXXX.
    mocks[tool + ":" + args.dump(-1, ' ', true, json::error_handler_t::replace)] =
        entry.at("result");
  }
  if (mocks.empty()) return std::nullopt;
  return mocks;
}

std::expected<FixtureAdded, Problem> capture_fixture(const RunRecorded& run,
                                                     const std::string& fixture_id) {
  if (run.status != "succeeded") {
    return std::unexpected(
        Problem::make(ProblemKind::kWrongState, "can only capture fixtures from succeeded runs"));
  }
  FixtureAdded f;
  f.fixture_id = fixture_id;
  f.case_name = "captured_from_" + run.run_id;
  f.input = run.inputs;
  if (run.final_output) {
    const auto out = nlohmann::ordered_json::parse(*run.final_output, nullptr, false);
    if (!out.is_discarded() && !out.is_null()) f.expected_output_shape = infer_schema(out).dump();
  }
  if (auto mocks = tool_mocks_from_cache(json::parse(run.tool_result_cache, nullptr, false))) {
    f.tool_mocks = mocks->dump(-1, ' ', false, json::error_handler_t::replace);
  }
  f.source = "captured_from_run";
  f.captured_run_id = run.run_id;
  return f;
}

std::string render_fixture(const FixtureAdded& f, const std::string& skill_id, Micros created_at) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("id").value(f.fixture_id);
  w.key("skill_id").value(skill_id);
  w.key("case_name").value(f.case_name);
  w.key("input").raw(f.input);
  w.key("expected_output_shape").raw_or_null(f.expected_output_shape);
  w.key("tool_mocks").raw_or_null(f.tool_mocks);
  w.key("source").value(f.source);
  w.key("captured_run_id").value(f.captured_run_id);
  w.key("created_at").instant(created_at);
  w.end_object();
  return out;
}

ScheduleOutcome decide_schedule_evolution(const Skill& s, std::int64_t min_divergence_cases,
                                          std::int64_t remaining_micro_usd,
                                          std::int64_t estimate_micro_usd,
                                          const std::string& work_id,
                                          const std::optional<std::string>& nightly_run_id) {
  ScheduleOutcome out;
  if (!s.current_version_id) {
    out.skipped = "no_current_version";
  } else if (static_cast<std::int64_t>(s.divergences.size()) < min_divergence_cases) {
    out.skipped = "insufficient_divergence";
  } else if (s.pending_evolution) {
    out.pending = true;
  } else if (remaining_micro_usd < estimate_micro_usd) {
    out.out_of_budget = true;
  } else {
    out.scheduled = EvolutionScheduled{work_id, nightly_run_id ? "nightly" : "manual",
                                       nightly_run_id, estimate_micro_usd};
  }
  return out;
}

std::vector<std::string> recent_success_cases(const Skill& s, const EvolutionKnobs& k, Micros now) {
  const Micros since = now - k.recent_success_window_days * 86'400 * kMicrosPerSecond;
  // Latest first: started_at descending, then the most recently recorded (as the read model lists).
  std::vector<std::pair<Micros, std::string>> runs;
  for (auto it = s.run_order.rbegin(); it != s.run_order.rend(); ++it) {
    const auto& r = s.runs.at(*it);
    if (r.status == "succeeded" && r.started_at >= since) runs.emplace_back(r.started_at, *it);
  }
  std::stable_sort(runs.begin(), runs.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (const auto& [at, id] : runs) {
    if (static_cast<std::int64_t>(out.size()) >= k.recent_success_count) break;
    out.push_back(id);
  }
  return out;
}

namespace {

// One evidence gate over `cases` (SPEC §2.19.4): the details and whether it passed.
std::pair<json, bool> evidence_gate(const std::vector<std::string>& cases, const json& evidence,
                                    const char* id_key, double threshold, bool all_required,
                                    bool require_evidence,
                                    const std::function<bool(const std::string&)>& eligible) {
  if (cases.empty()) {
    const bool passed = !require_evidence;
    return {json{{"passed", passed},
                 {"pass_rate", require_evidence ? 0.0 : 1.0},
                 {"total", 0},
                 {"reason", "no_evidence"}},
            passed};
  }
  std::set<std::string> succeeded;
  if (evidence.is_array()) {
    for (const auto& e : evidence) {
      if (e.is_object() && e.contains(id_key) && e.at(id_key).is_string() && e.contains("status") &&
          e.at("status") == "succeeded") {
        succeeded.insert(e.at(id_key).get<std::string>());
      }
    }
  }
  std::int64_t passed_cases = 0;
  for (const auto& c : cases) {
    if (eligible(c) && succeeded.contains(c)) ++passed_cases;
  }
  const double rate = static_cast<double>(passed_cases) / static_cast<double>(cases.size());
  const bool passed =
      all_required ? passed_cases == static_cast<std::int64_t>(cases.size()) : rate >= threshold;
  return {json{{"passed", passed},
               {"pass_rate", rate},
               {"total", static_cast<std::int64_t>(cases.size())},
               {"passed_cases", passed_cases}},
          passed};
}

}  // namespace

std::expected<AttemptDecision, Problem> decide_attempt(const Skill& s, const AttemptRequest& r,
                                                       const EvolutionKnobs& k, Micros now,
                                                       const std::string& attempt_id,
                                                       const std::string& version_id,
                                                       const std::string& transition_id) {
  if (s.state != "degraded") {
    return std::unexpected(Problem::make(ProblemKind::kWrongState,
                                         "skill state is '" + s.state + "', not 'degraded'"));
  }
  if (!s.current_version_id) {
    return std::unexpected(Problem::make(ProblemKind::kWrongState, "skill has no current version"));
  }
  const auto n = static_cast<std::int64_t>(s.divergences.size());
  if (n < k.min_divergence_cases) {
    return std::unexpected(Problem::make(ProblemKind::kInsufficientData,
                                         "insufficient divergence data: " + std::to_string(n) +
                                             " < " + std::to_string(k.min_divergence_cases)));
  }
  AttemptDecision d;
  auto& a = d.attempt;
  a.attempt_id = attempt_id;
  a.from_version_id = *s.current_version_id;
  a.triggered_by = r.triggered_by;
  a.claude_invocation_id = r.claude_invocation_id;
  a.cost_micro_usd = r.cost_micro_usd;
  a.latency_ms = r.latency_ms;
  if (r.malformed) {
    a.validation_results = R"({"malformed_output":true})";
    a.outcome = "rejected_validation";
    a.rationale = "malformed llm output";
    d.failed_gate = "malformed_output";
  } else {
    a.diagnosis = r.diagnosis;
    a.targeted_case_ids = r.targeted_failure_cases;
    a.evidence = r.evidence.dump();
    json results = json::object();
    auto fail = [&](const char* gate, std::string rationale) {
      a.outcome = "rejected_validation";
      a.rationale = std::move(rationale);
      d.failed_gate = gate;
    };
    if (auto why = structural_check(r.yaml_backbone, r.step_content, r.output_schemas)) {
      results["structural"] = {{"passed", false}, {"reason", *why}};
      fail("structural", "structural gate failed: " + *why);
    } else {
      results["structural"] = {
          {"passed", true}, {"yaml_parsed", true}, {"step_count", step_count(r.yaml_backbone)}};
      auto get = [&](const char* key) {
        return r.evidence.is_object() && r.evidence.contains(key) ? r.evidence.at(key)
                                                                  : json::array();
      };
      auto [targeted, t_ok] = evidence_gate(
          r.targeted_failure_cases, get("targeted"), "run_id", k.targeted_pass_rate, false,
          k.require_gate_evidence, [&](const std::string& id) { return s.runs.contains(id); });
      results["targeted"] = targeted;
      if (!t_ok) {
        fail("targeted", "targeted case gate failed");
      } else {
        auto [fixtures, f_ok] =
            evidence_gate(s.fixtures, get("fixture_regression"), "fixture_id", k.fixture_pass_rate,
                          false, k.require_gate_evidence, [](const std::string&) { return true; });
        results["fixture_regression"] = fixtures;
        if (!f_ok) {
          fail("fixture_regression", "fixture regression gate failed");
        } else {
          auto [recent, r_ok] =
              evidence_gate(recent_success_cases(s, k, now), get("recent_success"), "run_id", 1.0,
                            true, k.require_gate_evidence, [](const std::string&) { return true; });
          results["recent_success"] = recent;
          if (!r_ok) fail("recent_success", "recent success gate failed");
        }
      }
    }
    a.validation_results = results.dump();
    if (!d.failed_gate) {
      a.outcome = "success";
      a.rationale = "all 4 gates passed";
      a.to_version_id = version_id;
      std::int64_t max_number = 0;
      for (const auto& v : s.versions) max_number = std::max(max_number, v.version_number);
      VersionAdded v;
      v.version_id = version_id;
      v.version_number = max_number + 1;
      v.yaml_backbone = r.yaml_backbone;
      v.step_content = r.step_content.dump();
      v.output_schemas = r.output_schemas.dump();
      v.created_by = "claude_evolution";
      v.changelog = r.changelog;
      v.becomes_current = true;
      v.baseline_cleared = true;
      d.version = std::move(v);
      StateChanged c;
      c.transition_id = transition_id;
      c.from_state = "degraded";
      c.to_state = "draft";
      c.reason = "gate_passed";
      c.notes = "evolution " + version_id;
      d.transition = std::move(c);
      return d;
    }
  }
  // The consecutive-failure rule: the latest N attempts (this one included) all rejected.
  const auto max = k.max_consecutive_failures;
  std::vector<std::string> outcomes = s.attempt_outcomes;
  outcomes.push_back(a.outcome);
  if (max > 0 && static_cast<std::int64_t>(outcomes.size()) >= max &&
      std::all_of(outcomes.end() - max, outcomes.end(),
                  [](const std::string& o) { return o == "rejected_validation"; })) {
    StateChanged c;
    c.transition_id = transition_id;
    c.from_state = "degraded";
    c.to_state = "claude_native";
    c.reason = "evolution_failed";
    c.notes = std::to_string(max) + " consecutive rejected evolution attempts";
    d.transition = std::move(c);
  }
  return d;
}

std::string render_attempt(const EvolutionAttempted& a, const std::string& skill_id, Micros at,
                           std::uint64_t position) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("id").value(a.attempt_id);
  w.key("skill_id").value(skill_id);
  w.key("work_id").value(a.work_id);
  w.key("from_version_id").value(a.from_version_id);
  w.key("to_version_id").value(a.to_version_id);
  w.key("triggered_by").value(a.triggered_by);
  w.key("claude_invocation_id").value(a.claude_invocation_id);
  w.key("cost_usd").usd(a.cost_micro_usd);
  w.key("latency_ms");
  if (a.latency_ms) {
    w.value(*a.latency_ms);
  } else {
    w.null();
  }
  w.key("diagnosis").raw_or_null(a.diagnosis);
  w.key("targeted_case_ids");
  if (a.targeted_case_ids) {
    w.begin_array();
    for (const auto& id : *a.targeted_case_ids) w.value(id);
    w.end_array();
  } else {
    w.null();
  }
  w.key("validation_results").raw(a.validation_results);
  w.key("outcome").value(a.outcome);
  w.key("rationale").value(a.rationale);
  w.key("at").instant(at);
  w.key("position").value(position);
  w.end_object();
  return out;
}

std::string render_nightly(const std::string& run_id, const std::string& trigger, Micros started,
                           Micros finished, const std::string& report) {
  using oj = nlohmann::ordered_json;
  oj nr = {{"id", run_id},
           {"trigger", trigger},
           {"started_at", format_instant(started)},
           {"finished_at", format_instant(finished)}};
  const oj r = oj::parse(report, nullptr, false);
  if (r.is_object()) {
    for (const auto& [k, v] : r.items()) {
      if (k != "budget") {
        nr[k] = v;
        continue;
      }
      auto usd = [&](const char* key) {
        return v.contains(key) ? static_cast<double>(v.at(key).get<std::int64_t>()) / 1e6 : 0.0;
      };
      nr["budget"] = {{"daily_spend_usd", usd("daily_spend_micro_usd")},
                      {"remaining_at_start_usd", usd("remaining_at_start_micro_usd")},
                      {"remaining_at_end_usd", usd("remaining_at_end_micro_usd")},
                      {"paused", v.value("paused", false)}};
    }
  }
  return nr.dump(-1, ' ', false, oj::error_handler_t::replace);
}

double clamp_agreement(double submitted) { return std::clamp(submitted, 0.0, 1.0); }

std::string render_transition(const StateChanged& c, const std::string& skill_id,
                              const std::string& actor, Micros at, std::uint64_t position) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("id").value(c.transition_id);
  w.key("skill_id").value(skill_id);
  w.key("from_state").value(c.from_state);
  w.key("to_state").value(c.to_state);
  w.key("reason").value(c.reason);
  w.key("actor").value(actor);
  w.key("actor_id").value(c.actor_id);
  w.key("notes").value(c.notes);
  w.key("at").instant(at);
  w.key("position").value(position);
  w.end_object();
  return out;
}

std::string render_run(const RunRecorded& r, const std::string& skill_id, Micros recorded_at,
                       bool detail) {
  std::string out;
  JsonWriter w(out);
  auto opt_int = [&](const std::optional<std::int64_t>& v) {
    if (v) {
      w.value(*v);
    } else {
      w.null();
    }
  };
  w.begin_object();
  w.key("id").value(r.run_id);
  w.key("skill_id").value(skill_id);
  w.key("skill_version_id").value(r.skill_version_id);
  w.key("task_id").value(r.task_id);
  w.key("automation_run_id").value(r.automation_run_id);
  w.key("status").value(r.status);
  w.key("total_latency_ms");
  opt_int(r.total_latency_ms);
  w.key("total_cost_usd").usd(r.total_cost_micro_usd);
  w.key("error").value(r.error);
  w.key("escalation_reason").value(r.escalation_reason);
  w.key("user_id").value(r.user_id);
  w.key("started_at").instant(r.started_at);
  w.key("finished_at").instant(r.finished_at);
  w.key("recorded_at").instant(recorded_at);
  if (detail) {
    w.key("inputs").raw(r.inputs);
    w.key("state_object").raw(r.state_object);
    w.key("final_output").raw_or_null(r.final_output);
    w.key("tool_result_cache").raw(r.tool_result_cache);
    std::vector<const StepResult*> steps;
    for (const auto& st : r.step_results) steps.push_back(&st);
    std::stable_sort(steps.begin(), steps.end(),
                     [](const auto* a, const auto* b) { return a->step_index < b->step_index; });
    w.key("step_results").begin_array();
    for (const auto* st : steps) {
      w.begin_object();
      w.key("step_name").value(st->step_name);
      w.key("step_index").value(st->step_index);
      w.key("step_kind").value(st->step_kind);
      w.key("invocation_log_id").value(st->invocation_log_id);
      w.key("prompt_tokens");
      opt_int(st->prompt_tokens);
      w.key("output").raw_or_null(st->output);
      w.key("tool_calls").raw_or_null(st->tool_calls);
      w.key("latency_ms");
      opt_int(st->latency_ms);
      w.key("validation_status").value(st->validation_status);
      w.key("error").value(st->error);
      w.end_object();
    }
    w.end_array();
  }
  w.end_object();
  return out;
}

std::string render_divergence(const DivergenceRecorded& d, const std::string& skill_id,
                              Micros created_at) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("id").value(d.divergence_id);
  w.key("skill_run_id").value(d.run_id);
  w.key("skill_id").value(skill_id);
  w.key("shadow_invocation_id").value(d.shadow_invocation_id);
  w.key("overall_agreement").value(d.overall_agreement);
  w.key("submitted_agreement").value(d.submitted_agreement);
  w.key("diff_summary").raw_or_null(d.diff_summary);
  w.key("created_at").instant(created_at);
  w.end_object();
  return out;
}

std::string render(const Version& v, const std::string& skill_id) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("id").value(v.id);
  w.key("skill_id").value(skill_id);
  w.key("version_number").value(v.version_number);
  w.key("yaml_backbone").value(v.yaml_backbone);
  w.key("step_content").raw(v.step_content);
  w.key("output_schemas").raw(v.output_schemas);
  w.key("created_by").value(v.created_by);
  w.key("changelog").value(v.changelog);
  w.key("created_at").instant(v.created_at);
  w.end_object();
  return out;
}

std::string render(const Skill& s, double trusted_rate, bool detail) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("id").value(s.id);
  w.key("capability_name").value(s.capability_name);
  w.key("state").value(s.state);
  w.key("requires_human_gate").value(s.requires_human_gate);
  w.key("baseline_agreement");
  if (s.baseline_agreement) {
    w.value(*s.baseline_agreement);
  } else {
    w.null();
  }
  w.key("current_version_id").value(s.current_version_id);
  w.key("shadow_sample_rate").value(shadow_sample_rate(s, trusted_rate));
  w.key("created_at").instant(s.created_at);
  w.key("updated_at").instant(s.updated_at);
  if (detail) {
    w.key("current_version");
    const Version* current = nullptr;
    for (const auto& v : s.versions) {
      if (s.current_version_id == v.id) current = &v;
    }
    if (current) {
      w.raw(render(*current, s.id));
    } else {
      w.null();
    }
    w.key("promotion_held");
    if (s.held) {
      w.begin_object();
      w.key("to_state").value(s.held->to_state);
      w.key("version_id").value(s.held->version_id);
      w.key("metrics").raw(s.held->metrics);
      w.key("since").instant(s.held->since);
      w.end_object();
    } else {
      w.null();
    }
    w.key("evolution_pending");
    if (s.pending_evolution) {
      w.begin_object();
      w.key("work_id").value(s.pending_evolution->work_id);
      w.key("scheduled_at").instant(s.pending_evolution->scheduled_at);
      w.key("triggered_by").value(s.pending_evolution->triggered_by);
      w.end_object();
    } else {
      w.null();
    }
  }
  w.end_object();
  return out;
}

}  // namespace annals::skill

// Bodies of the skill recording routes (API §4-5), read with FastBody.
#include <algorithm>
#include <iterator>

#include "commands/fast_body.h"
#include "commands/ids.h"
#include "commands/skills.h"
#include "domain/money.h"
#include "domain/text_rules.h"

namespace annals::commands {

namespace {

constexpr std::string_view kStatuses[] = {"succeeded", "failed", "escalated"};

skill::StepResult parse_step(simdjson::dom::object step, FastBody& r, const std::string& at) {
  FastBody sr(step);
  skill::StepResult st;
  st.step_name = sr.required_string("step_name");
  const auto* index = sr.field("step_index");
  std::int64_t n = 0;
  if (index == nullptr || !index->is_int64() || index->get_int64().get(n) || n < 0) {
    sr.error("step_index", "is required and must be an integer >= 0");
  } else {
    st.step_index = n;
  }
  st.step_kind = sr.string_or("step_kind", "llm");
  if (st.step_kind != "llm" && st.step_kind != "tool" && st.step_kind != "mixed") {
    sr.error("step_kind", "must be one of: llm, tool, mixed");
  }
  st.invocation_log_id = sr.opt_string("invocation_log_id");
  st.prompt_tokens = sr.non_negative_int("prompt_tokens");
  st.output = sr.opt_json("output");
  if (const auto* calls = sr.field("tool_calls");
      calls && !calls->is_null() && !calls->is_array()) {
    sr.error("tool_calls", "must be an array");
  }
  st.tool_calls = sr.opt_json("tool_calls");
  st.latency_ms = sr.non_negative_int("latency_ms");
  st.validation_status = sr.opt_string("validation_status");
  if (st.validation_status && !is_slug(*st.validation_status)) {
    sr.error("validation_status", "must be a slug");
  }
  st.error = sr.opt_string("error");
  for (auto& e : sr.finish()) r.error(at + "." + e.field, std::move(e.message));
  return st;
}

}  // namespace

std::expected<RunDraft, Problem> parse_skill_run(std::string_view body) {
  auto object = parse_object(body);
  if (!object) return std::unexpected(object.error());
  FastBody r(*object);
  RunDraft d;
  auto& run = d.run;
  d.skill_id = r.required_string("skill_id");
  run.skill_version_id = r.required_string("skill_version_id");
  run.task_id = r.opt_string("task_id");
  if (run.task_id && utf8_length(*run.task_id) > 200) {
    r.error("task_id", "must be at most 200 characters");
  }
  run.automation_run_id = r.opt_string("automation_run_id");
  if (run.automation_run_id && !is_uuid(*run.automation_run_id)) {
    r.error("automation_run_id", "must be a UUID");
  }
  const auto* status = r.field("status");
  run.status = r.required_string("status");
  if (status != nullptr && status->is_string() &&
      std::find(std::begin(kStatuses), std::end(kStatuses), run.status) == std::end(kStatuses)) {
    r.error("status", "must be one of: succeeded, failed, escalated");
  }
  run.inputs = r.object_or("inputs", "{}");
  run.state_object = r.object_or("state_object", "{}");
  run.tool_result_cache = r.object_or("tool_result_cache", "{}");
  run.final_output = r.opt_json("final_output");
  if (const auto* steps = r.field("step_results"); steps != nullptr && !steps->is_null()) {
    simdjson::dom::array items;
    if (steps->get_array().get(items)) {
      r.error("step_results", "must be an array");
    } else {
      std::size_t i = 0;
      for (simdjson::dom::element item : items) {
        const std::string at = "step_results[" + std::to_string(i++) + "]";
        simdjson::dom::object step;
        if (item.get_object().get(step)) {
          r.error(at, "must be an object");
          continue;
        }
        run.step_results.push_back(parse_step(step, r, at));
      }
    }
  }
  run.total_latency_ms = r.non_negative_int("total_latency_ms");
  if (const auto* cost = r.field("total_cost_usd"); cost != nullptr && !cost->is_null()) {
    double usd = 0;
    std::optional<std::int64_t> micros;
    if (cost->is_number() && !cost->get_double().get(usd)) micros = usd_to_micros(usd);
    if (!micros) {
      r.error("total_cost_usd", "must be a number >= 0");
    } else {
      run.total_cost_micro_usd = *micros;
    }
  }
  run.error = r.opt_string("error");
  run.escalation_reason = r.opt_string("escalation_reason");
  if (auto user = r.opt_string("user_id")) {
    if (utf8_length(*user) > 100) r.error("user_id", "must be at most 100 characters");
    run.user_id = *user;
    d.user_given = true;
  }
  const auto started = r.instant("started_at", true);
  const auto finished = r.instant("finished_at", true);
  if (started && finished && *finished < *started) {
    r.error("finished_at", "must not be before started_at");
  }
  run.started_at = started.value_or(0);
  run.finished_at = finished.value_or(0);
  auto errors = r.finish();
  if (!errors.empty()) return std::unexpected(Problem::validation(std::move(errors)));
  return d;
}

std::expected<DivergenceDraft, Problem> parse_divergence(std::string_view body) {
  auto object = parse_object(body);
  if (!object) return std::unexpected(object.error());
  FastBody r(*object);
  DivergenceDraft d;
  const auto* agreement = r.field("overall_agreement");
  if (agreement == nullptr || !agreement->is_number() || agreement->get_double().get(d.submitted)) {
    r.error("overall_agreement", "is required and must be a number");
  }
  d.shadow_invocation_id = r.opt_string("shadow_invocation_id");
  if (d.shadow_invocation_id && utf8_length(*d.shadow_invocation_id) > 200) {
    r.error("shadow_invocation_id", "must be at most 200 characters");
  }
  if (const auto* diff = r.field("diff_summary");
      diff != nullptr && !diff->is_null() && !diff->is_object()) {
    r.error("diff_summary", "must be an object");
  }
  d.diff_summary = r.opt_json("diff_summary");
  auto errors = r.finish();
  if (!errors.empty()) return std::unexpected(Problem::validation(std::move(errors)));
  return d;
}

}  // namespace annals::commands

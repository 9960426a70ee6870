#include "events/skill_codec.h"

#include "events/codec_util.h"

namespace annals::events {

using namespace codec;

NewEvent encode(skill::Event event) {
  if (auto* r = std::get_if<skill::Registered>(&event)) {
    return {fb::Payload::SkillRegistered, [r = std::move(*r)](Builder& b) {
              return fb::CreateSkillRegistered(b, b.CreateString(r.skill_id),
                                               b.CreateString(r.capability_name),
                                               b.CreateString(r.state), r.requires_human_gate)
                  .Union();
            }};
  }
  if (auto* v = std::get_if<skill::VersionAdded>(&event)) {
    return {fb::Payload::SkillVersionAdded, [v = std::move(*v)](Builder& b) {
              auto id = b.CreateString(v.version_id);
              auto yaml = b.CreateString(v.yaml_backbone);
              auto content = b.CreateString(v.step_content);
              auto schemas = b.CreateString(v.output_schemas);
              auto by = b.CreateString(v.created_by);
              auto changelog = opt_string(b, v.changelog);
              return fb::CreateSkillVersionAdded(b, id, v.version_number, yaml, content, schemas,
                                                 by, changelog, v.becomes_current,
                                                 v.baseline_cleared)
                  .Union();
            }};
  }
  if (auto* c = std::get_if<skill::StateChanged>(&event)) {
    return {fb::Payload::SkillStateChanged, [c = std::move(*c)](Builder& b) {
              auto id = b.CreateString(c.transition_id);
              auto from = b.CreateString(c.from_state);
              auto to = b.CreateString(c.to_state);
              auto reason = b.CreateString(c.reason);
              auto actor_id = opt_string(b, c.actor_id);
              auto notes = opt_string(b, c.notes);
              fb::SkillStateChangedBuilder x(b);
              x.add_transition_id(id);
              x.add_from_state(from);
              x.add_to_state(to);
              x.add_reason(reason);
              x.add_actor_id(actor_id);
              x.add_notes(notes);
              if (c.baseline_agreement) x.add_baseline_agreement(*c.baseline_agreement);
              return x.Finish().Union();
            }};
  }
  if (auto* f = std::get_if<skill::FlagChanged>(&event)) {
    return {fb::Payload::SkillFlagChanged, [f = std::move(*f)](Builder& b) {
              return fb::CreateSkillFlagChanged(b, b.CreateString(f.flag), f.value).Union();
            }};
  }
  if (auto* h = std::get_if<skill::PromotionHeld>(&event)) {
    return {fb::Payload::SkillPromotionHeld, [h = std::move(*h)](Builder& b) {
              return fb::CreateSkillPromotionHeld(b, b.CreateString(h.to_state),
                                                  b.CreateString(h.version_id),
                                                  b.CreateString(h.metrics))
                  .Union();
            }};
  }
  if (auto* r = std::get_if<skill::RunRecorded>(&event)) {
    return {fb::Payload::SkillRunRecorded, [r = std::move(*r)](Builder& b) {
              std::vector<flatbuffers::Offset<fb::StepResult>> steps;
              for (const auto& s : r.step_results) {
                auto name = b.CreateString(s.step_name);
                auto kind = b.CreateString(s.step_kind);
                auto inv = opt_string(b, s.invocation_log_id);
                auto output = opt_string(b, s.output);
                auto calls = opt_string(b, s.tool_calls);
                auto validation = opt_string(b, s.validation_status);
                auto error = opt_string(b, s.error);
                fb::StepResultBuilder x(b);
                x.add_step_name(name);
                x.add_step_index(s.step_index);
                x.add_step_kind(kind);
                x.add_invocation_log_id(inv);
                if (s.prompt_tokens) x.add_prompt_tokens(*s.prompt_tokens);
                x.add_output(output);
                x.add_tool_calls(calls);
                if (s.latency_ms) x.add_latency_ms(*s.latency_ms);
                x.add_validation_status(validation);
                x.add_error(error);
                steps.push_back(x.Finish());
              }
              auto step_vec = b.CreateVector(steps);
              auto run = b.CreateString(r.run_id);
              auto version = b.CreateString(r.skill_version_id);
              auto task = opt_string(b, r.task_id);
              auto automation_run = opt_string(b, r.automation_run_id);
              auto status = b.CreateString(r.status);
              auto inputs = b.CreateString(r.inputs);
              auto state = b.CreateString(r.state_object);
              auto final_output = opt_string(b, r.final_output);
              auto cache = b.CreateString(r.tool_result_cache);
              auto error = opt_string(b, r.error);
              auto escalation = opt_string(b, r.escalation_reason);
              auto user = b.CreateString(r.user_id);
              fb::SkillRunRecordedBuilder x(b);
              x.add_run_id(run);
              x.add_skill_version_id(version);
              x.add_task_id(task);
              x.add_automation_run_id(automation_run);
              x.add_status(status);
              x.add_inputs(inputs);
              x.add_state_object(state);
              x.add_final_output(final_output);
              x.add_step_results(step_vec);
              x.add_tool_result_cache(cache);
              if (r.total_latency_ms) x.add_total_latency_ms(*r.total_latency_ms);
              x.add_total_cost_micro_usd(r.total_cost_micro_usd);
              x.add_error(error);
              x.add_escalation_reason(escalation);
              x.add_user_id(user);
              x.add_started_at(r.started_at);
              x.add_finished_at(r.finished_at);
              return x.Finish().Union();
            }};
  }
  if (auto* f = std::get_if<skill::FixtureAdded>(&event)) {
    return {fb::Payload::FixtureAdded, [f = std::move(*f)](Builder& b) {
              auto id = b.CreateString(f.fixture_id);
              auto name = b.CreateString(f.case_name);
              auto input = b.CreateString(f.input);
              auto shape = opt_string(b, f.expected_output_shape);
              auto mocks = opt_string(b, f.tool_mocks);
              auto source = b.CreateString(f.source);
              auto run = opt_string(b, f.captured_run_id);
              return fb::CreateFixtureAdded(b, id, name, input, shape, mocks, source, run).Union();
            }};
  }
  if (auto* w = std::get_if<skill::EvolutionScheduled>(&event)) {
    return {
        fb::Payload::EvolutionScheduled, [w = std::move(*w)](Builder& b) {
          auto id = b.CreateString(w.work_id);
          auto by = b.CreateString(w.triggered_by);
          auto run = opt_string(b, w.nightly_run_id);
          return fb::CreateEvolutionScheduled(b, id, by, run, w.estimated_cost_micro_usd).Union();
        }};
  }
  if (auto* a = std::get_if<skill::EvolutionAttempted>(&event)) {
    return {fb::Payload::EvolutionAttempted, [a = std::move(*a)](Builder& b) {
              flatbuffers::Offset<flatbuffers::Vector<Str>> targeted;
              if (a.targeted_case_ids) {
                std::vector<Str> ids;
                for (const auto& id : *a.targeted_case_ids) ids.push_back(b.CreateString(id));
                targeted = b.CreateVector(ids);
              }
              auto id = b.CreateString(a.attempt_id);
              auto work = opt_string(b, a.work_id);
              auto from = b.CreateString(a.from_version_id);
              auto to = opt_string(b, a.to_version_id);
              auto by = b.CreateString(a.triggered_by);
              auto inv = opt_string(b, a.claude_invocation_id);
              auto diagnosis = opt_string(b, a.diagnosis);
              auto evidence = opt_string(b, a.evidence);
              auto results = b.CreateString(a.validation_results);
              auto outcome = b.CreateString(a.outcome);
              auto rationale = b.CreateString(a.rationale);
              fb::EvolutionAttemptedBuilder x(b);
              x.add_attempt_id(id);
              x.add_work_id(work);
              x.add_from_version_id(from);
              x.add_to_version_id(to);
              x.add_triggered_by(by);
              x.add_claude_invocation_id(inv);
              x.add_cost_micro_usd(a.cost_micro_usd);
              if (a.latency_ms) x.add_latency_ms(*a.latency_ms);
              x.add_diagnosis(diagnosis);
              x.add_targeted_case_ids(targeted);
              x.add_evidence(evidence);
              x.add_validation_results(results);
              x.add_outcome(outcome);
              x.add_rationale(rationale);
              return x.Finish().Union();
            }};
  }
  auto& d = std::get<skill::DivergenceRecorded>(event);
  return {fb::Payload::DivergenceRecorded, [d = std::move(d)](Builder& b) {
            auto id = b.CreateString(d.divergence_id);
            auto run = b.CreateString(d.run_id);
            auto inv = b.CreateString(d.shadow_invocation_id);
            auto diff = opt_string(b, d.diff_summary);
            return fb::CreateDivergenceRecorded(b, id, run, inv, d.overall_agreement,
                                                d.submitted_agreement, diff)
                .Union();
          }};
}

std::optional<std::pair<std::string, skill::RunFacts>> decode_run_facts(const StoredEvent& e) {
  if (e.type() != fb::Payload::SkillRunRecorded) return std::nullopt;
  const auto* p = e.event().payload_as_SkillRunRecorded();
  if (p == nullptr) return std::nullopt;
  skill::RunFacts facts{str(p->skill_version_id()), str(p->status()), false, p->started_at()};
  facts.valid = facts.status == "succeeded";
  if (facts.valid && p->step_results()) {
    for (const auto* step : *p->step_results()) {
      if (step->validation_status() &&
          skill::invalidates_run(step->validation_status()->string_view())) {
        facts.valid = false;
        break;
      }
    }
  }
  return std::pair{str(p->run_id()), std::move(facts)};
}

std::optional<skill::Event> decode_skill_event(const StoredEvent& e) {
  const auto& ev = e.event();
  switch (ev.payload_type()) {
    case fb::Payload::SkillRegistered: {
      const auto* p = ev.payload_as_SkillRegistered();
      return skill::Registered{str(p->skill_id()), str(p->capability_name()), str(p->state()),
                               p->requires_human_gate()};
    }
    case fb::Payload::SkillVersionAdded: {
      const auto* p = ev.payload_as_SkillVersionAdded();
      skill::VersionAdded v;
      v.version_id = str(p->version_id());
      v.version_number = p->version_number();
      v.yaml_backbone = str(p->yaml_backbone());
      v.step_content = str(p->step_content(), "{}");
      v.output_schemas = str(p->output_schemas(), "{}");
      v.created_by = str(p->created_by());
      v.changelog = opt(p->changelog());
      v.becomes_current = p->becomes_current();
      v.baseline_cleared = p->baseline_cleared();
      return v;
    }
    case fb::Payload::SkillStateChanged: {
      const auto* p = ev.payload_as_SkillStateChanged();
      skill::StateChanged c;
      c.transition_id = str(p->transition_id());
      c.from_state = str(p->from_state());
      c.to_state = str(p->to_state());
      c.reason = str(p->reason());
      c.actor_id = opt(p->actor_id());
      c.notes = opt(p->notes());
      c.baseline_agreement = opt_scalar(p->baseline_agreement());
      return c;
    }
    case fb::Payload::SkillFlagChanged: {
      const auto* p = ev.payload_as_SkillFlagChanged();
      return skill::FlagChanged{str(p->flag()), p->value()};
    }
    case fb::Payload::SkillPromotionHeld: {
      const auto* p = ev.payload_as_SkillPromotionHeld();
      return skill::PromotionHeld{str(p->to_state()), str(p->version_id()),
                                  str(p->metrics(), "{}")};
    }
    case fb::Payload::SkillRunRecorded: {
      const auto* p = ev.payload_as_SkillRunRecorded();
      skill::RunRecorded r;
      r.run_id = str(p->run_id());
      r.skill_version_id = str(p->skill_version_id());
      r.task_id = opt(p->task_id());
      r.automation_run_id = opt(p->automation_run_id());
      r.status = str(p->status());
      r.inputs = str(p->inputs(), "{}");
      r.state_object = str(p->state_object(), "{}");
      r.final_output = opt(p->final_output());
      if (p->step_results()) {
        for (const auto* s : *p->step_results()) {
          skill::StepResult x;
          x.step_name = str(s->step_name());
          x.step_index = s->step_index();
          x.step_kind = str(s->step_kind(), "llm");
          x.invocation_log_id = opt(s->invocation_log_id());
          x.prompt_tokens = opt_scalar(s->prompt_tokens());
          x.output = opt(s->output());
          x.tool_calls = opt(s->tool_calls());
          x.latency_ms = opt_scalar(s->latency_ms());
          x.validation_status = opt(s->validation_status());
          x.error = opt(s->error());
          r.step_results.push_back(std::move(x));
        }
      }
      r.tool_result_cache = str(p->tool_result_cache(), "{}");
      r.total_latency_ms = opt_scalar(p->total_latency_ms());
      r.total_cost_micro_usd = p->total_cost_micro_usd();
      r.error = opt(p->error());
      r.escalation_reason = opt(p->escalation_reason());
      r.user_id = str(p->user_id());
      r.started_at = p->started_at();
      r.finished_at = p->finished_at();
      return r;
    }
    case fb::Payload::FixtureAdded: {
      const auto* p = ev.payload_as_FixtureAdded();
      skill::FixtureAdded f;
      f.fixture_id = str(p->fixture_id());
      f.case_name = str(p->case_name());
      f.input = str(p->input(), "{}");
      f.expected_output_shape = opt(p->expected_output_shape());
      f.tool_mocks = opt(p->tool_mocks());
      f.source = str(p->source(), "manual");
      f.captured_run_id = opt(p->captured_run_id());
      return f;
    }
    case fb::Payload::EvolutionScheduled: {
      const auto* p = ev.payload_as_EvolutionScheduled();
      return skill::EvolutionScheduled{str(p->work_id()), str(p->triggered_by()),
                                       opt(p->nightly_run_id()), p->estimated_cost_micro_usd()};
    }
    case fb::Payload::EvolutionAttempted: {
      const auto* p = ev.payload_as_EvolutionAttempted();
      skill::EvolutionAttempted a;
      a.attempt_id = str(p->attempt_id());
      a.work_id = opt(p->work_id());
      a.from_version_id = str(p->from_version_id());
      a.to_version_id = opt(p->to_version_id());
      a.triggered_by = str(p->triggered_by());
      a.claude_invocation_id = opt(p->claude_invocation_id());
      a.cost_micro_usd = p->cost_micro_usd();
      a.latency_ms = opt_scalar(p->latency_ms());
      a.diagnosis = opt(p->diagnosis());
      if (p->targeted_case_ids()) {
        a.targeted_case_ids.emplace();
        for (const auto* id : *p->targeted_case_ids()) a.targeted_case_ids->push_back(id->str());
      }
      a.evidence = opt(p->evidence());
      a.validation_results = str(p->validation_results(), "{}");
      a.outcome = str(p->outcome());
      a.rationale = str(p->rationale());
      return a;
    }
    case fb::Payload::DivergenceRecorded: {
      const auto* p = ev.payload_as_DivergenceRecorded();
      return skill::DivergenceRecorded{str(p->divergence_id()),        str(p->run_id()),
                                       str(p->shadow_invocation_id()), p->overall_agreement(),
                                       p->submitted_agreement(),       opt(p->diff_summary())};
    }
    default:
      return std::nullopt;
  }
}

NewEvent encode(const skill::CorrectionRecorded& c) {
  return {fb::Payload::CorrectionRecorded, [c](Builder& b) {
            auto id = b.CreateString(c.correction_id);
            auto type = b.CreateString(c.task_type);
            auto user = opt_string(b, c.user_id);
            auto task = opt_string(b, c.task_id);
            auto input = opt_string(b, c.input_text);
            auto field = b.CreateString(c.field_corrected);
            auto original = opt_string(b, c.original_value);
            auto corrected = opt_string(b, c.corrected_value);
            auto rule = opt_string(b, c.rule_extracted);
            return fb::CreateCorrectionRecorded(b, id, type, user, task, input, field, original,
                                                corrected, rule, c.timestamp)
                .Union();
          }};
}

std::optional<skill::CorrectionRecorded> decode_correction(const StoredEvent& e) {
  const auto* p = e.event().payload_as_CorrectionRecorded();
  if (p == nullptr) return std::nullopt;
  skill::CorrectionRecorded c;
  c.correction_id = str(p->correction_id());
  c.task_type = str(p->task_type());
  c.user_id = opt(p->user_id());
  c.task_id = opt(p->task_id());
  c.input_text = opt(p->input_text());
  c.field_corrected = str(p->field_corrected());
  c.original_value = opt(p->original_value());
  c.corrected_value = opt(p->corrected_value());
  c.rule_extracted = opt(p->rule_extracted());
  c.timestamp = p->timestamp();
  return c;
}

}  // namespace annals::events

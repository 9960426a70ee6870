#include "events/automation_codec.h"

#include "events/codec_util.h"

namespace annals::events {

using namespace codec;

namespace {

nlohmann::json json_of(const flatbuffers::String* s, nlohmann::json fallback) {
  if (s == nullptr) return fallback;
  auto j = nlohmann::json::parse(s->string_view(), nullptr, false);
  return j.is_discarded() ? fallback : j;
}

}  // namespace

NewEvent encode(const automation::Event& event) {
  if (const auto* c = std::get_if<automation::Created>(&event)) {
    return {fb::Payload::AutomationCreated, [a = c->automation](Builder& b) {
              std::vector<flatbuffers::Offset<flatbuffers::String>> channels;
              for (const auto& ch : a.alert_channels) channels.push_back(b.CreateString(ch));
              auto id = b.CreateString(a.id);
              auto user = b.CreateString(a.user_id);
              auto name = b.CreateString(a.name);
              auto description = opt_string(b, a.description);
              auto capability = b.CreateString(a.capability_name);
              auto inputs = b.CreateString(a.inputs.dump());
              auto trigger = b.CreateString(a.trigger_type);
              auto schedule = opt_string(b, a.schedule);
              auto timezone = b.CreateString(a.timezone);
              auto alerts = b.CreateString(a.alert_conditions.dump());
              auto channel_vec = b.CreateVector(channels);
              auto via = b.CreateString(a.created_via);
              fb::AutomationCreatedBuilder x(b);
              x.add_automation_id(id);
              x.add_user_id(user);
              x.add_name(name);
              x.add_description(description);
              x.add_capability_name(capability);
              x.add_inputs(inputs);
              x.add_trigger_type(trigger);
              x.add_schedule(schedule);
              x.add_timezone(timezone);
              x.add_alert_conditions(alerts);
              x.add_alert_channels(channel_vec);
              if (a.max_cost_per_run_micro_usd)
                x.add_max_cost_per_run_micro_usd(*a.max_cost_per_run_micro_usd);
              x.add_min_interval_seconds(a.min_interval_seconds);
              x.add_created_via(via);
              if (a.next_run_at) x.add_next_run_at(*a.next_run_at);
              return x.Finish().Union();
            }};
  }
  if (const auto* u = std::get_if<automation::Updated>(&event)) {
    return {fb::Payload::AutomationUpdated, [u = *u](Builder& b) {
              auto changes = b.CreateString(u.changes.dump());
              fb::AutomationUpdatedBuilder x(b);
              x.add_changes(changes);
              if (u.next_run_at) x.add_next_run_at(*u.next_run_at);
              return x.Finish().Union();
            }};
  }
  if (const auto* p = std::get_if<automation::Paused>(&event)) {
    return {
        fb::Payload::AutomationPaused, [p = *p](Builder& b) {
          return fb::CreateAutomationPaused(b, b.CreateString(p.reason), p.failure_count).Union();
        }};
  }
  if (const auto* r = std::get_if<automation::Resumed>(&event)) {
    return {fb::Payload::AutomationResumed, [r = *r](Builder& b) {
              fb::AutomationResumedBuilder x(b);
              if (r.next_run_at) x.add_next_run_at(*r.next_run_at);
              return x.Finish().Union();
            }};
  }
  if (const auto* s = std::get_if<automation::RunStarted>(&event)) {
    return {fb::Payload::AutomationRunStarted, [s = *s](Builder& b) {
              auto run = b.CreateString(s.run_id);
              auto trigger = b.CreateString(s.trigger);
              auto path = b.CreateString(s.execution_path);
              auto skill = opt_string(b, s.skill_id);
              auto version = opt_string(b, s.skill_version_id);
              fb::AutomationRunStartedBuilder x(b);
              x.add_run_id(run);
              x.add_trigger(trigger);
              if (s.scheduled_for) x.add_scheduled_for(*s.scheduled_for);
              x.add_started_at(s.started_at);
              x.add_execution_path(path);
              x.add_skill_id(skill);
              x.add_skill_version_id(version);
              if (s.next_run_at) x.add_next_run_at(*s.next_run_at);
              return x.Finish().Union();
            }};
  }
  if (const auto* f = std::get_if<automation::RunFinished>(&event)) {
    return {fb::Payload::AutomationRunFinished, [f = *f](Builder& b) {
              auto run = b.CreateString(f.run_id);
              auto status = b.CreateString(f.status);
              auto output = opt_string(b, f.output);
              auto error = opt_string(b, f.error);
              auto skill_run = opt_string(b, f.skill_run_id);
              auto invocation = opt_string(b, f.invocation_log_id);
              auto content = opt_string(b, f.alert_content);
              auto state = f.state ? b.CreateString(f.state->dump())
                                   : flatbuffers::Offset<flatbuffers::String>();
              fb::AutomationRunFinishedBuilder x(b);
              x.add_run_id(run);
              x.add_status(status);
              x.add_output(output);
              x.add_cost_micro_usd(f.cost_micro_usd);
              x.add_error(error);
              x.add_skill_run_id(skill_run);
              x.add_invocation_log_id(invocation);
              x.add_alert_fired(f.alert_fired);
              x.add_alert_content(content);
              x.add_state(state);
              x.add_finished_at(f.finished_at);
              x.add_run_count(f.run_count);
              x.add_failure_count(f.failure_count);
              return x.Finish().Union();
            }};
  }
  if (const auto* d = std::get_if<automation::AlertDelivered>(&event)) {
    return {fb::Payload::AlertDelivered, [d = *d](Builder& b) {
              auto run = b.CreateString(d.run_id);
              auto channel = b.CreateString(d.channel);
              auto error = opt_string(b, d.error);
              fb::AlertDeliveredBuilder x(b);
              x.add_run_id(run);
              x.add_channel(channel);
              x.add_delivered(d.delivered);
              if (d.http_status) x.add_http_status(*d.http_status);
              x.add_error(error);
              x.add_latency_ms(d.latency_ms);
              return x.Finish().Union();
            }};
  }
  return {fb::Payload::AutomationDeleted,
          [](Builder& b) { return fb::CreateAutomationDeleted(b).Union(); }};
}

std::optional<automation::Event> decode_automation_event(const StoredEvent& e) {
  const auto& ev = e.event();
  switch (ev.payload_type()) {
    case fb::Payload::AutomationCreated: {
      const auto* p = ev.payload_as_AutomationCreated();
      automation::Automation a;
      a.id = str(p->automation_id());
      a.user_id = str(p->user_id());
      a.name = str(p->name());
      a.description = opt(p->description());
      a.capability_name = str(p->capability_name());
      a.inputs = json_of(p->inputs(), nlohmann::json::object());
      a.trigger_type = str(p->trigger_type());
      a.schedule = opt(p->schedule());
      a.timezone = str(p->timezone());
      a.alert_conditions = json_of(p->alert_conditions(), nlohmann::json::object());
      if (p->alert_channels()) {
        for (const auto* ch : *p->alert_channels()) a.alert_channels.push_back(ch->str());
      }
      a.max_cost_per_run_micro_usd = opt_scalar(p->max_cost_per_run_micro_usd());
      a.min_interval_seconds = p->min_interval_seconds();
      a.created_via = str(p->created_via());
      a.next_run_at = opt_scalar(p->next_run_at());
      return automation::Created{std::move(a)};
    }
    case fb::Payload::AutomationUpdated: {
      const auto* p = ev.payload_as_AutomationUpdated();
      return automation::Updated{json_of(p->changes(), nlohmann::json::object()),
                                 opt_scalar(p->next_run_at())};
    }
    case fb::Payload::AutomationPaused: {
      const auto* p = ev.payload_as_AutomationPaused();
      return automation::Paused{str(p->reason()), p->failure_count()};
    }
    case fb::Payload::AutomationResumed:
      return automation::Resumed{opt_scalar(ev.payload_as_AutomationResumed()->next_run_at())};
    case fb::Payload::AutomationDeleted:
      return automation::Deleted{};
    case fb::Payload::AutomationRunStarted: {
      const auto* p = ev.payload_as_AutomationRunStarted();
      automation::RunStarted s;
      s.run_id = str(p->run_id());
      s.trigger = str(p->trigger());
      s.scheduled_for = opt_scalar(p->scheduled_for());
      s.started_at = p->started_at();
      s.execution_path = str(p->execution_path());
      s.skill_id = opt(p->skill_id());
      s.skill_version_id = opt(p->skill_version_id());
      s.next_run_at = opt_scalar(p->next_run_at());
      return s;
    }
    case fb::Payload::AutomationRunFinished: {
      const auto* p = ev.payload_as_AutomationRunFinished();
      automation::RunFinished f;
      f.run_id = str(p->run_id());
      f.status = str(p->status());
      f.output = opt(p->output());
      f.cost_micro_usd = p->cost_micro_usd();
      f.error = opt(p->error());
      f.skill_run_id = opt(p->skill_run_id());
      f.invocation_log_id = opt(p->invocation_log_id());
      f.alert_fired = p->alert_fired();
      f.alert_content = opt(p->alert_content());
      if (p->state()) f.state = json_of(p->state(), nlohmann::json::object());
      f.finished_at = p->finished_at();
      f.run_count = p->run_count();
      f.failure_count = p->failure_count();
      return f;
    }
    case fb::Payload::AlertDelivered: {
      const auto* p = ev.payload_as_AlertDelivered();
      automation::AlertDelivered d;
      d.run_id = str(p->run_id());
      d.channel = str(p->channel());
      d.delivered = p->delivered();
      d.http_status = opt_scalar(p->http_status());
      d.error = opt(p->error());
      d.latency_ms = p->latency_ms();
      return d;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace annals::events

#include "events/lesson_codec.h"

#include <nlohmann/json.hpp>

#include "events/codec_util.h"

namespace annals::events {

using namespace codec;

NewEvent encode(lesson::Recorded e) {
  return {fb::Payload::LessonRecorded, [e = std::move(e)](flatbuffers::FlatBufferBuilder& b) {
            const auto& f = e.fields;
            auto lesson_type = b.CreateString(f.lesson_type);
            auto work_item_id = opt_string(b, f.work_item_id);
            auto task_id = opt_string(b, f.task_id);
            auto stage = opt_string(b, f.stage);
            auto agent = opt_string(b, f.agent);
            auto repo = opt_string(b, f.repo);
            auto root_cause = opt_string(b, f.root_cause);
            auto suggestion = opt_string(b, f.suggestion);
            auto status = b.CreateString(f.status);
            auto related_task = opt_string(b, f.related_task);
            auto attribution = opt_string(b, f.attribution);
            auto target_repo = opt_string(b, f.target_repo);
            auto target_domain = opt_string(b, f.target_domain);
            auto source = b.CreateString(f.source);
            auto detail = opt_string(b, f.detail);
            return fb::CreateLessonRecorded(b, e.lesson_id, lesson_type, work_item_id, task_id,
                                            stage, agent, repo, root_cause, suggestion, status,
                                            related_task, attribution, target_repo, target_domain,
                                            source, detail)
                .Union();
          }};
}

NewEvent encode(lesson::Updated e) {
  nlohmann::ordered_json changes = nlohmann::ordered_json::object();
  for (const auto& c : e.changes) {
    changes[c.field] = c.value ? nlohmann::ordered_json(*c.value) : nlohmann::ordered_json();
  }
  return {fb::Payload::LessonUpdated, [text = changes.dump()](flatbuffers::FlatBufferBuilder& b) {
            return fb::CreateLessonUpdated(b, b.CreateString(text)).Union();
          }};
}

std::optional<lesson::Recorded> decode_lesson_recorded(const StoredEvent& e) {
  const auto* p = e.event().payload_as_LessonRecorded();
  if (p == nullptr) return std::nullopt;
  lesson::Recorded r;
  r.lesson_id = p->lesson_id();
  auto& f = r.fields;
  f.lesson_type = str(p->lesson_type());
  f.work_item_id = opt(p->work_item_id());
  f.task_id = opt(p->task_id());
  f.stage = opt(p->stage());
  f.agent = opt(p->agent());
  f.repo = opt(p->repo());
  f.root_cause = opt(p->root_cause());
  f.suggestion = opt(p->suggestion());
  f.status = str(p->status());
  f.related_task = opt(p->related_task());
  f.attribution = opt(p->attribution());
  f.target_repo = opt(p->target_repo());
  f.target_domain = opt(p->target_domain());
  f.source = str(p->source());
  f.detail = opt(p->detail());
  return r;
}

std::optional<lesson::Updated> decode_lesson_updated(const StoredEvent& e) {
  const auto* p = e.event().payload_as_LessonUpdated();
  if (p == nullptr || p->changes() == nullptr) return std::nullopt;
  const auto doc = nlohmann::ordered_json::parse(p->changes()->string_view(), nullptr, false);
  if (!doc.is_object()) return std::nullopt;
  lesson::Updated u;
  for (const auto& [k, v] : doc.items()) {
    u.changes.push_back({k, v.is_string() ? std::optional(v.get<std::string>()) : std::nullopt});
  }
  return u;
}

}  // namespace annals::events

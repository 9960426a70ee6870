#include "events/event_json.h"

#include <flatbuffers/reflection.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "events/events_bfbs_generated.h"

namespace annals::events {

namespace {

using reflection::BaseType;

// Payload fields carrying instants (µs) rendered as RFC 3339 strings.
bool is_instant_field(std::string_view name) {
  return name == "timestamp" || name == "at" || name == "started_at" || name == "finished_at" ||
         name == "scheduled_for" || name == "next_run_at" || name == "window_start";
}

struct ObjectInfo {
  const reflection::Object* object = nullptr;
  std::vector<const reflection::Field*> fields;  // declaration order
};

class SchemaIndex {
 public:
  SchemaIndex() {
    schema_ = reflection::GetSchema(annals::fb::EventBinarySchema::data());
    for (const auto* obj : *schema_->objects()) {
      ObjectInfo info;
      info.object = obj;
      for (const auto* f : *obj->fields()) info.fields.push_back(f);
      std::sort(info.fields.begin(), info.fields.end(),
                [](auto* a, auto* b) { return a->id() < b->id(); });
      by_name_[obj->name()->str()] = std::move(info);
    }
  }
  const ObjectInfo* object(std::string_view qualified) const {
    auto it = by_name_.find(std::string(qualified));
    return it == by_name_.end() ? nullptr : &it->second;
  }
  const ObjectInfo& object_at(int index) const {
    return by_name_.at(
        schema_->objects()->Get(static_cast<flatbuffers::uoffset_t>(index))->name()->str());
  }

 private:
  const reflection::Schema* schema_;
  std::unordered_map<std::string, ObjectInfo> by_name_;
};

const SchemaIndex& schema_index() {
  static const SchemaIndex index;
  return index;
}

bool has_attribute(const reflection::Field& f, std::string_view key) {
  if (f.attributes() == nullptr) return false;
  for (const auto* kv : *f.attributes()) {
    if (kv->key()->string_view() == key) return true;
  }
  return false;
}

void render_table(const flatbuffers::Table& t, const ObjectInfo& info, JsonWriter& w);

void render_field(const flatbuffers::Table& t, const reflection::Field& f, JsonWriter& w) {
  const auto name = f.name()->string_view();
  const auto type = f.type()->base_type();
  const bool present = t.GetAddressOf(f.offset()) != nullptr;
  switch (type) {
    case BaseType::String: {
      const auto* s = t.GetPointer<const flatbuffers::String*>(f.offset());
      w.key(name);
      if (s == nullptr) {
        w.null();
      } else if (has_attribute(f, "json")) {
        w.raw(s->string_view());
      } else {
        w.value(s->string_view());
      }
      return;
    }
    case BaseType::Bool:
      w.key(name).value(t.GetField<std::uint8_t>(f.offset(), 0) != 0);
      return;
    case BaseType::Double:
      w.key(name);
      if (f.optional() && !present) {
        w.null();
      } else {
        w.value(t.GetField<double>(f.offset(), f.default_real()));
      }
      return;
    case BaseType::Long:
    case BaseType::ULong: {
      w.key(name);
      if (f.optional() && !present) {
        w.null();
        return;
      }
      const auto v = t.GetField<std::int64_t>(f.offset(), f.default_integer());
      if (is_instant_field(name)) {
        w.instant(v);
      } else if (type == BaseType::ULong) {
        w.value(static_cast<std::uint64_t>(v));
      } else {
        w.value(v);
      }
      return;
    }
    case BaseType::Vector: {
      w.key(name);
      if (!present) {
        w.null();
        return;
      }
      w.begin_array();
      if (f.type()->element() == BaseType::String) {
        const auto* v =
            t.GetPointer<const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>*>(
                f.offset());
        for (const auto* s : *v) w.value(s->string_view());
      } else if (f.type()->element() == BaseType::Obj) {
        const auto& info = schema_index().object_at(f.type()->index());
        const auto* v =
            t.GetPointer<const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::Table>>*>(
                f.offset());
        for (const auto* item : *v) render_table(*item, info, w);
      }
      w.end_array();
      return;
    }
    default:
      return;
  }
}

void render_table(const flatbuffers::Table& t, const ObjectInfo& info, JsonWriter& w) {
  w.begin_object();
  for (const auto* f : info.fields) {
    if (has_attribute(*f, "json_merge")) {
      const auto* s = t.GetPointer<const flatbuffers::String*>(f->offset());
      if (s == nullptr) continue;
      const auto doc = nlohmann::json::parse(s->string_view(), nullptr, false);
      if (!doc.is_object()) continue;
      for (const auto& [k, v] : doc.items()) w.key(k).raw(v.dump());
      continue;
    }
    render_field(t, *f, w);
  }
  w.end_object();
}

}  // namespace

void render_event_data(const StoredEvent& e, JsonWriter& w) {
  const fb::Event& ev = e.event();
  const auto* payload = static_cast<const flatbuffers::Table*>(ev.payload());
  const auto* info = schema_index().object(std::string("annals.fb.") + std::string(e.type_name()));
  if (payload == nullptr || info == nullptr) {
    w.begin_object().end_object();
    return;
  }
  render_table(*payload, *info, w);
}

void render_event(const StoredEvent& e, JsonWriter& w) {
  const fb::Event& ev = e.event();
  w.begin_object();
  w.key("position").value(e.position);
  w.key("stream").value(ev.stream() ? ev.stream()->string_view() : std::string_view());
  w.key("version").value(ev.version());
  w.key("type").value(e.type_name());
  w.key("recorded_at").instant(ev.recorded_at());
  w.key("actor").value(ev.actor() ? ev.actor()->string_view() : std::string_view());
  w.key("correlation_id")
      .value(ev.correlation_id() ? ev.correlation_id()->string_view() : std::string_view());
  w.key("causation_id");
  if (auto c = ev.causation_id()) {
    w.value(static_cast<std::uint64_t>(*c));
  } else {
    w.null();
  }
  w.key("data");
  render_event_data(e, w);
  w.key("hash").value(to_hex(e.hash));
  w.end_object();
}

std::string render_event(const StoredEvent& e) {
  std::string out;
  out.reserve(512);
  JsonWriter w(out);
  render_event(e, w);
  return out;
}

}  // namespace annals::events

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

// How one payload field renders, worked out once from the schema.
struct FieldPlan {
  enum class Kind {
    kString,
    kJsonString,
    kMerge,
    kBool,
    kDouble,
    kLong,
    kULong,
    kInstant,
    kStringVector,
    kTableVector,
    kSkip
  };
  Kind kind = Kind::kSkip;
  flatbuffers::voffset_t offset = 0;
  bool optional = false;
  double default_real = 0;
  std::int64_t default_integer = 0;
  std::string key;  // the JSON key with its quotes and colon
  int object = -1;  // kTableVector: the element's schema object
};

struct ObjectInfo {
  std::vector<FieldPlan> fields;  // declaration order
};

bool has_attribute(const reflection::Field& f, std::string_view key) {
  if (f.attributes() == nullptr) return false;
  for (const auto* kv : *f.attributes()) {
    if (kv->key()->string_view() == key) return true;
  }
  return false;
}

FieldPlan plan_field(const reflection::Field& f) {
  FieldPlan p;
  p.offset = f.offset();
  p.optional = f.optional();
  p.default_real = f.default_real();
  p.default_integer = f.default_integer();
  const auto name = f.name()->string_view();
  append_json_string(p.key, name);
  p.key.push_back(':');
  using K = FieldPlan::Kind;
  switch (f.type()->base_type()) {
    case BaseType::String:
      p.kind = has_attribute(f, "json_merge") ? K::kMerge
               : has_attribute(f, "json")     ? K::kJsonString
                                              : K::kString;
      break;
    case BaseType::Bool:
      p.kind = K::kBool;
      break;
    case BaseType::Double:
      p.kind = K::kDouble;
      break;
    case BaseType::Long:
    case BaseType::ULong:
      p.kind = is_instant_field(name)                     ? K::kInstant
               : f.type()->base_type() == BaseType::ULong ? K::kULong
                                                          : K::kLong;
      break;
    case BaseType::Vector:
      if (f.type()->element() == BaseType::String) {
        p.kind = K::kStringVector;
      } else if (f.type()->element() == BaseType::Obj) {
        p.kind = K::kTableVector;
        p.object = f.type()->index();
      }
      break;
    default:
      break;
  }
  return p;
}

class SchemaIndex {
 public:
  SchemaIndex() {
    const auto* schema = reflection::GetSchema(annals::fb::EventBinarySchema::data());
    std::unordered_map<std::string, int> by_name;
    for (const auto* obj : *schema->objects()) {
      std::vector<const reflection::Field*> sorted(obj->fields()->begin(), obj->fields()->end());
      std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->id() < b->id(); });
      ObjectInfo info;
      for (const auto* f : sorted) info.fields.push_back(plan_field(*f));
      by_name[obj->name()->str()] = static_cast<int>(objects_.size());
      objects_.push_back(std::move(info));
    }
    for (const auto type : fb::EnumValuesPayload()) {
      const auto it = by_name.find("annals.fb." + std::string(fb::EnumNamePayload(type)));
      payloads_.push_back(it == by_name.end() ? nullptr : &objects_[it->second]);
    }
    for (const auto* obj : *schema->objects()) {
      schema_order_.push_back(&objects_[by_name.at(obj->name()->str())]);
    }
  }
  const ObjectInfo* payload(fb::Payload type) const {
    const auto i = static_cast<std::size_t>(type);
    return i < payloads_.size() ? payloads_[i] : nullptr;
  }
  const ObjectInfo& object_at(int index) const {
    return *schema_order_.at(static_cast<std::size_t>(index));
  }

 private:
  std::vector<ObjectInfo> objects_;
  std::vector<const ObjectInfo*> payloads_;      // by fb::Payload value
  std::vector<const ObjectInfo*> schema_order_;  // by the schema's object index
};

const SchemaIndex& schema_index() {
  static const SchemaIndex index;
  return index;
}

void render_table(const flatbuffers::Table& t, const ObjectInfo& info, JsonWriter& w);

void render_field(const flatbuffers::Table& t, const FieldPlan& f, JsonWriter& w) {
  using K = FieldPlan::Kind;
  const bool present = t.GetAddressOf(f.offset) != nullptr;
  switch (f.kind) {
    case K::kString:
    case K::kJsonString: {
      const auto* s = t.GetPointer<const flatbuffers::String*>(f.offset);
      w.quoted_key(f.key);
      if (s == nullptr) {
        w.null();
      } else if (f.kind == K::kJsonString) {
        w.raw(s->string_view());
      } else {
        w.value(s->string_view());
      }
      return;
    }
    case K::kMerge: {
      const auto* s = t.GetPointer<const flatbuffers::String*>(f.offset);
      if (s == nullptr) return;
      const auto doc = nlohmann::json::parse(s->string_view(), nullptr, false);
      if (!doc.is_object()) return;
      for (const auto& [k, v] : doc.items()) w.key(k).raw(v.dump());
      return;
    }
    case K::kBool:
      w.quoted_key(f.key).value(t.GetField<std::uint8_t>(f.offset, 0) != 0);
      return;
    case K::kDouble:
      w.quoted_key(f.key);
      if (f.optional && !present) {
        w.null();
      } else {
        w.value(t.GetField<double>(f.offset, f.default_real));
      }
      return;
    case K::kLong:
    case K::kULong:
    case K::kInstant: {
      w.quoted_key(f.key);
      if (f.optional && !present) {
        w.null();
        return;
      }
      const auto v = t.GetField<std::int64_t>(f.offset, f.default_integer);
      if (f.kind == K::kInstant) {
        w.instant(v);
      } else if (f.kind == K::kULong) {
        w.value(static_cast<std::uint64_t>(v));
      } else {
        w.value(v);
      }
      return;
    }
    case K::kStringVector:
    case K::kTableVector: {
      w.quoted_key(f.key);
      if (!present) {
        w.null();
        return;
      }
      w.begin_array();
      if (f.kind == K::kStringVector) {
        const auto* v =
            t.GetPointer<const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>*>(
                f.offset);
        for (const auto* s : *v) w.value(s->string_view());
      } else {
        const auto& info = schema_index().object_at(f.object);
        const auto* v =
            t.GetPointer<const flatbuffers::Vector<flatbuffers::Offset<flatbuffers::Table>>*>(
                f.offset);
        for (const auto* item : *v) render_table(*item, info, w);
      }
      w.end_array();
      return;
    }
    case K::kSkip:
      return;
  }
}

void render_table(const flatbuffers::Table& t, const ObjectInfo& info, JsonWriter& w) {
  w.begin_object();
  for (const auto& f : info.fields) render_field(t, f, w);
  w.end_object();
}

}  // namespace

void render_event_data(const StoredEvent& e, JsonWriter& w) {
  const fb::Event& ev = e.event();
  const auto* payload = static_cast<const flatbuffers::Table*>(ev.payload());
  const auto* info = schema_index().payload(e.type());
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
  w.key("hash").hex(std::string_view(reinterpret_cast<const char*>(e.hash.data()), e.hash.size()));
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

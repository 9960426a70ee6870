#include "domain/lesson.h"

#include <array>
#include <string_view>

#include "domain/text_rules.h"

namespace annals::lesson {

namespace {

enum class Kind { kSlug, kText };
struct Rule {
  std::string_view name;
  Kind kind;
  std::size_t max_len;  // characters (slugs: the regex's 64)
  bool updatable;
};

// SPEC §4.1; updatable per §4.4.
constexpr std::array kRules = {
    Rule{"lesson_type", Kind::kSlug, 64, false},  Rule{"work_item_id", Kind::kText, 200, false},
    Rule{"task_id", Kind::kText, 200, false},     Rule{"stage", Kind::kText, 100, false},
    Rule{"agent", Kind::kText, 100, false},       Rule{"repo", Kind::kText, 200, false},
    Rule{"root_cause", Kind::kText, 10000, true}, Rule{"suggestion", Kind::kText, 10000, true},
    Rule{"status", Kind::kSlug, 64, true},        Rule{"related_task", Kind::kText, 200, true},
    Rule{"attribution", Kind::kSlug, 64, true},   Rule{"target_repo", Kind::kText, 200, true},
    Rule{"target_domain", Kind::kSlug, 64, true},
};

const Rule* find_rule(std::string_view name) {
  for (const Rule& r : kRules) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

void check(const Rule& r, const std::string& v, std::vector<FieldError>& errors) {
  if (r.kind == Kind::kSlug) {
    if (!is_slug(v, r.max_len)) {
      errors.push_back({std::string(r.name), "must match ^[a-z0-9][a-z0-9_.-]{0,63}$"});
    }
  } else if (utf8_length(v) > r.max_len) {
    errors.push_back(
        {std::string(r.name), "must be at most " + std::to_string(r.max_len) + " characters"});
  }
}

void check(std::string_view name, const std::optional<std::string>& v,
           std::vector<FieldError>& errors) {
  if (v) check(*find_rule(name), *v, errors);
}

// Pointers to the optional string fields of Fields by name (required slugs handled apart).
std::optional<std::string>* optional_field(Fields& f, std::string_view name) {
  if (name == "work_item_id") return &f.work_item_id;
  if (name == "task_id") return &f.task_id;
  if (name == "stage") return &f.stage;
  if (name == "agent") return &f.agent;
  if (name == "repo") return &f.repo;
  if (name == "root_cause") return &f.root_cause;
  if (name == "suggestion") return &f.suggestion;
  if (name == "related_task") return &f.related_task;
  if (name == "attribution") return &f.attribution;
  if (name == "target_repo") return &f.target_repo;
  if (name == "target_domain") return &f.target_domain;
  return nullptr;
}

void append_key_part(std::string& key, const std::optional<std::string>& v) {
  // A 0x00 separator, then 'n' for null or 'v' + value: null never equals "".
  key.push_back('\0');
  if (v) {
    key.push_back('v');
    key += *v;
  } else {
    key.push_back('n');
  }
}

}  // namespace

std::string stream_name(std::int64_t lesson_id) { return "lesson-" + std::to_string(lesson_id); }

Lesson from_recorded(const Recorded& e, Micros recorded_at) {
  return Lesson{e.lesson_id, e.fields, recorded_at, std::nullopt};
}

void evolve(Lesson& lesson, const Updated& e, Micros recorded_at) {
  for (const Change& c : e.changes) {
    if (c.field == "status") {
      if (c.value) lesson.fields.status = *c.value;
    } else if (auto* field = optional_field(lesson.fields, c.field)) {
      *field = c.value;
    }
  }
  lesson.updated_at = recorded_at;
}

std::vector<FieldError> validate(const Fields& f) {
  std::vector<FieldError> errors;
  check(*find_rule("lesson_type"), f.lesson_type, errors);
  check("work_item_id", f.work_item_id, errors);
  check("task_id", f.task_id, errors);
  check("stage", f.stage, errors);
  check("agent", f.agent, errors);
  check("repo", f.repo, errors);
  check("root_cause", f.root_cause, errors);
  check("suggestion", f.suggestion, errors);
  check(*find_rule("status"), f.status, errors);
  check("related_task", f.related_task, errors);
  check("attribution", f.attribution, errors);
  check("target_repo", f.target_repo, errors);
  check("target_domain", f.target_domain, errors);
  if (f.source != "auto" && f.source != "manual") {
    errors.push_back({"source", "must be one of: auto, manual"});
  }
  return errors;
}

std::vector<FieldError> validate(const std::vector<Change>& changes) {
  std::vector<FieldError> errors;
  if (changes.empty()) {
    errors.push_back({"", "at least one updatable field is required"});
    return errors;
  }
  for (const Change& c : changes) {
    const Rule* rule = find_rule(c.field);
    if (rule == nullptr || !rule->updatable) {
      errors.push_back({c.field, "is not an updatable field"});
    } else if (!c.value) {
      if (c.field == "status") errors.push_back({c.field, "cannot be null"});
    } else {
      check(*rule, *c.value, errors);
    }
  }
  return errors;
}

std::string dedup_key(const Fields& f) {
  std::string key = f.lesson_type;
  append_key_part(key, f.work_item_id);
  append_key_part(key, f.stage);
  return key;
}

std::expected<std::variant<Recorded, Deduplicated>, Problem> decide_record(
    Fields f, const std::optional<PriorAuto>& prior, std::int64_t next_id, Micros now,
    std::int64_t dedup_window_s) {
  if (auto errors = validate(f); !errors.empty()) {
    return std::unexpected(Problem::validation(std::move(errors)));
  }
  if (f.source == "auto" && dedup_window_s > 0 && prior &&
      prior->created_at >= now - dedup_window_s * kMicrosPerSecond) {
    return Deduplicated{prior->id};
  }
  return Recorded{next_id, std::move(f)};
}

std::expected<Updated, Problem> decide_update(std::vector<Change> changes,
                                              const std::optional<Lesson>& lesson) {
  if (auto errors = validate(changes); !errors.empty()) {
    return std::unexpected(Problem::validation(std::move(errors)));
  }
  if (!lesson) return std::unexpected(Problem::make(ProblemKind::kNotFound, "Lesson not found."));
  return Updated{std::move(changes)};
}

void render(const Lesson& l, JsonWriter& w) {
  const Fields& f = l.fields;
  w.begin_object();
  w.key("id").value(l.id);
  w.key("lesson_type").value(f.lesson_type);
  w.key("work_item_id").value(f.work_item_id);
  w.key("task_id").value(f.task_id);
  w.key("stage").value(f.stage);
  w.key("agent").value(f.agent);
  w.key("repo").value(f.repo);
  w.key("root_cause").value(f.root_cause);
  w.key("suggestion").value(f.suggestion);
  w.key("status").value(f.status);
  w.key("related_task").value(f.related_task);
  w.key("attribution").value(f.attribution);
  w.key("target_repo").value(f.target_repo);
  w.key("target_domain").value(f.target_domain);
  w.key("source").value(f.source);
  w.key("detail").raw_or_null(f.detail);
  w.key("created_at").instant(l.created_at);
  w.key("updated_at").instant(l.updated_at);
  w.end_object();
}

std::string render(const Lesson& l) {
  std::string out;
  out.reserve(512);
  JsonWriter w(out);
  render(l, w);
  return out;
}

}  // namespace annals::lesson

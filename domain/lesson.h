// The lesson aggregate as a decider (SPEC §4): the fields and their rules, recording with the
// auto-lesson dedup window, updates, and the lesson resource (API §13). Pure: `now` and knobs
// come in as arguments.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "domain/json_text.h"
#include "domain/problem.h"
#include "domain/time.h"

namespace annals::lesson {

struct Fields {
  std::string lesson_type;
  std::optional<std::string> work_item_id, task_id, stage, agent, repo, root_cause, suggestion;
  std::string status = "new";
  std::optional<std::string> related_task, attribution, target_repo, target_domain;
  std::string source = "manual";
  std::optional<std::string> detail;  // compact JSON text
  bool operator==(const Fields&) const = default;
};

// One updated field; nullopt clears it.
struct Change {
  std::string field;
  std::optional<std::string> value;
  bool operator==(const Change&) const = default;
};

// Events (SPEC §6.3).
struct Recorded {
  std::int64_t lesson_id = 0;
  Fields fields;
};
struct Updated {
  std::vector<Change> changes;
};

struct Lesson {
  std::int64_t id = 0;
  Fields fields;
  Micros created_at = 0;
  std::optional<Micros> updated_at;
  bool operator==(const Lesson&) const = default;
};

std::string stream_name(std::int64_t lesson_id);

Lesson from_recorded(const Recorded& e, Micros recorded_at);
void evolve(Lesson& lesson, const Updated& e, Micros recorded_at);

// Field rules of SPEC §4.1-4.2; each violation names its field.
std::vector<FieldError> validate(const Fields& f);
// Update rules of SPEC §4.4 (updatable fields only, at least one, slugs and lengths).
std::vector<FieldError> validate(const std::vector<Change>& changes);

// The dedup key (work_item_id, lesson_type, stage), null equal to null.
std::string dedup_key(const Fields& f);

// The latest earlier auto lesson with the same dedup key.
struct PriorAuto {
  std::int64_t id = 0;
  Micros created_at = 0;
};
struct Deduplicated {
  std::int64_t duplicate_of = 0;
};

// Records a lesson with id `next_id`, or reports it as a duplicate of `prior` when both are auto
// and prior lies within the window (window 0 = off).
std::expected<std::variant<Recorded, Deduplicated>, Problem> decide_record(
    Fields f, const std::optional<PriorAuto>& prior, std::int64_t next_id, Micros now,
    std::int64_t dedup_window_s);

// Unknown lesson → NotFound; invalid changes → Validation.
std::expected<Updated, Problem> decide_update(std::vector<Change> changes,
                                              const std::optional<Lesson>& lesson);

// The lesson resource `L` of API §13.
void render(const Lesson& lesson, JsonWriter& w);
std::string render(const Lesson& lesson);

}  // namespace annals::lesson

// Lesson commands (SPEC §4, API §13): RecordLesson and UpdateLesson through the command bus.
// The writer keeps two pieces of aggregate state beside the log, committed with the events:
// the next lesson id and, per dedup key, the latest auto lesson (id, created_at).
#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>

#include "commands/command_bus.h"
#include "domain/config.h"
#include "domain/lesson.h"

namespace annals::commands {

// Body parsing (types, required and unknown fields); the domain validates values.
std::expected<lesson::Fields, Problem> parse_record_lesson(const nlohmann::json& body);
std::expected<std::vector<lesson::Change>, Problem> parse_update_lesson(const nlohmann::json& body);

class LessonCommands {
 public:
  LessonCommands(CommandBus& bus, const Config& config);

  // 201 with the lesson, or 200 {"id":null,"deduplicated":true,"duplicate_of":n}.
  void record(lesson::Fields fields, CommandContext ctx, std::function<void(Reply)> done);
  // 200 with the updated lesson; 404, 412, 422.
  void update(std::int64_t id, std::vector<lesson::Change> changes, CommandContext ctx,
              std::function<void(Reply)> done);

  // Decision parts, for other commands that record lessons in their own commit.
  Reply decide_record(events::Transaction& tx, lesson::Fields fields, const CommandContext& ctx);

  std::uint64_t deduplicated_total() const { return deduplicated_.load(); }

 private:
  CommandBus& bus_;
  const Config& config_;
  rocksdb::ColumnFamilyHandle* state_;  // "agg.lessons"
  std::atomic<std::uint64_t> deduplicated_{0};
};

}  // namespace annals::commands

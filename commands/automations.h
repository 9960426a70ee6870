// Automation definition commands (API §12): create, patch, pause, resume, delete. The writer
// keeps, beside the log, the owner's names of non-deleted automations ("agg.automations":
// n <user> 0 <name> → id) for the uniqueness rule.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>

#include "commands/automation_states.h"
#include "commands/command_bus.h"
#include "domain/automation.h"
#include "domain/config.h"

namespace annals::commands {

// Body parsing of POST /admin/automations (types, required and unknown fields, money).
std::expected<automation::Draft, Problem> parse_create_automation(const nlohmann::json& body);
// PATCH body: checks types and converts max_cost_per_run_usd to micro-USD for the domain.
std::expected<nlohmann::json, Problem> parse_patch_automation(const nlohmann::json& body);

class AutomationCommands {
 public:
  AutomationCommands(CommandBus& bus, const Config& config, AutomationStates& states);

  void create(automation::Draft draft, CommandContext ctx, std::function<void(Reply)> done);
  void patch(std::string id, nlohmann::json patch, CommandContext ctx,
             std::function<void(Reply)> done);
  enum class Action { kPause, kResume, kDelete };
  void act(std::string id, Action action, CommandContext ctx, std::function<void(Reply)> done);

 private:
  CommandBus& bus_;
  const Config& config_;
  AutomationStates& states_;
  rocksdb::ColumnFamilyHandle* names_;
};

}  // namespace annals::commands

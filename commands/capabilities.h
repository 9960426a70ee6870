// Capability commands (API §2): RegisterCapability through the command bus.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>

#include "commands/command_bus.h"
#include "domain/capability.h"

namespace annals::commands {

// Body parsing and validation of POST /admin/capabilities.
std::expected<capability::Fields, Problem> parse_register_capability(const nlohmann::json& body);

class CapabilityCommands {
 public:
  explicit CapabilityCommands(CommandBus& bus) : bus_(bus) {}

  // 201 with the capability; 409 when the name is taken.
  void register_capability(capability::Fields fields, CommandContext ctx,
                           std::function<void(Reply)> done);

 private:
  CommandBus& bus_;
};

}  // namespace annals::commands

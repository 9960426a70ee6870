// Core: annals below HTTP — the store, the projector attached to it, the command bus and the
// commands of every domain, wired once. annalsd serves it; tests drive it directly.
#pragma once

#include <functional>
#include <memory>

#include "commands/automations.h"
#include "commands/capabilities.h"
#include "commands/command_bus.h"
#include "commands/dispatcher.h"
#include "commands/ledger.h"
#include "commands/lessons.h"
#include "commands/nightly.h"
#include "commands/runs.h"
#include "commands/skills.h"
#include "domain/config.h"
#include "events/store.h"
#include "projections/projector.h"

namespace annals::server {

struct Core {
  // Opens the store at config.data_dir and catches the read models up (the dispatcher is built
  // but not started: start_dispatcher() runs crash recovery and the scheduler). Throws
  // std::runtime_error with the store's message when it cannot open (e.g. held by another
  // process). `config` must outlive the Core.
  Core(const Config& config, std::function<Micros()> clock = {});
  // Stops the writer before anything its commit hook uses goes away.
  ~Core();

  // Crash recovery and the automation scheduler, then the nightly timer.
  void start_dispatcher();
  // Stops the scheduler and the writer; idempotent.
  void stop();

  std::unique_ptr<events::EventStore> store;
  std::unique_ptr<projections::Projector> projector;
  std::unique_ptr<commands::CommandBus> bus;
  std::unique_ptr<commands::AutomationStates> automation_states;
  std::unique_ptr<commands::LessonCommands> lessons;
  std::unique_ptr<commands::CapabilityCommands> capabilities;
  std::unique_ptr<commands::AutomationCommands> automations;
  std::unique_ptr<commands::LedgerCommands> ledger;
  std::unique_ptr<commands::SkillCommands> skills;
  std::unique_ptr<commands::RunCommands> runs;
  std::unique_ptr<commands::Dispatcher> dispatcher;
  std::unique_ptr<commands::CandidateCommands> candidates;
  std::unique_ptr<commands::NightlyJob> nightly;

 private:
  commands::SkillCommands::Observe skill_observer_;
};

}  // namespace annals::server

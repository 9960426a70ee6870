// Run commands (SPEC §3.7-3.14, §6.4): StartRun (scheduler, run-now), FinishRun (dispatcher,
// recovery) and RecordDelivery, each a decision on the writer thread over the automation folded
// from its stream. What the dispatcher needs next (the automation as started, the events) comes
// back with the durable reply.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "commands/automation_states.h"
#include "commands/command_bus.h"
#include "commands/ledger.h"
#include "domain/automation_run.h"
#include "domain/config.h"

namespace annals::commands {

struct StartedRun {
  automation::Automation automation;  // as the run started (folded, with prior_run_end)
  automation::RunStarted started;
  std::optional<automation::RunFinished> skipped;  // the budget guard skipped it
};

struct FinishedRun {
  automation::Automation automation;  // after the finish
  automation::RunFinished finished;
  std::optional<automation::Paused> paused;
};

class RunCommands {
 public:
  // Chooses the execution path for a capability (SPEC §3.7 step 3) as the commit sees it.
  using PathChooser =
      std::function<automation::Path(events::Transaction&, const std::string& capability)>;

  RunCommands(CommandBus& bus, const Config& config, LedgerCommands& ledger,
              AutomationStates& states, PathChooser choose_path = {});

  // Run-now answers 202 {"status":"scheduled","run_id","next_run_at"}; refusals carry their
  // problem (and Retry-After for min-interval).
  void start(std::string automation_id, automation::Trigger trigger, CommandContext ctx,
             std::function<void(Reply, std::optional<StartedRun>)> done);
  // `answer` nullopt = interrupted (crash recovery).
  void finish(std::string automation_id, std::string run_id,
              std::optional<automation::ExecutorAnswer> answer, CommandContext ctx,
              std::function<void(Reply, std::optional<FinishedRun>)> done);
  void deliver(std::string automation_id, std::vector<automation::AlertDelivered> deliveries,
               CommandContext ctx, std::function<void(Reply)> done);

 private:
  CommandBus& bus_;
  const Config& config_;
  LedgerCommands& ledger_;
  AutomationStates& states_;
  PathChooser choose_path_;
  rocksdb::ColumnFamilyHandle* run_index_;  // "agg.automation_runs": r <run id> → automation id
};

}  // namespace annals::commands

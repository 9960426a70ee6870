// Ledger commands (SPEC §2.16, API §7): RecordInvocation, and the budget guard as a decision sees
// it. The writer keeps, beside the log, each UTC day's totals by task type ("agg.ledger":
// d <YYYY-MM-DD> → ledger::DayTotals), committed with the invocation, so the guard reads at most
// one month of days instead of folding the ledger streams.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>

#include "commands/command_bus.h"
#include "domain/config.h"
#include "domain/ledger.h"

namespace annals::commands {

struct InvocationDraft {
  ledger::Invocation invocation;  // id and `at` filled in by the decision when absent
  bool at_given = false;
};

// Body of POST /admin/invocations: types, required and unknown fields, money.
std::expected<InvocationDraft, Problem> parse_invocation(const nlohmann::json& body);

class LedgerCommands {
 public:
  LedgerCommands(CommandBus& bus, const Config& config);

  // 201 `I` with the ETag of its ledger-day stream; 422 for an `at` in the future.
  void record(InvocationDraft draft, CommandContext ctx, std::function<void(Reply)> done);

  // The budget guard at tx.now() over what this commit sees.
  ledger::Guard guard(events::Transaction& tx) const;

 private:
  CommandBus& bus_;
  const Config& config_;
  rocksdb::ColumnFamilyHandle* totals_;  // "agg.ledger"
};

}  // namespace annals::commands

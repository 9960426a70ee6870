#include "commands/runs.h"

#include <memory>

#include "commands/ids.h"
#include "domain/json_text.h"
#include "events/automation_codec.h"

namespace annals::commands {

namespace {

Reply not_found(const std::string& id) {
  return Reply::error(Problem::make(ProblemKind::kNotFound, "Automation " + id + " not found."));
}

// Appends `evs` to the automation's stream after version `version`.
std::expected<events::AppendResult, Problem> append(events::Transaction& tx, const std::string& id,
                                                    std::uint64_t version,
                                                    const std::vector<automation::Event>& evs,
                                                    const CommandContext& ctx) {
  std::vector<events::NewEvent> encoded;
  for (const auto& e : evs) encoded.push_back(events::encode(e));
  return tx.append(automation::stream_name(id), events::ExpectedVersion::exact(version), encoded,
                   {ctx.actor, ctx.correlation_id, std::nullopt});
}

}  // namespace

RunCommands::RunCommands(CommandBus& bus, const Config& config, LedgerCommands& ledger,
                         AutomationStates& states, PathChooser choose_path)
    : bus_(bus),
      config_(config),
      ledger_(ledger),
      states_(states),
      choose_path_(std::move(choose_path)),
      run_index_(bus.store().column_family("agg.automation_runs")) {
  if (!choose_path_) {
    choose_path_ = [](events::Transaction&, const std::string&) { return automation::Path{}; };
  }
}

void RunCommands::start(std::string automation_id, automation::Trigger trigger, CommandContext ctx,
                        std::function<void(Reply, std::optional<StartedRun>)> done) {
  auto result = std::make_shared<std::optional<StartedRun>>();
  bus_.execute(
      ctx,
      [this, automation_id, trigger, ctx, result](events::Transaction& tx) {
        auto f = states_.fold(tx, automation_id);
        if (!f.state) return not_found(automation_id);
        const auto path = choose_path_(tx, f.state->capability_name);
        const bool budget_paused = ledger_.guard(tx).paused;
        const std::string run_id = new_uuid_v7(tx.now());
        auto decided =
            automation::decide_start(*f.state, trigger, run_id, path, budget_paused, tx.now());
        if (!decided) {
          Reply r = Reply::error(decided.error().problem);
          if (decided.error().retry_after_seconds) {
            r.headers.emplace_back("Retry-After",
                                   std::to_string(*decided.error().retry_after_seconds));
          }
          return r;
        }
        const auto before = *f.state;
        std::vector<automation::Event> evs{decided->started};
        if (decided->skipped) evs.push_back(*decided->skipped);
        auto appended = append(tx, automation_id, f.version, evs, ctx);
        if (!appended) return Reply::error(appended.error());
        for (const auto& e : evs) automation::evolve(f.state, e, tx.now());
        tx.put(run_index_, "r" + run_id, automation_id);
        *result = StartedRun{before, decided->started, decided->skipped};
        Reply r;
        r.status = 202;
        JsonWriter w(r.body);
        w.begin_object().key("status").value("scheduled").key("run_id").value(run_id);
        w.key("next_run_at").instant(f.state->next_run_at).end_object();
        r.position = appended->last_position;
        return r;
      },
      [result, done = std::move(done)](Reply r) {
        done(r, r.ok() ? std::move(*result) : std::nullopt);
      });
}

void RunCommands::finish(std::string automation_id, std::string run_id,
                         std::optional<automation::ExecutorAnswer> answer, CommandContext ctx,
                         std::function<void(Reply, std::optional<FinishedRun>)> done) {
  auto result = std::make_shared<std::optional<FinishedRun>>();
  bus_.execute(
      ctx,
      [this, automation_id, run_id, answer = std::move(answer), ctx,
       result](events::Transaction& tx) {
        auto f = states_.fold(tx, automation_id);
        if (!f.state) return not_found(automation_id);
        const auto threshold = config_.automation_failure_pause_threshold;
        auto decided =
            answer ? automation::decide_finish(*f.state, run_id, *answer, threshold, tx.now())
                   : automation::decide_interrupted(*f.state, run_id, threshold, tx.now());
        if (!decided) return Reply::error(decided.error());
        std::vector<automation::Event> evs{decided->finished};
        if (decided->paused) evs.push_back(*decided->paused);
        auto appended = append(tx, automation_id, f.version, evs, ctx);
        if (!appended) return Reply::error(appended.error());
        for (const auto& e : evs) automation::evolve(f.state, e, tx.now());
        *result = FinishedRun{*f.state, decided->finished, decided->paused};
        Reply r;
        r.status = 200;
        r.body = "{}";
        r.position = appended->last_position;
        return r;
      },
      [result, done = std::move(done)](Reply r) {
        done(r, r.ok() ? std::move(*result) : std::nullopt);
      });
}

void RunCommands::deliver(std::string automation_id,
                          std::vector<automation::AlertDelivered> deliveries, CommandContext ctx,
                          std::function<void(Reply)> done) {
  bus_.execute(
      ctx,
      [automation_id, deliveries = std::move(deliveries), ctx](events::Transaction& tx) {
        std::vector<events::NewEvent> evs;
        for (const auto& d : deliveries) evs.push_back(events::encode(automation::Event{d}));
        // Deliveries never conflict with other events of the stream: append at any version.
        if (tx.stream_version(automation::stream_name(automation_id)) == 0) {
          return not_found(automation_id);
        }
        auto appended =
            tx.append(automation::stream_name(automation_id), events::ExpectedVersion::any(), evs,
                      {ctx.actor, ctx.correlation_id, std::nullopt});
        if (!appended) return Reply::error(appended.error());
        Reply r;
        r.status = 200;
        r.body = "{}";
        r.position = appended->last_position;
        return r;
      },
      std::move(done));
}

}  // namespace annals::commands

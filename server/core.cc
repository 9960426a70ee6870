#include "server/core.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <stdexcept>

#include "domain/automation_run.h"
#include "projections/automation_runs.h"
#include "projections/automations.h"
#include "projections/skills.h"

namespace annals::server {

namespace {

// The scheduler's reads, from the automations and automation_runs read models.
commands::SchedulerSource scheduler_source(events::EventStore& store) {
  auto automations = [&store] {
    const auto view = store.read_view();
    return projections::AutomationsQueries(store.db(), view.family("automations"), view);
  };
  auto runs = [&store] {
    const auto view = store.read_view();
    return projections::AutomationRunsQueries(store.db(), view.family("automation_runs"), view);
  };
  commands::SchedulerSource s;
  s.due = [automations](Micros now, std::size_t limit, std::optional<Micros>& next_wake) {
    std::vector<commands::SchedulerSource::Due> out;
    for (auto& d : automations().due(now, limit, next_wake)) out.push_back({d.id, d.next_run_at});
    return out;
  };
  s.in_flight = [automations] { return automations().in_flight(); };
  s.undelivered = [runs] { return runs().undelivered(); };
  s.automation = [automations](const std::string& id) -> std::optional<automation::Automation> {
    auto row = automations().get(id);
    if (!row) return std::nullopt;
    return automation::from_json(nlohmann::json::parse(row->json, nullptr, false));
  };
  s.run = [runs](const std::string& run_id) -> std::optional<automation::Run> {
    auto row = runs().get(run_id);
    if (!row) return std::nullopt;
    return automation::run_from_json(*row);
  };
  return s;
}

// The nightly job's picks, from the skills and nightly_runs read models.
commands::NightlySource nightly_source(events::EventStore& store) {
  commands::NightlySource s;
  s.skills_in_state = [&store](const std::string& state) {
    const auto view = store.read_view();
    const projections::SkillsQueries q(store, view);
    std::vector<std::string> ids;
    for (const auto& row :
         q.list(state, std::nullopt, {std::numeric_limits<std::int64_t>::max(), 0})) {
      ids.push_back(nlohmann::json::parse(row)["id"]);
    }
    // The list is newest change first; the scheduler wants updated_at ascending.
    std::reverse(ids.begin(), ids.end());
    return ids;
  };
  s.last_completed = [&store]() -> std::optional<Micros> {
    const auto view = store.read_view();
    const projections::PerSkillQueries q(store.db(), view.family("nightly_runs"), view);
    auto rows = q.all({1, 0});
    if (rows.empty()) return std::nullopt;
    return parse_instant(nlohmann::json::parse(rows[0])["finished_at"].get<std::string>());
  };
  s.new_candidates = [&store] {
    const auto view = store.read_view();
    const projections::CandidatesQueries q(store.db(), view.family("candidates"), view);
    std::vector<std::string> ids;
    for (const auto& row :
         q.list(std::string("new"), std::nullopt, {std::numeric_limits<std::int64_t>::max(), 0})) {
      ids.push_back(nlohmann::json::parse(row)["id"]);
    }
    return ids;
  };
  s.first_event_at = [&store]() -> std::optional<Micros> {
    auto first = store.read(1);
    if (!first) return std::nullopt;
    return first->event().recorded_at();
  };
  return s;
}

}  // namespace

Core::Core(const Config& config, std::function<Micros()> clock) {
  events::StoreOptions options;
  options.dir = config.data_dir;
  options.max_batch = static_cast<std::size_t>(config.writer_max_batch);
  options.clock = clock;
  auto opened = events::EventStore::open(options);
  if (!opened) throw std::runtime_error(opened.error().detail);
  store = std::move(*opened);
  projector = std::make_unique<projections::Projector>(*store, projections::all_projections());
  projector->open();
  projector->attach();
  projector->set_on_rebuild_failed(
      [](const std::vector<std::string>& names, const std::string& what) {
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
        spdlog::error("online rebuild of {} failed, the read models keep their generations: {}",
                      list, what);
      });
  bus = std::make_unique<commands::CommandBus>(*store);
  lessons = std::make_unique<commands::LessonCommands>(*bus, config);
  capabilities = std::make_unique<commands::CapabilityCommands>(*bus);
  automation_states = std::make_unique<commands::AutomationStates>(*bus);
  automations = std::make_unique<commands::AutomationCommands>(*bus, config, *automation_states);
  ledger = std::make_unique<commands::LedgerCommands>(*bus, config);
  // Skills observe through the dispatcher's notifier and I/O threads, built below.
  skills = std::make_unique<commands::SkillCommands>(
      *bus, config, [this](std::vector<commands::SkillEffect> effects) {
        if (skill_observer_) skill_observer_(std::move(effects));
      });
  runs = std::make_unique<commands::RunCommands>(
      *bus, config, *ledger, *automation_states,
      [this](events::Transaction& tx, const std::string& capability) {
        return skills->path_for(tx, capability);
      });
  if (!clock) {
    clock = [] {
      return std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  dispatcher = std::make_unique<commands::Dispatcher>(*runs, *lessons, config,
                                                      scheduler_source(*store), clock);
  store->add_commit_listener([d = dispatcher.get()](std::uint64_t) { d->wake(); });
  candidates = std::make_unique<commands::CandidateCommands>(*bus, config, *skills);
  nightly = std::make_unique<commands::NightlyJob>(*bus, *skills, *ledger, *candidates, config,
                                                   nightly_source(*store), clock);
  skill_observer_ = commands::skill_observers(
      *lessons, dispatcher->notifier(), clock,
      [d = dispatcher.get()](std::function<void()> fn) { d->post(std::move(fn)); });
}

void Core::start_dispatcher() {
  dispatcher->start();
  nightly->start();
}

void Core::stop() {
  if (nightly) nightly->stop();
  if (dispatcher) dispatcher->stop();
  if (projector) projector->stop();
  if (store) store->stop();
}

Core::~Core() { stop(); }

}  // namespace annals::server

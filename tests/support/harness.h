// An in-process annals core for tests below HTTP: store, projector, command bus and lesson
// commands over a temp directory, with a clock the test sets.
#pragma once

#include <atomic>
#include <future>
#include <memory>

#include "projections/lessons.h"
#include "server/core.h"
#include "tests/support/temp_dir.h"

namespace annals::testing {

class Harness {
 public:
  explicit Harness(Config config = {}, Micros start = 1'776'340'800'000'000)
      : config_(std::move(config)), now_(start) {
    open();
  }

  void open() {
    config_.data_dir = dir_.path();
    core_ = std::make_unique<server::Core>(config_, [this] { return now_.load(); });
  }
  void close() { core_.reset(); }

  void advance(Micros us) { now_ += us; }
  void set_now(Micros t) { now_ = t; }
  Micros now() const { return now_.load(); }

  commands::Reply record(lesson::Fields f, const std::string& actor = "tester") {
    std::promise<commands::Reply> p;
    core_->lessons->record(std::move(f), {actor, "corr", std::nullopt, "", std::nullopt},
                           [&](commands::Reply r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  commands::Reply update(std::int64_t id, std::vector<lesson::Change> changes,
                         std::optional<std::uint64_t> if_match = std::nullopt) {
    std::promise<commands::Reply> p;
    core_->lessons->update(id, std::move(changes), {"tester", "corr", std::nullopt, "", if_match},
                           [&](commands::Reply r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  // Waits until the observers of the commands so far have run (they run after a command's reply,
  // off the writer) and what they appended (auto-lessons) is durable.
  void settle() {
    core_->dispatcher->wait_posted();
    // The writer runs jobs in submission order: an empty job's durability covers theirs.
    std::promise<void> durable;
    core_->store->submit(
        events::WriteJob{[](events::Transaction&) { return true; },
                         [&](const std::optional<Problem>&) { durable.set_value(); }});
    durable.get_future().get();
  }

  // Runs a command synchronously.
  template <typename Fn>
  commands::Reply run(Fn&& fn) {
    std::promise<commands::Reply> p;
    fn(commands::CommandContext{"tester", "corr", std::nullopt, "", std::nullopt},
       [&](commands::Reply r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  commands::CapabilityCommands& capabilities() { return *core_->capabilities; }
  commands::AutomationCommands& automations() { return *core_->automations; }
  commands::LedgerCommands& ledger() { return *core_->ledger; }
  commands::Dispatcher& dispatcher() { return *core_->dispatcher; }
  server::Core& core() { return *core_; }

  projections::LessonsQueries lesson_queries() const {
    return projections::LessonsQueries(core_->store->db(), core_->projector->family("lessons"),
                                       core_->store->read_view());
  }

  Config& config() { return config_; }
  events::EventStore& store() { return *core_->store; }
  projections::Projector& projector() { return *core_->projector; }
  std::string dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  Config config_;
  std::atomic<Micros> now_;
  std::unique_ptr<server::Core> core_;
};

}  // namespace annals::testing

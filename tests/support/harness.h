// An in-process annals core for tests below HTTP: store, projector, command bus and lesson
// commands over a temp directory, with a clock the test sets.
#pragma once

#include <atomic>
#include <future>
#include <memory>

#include "commands/automations.h"
#include "commands/capabilities.h"
#include "commands/command_bus.h"
#include "commands/lessons.h"
#include "domain/config.h"
#include "events/store.h"
#include "projections/lessons.h"
#include "projections/projector.h"
#include "tests/support/temp_dir.h"

namespace annals::testing {

class Harness {
 public:
  explicit Harness(Config config = {}, Micros start = 1'776'340'800'000'000)
      : config_(std::move(config)), now_(start) {
    open();
  }

  void open() {
    events::StoreOptions o;
    o.dir = dir_.path();
    o.clock = [this] { return now_.load(); };
    store_ = std::move(*events::EventStore::open(o));
    projector_ = std::make_unique<projections::Projector>(*store_, projections::all_projections());
    projector_->open();
    projector_->attach();
    bus_ = std::make_unique<commands::CommandBus>(*store_);
    lessons_ = std::make_unique<commands::LessonCommands>(*bus_, config_);
    capabilities_ = std::make_unique<commands::CapabilityCommands>(*bus_);
    automations_ = std::make_unique<commands::AutomationCommands>(*bus_, config_);
  }
  void close() {
    automations_.reset();
    capabilities_.reset();
    lessons_.reset();
    bus_.reset();
    projector_.reset();
    store_.reset();
  }

  void advance(Micros us) { now_ += us; }
  Micros now() const { return now_.load(); }

  commands::Reply record(lesson::Fields f, const std::string& actor = "tester") {
    std::promise<commands::Reply> p;
    lessons_->record(std::move(f), {actor, "corr", std::nullopt, "", std::nullopt},
                     [&](commands::Reply r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  commands::Reply update(std::int64_t id, std::vector<lesson::Change> changes,
                         std::optional<std::uint64_t> if_match = std::nullopt) {
    std::promise<commands::Reply> p;
    lessons_->update(id, std::move(changes), {"tester", "corr", std::nullopt, "", if_match},
                     [&](commands::Reply r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }

  // Runs a command synchronously.
  template <typename Fn>
  commands::Reply run(Fn&& fn) {
    std::promise<commands::Reply> p;
    fn(commands::CommandContext{"tester", "corr", std::nullopt, "", std::nullopt},
       [&](commands::Reply r) { p.set_value(std::move(r)); });
    return p.get_future().get();
  }
  commands::CapabilityCommands& capabilities() { return *capabilities_; }
  commands::AutomationCommands& automations() { return *automations_; }

  projections::LessonsQueries lesson_queries() const {
    return projections::LessonsQueries(store_->db(), projector_->family("lessons"),
                                       store_->read_view());
  }

  Config& config() { return config_; }
  events::EventStore& store() { return *store_; }
  projections::Projector& projector() { return *projector_; }
  std::string dir() const { return dir_.path(); }

 private:
  TempDir dir_;
  Config config_;
  std::atomic<Micros> now_;
  std::unique_ptr<events::EventStore> store_;
  std::unique_ptr<projections::Projector> projector_;
  std::unique_ptr<commands::CommandBus> bus_;
  std::unique_ptr<commands::LessonCommands> lessons_;
  std::unique_ptr<commands::CapabilityCommands> capabilities_;
  std::unique_ptr<commands::AutomationCommands> automations_;
};

}  // namespace annals::testing

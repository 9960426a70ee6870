#include "server/core.h"

#include <stdexcept>

namespace annals::server {

Core::Core(const Config& config, std::function<Micros()> clock) {
  events::StoreOptions options;
  options.dir = config.data_dir;
  options.max_batch = static_cast<std::size_t>(config.writer_max_batch);
  options.clock = std::move(clock);
  auto opened = events::EventStore::open(options);
  if (!opened) throw std::runtime_error(opened.error().detail);
  store = std::move(*opened);
  projector = std::make_unique<projections::Projector>(*store, projections::all_projections());
  projector->open();
  projector->attach();
  bus = std::make_unique<commands::CommandBus>(*store);
  lessons = std::make_unique<commands::LessonCommands>(*bus, config);
  capabilities = std::make_unique<commands::CapabilityCommands>(*bus);
  automations = std::make_unique<commands::AutomationCommands>(*bus, config);
}

Core::~Core() {
  if (store) store->stop();
}

}  // namespace annals::server

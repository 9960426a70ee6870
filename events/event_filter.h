// The event filters shared by GET /events, the live tail and `annals replay` (API §15, §18.2).
#pragma once

#include <optional>
#include <set>
#include <string>

#include "domain/time.h"
#include "events/store.h"

namespace annals::events {

struct EventFilter {
  std::optional<std::string> stream;    // exact stream name
  std::optional<std::string> category;  // the stream's prefix before the first '-'
  std::set<std::string> types;          // empty: every type
  std::optional<Micros> since, until;   // on recorded_at: since inclusive, until exclusive

  bool matches(const StoredEvent& e) const {
    const auto& ev = e.event();
    const std::string_view s = ev.stream() ? ev.stream()->string_view() : std::string_view();
    if (stream && s != *stream) return false;
    if (category && s.substr(0, s.find('-')) != *category) return false;
    if (!types.empty() && !types.contains(std::string(e.type_name()))) return false;
    if (since && ev.recorded_at() < *since) return false;
    if (until && ev.recorded_at() >= *until) return false;
    return true;
  }
};

}  // namespace annals::events

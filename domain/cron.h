// Cron expressions (SPEC §3.4-3.6): croniter-compatible syntax with seconds and year fields, names,
// ranges (wrapping), steps, lists, `?`, `L`, `nW`, `d#n`, `Ld` and the @ aliases; the next fire
// strictly after an instant in an IANA time zone with the DST rules of §3.5; unsatisfiable
// expressions; and the smallest gap between consecutive fires for the minimum-interval check.
#pragma once

#include <bitset>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>

#include "domain/time.h"

namespace annals::cron {

struct Schedule {
  std::string text;  // as written
  std::bitset<60> seconds, minutes;
  std::bitset<24> hours;
  std::bitset<32> days;           // 1..31
  bool last_day = false;          // L (also the end of a range a-L: days a..31 ∩ ≤ last day)
  int last_day_from = 0;          // for a-L: first day of the range (0 when plain L)
  int nearest_weekday = 0;        // nW: n, else 0
  std::bitset<13> months;         // 1..12
  std::bitset<7> weekdays;        // 0 = Sunday
  int nth_weekday = -1, nth = 0;  // d#n
  int last_weekday = -1;          // Ld
  std::bitset<130> years;         // 1970..2099
  bool days_restricted = false, weekdays_restricted = false;
};

// Parses `text`; the error is the detail of "invalid cron expression '<text>': <detail>".
std::expected<Schedule, std::string> parse(std::string_view text);

// An IANA time zone from the system tz database; nullopt for unknown names.
class Zone {
 public:
  static std::optional<Zone> find(const std::string& name);
  const std::string& name() const { return name_; }
  const void* impl() const { return impl_; }

 private:
  std::string name_;
  const void* impl_ = nullptr;  // date::time_zone
};

// The first fire strictly after `after`, or nullopt when none lies within 50 years (or the year
// field's range).
std::optional<Micros> next_fire(const Schedule& s, const Zone& zone, Micros after);

// The smallest wall-clock gap in seconds between two consecutive fires (DST ignored); nullopt
// when the schedule fires at most once.
std::optional<std::int64_t> smallest_gap_seconds(const Schedule& s);
// Whether two consecutive fires can be closer than `seconds` (smallest_gap_seconds < seconds),
// answered from cheap bounds when they decide it (the 400-year day search only when needed).
bool fires_closer_than(const Schedule& s, std::int64_t seconds);

}  // namespace annals::cron

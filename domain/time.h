// Instants: microseconds since the Unix epoch, UTC (SPEC §0.2).
// One formatter and one parser for every instant annals reads or writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace annals {

using Micros = std::int64_t;

inline constexpr Micros kMicrosPerSecond = 1'000'000;

// Days since 1970-01-01 of a proleptic Gregorian civil date.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);

struct CivilDate {
  std::int64_t year;
  unsigned month;  // 1-12
  unsigned day;    // 1-31
};
CivilDate civil_from_days(std::int64_t days);

// RFC 3339 in UTC with exactly 6 fractional digits and "+00:00".
std::string format_instant(Micros t);
void append_instant(std::string& out, Micros t);

// Accepts RFC 3339 with 'Z' or a numeric offset and 0-9 fractional digits (truncated to
// microseconds). Returns nullopt for anything else.
std::optional<Micros> parse_instant(std::string_view text);

// "YYYY-MM-DD" of the UTC day holding t.
std::string format_utc_date(Micros t);

}  // namespace annals

// Cron (SPEC §3.4-3.6): the acceptance examples of SPEC §10.12-10.13 as tables, and properties.
#include "domain/cron.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

namespace annals::cron {
namespace {

Micros at(const char* rfc3339) { return parse_instant(rfc3339).value(); }

std::string next_text(const std::string& expr, const std::string& zone, const char* after) {
  auto s = parse(expr);
  if (!s) return "invalid: " + s.error();
  auto z = Zone::find(zone);
  if (!z) return "no zone";
  auto n = next_fire(*s, *z, at(after));
  return n ? format_instant(*n) : "never";
}

struct NextCase {
  const char* id;
  const char* expr;
  const char* zone;
  const char* after;
  const char* expected;
};

class Next : public ::testing::TestWithParam<NextCase> {};

TEST_P(Next, FiresAtTheSpecifiedInstant) {
  const auto& c = GetParam();
  EXPECT_EQ(next_text(c.expr, c.zone, c.after), c.expected)
      << c.id << ": " << c.expr << " after " << c.after;
}

#define Z(t) t ".000000+00:00"
INSTANTIATE_TEST_SUITE_P(
    Cron, Next,
    ::testing::Values(
        NextCase{"CR-01a", "0 12 * * *", "UTC", "2026-04-16T06:00:00Z", Z("2026-04-16T12:00:00")},
        NextCase{"CR-01b", "0 12 * * *", "UTC", "2026-04-16T15:00:00Z", Z("2026-04-17T12:00:00")},
        NextCase{"CR-01c", "0 12 * * *", "UTC", "2026-04-16T12:00:00Z", Z("2026-04-17T12:00:00")},
        NextCase{"CR-02a", "*/5 * * * *", "UTC", "2026-04-16T12:03:00Z", Z("2026-04-16T12:05:00")},
        NextCase{"CR-02b", "*/5 * * * * 30", "UTC", "2026-04-16T12:03:00Z",
                 Z("2026-04-16T12:05:30")},
        NextCase{"CR-02c", "@hourly", "UTC", "2026-04-16T12:03:00Z", Z("2026-04-16T13:00:00")},
        NextCase{"CR-03a", "0 0 1 1 * 0 2028", "UTC", "2026-04-16T00:00:00Z",
                 Z("2028-01-01T00:00:00")},
        NextCase{"CR-03b", "@weekly", "UTC", "2026-04-16T06:00:00Z", Z("2026-04-19T00:00:00")},
        NextCase{"CR-04a", "0 22-2 * * *", "UTC", "2026-04-16T23:30:00Z", Z("2026-04-17T00:00:00")},
        NextCase{"CR-04b", "0 0 * * 7", "UTC", "2026-04-16T06:00:00Z", Z("2026-04-19T00:00:00")},
        NextCase{"CR-04c", "0 0 * * sun", "UTC", "2026-04-16T06:00:00Z", Z("2026-04-19T00:00:00")},
        NextCase{"CR-05", "0 12 1 * wed", "UTC", "2026-04-16T13:00:00Z", Z("2026-04-22T12:00:00")},
        NextCase{"CR-06a", "0 9 15W * *", "UTC", "2026-08-01T00:00:00Z", Z("2026-08-14T09:00:00")},
        NextCase{"CR-06b", "0 9 15W * *", "UTC", "2026-02-01T00:00:00Z", Z("2026-02-16T09:00:00")},
        NextCase{"CR-06c", "0 9 1W * *", "UTC", "2026-07-31T12:00:00Z", Z("2026-08-03T09:00:00")},
        NextCase{"CR-07a", "0 0 L * *", "UTC", "2026-02-10T00:00:00Z", Z("2026-02-28T00:00:00")},
        NextCase{"CR-07b", "0 0 * * 5#3", "UTC", "2026-05-01T00:00:00Z", Z("2026-05-15T00:00:00")},
        NextCase{"CR-07c", "0 0 * * L5", "UTC", "2026-05-01T00:00:00Z", Z("2026-05-29T00:00:00")},
        NextCase{"CR-09a", "30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z",
                 Z("2026-03-08T07:00:00")},
        NextCase{"CR-09b", "30 2 * * *", "America/New_York", "2026-03-08T07:00:00Z",
                 Z("2026-03-09T06:30:00")},
        NextCase{"CR-10a", "*/30 * * * *", "America/New_York", "2026-03-08T06:30:00Z",
                 Z("2026-03-08T07:00:00")},
        NextCase{"CR-10b", "*/30 * * * *", "America/New_York", "2026-03-08T07:00:00Z",
                 Z("2026-03-08T07:30:00")},
        NextCase{"CR-11a", "30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z",
                 Z("2026-11-01T05:30:00")},
        NextCase{"CR-11b", "30 1 * * *", "America/New_York", "2026-11-01T05:30:00Z",
                 Z("2026-11-02T06:30:00")},
        NextCase{"CR-11c", "0 * * * *", "America/New_York", "2026-11-01T05:00:00Z",
                 Z("2026-11-01T07:00:00")},
        NextCase{"AU-08", "0 18 * * *", "Europe/Berlin", "2026-04-16T06:00:00Z",
                 Z("2026-04-16T16:00:00")},
        NextCase{"Berlin spring gap", "30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z",
                 Z("2026-03-29T01:00:00")},
        NextCase{"Berlin fall overlap", "30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z",
                 Z("2026-10-25T00:30:00")},
        NextCase{"a-a is one value", "0 5-5 * * *", "UTC", "2026-04-16T06:00:00Z",
                 Z("2026-04-17T05:00:00")},
        NextCase{"wrapping weekdays", "0 0 * * fri-mon", "UTC", "2026-04-16T06:00:00Z",
                 Z("2026-04-17T00:00:00")},
        NextCase{"10-L", "0 0 10-L * *", "UTC", "2026-04-05T00:00:00Z", Z("2026-04-10T00:00:00")},
        NextCase{"unsatisfiable", "0 0 30 2 *", "UTC", "2026-04-16T00:00:00Z", "never"},
        NextCase{"past year", "0 0 1 1 * 0 2020", "UTC", "2026-04-16T00:00:00Z", "never"}),
    [](const auto& info) {
      std::string n = info.param.id;
      for (auto& ch : n) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return n;
    });
#undef Z

class Rejects : public ::testing::TestWithParam<const char*> {};
TEST_P(Rejects, InvalidExpressions) { EXPECT_FALSE(parse(GetParam())) << GetParam(); }
INSTANTIATE_TEST_SUITE_P(Cron, Rejects,
                         ::testing::Values("* * *", "", "not a cron", "61 * * * *", "*/0 * * * *",
                                           "H * * * *", "@reboot", "0 0 * * 1,5#3", "0 9 1W,15 * *",
                                           "0 0 * * 8", "0 24 * * *", "0 0 0 * *", "0 0 * 13 *",
                                           "? * * * *", "0 0 * * * 0 1969", "0 0 * * 1#6",
                                           "1-2-3 * * * *"));

struct GapCase {
  const char* expr;
  std::int64_t gap;
};
class Gap : public ::testing::TestWithParam<GapCase> {};
TEST_P(Gap, SmallestGapBetweenFires) {
  auto s = parse(GetParam().expr);
  ASSERT_TRUE(s);
  EXPECT_EQ(smallest_gap_seconds(*s), GetParam().gap) << GetParam().expr;
}
INSTANTIATE_TEST_SUITE_P(Cron, Gap,
                         ::testing::Values(GapCase{"*/5 * * * *", 300},    // MI-01
                                           GapCase{"*/2 * * * *", 120},    // MI-01
                                           GapCase{"0 0,23 * * *", 3600},  // MI-02
                                           GapCase{"* * * * * 0,30", 30},  // MI-02
                                           GapCase{"0 12 * * *", 86400},   // MI-03
                                           GapCase{"0 * * * *", 3600},     // MI-03
                                           GapCase{"0 0 * * 1,3", 2 * 86400},
                                           GapCase{"0 0 29 2 *", 1461 * 86400}));

// ---- properties (UTC, 5- and 6-field expressions built from random parts) ----

std::string field(unsigned kind, int lo, int hi, unsigned a, unsigned b, unsigned step) {
  const int span = hi - lo + 1;
  const int x = lo + static_cast<int>(a % static_cast<unsigned>(span));
  const int y = lo + static_cast<int>(b % static_cast<unsigned>(span));
  switch (kind % 5) {
    case 0:
      return "*";
    case 1:
      return std::to_string(x);
    case 2:
      return std::to_string(std::min(x, y)) + "-" + std::to_string(std::max(x, y));
    case 3:
      return "*/" + std::to_string(1 + step % 15);
    default:
      return std::to_string(x) + "," + std::to_string(y);
  }
}

// A naive oracle for expressions without L, W, # (what the generator builds): every field of the
// UTC wall clock, with the day-of-month/day-of-week OR rule.
bool oracle_matches(const Schedule& s, Micros t) {
  const std::int64_t secs = t / kMicrosPerSecond;
  const std::int64_t days = secs / 86400, tod = secs % 86400;
  const CivilDate c = civil_from_days(days);
  const auto weekday = static_cast<std::size_t>((days % 7 + 4) % 7);
  const bool dom = s.days.test(c.day), dow = s.weekdays.test(weekday);
  const bool day = s.days_restricted && s.weekdays_restricted ? (dom || dow)
                   : s.days_restricted                        ? dom
                   : s.weekdays_restricted                    ? dow
                                                              : true;
  return day && s.seconds.test(static_cast<std::size_t>(tod % 60)) &&
         s.minutes.test(static_cast<std::size_t>(tod / 60 % 60)) &&
         s.hours.test(static_cast<std::size_t>(tod / 3600)) && s.months.test(c.month);
}

RC_GTEST_PROP(CronProperties, NextFireMatchesAndNothingMatchesInBetween,
              (unsigned k0, unsigned k1, unsigned k2, unsigned k3, unsigned k4, unsigned a,
               unsigned b, unsigned step, unsigned offset)) {
  const std::string expr = field(k0, 0, 59, a, b, step) + " " + field(k1, 0, 23, b, a, step) + " " +
                           field(k2, 1, 28, a, step, b) + " " + field(k3, 1, 12, step, a, b) + " " +
                           field(k4, 0, 6, b, step, a);
  auto s = parse(expr);
  RC_ASSERT(s.has_value());
  const auto utc = *Zone::find("UTC");
  const Micros after = at("2026-01-01T00:00:00Z") +
                       static_cast<Micros>(offset % (3 * 365 * 86400)) * kMicrosPerSecond;
  auto n = next_fire(*s, utc, after);
  RC_ASSERT(n.has_value());  // every generated day of month exists in every month
  RC_ASSERT(*n > after);
  RC_ASSERT(oracle_matches(*s, *n));
  // Monotonic: the fire after a fire is later.
  auto m = next_fire(*s, utc, *n);
  RC_ASSERT(m.has_value());
  RC_ASSERT(*m > *n);
  // No matching minute strictly between `after` and the result (checked for near results).
  if (*n - after <= 2 * 86400 * kMicrosPerSecond) {
    for (Micros t = (after / (60 * kMicrosPerSecond) + 1) * 60 * kMicrosPerSecond; t < *n;
         t += 60 * kMicrosPerSecond) {
      RC_ASSERT(!oracle_matches(*s, t));
    }
  }
}

RC_GTEST_PROP(CronProperties, ResultsIncreaseWithAfter, (unsigned x, unsigned y)) {
  const auto s = parse("*/7 3-19 * * mon-fri");
  RC_ASSERT(s.has_value());
  const auto zone = *Zone::find("Europe/Berlin");
  const Micros base = at("2026-01-01T00:00:00Z");
  const Micros t1 = base + static_cast<Micros>(std::min(x, y) % 100'000'000) * kMicrosPerSecond;
  const Micros t2 = base + static_cast<Micros>(std::max(x, y) % 100'000'000) * kMicrosPerSecond;
  RC_ASSERT(*next_fire(*s, zone, t1) <= *next_fire(*s, zone, std::max(t1, t2)));
}

}  // namespace
}  // namespace annals::cron

#include "domain/time.h"

#include <gtest/gtest.h>

namespace annals {
namespace {

TEST(Time, FormatsWithSixDigitsAndUtcOffset) {
  EXPECT_EQ(format_instant(0), "1970-01-01T00:00:00.000000+00:00");
  const auto t = parse_instant("2026-04-16T12:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_instant(*t), "2026-04-16T12:00:00.000000+00:00");
  EXPECT_EQ(format_instant(-1), "1969-12-31T23:59:59.999999+00:00");
}

TEST(Time, ParsesOffsetsAndTruncatesFractions) {
  EXPECT_EQ(parse_instant("2026-04-17T01:00:00+02:00"), parse_instant("2026-04-16T23:00:00Z"));
  EXPECT_EQ(parse_instant("2026-04-16T12:00:00.123456789Z").value() % kMicrosPerSecond, 123456);
  EXPECT_EQ(parse_instant("2026-04-16T12:00:00.5-01:30").value(),
            parse_instant("2026-04-16T13:30:00.500000Z").value());
}

struct BadInstant {
  const char* text;
};
class RejectsInstant : public ::testing::TestWithParam<const char*> {};
TEST_P(RejectsInstant, Rejects) { EXPECT_FALSE(parse_instant(GetParam())) << GetParam(); }
INSTANTIATE_TEST_SUITE_P(Time, RejectsInstant,
                         ::testing::Values("", "2026-04-16", "2026-04-16T12:00:00",
                                           "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
                                           "2026-04-16T24:00:00Z", "2026-04-16T12:00:00.Z",
                                           "2026-04-16T12:00:00.1234567890Z",
                                           "2026-04-16T12:00:00+2:00", "2026-04-16 12:00:00Z",
                                           "2026-04-16T12:00:00Zjunk"));

TEST(Time, UtcDate) {
  EXPECT_EQ(format_utc_date(parse_instant("2026-04-17T01:00:00+02:00").value()), "2026-04-16");
}

}  // namespace
}  // namespace annals

#include "domain/money.h"

namespace annals {
namespace {

TEST(Money, RoundsFromTheDecimalTextHalfAwayFromZero) {  // BG-04
  EXPECT_EQ(usd_to_micros(0.0000004), 0);
  EXPECT_EQ(usd_to_micros(0.0000006), 1);
  EXPECT_EQ(usd_to_micros(0.0000005), 1);
  EXPECT_EQ(usd_to_micros(0.02), 20000);
  EXPECT_EQ(usd_to_micros(2.0), 2000000);
  EXPECT_EQ(usd_to_micros(19.99), 19990000);
  EXPECT_EQ(usd_to_micros(0.1), 100000);
  EXPECT_FALSE(usd_to_micros(-0.01));
}

}  // namespace
}  // namespace annals

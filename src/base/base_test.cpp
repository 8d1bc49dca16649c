#include <gtest/gtest.h>

#include "base/strings.hpp"
#include "base/time_format.hpp"

namespace tjf {
namespace {

TEST(FormatDuration, MatchesUpstreamExamples) {
  EXPECT_EQ(formatDuration(0), "0s");
  EXPECT_EQ(formatDuration(59), "59s");
  EXPECT_EQ(formatDuration(3600), "1h");
  EXPECT_EQ(formatDuration(3661), "1h1m1s");
  EXPECT_EQ(formatDuration(86401), "1d");
  EXPECT_EQ(formatDuration(90061), "1d1h1m");
  EXPECT_EQ(formatDuration(182), "3m2s");
}

TEST(IsoTime, RoundTrips) {
  const TimePoint t = fromUnixMillis(1625048768000);  // 2021-06-30T10:26:08Z
  EXPECT_EQ(formatIsoUtc(t), "2021-06-30T10:26:08Z");
  EXPECT_EQ(parseIsoUtc("2021-06-30T10:26:08Z"), t);
  const TimePoint u = fromUnixMillis(1625048768123);
  EXPECT_EQ(formatIsoUtcMicros(u), "2021-06-30T10:26:08.123000+00:00");
  EXPECT_EQ(parseIsoUtc(formatIsoUtcMicros(u)), u);
  EXPECT_FALSE(parseIsoUtc("yesterday").has_value());
  EXPECT_FALSE(parseIsoUtc("2021-06-30T10:26:08+02:00").has_value());
}

TEST(Strings, SplitJoinTrimQuote) {
  EXPECT_EQ(split("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(join({"a", "b"}, ", "), "a, b");
  EXPECT_EQ(trim("  x y \r\n"), "x y");
  EXPECT_EQ(shellQuote("it's"), "'it'\\''s'");
}

}  // namespace
}  // namespace tjf

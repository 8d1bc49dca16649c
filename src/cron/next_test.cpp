#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "base/time_format.hpp"
#include "cron/schedule.hpp"

namespace tjf::cron {
namespace {

TimePoint at(const char* iso) {
  auto t = parseIsoUtc(iso);
  EXPECT_TRUE(t.has_value()) << iso;
  return t.value_or(TimePoint{});
}

Schedule schedule(const char* expr, const char* zone = "UTC") {
  auto s = parseSchedule(expr, "tool", "job", zone);
  EXPECT_TRUE(s.has_value()) << expr << ": " << (s ? "" : s.error().message);
  return s.value_or(Schedule{});
}

std::string show(std::optional<TimePoint> t) { return t ? formatIsoUtc(*t) : "none"; }

// The next n fire times after `from`, in UTC.
std::vector<std::string> fires(const char* expr, const char* zone, const char* from, int n) {
  const Schedule s = schedule(expr, zone);
  std::vector<std::string> out;
  TimePoint t = at(from);
  for (int i = 0; i < n; ++i) {
    auto next = nextFireAfter(s, t);
    out.push_back(show(next));
    if (!next) break;
    t = *next;
  }
  return out;
}

// The n fire times at or before `from`, latest first.
std::vector<std::string> pastFires(const char* expr, const char* zone, const char* from, int n) {
  const Schedule s = schedule(expr, zone);
  std::vector<std::string> out;
  TimePoint t = at(from);
  for (int i = 0; i < n; ++i) {
    auto last = lastFireAtOrBefore(s, t);
    out.push_back(show(last));
    if (!last) break;
    t = *last - std::chrono::seconds(1);
  }
  return out;
}

using V = std::vector<std::string>;

TEST(NextFire, StrictlyAfterAndMinuteAligned) {
  const Schedule s = schedule("*/15 * * * *");
  EXPECT_EQ(show(nextFireAfter(s, at("2024-05-01T10:00:00Z"))), "2024-05-01T10:15:00Z");
  EXPECT_EQ(show(nextFireAfter(s, at("2024-05-01T09:59:59Z"))), "2024-05-01T10:00:00Z");
  EXPECT_EQ(show(nextFireAfter(s, at("2024-05-01T10:00:00Z") - std::chrono::milliseconds(1))),
            "2024-05-01T10:00:00Z");
  EXPECT_EQ(show(nextFireAfter(s, at("2024-05-01T10:00:00Z") + std::chrono::milliseconds(1))),
            "2024-05-01T10:15:00Z");
  EXPECT_EQ(show(lastFireAtOrBefore(s, at("2024-05-01T10:00:00Z"))), "2024-05-01T10:00:00Z");
  EXPECT_EQ(show(lastFireAtOrBefore(s, at("2024-05-01T09:59:59Z"))), "2024-05-01T09:45:00Z");
  EXPECT_EQ(show(lastFireAtOrBefore(s, at("2024-05-01T10:14:59Z"))), "2024-05-01T10:00:00Z");
}

TEST(NextFire, MonthLengthsLeapYearsAndYearEnds) {
  EXPECT_EQ(
      fires("0 0 31 * *", "UTC", "2024-01-31T00:00:00Z", 4),
      (V{"2024-03-31T00:00:00Z", "2024-05-31T00:00:00Z", "2024-07-31T00:00:00Z", "2024-08-31T00:00:00Z"}));
  EXPECT_EQ(fires("0 0 29 2 *", "UTC", "2023-01-01T00:00:00Z", 3),
            (V{"2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}));
  // 2100 is not a leap year: 8 years between Feb 29s, beyond the horizon.
  EXPECT_EQ(fires("0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", 1), (V{"none"}));
  EXPECT_EQ(fires("0 0 30 2 *", "UTC", "2024-01-01T00:00:00Z", 1), (V{"none"}));
  EXPECT_EQ(fires("0 0 31 4,6,9,11 *", "UTC", "2024-01-01T00:00:00Z", 1), (V{"none"}));
  EXPECT_EQ(fires("59 23 31 12 *", "UTC", "2024-12-31T23:59:00Z", 2),
            (V{"2025-12-31T23:59:00Z", "2026-12-31T23:59:00Z"}));
  EXPECT_EQ(fires("0 0 1 1 *", "UTC", "2024-12-31T23:59:30Z", 2),
            (V{"2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"}));
  EXPECT_EQ(
      fires("30 12 28-31 2 *", "UTC", "2023-02-27T00:00:00Z", 4),
      (V{"2023-02-28T12:30:00Z", "2024-02-28T12:30:00Z", "2024-02-29T12:30:00Z", "2025-02-28T12:30:00Z"}));
  // Ranges do not wrap around (`dec-feb` is an error, as upstream and in Kubernetes).
  EXPECT_EQ(fires("0 6 * dec,jan-feb *", "UTC", "2024-02-29T07:00:00Z", 2),
            (V{"2024-12-01T06:00:00Z", "2024-12-02T06:00:00Z"}));
  EXPECT_EQ(pastFires("0 0 29 2 *", "UTC", "2028-02-28T23:59:59Z", 2),
            (V{"2024-02-29T00:00:00Z", "2020-02-29T00:00:00Z"}));
  EXPECT_EQ(pastFires("0 0 31 * *", "UTC", "2024-05-30T00:00:00Z", 3),
            (V{"2024-03-31T00:00:00Z", "2024-01-31T00:00:00Z", "2023-12-31T00:00:00Z"}));
  EXPECT_EQ(pastFires("0 0 30 2 *", "UTC", "2024-05-30T00:00:00Z", 1), (V{"none"}));
}

TEST(NextFire, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // Friday the 13th semantics are NOT an AND: the 13th, and every Friday.
  EXPECT_EQ(
      fires("0 0 13 * fri", "UTC", "2024-09-01T00:00:00Z", 4),
      (V{"2024-09-06T00:00:00Z", "2024-09-13T00:00:00Z", "2024-09-20T00:00:00Z", "2024-09-27T00:00:00Z"}));
  EXPECT_EQ(fires("0 0 12 * fri", "UTC", "2024-09-01T00:00:00Z", 3),
            (V{"2024-09-06T00:00:00Z", "2024-09-12T00:00:00Z", "2024-09-13T00:00:00Z"}));
  // `*/2` restricts (robfig/cron): odd days OR Mondays.
  EXPECT_EQ(fires("0 0 */2 * mon", "UTC", "2024-09-01T12:00:00Z", 3),
            (V{"2024-09-02T00:00:00Z", "2024-09-03T00:00:00Z", "2024-09-05T00:00:00Z"}));
  // A bare `*` in either field: the other one alone decides.
  EXPECT_EQ(fires("0 0 * * mon", "UTC", "2024-09-01T00:00:00Z", 2),
            (V{"2024-09-02T00:00:00Z", "2024-09-09T00:00:00Z"}));
  EXPECT_EQ(fires("0 0 1 * *", "UTC", "2024-09-01T00:00:00Z", 2),
            (V{"2024-10-01T00:00:00Z", "2024-11-01T00:00:00Z"}));
  EXPECT_EQ(fires("0 0 */1 * mon", "UTC", "2024-09-01T00:00:00Z", 2),
            (V{"2024-09-02T00:00:00Z", "2024-09-09T00:00:00Z"}));
  EXPECT_EQ(fires("0 0 1-31 * mon", "UTC", "2024-09-01T00:00:00Z", 2),
            (V{"2024-09-02T00:00:00Z", "2024-09-03T00:00:00Z"}));
  EXPECT_EQ(fires("0 8 * * 7", "UTC", "2024-09-01T08:00:00Z", 1), (V{"2024-09-08T08:00:00Z"}));
  EXPECT_EQ(fires("0 8 * * fri-sun", "UTC", "2024-09-02T00:00:00Z", 3),
            (V{"2024-09-06T08:00:00Z", "2024-09-07T08:00:00Z", "2024-09-08T08:00:00Z"}));
}

// Europe/Berlin 2024: CET->CEST at 2024-03-31 01:00Z (02:00 -> 03:00 local),
// CEST->CET at 2024-10-27 01:00Z (03:00 -> 02:00 local).
TEST(NextFire, BerlinSpringForward) {
  // 02:30 does not exist on March 31: the run happens at the jump (03:00 CEST), once.
  EXPECT_EQ(
      fires("30 2 * * *", "Europe/Berlin", "2024-03-29T12:00:00Z", 4),
      (V{"2024-03-30T01:30:00Z", "2024-03-31T01:00:00Z", "2024-04-01T00:30:00Z", "2024-04-02T00:30:00Z"}));
  EXPECT_EQ(pastFires("30 2 * * *", "Europe/Berlin", "2024-04-01T00:29:59Z", 2),
            (V{"2024-03-31T01:00:00Z", "2024-03-30T01:30:00Z"}));
  EXPECT_EQ(fires("*/20 2 * * *", "Europe/Berlin", "2024-03-30T23:00:00Z", 2),
            (V{"2024-03-31T01:00:00Z", "2024-04-01T00:00:00Z"}));
  // A job at 02:xx and one at 03:00 both due at the jump: one run.
  EXPECT_EQ(fires("0,30 2,3 * * *", "Europe/Berlin", "2024-03-31T00:00:00Z", 3),
            (V{"2024-03-31T01:00:00Z", "2024-03-31T01:30:00Z", "2024-04-01T00:00:00Z"}));
  // Every hour: the hour that does not exist has no run (only an hour of real time passes).
  EXPECT_EQ(fires("30 * * * *", "Europe/Berlin", "2024-03-30T23:59:00Z", 3),
            (V{"2024-03-31T00:30:00Z", "2024-03-31T01:30:00Z", "2024-03-31T02:30:00Z"}));
  EXPECT_EQ(fires("*/30 * * * *", "Europe/Berlin", "2024-03-31T00:15:00Z", 3),
            (V{"2024-03-31T00:30:00Z", "2024-03-31T01:00:00Z", "2024-03-31T01:30:00Z"}));
  // A day without the hour, only that day.
  EXPECT_EQ(fires("0 2 * * sun", "Europe/Berlin", "2024-03-20T00:00:00Z", 3),
            (V{"2024-03-24T01:00:00Z", "2024-03-31T01:00:00Z", "2024-04-07T00:00:00Z"}));
}

TEST(NextFire, BerlinFallBack) {
  // 02:30 happens twice on October 27 (00:30Z CEST, 01:30Z CET): one run, the first.
  EXPECT_EQ(fires("30 2 * * *", "Europe/Berlin", "2024-10-26T12:00:00Z", 3),
            (V{"2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z", "2024-10-29T01:30:00Z"}));
  EXPECT_EQ(pastFires("30 2 * * *", "Europe/Berlin", "2024-10-28T01:29:00Z", 2),
            (V{"2024-10-27T00:30:00Z", "2024-10-26T00:30:00Z"}));
  // Asked from inside the repeated hour.
  EXPECT_EQ(fires("45 2 * * *", "Europe/Berlin", "2024-10-27T01:10:00Z", 1), (V{"2024-10-28T01:45:00Z"}));
  EXPECT_EQ(fires("45 2 * * *", "Europe/Berlin", "2024-10-27T00:10:00Z", 1), (V{"2024-10-27T00:45:00Z"}));
  // Every hour: both copies of the hour run, so it stays hourly in real time.
  EXPECT_EQ(
      fires("30 * * * *", "Europe/Berlin", "2024-10-26T23:59:00Z", 4),
      (V{"2024-10-27T00:30:00Z", "2024-10-27T01:30:00Z", "2024-10-27T02:30:00Z", "2024-10-27T03:30:00Z"}));
  EXPECT_EQ(pastFires("30 * * * *", "Europe/Berlin", "2024-10-27T02:30:00Z", 3),
            (V{"2024-10-27T02:30:00Z", "2024-10-27T01:30:00Z", "2024-10-27T00:30:00Z"}));
  // Named hours run once per wall-clock time.
  EXPECT_EQ(fires("0 */2 * * *", "Europe/Berlin", "2024-10-26T21:30:00Z", 3),
            (V{"2024-10-26T22:00:00Z", "2024-10-27T00:00:00Z", "2024-10-27T03:00:00Z"}));
}

// America/New_York 2024: EST->EDT at 2024-03-10 07:00Z (02:00 -> 03:00),
// EDT->EST at 2024-11-03 06:00Z (02:00 -> 01:00).
TEST(NextFire, NewYork) {
  EXPECT_EQ(fires("30 2 * * *", "America/New_York", "2024-03-09T12:00:00Z", 3),
            (V{"2024-03-10T07:00:00Z", "2024-03-11T06:30:00Z", "2024-03-12T06:30:00Z"}));
  EXPECT_EQ(fires("30 1 * * *", "America/New_York", "2024-11-02T12:00:00Z", 2),
            (V{"2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z"}));
  EXPECT_EQ(
      fires("0 * * * *", "America/New_York", "2024-11-03T04:30:00Z", 4),
      (V{"2024-11-03T05:00:00Z", "2024-11-03T06:00:00Z", "2024-11-03T07:00:00Z", "2024-11-03T08:00:00Z"}));
  EXPECT_EQ(fires("0 9 * * mon-fri", "America/New_York", "2024-03-08T15:00:00Z", 2),
            (V{"2024-03-11T13:00:00Z", "2024-03-12T13:00:00Z"}));
  EXPECT_EQ(pastFires("0 9 * * mon-fri", "America/New_York", "2024-03-11T12:59:59Z", 1),
            (V{"2024-03-08T14:00:00Z"}));
}

TEST(NextFire, OtherZones) {
  // Midnight does not exist in Sao Paulo on 2018-11-04 (00:00 -03 -> 01:00 -02): the daily run
  // happens at the jump.
  EXPECT_EQ(fires("0 0 * * *", "America/Sao_Paulo", "2018-11-02T12:00:00Z", 3),
            (V{"2018-11-03T03:00:00Z", "2018-11-04T03:00:00Z", "2018-11-05T02:00:00Z"}));
  // Half-hour offset, no DST.
  EXPECT_EQ(fires("0 9 * * *", "Asia/Kolkata", "2024-06-01T00:00:00Z", 1), (V{"2024-06-01T03:30:00Z"}));
  // A link name works like its target.
  EXPECT_EQ(fires("30 2 * * *", "US/Eastern", "2024-03-09T12:00:00Z", 1), (V{"2024-03-10T07:00:00Z"}));
  // Samoa skipped 2011-12-30 entirely (-10 -> +14): that day's run happens at the jump.
  EXPECT_EQ(fires("0 12 * * *", "Pacific/Apia", "2011-12-29T00:00:00Z", 3),
            (V{"2011-12-29T22:00:00Z", "2011-12-30T10:00:00Z", "2011-12-30T22:00:00Z"}));
}

TEST(NextFire, MacroSchedules) {
  auto daily = parseSchedule("@daily", "tf-test", "mycron");
  ASSERT_TRUE(daily.has_value());
  EXPECT_EQ(show(nextFireAfter(*daily, at("2024-01-01T00:00:00Z"))), "2024-01-01T03:37:00Z");
  auto monthly = parseSchedule("@monthly", "tf-test", "mycron");
  ASSERT_TRUE(monthly.has_value());
  EXPECT_EQ(show(nextFireAfter(*monthly, at("2024-02-01T00:00:00Z"))), "2024-02-28T03:37:00Z");
  auto yearly = parseSchedule("@yearly", "tf-test", "mycron");
  ASSERT_TRUE(yearly.has_value());
  EXPECT_EQ(show(nextFireAfter(*yearly, at("2024-07-01T00:00:00Z"))), "2025-06-28T03:37:00Z");
}

TEST(NextFire, DefaultScheduleNeverFires) {
  EXPECT_FALSE(nextFireAfter(Schedule{}, at("2024-01-01T00:00:00Z")).has_value());
  EXPECT_FALSE(lastFireAtOrBefore(Schedule{}, at("2024-01-01T00:00:00Z")).has_value());
}

TEST(NextFire, ExtremeTimesDoNotOverflow) {
  for (const char* zone : {"UTC", "Europe/Berlin"}) {
    const Schedule s = schedule("* * * * *", zone);
    EXPECT_FALSE(nextFireAfter(s, TimePoint::max()).has_value());
    EXPECT_FALSE(lastFireAtOrBefore(s, TimePoint::min()).has_value());
    EXPECT_TRUE(lastFireAtOrBefore(s, TimePoint::max()).has_value());
    EXPECT_TRUE(nextFireAfter(s, TimePoint::min()).has_value());
    EXPECT_EQ(show(nextFireAfter(s, TimePoint{})), "1970-01-01T00:01:00Z");
  }
}

TEST(NextFire, OneHundredThousandSchedulesAreFast) {
  std::mt19937 rng(42);
  std::vector<Schedule> schedules;
  const char* zones[] = {"UTC", "UTC", "UTC", "Europe/Berlin", "America/New_York"};
  for (int i = 0; i < 100000; ++i) {
    std::string expr;
    switch (i % 6) {
      case 0:
        expr = "@daily";
        break;
      case 1:
        expr = "@monthly";
        break;
      case 2:
        expr = std::string("*/") + std::to_string(1 + rng() % 30) + " * * * *";
        break;
      case 3:
        expr = std::to_string(rng() % 60) + std::string(" ") + std::to_string(rng() % 24) + " * * mon-fri";
        break;
      case 4:
        expr = "@yearly";
        break;
      default:
        expr = std::to_string(rng() % 60) + " 1-5 29 2 *";
        break;
    }
    auto s = parseSchedule(expr, "tool", std::string("job-") + std::to_string(i), zones[i % 5]);
    ASSERT_TRUE(s.has_value());
    schedules.push_back(*s);
  }
  const TimePoint now = at("2025-01-01T00:00:00Z");
  const auto start = std::chrono::steady_clock::now();
  int found = 0;
  for (const auto& s : schedules) found += nextFireAfter(s, now).has_value() ? 1 : 0;
  for (const auto& s : schedules) found += lastFireAtOrBefore(s, now).has_value() ? 1 : 0;
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  EXPECT_EQ(found, 200000);
  std::cout << "[ perf     ] 100000 nextFireAfter + 100000 lastFireAtOrBefore: " << elapsed.count() / 1000
            << " ms\n";
  // Generous, to catch minute-by-minute scanning rather than to benchmark (debug and sanitizer
  // builds included).
  EXPECT_LT(elapsed.count(), 5'000'000);
}

}  // namespace
}  // namespace tjf::cron

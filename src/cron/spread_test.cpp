#include <gtest/gtest.h>

#include <array>
#include <bit>
#include <string>

#include "cron/schedule.hpp"
#include "cron/spread.hpp"

namespace tjf::cron {
namespace {

struct SpreadVector {
  const char* tool;
  const char* job;
  std::array<const char*, 5> expected;  // @hourly, @daily, @weekly, @monthly, @yearly
};

constexpr std::array<const char*, 5> kMacros{"@hourly", "@daily", "@weekly", "@monthly", "@yearly"};

// The first four are upstream's published vectors (all of them, monthly and yearly included: their
// days are <= 28, so drawing from 1-28 keeps them). The rest were computed with CPython 3.11's
// random.seed/randint, with the day drawn by randint(1, 28).
const SpreadVector kVectors[] = {
    {"some-tool", "some-job", {"56 * * * *", "56 6 * * *", "56 6 * * 6", "56 6 25 * *", "56 6 25 9 *"}},
    {"tf-test", "mycron", {"37 * * * *", "37 3 * * *", "37 3 * * 6", "37 3 28 * *", "37 3 28 6 *"}},
    {"mytool", "myjob", {"55 * * * *", "55 7 * * *", "55 7 * * 0", "55 7 1 * *", "55 7 1 8 *"}},
    {"a", "b", {"37 * * * *", "37 8 * * *", "37 8 * * 3", "37 8 14 * *", "37 8 14 4 *"}},
    {"", "", {"13 * * * *", "13 0 * * *", "13 0 * * 4", "13 0 18 * *", "13 0 18 6 *"}},
    {"wikibugs", "daily-report", {"40 * * * *", "40 8 * * *", "40 8 * * 5", "40 8 21 * *", "40 8 21 2 *"}},
    {"dünya", "ジョブ", {"53 * * * *", "53 12 * * *", "53 12 * * 1", "53 12 5 * *", "53 12 5 3 *"}},
    {"bot", "archive", {"59 * * * *", "59 10 * * *", "59 10 * * 6", "59 10 27 * *", "59 10 27 8 *"}},
    // Upstream gives "47 18 31 * *" and "47 18 31 2 *" (February 31st: never runs).
    {"tool-with-a-very-long-name-indeed",
     "job-with-an-even-longer-name-than-that-0123456789",
     {"47 * * * *", "47 18 * * *", "47 18 * * 0", "47 18 3 * *", "47 18 3 5 *"}},
    // Upstream: "19 19 30 * *" / "19 19 30 12 *".
    {"tool1", "job1", {"19 * * * *", "19 19 * * *", "19 19 * * 6", "19 19 28 * *", "19 19 28 12 *"}},
    // Upstream: "45 14 29 * *" / "45 14 29 2 *" (leap years only).
    {"tool7", "job7", {"45 * * * *", "45 14 * * *", "45 14 * * 0", "45 14 3 * *", "45 14 3 9 *"}},
};

TEST(SpreadMacro, MatchesVectors) {
  for (const auto& v : kVectors) {
    for (std::size_t i = 0; i < kMacros.size(); ++i) {
      EXPECT_EQ(spreadMacro(kMacros[i], v.tool, v.job), v.expected[i])
          << kMacros[i] << " for '" << v.tool << " " << v.job << "'";
    }
  }
}

TEST(SpreadMacro, ParseUsesSpreadingAndKeepsText) {
  auto s = parseSchedule("@daily", "tf-test", "mycron");
  ASSERT_TRUE(s.has_value()) << s.error().message;
  EXPECT_EQ(s->text, "@daily");
  EXPECT_EQ(s->effective, "37 3 * * *");
  EXPECT_TRUE(s->is_macro);
  EXPECT_EQ(s->minutes, std::uint64_t{1} << 37);
  EXPECT_EQ(s->hours, 1U << 3);
  EXPECT_FALSE(s->dom_restricted);
  EXPECT_FALSE(s->dow_restricted);
  auto w = parseSchedule("@weekly", "mytool", "myjob");
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->effective, "55 7 * * 0");
  EXPECT_EQ(w->days_of_week, 1U);
  EXPECT_TRUE(w->dow_restricted);
}

TEST(SpreadMacro, UnknownMacroIsEmpty) {
  EXPECT_EQ(spreadMacro("@annually", "a", "b"), "");
  EXPECT_EQ(spreadMacro("@Daily", "a", "b"), "");
  EXPECT_EQ(spreadMacro("daily", "a", "b"), "");
}

TEST(SpreadMacro, MonthlyAndYearlyAlwaysOnDays1To28) {
  int monthCounts[13] = {};
  int dayCounts[29] = {};
  for (int i = 0; i < 5000; ++i) {
    const std::string tool = std::string("tool") + std::to_string(i % 97);
    const std::string job = std::string("job-") + std::to_string(i);
    for (const char* macro : {"@monthly", "@yearly"}) {
      auto s = parseSchedule(macro, tool, job);
      ASSERT_TRUE(s.has_value());
      ASSERT_NE(s->days_of_month, 0U);
      const int day = std::countr_zero(s->days_of_month);
      ASSERT_GE(day, 1) << s->effective;
      ASSERT_LE(day, 28) << s->effective;
      ++dayCounts[day];
      // A single day every month has: the job can always be found a year ahead.
      ASSERT_TRUE(nextFireAfter(*s, TimePoint{}).has_value()) << s->effective;
      if (std::string(macro) == "@yearly") ++monthCounts[std::countr_zero(s->months)];
    }
  }
  for (int d = 1; d <= 28; ++d) EXPECT_GT(dayCounts[d], 0) << d;
  for (int m = 1; m <= 12; ++m) EXPECT_GT(monthCounts[m], 0) << m;
}

TEST(PythonRandom, MatchesCPython) {
  // random.seed("x"); [random.getrandbits(32) for _ in range(3)],
  // [random.randint(0, 59) for _ in range(3)], random.getrandbits(7)
  PythonRandom r("x");
  EXPECT_EQ(r.getrandbits(32), 2709212627U);
  EXPECT_EQ(r.getrandbits(32), 1353581224U);
  EXPECT_EQ(r.getrandbits(32), 2563747779U);
  EXPECT_EQ(r.randint(0, 59), 38);
  EXPECT_EQ(r.randint(0, 59), 30);
  EXPECT_EQ(r.randint(0, 59), 4);
  EXPECT_EQ(r.getrandbits(7), 97U);
}

}  // namespace
}  // namespace tjf::cron

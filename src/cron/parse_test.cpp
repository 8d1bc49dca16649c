#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "cron/schedule.hpp"

namespace tjf::cron {
namespace {

std::uint64_t bits(std::initializer_list<int> values) {
  std::uint64_t out = 0;
  for (int v : values) out |= std::uint64_t{1} << v;
  return out;
}
std::uint64_t range(int from, int to, int step = 1) {
  std::uint64_t out = 0;
  for (int v = from; v <= to; v += step) out |= std::uint64_t{1} << v;
  return out;
}

struct ValidCase {
  const char* text;
  const char* effective;
};

const ValidCase kValid[] = {
    {"* * * * *", "* * * * *"},
    {"0 00 * * *", "0 00 * * *"},     // leading zeros kept as typed
    {"5  3   *  *  *", "5 3 * * *"},  // extra spaces between fields
    {"  5 3 * * *  ", "5 3 * * *"},   // and around
    {"3/5 * * * *", "3/5 * * * *"},   // start/step
    {"5,25,45 * * * *", "5,25,45 * * * *"},
    {"*/30 1,2 4-6 * *", "*/30 1,2 4-6 * *"},  // upstream's own test
    {"7 0 1-28 * *", "7 0 1-28 * *"},
    {"28 14 14/14 * *", "28 14 14/14 * *"},
    {"08 20 * * 1", "08 20 * * 1"},
    {"0 9 * * SUN", "0 9 * * sun"},          // lowercased
    {"0 9 * * 7", "0 9 * * 7"},              // Sunday, kept as typed
    {"1-30/5 * * * *", "1-30/5 * * * *"},    // extension: step on a range
    {"0 0 * JAN-Mar *", "0 0 * jan-mar *"},  // extension: month names
    {"0 9 * * mon-fri", "0 9 * * mon-fri"},  // extension: weekday names in ranges
    {"0 9 * * 5-7", "0 9 * * 5-7"},          // extension: 7 in ranges
    {"0 0 */1 * *", "0 0 */1 * *"},
    {"59 23 31 12 *", "59 23 31 12 *"},
};

TEST(ParseSchedule, ValidExpressions) {
  for (const auto& c : kValid) {
    auto s = parseSchedule(c.text, "tool", "job");
    ASSERT_TRUE(s.has_value()) << c.text << ": " << s.error().message;
    EXPECT_EQ(s->text, c.text);
    EXPECT_EQ(s->effective, c.effective) << c.text;
    EXPECT_EQ(s->time_zone, "UTC");
    EXPECT_FALSE(s->is_macro);
  }
}

struct BitsCase {
  const char* text;
  std::uint64_t minutes, hours, dom, months, dow;
  bool dom_restricted, dow_restricted;
};

const BitsCase kBits[] = {
    {"* * * * *", range(0, 59), range(0, 23), range(1, 31), range(1, 12), range(0, 6), false, false},
    {"3/5 * * * *", range(3, 59, 5), range(0, 23), range(1, 31), range(1, 12), range(0, 6), false, false},
    {"1-30/5 */6 * * *", bits({1, 6, 11, 16, 21, 26}), bits({0, 6, 12, 18}), range(1, 31), range(1, 12),
     range(0, 6), false, false},
    {"0 0 14/14 * *", 1, 1, bits({14, 28}), range(1, 12), range(0, 6), true, false},
    {"0 0 22/7 * *", 1, 1, bits({22, 29}), range(1, 12), range(0, 6), true, false},
    {"0 0 * jan-mar,oct/2 *", 1, 1, range(1, 31), bits({1, 2, 3, 10, 12}), range(0, 6), false, false},
    {"0 0 * JAN/3 *", 1, 1, range(1, 31), bits({1, 4, 7, 10}), range(0, 6), false, false},
    {"0 0 * * mon-fri", 1, 1, range(1, 31), range(1, 12), range(1, 5), false, true},
    {"0 0 * * 7", 1, 1, range(1, 31), range(1, 12), bits({0}), false, true},
    {"0 0 * * 5-7", 1, 1, range(1, 31), range(1, 12), bits({0, 5, 6}), false, true},
    {"0 0 * * fri-sun", 1, 1, range(1, 31), range(1, 12), bits({0, 5, 6}), false, true},
    {"0 0 * * sun-sun", 1, 1, range(1, 31), range(1, 12), bits({0}), false, true},
    {"0 0 * * 0-7", 1, 1, range(1, 31), range(1, 12), range(0, 6), false, true},
    {"0 0 * * sun-sat/2", 1, 1, range(1, 31), range(1, 12), bits({0, 2, 4, 6}), false, true},
    {"0 0 * * mon-sun/2", 1, 1, range(1, 31), range(1, 12), bits({1, 3, 5, 0}), false, true},
    {"0 0 * * */2", 1, 1, range(1, 31), range(1, 12), bits({0, 2, 4, 6}), false, true},
    {"0 0 * * 7/2", 1, 1, range(1, 31), range(1, 12), bits({0, 2, 4, 6}), false, true},
    {"0 0 * * sat,sun", 1, 1, range(1, 31), range(1, 12), bits({0, 6}), false, true},
    // A field counts as `*` when an entry is a bare `*` or `*/1` (robfig/cron, as Kubernetes).
    {"0 0 */1 * 1", 1, 1, range(1, 31), range(1, 12), bits({1}), false, true},
    {"0 0 1,* * 1", 1, 1, range(1, 31), range(1, 12), bits({1}), false, true},
    {"0 0 */2 * 1", 1, 1, range(1, 31, 2), range(1, 12), bits({1}), true, true},
    {"0 0 1-31 * 1", 1, 1, range(1, 31), range(1, 12), bits({1}), true, true},
    {"05 03 * * *", bits({5}), bits({3}), range(1, 31), range(1, 12), range(0, 6), false, false},
};

TEST(ParseSchedule, FieldSemantics) {
  for (const auto& c : kBits) {
    auto s = parseSchedule(c.text, "tool", "job");
    ASSERT_TRUE(s.has_value()) << c.text << ": " << s.error().message;
    EXPECT_EQ(s->minutes, c.minutes) << c.text;
    EXPECT_EQ(s->hours, c.hours) << c.text;
    EXPECT_EQ(s->days_of_month, c.dom) << c.text;
    EXPECT_EQ(s->months, c.months) << c.text;
    EXPECT_EQ(s->days_of_week, c.dow) << c.text;
    EXPECT_EQ(s->dom_restricted, c.dom_restricted) << c.text;
    EXPECT_EQ(s->dow_restricted, c.dow_restricted) << c.text;
  }
}

struct InvalidCase {
  const char* text;
  const char* subject;  // what upstream's inner message names: the field, or the whole value
  const char* inner;
};

const InvalidCase kInvalid[] = {
    // Macros: exact, case-sensitive.
    {"@annually", "@annually",
     "Invalid at-macro '@annually', supported macros are: @hourly, @daily, @weekly, @monthly, @yearly"},
    {"@midnight", "@midnight",
     "Invalid at-macro '@midnight', supported macros are: @hourly, @daily, @weekly, @monthly, @yearly"},
    {"@reboot", "@reboot",
     "Invalid at-macro '@reboot', supported macros are: @hourly, @daily, @weekly, @monthly, @yearly"},
    {"@Daily", "@Daily",
     "Invalid at-macro '@Daily', supported macros are: @hourly, @daily, @weekly, @monthly, @yearly"},
    {"@daily ", "@daily ",
     "Invalid at-macro '@daily ', supported macros are: @hourly, @daily, @weekly, @monthly, @yearly"},
    // Field count: split on single spaces only.
    {"1 2 3 4", "1 2 3 4", "Expected to find 5 space-separated values, found 4"},
    {"", "", "Expected to find 5 space-separated values, found 0"},
    {"1 2 3 4 5 6", "1 2 3 4 5 6", "Expected to find 5 space-separated values, found 6"},
    {"1\t2 3 4 5", "1\t2 3 4 5", "Expected to find 5 space-separated values, found 4"},
    {" @daily", " @daily", "Expected to find 5 space-separated values, found 1"},
    // Upstream's own tests.
    {"foo 2 3 4 5", "foo", "Unable to parse 'foo' as an integer"},
    {"1000000 2 3 4 5", "1000000", "Invalid value '1000000', expected 0-59"},
    {"1000-0 2 3 4 5", "1000-0", "End value 0 must be smaller than start value 1000"},
    {"1-2000 2 3 4 5", "1-2000", "End value 2000 must be at most 59"},
    // Values and ranges.
    {"60 * * * *", "60", "Invalid value '60', expected 0-59"},
    {"0 24 * * *", "24", "Invalid value '24', expected 0-23"},
    {"0 0 0 * *", "0", "Invalid value '0', expected 1-31"},
    {"0 0 32 * *", "32", "Invalid value '32', expected 1-31"},
    {"0 0 * 13 *", "13", "Invalid value '13', expected 1-12"},
    {"0 0 * 0 *", "0", "Invalid value '0', expected 1-12"},
    {"0 0 * * 8", "8", "Invalid value '8', expected 0-6"},
    {"060 * * * *", "060", "Invalid value '060', expected 0-59"},
    {"0-060 * * * *", "0-060", "End value 60 must be at most 59"},
    {"1-99999999999999999999 * * * *", "1-99999999999999999999",
     "End value 99999999999999999999 must be at most 59"},
    {"0 0 0-5 * *", "0-5", "Start value 0 must be at least 1"},
    {"0 0 * 0-5 *", "0-5", "Start value 0 must be at least 1"},
    {"5-3 * * * *", "5-3", "End value 3 must be smaller than start value 5"},
    {"1-2-3 * * * *", "1-2-3", "Unable to parse '2-3' as an integer"},
    {"-5 * * * *", "-5", "Unable to parse '' as an integer"},
    {"*-5 * * * *", "*-5", "Unable to parse '*' as an integer"},
    {"1,,2 * * * *", "1,,2", "Unable to parse '' as an integer"},
    {"1, * * * *", "1,", "Unable to parse '' as an integer"},
    {"+5 * * * *", "+5", "Unable to parse '+5' as an integer"},
    {"0\t0 * * * *", "0\t0", "Unable to parse '0\t0' as an integer"},
    // Weekdays: 7 and ranges up to 7 are Sunday (extension), but no further.
    {"0 0 * * 1-8", "1-8", "End value 8 must be at most 7"},
    {"0 0 * * sat-fri", "sat-fri", "End value fri must be smaller than start value sat"},
    {"0 0 * * foo-fri", "foo-fri", "Unable to parse 'foo' as an integer"},
    {"0 0 * * mon-foo", "mon-foo", "Unable to parse 'foo' as an integer"},
    {"0 0 * * monday", "monday", "Unable to parse 'monday' as an integer"},
    {"0 0 * * jan", "jan", "Unable to parse 'jan' as an integer"},
    // Months: names are an extension, in ranges too; weekday names are not months.
    {"0 0 * dec-jan *", "dec-jan", "End value jan must be smaller than start value dec"},
    {"0 0 * foo-mar *", "foo-mar", "Unable to parse 'foo' as an integer"},
    {"0 0 * mon *", "mon", "Unable to parse 'mon' as an integer"},
    {"0 0 * january *", "january", "Unable to parse 'january' as an integer"},
    {"0 0 mon * *", "mon", "Unable to parse 'mon' as an integer"},
    // Steps.
    {"*/60 * * * *", "*/60", "Invalid step value in '*'"},
    {"*/0 * * * *", "*/0", "Invalid step value in '*'"},
    {"0 */24 * * *", "*/24", "Invalid step value in '*'"},
    {"0 0 */0 * *", "*/0", "Invalid step value in '*'"},
    {"0 0 * */13 *", "*/13", "Invalid step value in '*'"},
    {"0 0 * * */7", "*/7", "Invalid step value in '*'"},
    {"1-30/0 * * * *", "1-30/0", "Invalid step value in '1-30'"},
    {"1-30/60 * * * *", "1-30/60", "Invalid step value in '1-30'"},
    {"5/60 * * * *", "5/60", "Invalid step value in '5'"},
    {"*/x * * * *", "*/x", "Unable to parse 'x' (from '*') as an integer"},
    {"*/ * * * *", "*/", "Unable to parse '' (from '*') as an integer"},
    {"5/ * * * *", "5/", "Unable to parse '' (from '5') as an integer"},
    {"*/5/2 * * * *", "*/5/2", "Unable to parse '5/2' (from '*') as an integer"},
    {"1-5/2/3 * * * *", "1-5/2/3", "Unable to parse '2/3' (from '1-5') as an integer"},
    {"/5 * * * *", "/5", "Unable to parse '' as an integer"},
    {"x/5 * * * *", "x/5", "Unable to parse 'x' as an integer"},
    {"60/5 * * * *", "60/5", "Invalid value '60', expected 0-59"},
    // Upstream names a weekday name or 7 by its digit in step messages.
    {"0 0 * * mon/x", "mon/x", "Unable to parse 'x' (from '1') as an integer"},
    {"0 0 * * 7/9", "7/9", "Invalid step value in '0'"},
    {"0 0 * * 03/x", "03/x", "Unable to parse 'x' (from '03') as an integer"},
    // Unsupported syntax (lowercased before checking, as upstream).
    {"* * ? * *", "?", "Unable to parse '?' as an integer"},
    {"* * L * *", "l", "Unable to parse 'l' as an integer"},
    {"* * 15W * *", "15w", "Unable to parse '15w' as an integer"},
    {"* * * * 5#3", "5#3", "Unable to parse '5#3' as an integer"},
    {"H * * * *", "h", "Unable to parse 'h' as an integer"},
    {"H(0-29) * * * *", "h(0-29)", "Unable to parse 'h(0' as an integer"},
    // The first bad field wins.
    {"foo bar * * *", "foo", "Unable to parse 'foo' as an integer"},
    {"0 0 * * 9 ", "9", "Invalid value '9', expected 0-6"},
};

TEST(ParseSchedule, InvalidExpressionsHaveUpstreamMessages) {
  for (const auto& c : kInvalid) {
    auto s = parseSchedule(c.text, "tool", "job");
    ASSERT_FALSE(s.has_value()) << "accepted: " << c.text;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    const std::string expected = std::string("Unable to parse cron expression \"") + c.text +
                                 "\" (Unable to parse cron expression \"" + c.subject + "\": " + c.inner +
                                 ")";
    EXPECT_EQ(s.error().message, expected) << c.text;
  }
}

TEST(ParseSchedule, FullMessageExample) {
  auto s = parseSchedule("@annually", "tool", "job");
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().message,
            "Unable to parse cron expression \"@annually\" (Unable to parse cron expression \"@annually\": "
            "Invalid at-macro '@annually', supported macros are: @hourly, @daily, @weekly, @monthly, "
            "@yearly)");
}

TEST(ParseSchedule, TimeZones) {
  auto berlin = parseSchedule("0 3 * * *", "tool", "job", "Europe/Berlin");
  ASSERT_TRUE(berlin.has_value()) << berlin.error().message;
  EXPECT_EQ(berlin->time_zone, "Europe/Berlin");
  EXPECT_NE(berlin->zone, nullptr);

  auto utc = parseSchedule("0 3 * * *", "tool", "job", "UTC");
  ASSERT_TRUE(utc.has_value());
  EXPECT_EQ(utc->zone, nullptr);
  auto empty = parseSchedule("0 3 * * *", "tool", "job", "");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->time_zone, "UTC");
  EXPECT_EQ(*empty, *utc);

  auto link = parseSchedule("0 3 * * *", "tool", "job", "US/Eastern");
  ASSERT_TRUE(link.has_value()) << link.error().message;
  EXPECT_EQ(link->time_zone, "US/Eastern");

  for (const char* bad : {"Mars/Olympus_Mons", "europe/berlin", "CEST", "../../etc/passwd", " UTC"}) {
    auto s = parseSchedule("0 3 * * *", "tool", "job", bad);
    ASSERT_FALSE(s.has_value()) << bad;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(s.error().message, std::string("Unknown time zone '") + bad + "'");
    EXPECT_FALSE(validateTimeZone(bad).has_value());
  }
  EXPECT_TRUE(validateTimeZone("Asia/Kolkata").has_value());
  EXPECT_TRUE(validateTimeZone("UTC").has_value());

  // A bad expression is reported before a bad zone.
  auto both = parseSchedule("61 * * * *", "tool", "job", "Nowhere/Land");
  ASSERT_FALSE(both.has_value());
  EXPECT_NE(both.error().message.find("Invalid value '61'"), std::string::npos);
}

// The value of a `schedule:` key on a line of a job file, or "" (a rough reader: quoted or plain
// scalars, block or flow mappings; enough for these files).
std::string scheduleValue(const std::string& line) {
  static const std::regex kKey(R"((^|[\s{,])schedule:[ \t]+(.*)$)");
  const auto firstNonSpace = line.find_first_not_of(" \t");
  if (firstNonSpace == std::string::npos || line[firstNonSpace] == '#') return "";
  std::smatch m;
  if (!std::regex_search(line, m, kKey)) return "";
  std::string rest = m[2].str();
  if (!rest.empty() && (rest[0] == '"' || rest[0] == '\'')) {
    const auto close = rest.find(rest[0], 1);
    return close == std::string::npos ? "" : rest.substr(1, close - 1);
  }
  const bool flow = line.find('{') != std::string::npos;
  const auto end = rest.find_first_of(flow ? "#,}\r" : "#\r");
  rest = rest.substr(0, end);
  while (!rest.empty() && rest.back() == ' ') rest.pop_back();
  return rest;
}

// Every schedule in the real job files Toolforge users load must parse (decisions.md).
TEST(ParseSchedule, RealJobFiles) {
  const std::filesystem::path dir = TJF_REAL_JOBS_DIR;
  if (!std::filesystem::is_directory(dir)) GTEST_SKIP() << "no " << dir;
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml" && entry.path().extension() != ".yml") continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      const std::string value = scheduleValue(line);
      if (value.empty()) continue;
      auto s = parseSchedule(value, "tool", "job");
      EXPECT_TRUE(s.has_value()) << entry.path().filename() << ": " << value << ": "
                                 << (s ? "" : s.error().message);
      if (s) {
        EXPECT_TRUE(nextFireAfter(*s, TimePoint{}).has_value()) << value;
      }
      ++count;
    }
  }
  EXPECT_GT(count, 300);
}

}  // namespace
}  // namespace tjf::cron

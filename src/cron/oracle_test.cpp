// Brute force against the fast path: random expressions (their meaning computed here, independently
// of the parser), every UTC minute of a couple of years checked directly against the fields (local
// time from the date library), compared with nextFireAfter / lastFireAtOrBefore.
#include <date/tz.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "base/time_format.hpp"
#include "cron/schedule.hpp"

namespace tjf::cron {
namespace {

constexpr std::array<std::string_view, 12> kMonthNames{"jan", "feb", "mar", "apr", "may", "jun",
                                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kDayNames{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
constexpr int kMin[5] = {0, 0, 1, 1, 0};
constexpr int kMax[5] = {59, 23, 31, 12, 6};

struct Generated {
  std::string text;
  std::uint64_t sets[5] = {};
  bool star[5] = {};
  bool hourly() const { return sets[1] == (std::uint64_t{1} << 24) - 1; }
};

class ExpressionGenerator {
 public:
  explicit ExpressionGenerator(std::uint64_t seed) : rng_(seed) {}

  Generated next() {
    Generated g;
    for (int f = 0; f < 5; ++f) {
      if (f > 0) g.text += pick(5) == 0 ? "  " : " ";
      const int entries = pick(10) < 7 ? 1 : 2 + pick(2);
      for (int e = 0; e < entries; ++e) {
        if (e > 0) g.text += ',';
        g.text += entry(f, g.sets[f], g.star[f]);
      }
    }
    return g;
  }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<std::uint64_t>(n)); }
  int between(int lo, int hi) { return lo + pick(hi - lo + 1); }
  bool chance(int percent) { return pick(100) < percent; }

  std::string upper(std::string s) {
    if (chance(30)) {
      for (char& c : s) c = static_cast<char>(c - 'a' + 'A');
    }
    return s;
  }

  // A value as text: a number (sometimes zero-padded), or a name where the field has names.
  std::string number(int f, int v, bool rangeEnd) {
    if (f == 3 && chance(30)) return upper(std::string(kMonthNames[static_cast<std::size_t>(v - 1)]));
    if (f == 4 && chance(30)) {
      if (v == 7 && rangeEnd) return upper("sun");  // only used when the start is > 0
      if (v <= 6) return upper(std::string(kDayNames[static_cast<std::size_t>(v)]));
    }
    if (chance(10)) {
      std::string padded(1, '0');
      padded += std::to_string(v);
      return padded;
    }
    return std::to_string(v);
  }

  // A value that gets many DST-relevant hours.
  int value(int f) {
    if (f == 1 && chance(50)) return between(0, 3);
    return between(kMin[f], kMax[f]);
  }

  static void add(std::uint64_t& set, int from, int to, int step, int f) {
    for (int v = from; v <= to; v += step) set |= std::uint64_t{1} << (f == 4 && v == 7 ? 0 : v);
  }

  std::string entry(int f, std::uint64_t& set, bool& star) {
    static constexpr int kStarPercent[5] = {10, 35, 60, 70, 60};
    if (chance(kStarPercent[f])) {
      star = true;
      add(set, kMin[f], kMax[f], 1, f);
      return "*";
    }
    const int step = between(std::max(1, kMin[f]), kMax[f]);
    const int smallStep = between(1, std::max(1, kMax[f] / 3));
    switch (pick(6)) {
      case 0: {  // */s
        const int s = chance(50) ? smallStep : step;
        if (s == 1) star = true;
        add(set, kMin[f], kMax[f], s, f);
        return std::string("*/") + std::to_string(s);
      }
      case 1: {  // N/s
        int n = value(f);
        const int s = chance(50) ? smallStep : step;
        std::string text = number(f, n, false);
        if (f == 4 && n == 0 && chance(30)) text = "7";
        add(set, n, kMax[f], s, f);
        return text + std::string("/") + std::to_string(s);
      }
      case 2:
      case 3: {  // a-b or a-b/s
        const int rangeMax = f == 4 ? 7 : kMax[f];
        int a = value(f);
        int b = between(a, rangeMax);
        std::string text = number(f, a, false) + "-";
        if (f == 4 && b == 7 && a == 0) {
          text += "7";
        } else {
          text += number(f, b, true);
        }
        int s = 1;
        if (chance(50)) {
          s = chance(50) ? smallStep : step;
          text += std::string("/") + std::to_string(s);
        }
        add(set, a, b, s, f);
        return text;
      }
      default: {  // N
        const int n = value(f);
        if (f == 4 && n == 0 && chance(30)) {
          add(set, 0, 0, 1, f);
          return "7";
        }
        add(set, n, n, 1, f);
        return number(f, n, false);
      }
    }
  }

  std::mt19937_64 rng_;
};

// The local wall-clock fields of one instant.
struct LocalFields {
  std::uint8_t minute, hour, dom, month, dow;
};

LocalFields fieldsOf(date::local_seconds local) {
  const auto day = date::floor<date::days>(local);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<std::chrono::seconds> tod{local - day};
  return {static_cast<std::uint8_t>(tod.minutes().count()), static_cast<std::uint8_t>(tod.hours().count()),
          static_cast<std::uint8_t>(static_cast<unsigned>(ymd.day())),
          static_cast<std::uint8_t>(static_cast<unsigned>(ymd.month())),
          static_cast<std::uint8_t>(date::weekday{day}.c_encoding())};
}

// Every UTC minute of a window in one zone, with what the DST rules need: whether the local time
// is a repeat (second occurrence, per date's local_info), and at a spring-forward jump, the local
// minutes that do not exist. Local dates are interned so the oracle tests each date once.
struct Window {
  std::int64_t begin;                        // Unix seconds, minute-aligned
  std::vector<LocalFields> dates;            // distinct local dates (dom, month, dow used)
  std::vector<std::uint32_t> date_of;        // per minute: index into dates
  std::vector<std::uint16_t> minute_of_day;  // per minute: local hour * 60 + minute
  std::vector<std::uint8_t> repeated;        // per minute
  std::vector<std::pair<std::size_t, std::vector<LocalFields>>> gaps;  // minute index -> skipped
  std::int64_t end() const { return begin + static_cast<std::int64_t>(date_of.size()) * 60; }
};

Window makeWindow(const char* zoneName, const char* from, const char* to) {
  const date::time_zone* zone = date::locate_zone(zoneName);
  Window w;
  w.begin = std::chrono::duration_cast<std::chrono::seconds>(parseIsoUtc(from)->time_since_epoch()).count();
  const std::int64_t end =
      std::chrono::duration_cast<std::chrono::seconds>(parseIsoUtc(to)->time_since_epoch()).count();
  std::chrono::seconds prevOffset{};
  bool havePrev = false;
  date::sys_info info{};
  std::map<date::local_days, std::uint32_t> dateIndex;
  for (std::int64_t t = w.begin; t < end; t += 60) {
    const date::sys_seconds sys{std::chrono::seconds{t}};
    if (!havePrev || sys >= info.end) info = zone->get_info(sys);
    const date::local_seconds local{std::chrono::seconds{t} + info.offset};
    const LocalFields fields = fieldsOf(local);
    const auto [it, added] =
        dateIndex.try_emplace(date::floor<date::days>(local), static_cast<std::uint32_t>(w.dates.size()));
    if (added) w.dates.push_back(fields);
    w.date_of.push_back(it->second);
    w.minute_of_day.push_back(static_cast<std::uint16_t>(fields.hour * 60 + fields.minute));
    bool repeated = false;
    if (sys - info.begin < std::chrono::hours(48)) {
      const auto li = zone->get_info(local);
      repeated = li.result == date::local_info::ambiguous &&
                 sys.time_since_epoch() == local.time_since_epoch() - li.second.offset &&
                 li.first.offset != li.second.offset;
    }
    w.repeated.push_back(repeated ? 1 : 0);
    if (havePrev && info.offset > prevOffset) {
      std::vector<LocalFields> skipped;
      for (auto l = date::local_seconds{std::chrono::seconds{t} + prevOffset}; l < local;
           l += std::chrono::minutes(1)) {
        EXPECT_EQ(zone->get_info(l).result, date::local_info::nonexistent);
        skipped.push_back(fieldsOf(l));
      }
      w.gaps.emplace_back(w.date_of.size() - 1, std::move(skipped));
    }
    prevOffset = info.offset;
    havePrev = true;
  }
  return w;
}

bool dateMatches(const Generated& g, const LocalFields& l) {
  auto has = [&](int f, int v) { return ((g.sets[f] >> v) & 1U) != 0; };
  if (!has(3, l.month)) return false;
  const bool dom = has(2, l.dom);
  const bool dow = has(4, l.dow);
  return (g.star[2] || g.star[4]) ? dom && dow : dom || dow;
}

bool matches(const Generated& g, const LocalFields& l) {
  return ((g.sets[0] >> l.minute) & 1U) != 0 && ((g.sets[1] >> l.hour) & 1U) != 0 && dateMatches(g, l);
}

// The oracle: fire times (Unix seconds) in the window, by the documented rules.
std::vector<std::int64_t> oracleFires(const Window& w, const Generated& g) {
  std::vector<std::uint8_t> dateOk(w.dates.size());
  for (std::size_t d = 0; d < w.dates.size(); ++d) dateOk[d] = dateMatches(g, w.dates[d]) ? 1 : 0;
  std::array<std::uint8_t, 1440> timeOk{};
  for (int m = 0; m < 1440; ++m) {
    timeOk[static_cast<std::size_t>(m)] =
        ((g.sets[0] >> (m % 60)) & 1U) != 0 && ((g.sets[1] >> (m / 60)) & 1U) != 0;
  }
  const std::uint8_t allowRepeat = g.hourly() ? 1 : 0;
  std::vector<std::uint8_t> fire(w.date_of.size());
  // Raw pointers: this loop runs ~10^8 times per test, and unoptimised builds run the tests too.
  const std::uint8_t* dates = dateOk.data();
  const std::uint8_t* times = timeOk.data();
  const std::uint32_t* dateOf = w.date_of.data();
  const std::uint16_t* minuteOfDay = w.minute_of_day.data();
  const std::uint8_t* repeated = w.repeated.data();
  std::uint8_t* out = fire.data();
  for (std::size_t i = 0, n = fire.size(); i < n; ++i) {
    out[i] = dates[dateOf[i]] & times[minuteOfDay[i]] & (allowRepeat | (repeated[i] ^ 1U));
  }
  if (!g.hourly()) {
    for (const auto& [index, skipped] : w.gaps) {
      for (const auto& l : skipped) {
        if (matches(g, l)) fire[index] = 1;
      }
    }
  }
  std::vector<std::int64_t> fires;
  for (std::size_t i = 0; i < fire.size(); ++i) {
    if (fire[i] != 0) fires.push_back(w.begin + static_cast<std::int64_t>(i) * 60);
  }
  return fires;
}

std::int64_t unixSeconds(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
TimePoint fromSeconds(std::int64_t s) { return TimePoint(std::chrono::seconds(s)); }
std::string show(std::optional<TimePoint> t) { return t ? formatIsoUtc(*t) : "none"; }

// Unoptimised (and sanitizer) builds check fewer expressions, to stay quick.
#ifdef NDEBUG
constexpr int kExpressionDivisor = 1;
#else
constexpr int kExpressionDivisor = 4;
#endif

void checkZone(const char* zone, const char* from, const char* to, int expressions, std::uint64_t seed) {
  expressions = std::max(1, expressions / kExpressionDivisor);
  const Window w = makeWindow(zone, from, to);
  ExpressionGenerator gen(seed);
  std::mt19937_64 rng(seed * 7 + 1);
  int failures = 0;
  for (int e = 0; e < expressions && failures < 5; ++e) {
    const Generated g = gen.next();
    auto parsed = parseSchedule(g.text, "tool", "job", zone);
    ASSERT_TRUE(parsed.has_value()) << g.text << ": " << parsed.error().message;
    const Schedule& s = *parsed;
    // The parser's meaning equals the generator's.
    ASSERT_EQ(s.minutes, g.sets[0]) << g.text;
    ASSERT_EQ(s.hours, g.sets[1]) << g.text;
    ASSERT_EQ(s.days_of_month, g.sets[2]) << g.text;
    ASSERT_EQ(s.months, g.sets[3]) << g.text;
    ASSERT_EQ(s.days_of_week, g.sets[4]) << g.text;
    ASSERT_EQ(s.dom_restricted, !g.star[2]) << g.text;
    ASSERT_EQ(s.dow_restricted, !g.star[4]) << g.text;

    const std::vector<std::int64_t> fires = oracleFires(w, g);
    auto expectNext = [&](std::int64_t querySeconds, TimePoint query) {
      const auto it = std::upper_bound(fires.begin(), fires.end(), querySeconds);
      const auto got = nextFireAfter(s, query);
      if (it != fires.end()) {
        if (got != fromSeconds(*it)) {
          ++failures;
          ADD_FAILURE() << zone << " '" << g.text << "' next after " << formatIsoUtc(query) << ": got "
                        << show(got) << ", oracle " << formatIsoUtc(fromSeconds(*it));
        }
      } else if (got && unixSeconds(*got) < w.end()) {
        ++failures;
        ADD_FAILURE() << zone << " '" << g.text << "' next after " << formatIsoUtc(query) << ": got "
                      << show(got) << ", oracle none in window";
      }
    };
    auto expectLast = [&](std::int64_t querySeconds, TimePoint query) {
      const auto it = std::upper_bound(fires.begin(), fires.end(), querySeconds);
      const auto got = lastFireAtOrBefore(s, query);
      if (it != fires.begin()) {
        if (got != fromSeconds(*std::prev(it))) {
          ++failures;
          ADD_FAILURE() << zone << " '" << g.text << "' last at " << formatIsoUtc(query) << ": got "
                        << show(got) << ", oracle " << formatIsoUtc(fromSeconds(*std::prev(it)));
        }
      } else if (got && unixSeconds(*got) >= w.begin) {
        ++failures;
        ADD_FAILURE() << zone << " '" << g.text << "' last at " << formatIsoUtc(query) << ": got "
                      << show(got) << ", oracle none in window";
      }
    };

    // Walk the first fires one after another, both ways.
    std::optional<TimePoint> t = fromSeconds(w.begin - 1);
    for (std::size_t i = 0; i < std::min<std::size_t>(fires.size(), 300) && failures < 5; ++i) {
      t = nextFireAfter(s, *t);
      if (t != fromSeconds(fires[i])) {
        ++failures;
        ADD_FAILURE() << zone << " '" << g.text << "' fire #" << i << ": got " << show(t) << ", oracle "
                      << formatIsoUtc(fromSeconds(fires[i]));
        break;
      }
      const auto back = lastFireAtOrBefore(s, *t - std::chrono::seconds(1));
      const bool backOk =
          i == 0 ? (!back || unixSeconds(*back) < w.begin) : back == fromSeconds(fires[i - 1]);
      if (!backOk) {
        ++failures;
        ADD_FAILURE() << zone << " '" << g.text << "' fire before #" << i << ": got " << show(back);
        break;
      }
    }
    // Random instants, and instants right at and around fire times (DST transitions included).
    for (int q = 0; q < 150 && failures < 5; ++q) {
      std::int64_t seconds =
          w.begin + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(w.end() - w.begin));
      if (q % 3 == 0 && !fires.empty())
        seconds = fires[rng() % fires.size()] + static_cast<std::int64_t>(rng() % 3) - 1;
      if (q % 5 == 0 && !w.gaps.empty()) {
        seconds = w.begin + static_cast<std::int64_t>(w.gaps[rng() % w.gaps.size()].first) * 60 +
                  static_cast<std::int64_t>(rng() % 14400) - 7200;
      }
      seconds = std::clamp(seconds, w.begin, w.end() - 1);
      const TimePoint query =
          fromSeconds(seconds) + std::chrono::milliseconds(rng() % 2 == 0 ? 0 : rng() % 1000);
      expectNext(seconds, query);
      expectLast(seconds, query);
    }
  }
}

TEST(Oracle, Utc) { checkZone("UTC", "2023-12-01T00:00:00Z", "2026-02-01T00:00:00Z", 250, 1); }
TEST(Oracle, EuropeBerlin) {
  checkZone("Europe/Berlin", "2024-01-01T00:00:00Z", "2025-12-31T00:00:00Z", 60, 2);
}
TEST(Oracle, AmericaNewYork) {
  checkZone("America/New_York", "2024-01-01T00:00:00Z", "2025-12-31T00:00:00Z", 60, 3);
}
// 30-minute DST shift.
TEST(Oracle, AustraliaLordHowe) {
  checkZone("Australia/Lord_Howe", "2024-01-01T00:00:00Z", "2025-12-31T00:00:00Z", 40, 4);
}
// Transitions at midnight (2017-2019).
TEST(Oracle, AmericaSaoPaulo) {
  checkZone("America/Sao_Paulo", "2017-01-01T00:00:00Z", "2019-03-01T00:00:00Z", 40, 5);
}
// A whole day skipped (2011-12-30), plus DST.
TEST(Oracle, PacificApia) {
  checkZone("Pacific/Apia", "2011-03-01T00:00:00Z", "2012-06-01T00:00:00Z", 40, 6);
}

}  // namespace
}  // namespace tjf::cron

// Fire times. The schedule matches local wall-clock minutes; the time line is walked one UTC-offset
// segment at a time (a year has two in a DST zone, UTC has one), and within a segment the matching
// local minute is found field by field (month, then day, then hour and minute by bit scans), never
// minute by minute.
//
// DST (Vixie cron's rules, which Debian's cron also follows):
// - Spring forward: a local time that does not exist fires once, at the instant of the jump, if the
//   schedule names particular hours. A schedule that runs every hour just has no run in the hour
//   that does not exist (no time passed for it).
// - Fall back: a repeated local time fires once, at its first occurrence, if the schedule names
//   particular hours; a schedule that runs every hour runs in both copies of the hour, so it keeps
//   running hourly in elapsed time.
#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdint>
#include <optional>

#include "cron/schedule.hpp"
#include "cron/zone.hpp"

namespace tjf::cron {

namespace {

constexpr std::int64_t kSecondsPerDay = 86400;
// How far the searches look: ~5 years, so `0 0 29 2 *` is always found and `0 0 30 2 *` gives up.
constexpr std::int64_t kHorizon = 5 * 366 * kSecondsPerDay;
constexpr std::uint32_t kAllHours = (1U << 24) - 1;
constexpr std::uint64_t kAllMinutes = (std::uint64_t{1} << 60) - 1;
constexpr std::uint32_t kAllMonths = 0x1FFEU;  // bits 1-12

std::int64_t floorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) --q;
  return q;
}

struct Civil {
  std::int64_t year;
  unsigned month;  // 1-12
  unsigned day;    // 1-31
};

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian, day 0 = 1970-01-01).
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = floorDiv(y, 400);
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

Civil civilFromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = floorDiv(z, 146097);
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

unsigned daysInMonth(std::int64_t y, unsigned m) {
  if (m == 2) return (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)) ? 29 : 28;
  return (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31;
}

unsigned weekdayOf(std::int64_t days) {  // 0 = Sunday; 1970-01-01 was a Thursday
  return static_cast<unsigned>(days - floorDiv(days + 4, 7) * 7 + 4);
}

bool dayMatches(const Schedule& s, unsigned dom, unsigned dow) {
  const bool domOk = ((s.days_of_month >> dom) & 1U) != 0;
  const bool dowOk = ((s.days_of_week >> dow) & 1U) != 0;
  if (s.dom_restricted && s.dow_restricted) return domOk || dowOk;
  return domOk && dowOk;  // an unrestricted field matches every day
}

// The first matching minute of the day at or after h:m, or -1.
int firstTimeFrom(const Schedule& s, int h, int m) {
  if (((s.hours >> h) & 1U) != 0) {
    const std::uint64_t mins = s.minutes & kAllMinutes & (~std::uint64_t{0} << m);
    if (mins != 0) return h * 60 + std::countr_zero(mins);
  }
  const std::uint32_t later = s.hours & kAllHours & (~0U << (h + 1));
  if (later == 0) return -1;
  return std::countr_zero(later) * 60 + std::countr_zero(s.minutes & kAllMinutes);
}

// The last matching minute of the day at or before h:m, or -1.
int lastTimeUpTo(const Schedule& s, int h, int m) {
  if (((s.hours >> h) & 1U) != 0) {
    const std::uint64_t mins = s.minutes & ((std::uint64_t{2} << m) - 1);
    if (mins != 0) return h * 60 + 63 - std::countl_zero(mins);
  }
  const std::uint32_t earlier = s.hours & ((1U << h) - 1);
  if (earlier == 0) return -1;
  return (31 - std::countl_zero(earlier)) * 60 + 63 - std::countl_zero(s.minutes & kAllMinutes);
}

// The first matching local minute in [from, until) (local seconds, i.e. the wall clock read as if
// it were UTC).
std::optional<std::int64_t> nextLocalMatch(const Schedule& s, std::int64_t from, std::int64_t until) {
  const std::int64_t start = floorDiv(from + 59, 60) * 60;
  if (start >= until) return std::nullopt;
  std::int64_t day = floorDiv(start, kSecondsPerDay);
  const auto minuteOfDay = static_cast<int>((start - day * kSecondsPerDay) / 60);
  int h = minuteOfDay / 60;
  int m = minuteOfDay % 60;
  while (day * kSecondsPerDay < until) {
    const Civil c = civilFromDays(day);
    if (((s.months >> c.month) & 1U) == 0) {
      const std::uint32_t later = s.months & kAllMonths & (~0U << (c.month + 1));
      day = later != 0 ? daysFromCivil(c.year, static_cast<unsigned>(std::countr_zero(later)), 1)
                       : daysFromCivil(c.year + 1,
                                       static_cast<unsigned>(std::countr_zero(s.months & kAllMonths)), 1);
      h = m = 0;
      continue;
    }
    const unsigned dim = daysInMonth(c.year, c.month);
    unsigned wd = weekdayOf(day);
    for (unsigned d = c.day; d <= dim; ++d) {
      if (day * kSecondsPerDay >= until) return std::nullopt;
      if (dayMatches(s, d, wd)) {
        const int t = firstTimeFrom(s, h, m);
        if (t >= 0) {
          const std::int64_t found = day * kSecondsPerDay + t * 60;
          if (found < until) return found;
          return std::nullopt;
        }
      }
      ++day;
      wd = (wd + 1) % 7;
      h = m = 0;
    }
  }
  return std::nullopt;
}

// The last matching local minute in [notBefore, at] (local seconds).
std::optional<std::int64_t> prevLocalMatch(const Schedule& s, std::int64_t at, std::int64_t notBefore) {
  const std::int64_t start = floorDiv(at, 60) * 60;
  if (start < notBefore) return std::nullopt;
  std::int64_t day = floorDiv(start, kSecondsPerDay);
  const auto minuteOfDay = static_cast<int>((start - day * kSecondsPerDay) / 60);
  int h = minuteOfDay / 60;
  int m = minuteOfDay % 60;
  while ((day + 1) * kSecondsPerDay > notBefore) {
    const Civil c = civilFromDays(day);
    if (((s.months >> c.month) & 1U) == 0) {
      const std::uint32_t earlier = s.months & kAllMonths & ((1U << c.month) - 1);
      const std::int64_t y = earlier != 0 ? c.year : c.year - 1;
      const auto pm =
          static_cast<unsigned>(31 - std::countl_zero(earlier != 0 ? earlier : s.months & kAllMonths));
      day = daysFromCivil(y, pm, daysInMonth(y, pm));
      h = 23;
      m = 59;
      continue;
    }
    unsigned wd = weekdayOf(day);
    for (unsigned d = c.day; d >= 1; --d) {
      if ((day + 1) * kSecondsPerDay <= notBefore) return std::nullopt;
      if (dayMatches(s, d, wd)) {
        const int t = lastTimeUpTo(s, h, m);
        if (t >= 0) {
          const std::int64_t found = day * kSecondsPerDay + t * 60;
          if (found >= notBefore) return found;
          return std::nullopt;
        }
      }
      --day;
      wd = (wd + 6) % 7;
      h = 23;
      m = 59;
    }
  }
  return std::nullopt;
}

bool canFire(const Schedule& s) {
  return (s.minutes & kAllMinutes) != 0 && (s.hours & kAllHours) != 0 && (s.months & kAllMonths) != 0 &&
         (s.days_of_month != 0 || s.days_of_week != 0);
}

bool everyHour(const Schedule& s) { return (s.hours & kAllHours) == kAllHours; }

std::optional<TimePoint> toTimePoint(std::int64_t unixSeconds) {
  // TimePoint counts nanoseconds in 64 bits: about +-292 years around 1970.
  using std::chrono::seconds;
  static const std::int64_t kMax = std::chrono::floor<seconds>(TimePoint::max().time_since_epoch()).count();
  static const std::int64_t kMin = std::chrono::ceil<seconds>(TimePoint::min().time_since_epoch()).count();
  if (unixSeconds > kMax || unixSeconds < kMin) return std::nullopt;
  return TimePoint(seconds(unixSeconds));
}

// The nonexistent local times at the start of `seg` (spring forward) contain a match.
bool gapHasMatch(const Schedule& s, const Segment& prev, const Segment& seg) {
  return prev.offset < seg.offset && nextLocalMatch(s, seg.begin + prev.offset, seg.begin + seg.offset);
}

// Where the search in `seg` starts when the repeated local times at its start (fall back) must be
// skipped because they already fired in `prev`.
std::int64_t afterRepeatedTimes(const Segment& prev, const Segment& seg) {
  return seg.begin + std::max(prev.offset, seg.offset);
}

}  // namespace

std::optional<TimePoint> nextFireAfter(const Schedule& s, TimePoint after) {
  if (!canFire(s)) return std::nullopt;
  const std::int64_t from = std::chrono::floor<std::chrono::seconds>(after.time_since_epoch()).count();
  const std::int64_t limit = from + kHorizon;
  const bool hourly = everyHour(s);
  Segment seg = segmentAt(s.zone, from);
  std::optional<Segment> prev;
  if (seg.begin > kFarPast) prev = segmentAt(s.zone, seg.begin - 1);
  bool first = true;
  while (seg.begin < limit) {
    // The jump itself is a fire time only for segments starting after `after`.
    if (!first && !hourly && prev && gapHasMatch(s, *prev, seg)) return toTimePoint(seg.begin);
    std::int64_t lo = first ? from + 1 + seg.offset : seg.begin + seg.offset;
    if (!hourly && prev) lo = std::max(lo, afterRepeatedTimes(*prev, seg));
    const std::int64_t hi = std::min(seg.end, limit) + seg.offset;
    if (const auto local = nextLocalMatch(s, lo, hi)) return toTimePoint(*local - seg.offset);
    if (seg.end >= std::min(limit, kFarFuture)) break;
    prev = seg;
    seg = segmentAt(s.zone, seg.end);
    first = false;
  }
  return std::nullopt;
}

std::optional<TimePoint> lastFireAtOrBefore(const Schedule& s, TimePoint at) {
  if (!canFire(s)) return std::nullopt;
  const std::int64_t to = std::chrono::floor<std::chrono::seconds>(at.time_since_epoch()).count();
  const std::int64_t limit = to - kHorizon;
  const bool hourly = everyHour(s);
  Segment seg = segmentAt(s.zone, to);
  bool first = true;
  while (seg.end > limit) {
    std::optional<Segment> prev;
    if (seg.begin > kFarPast) prev = segmentAt(s.zone, seg.begin - 1);
    const std::int64_t hi = (first ? to : seg.end - 1) + seg.offset;
    std::int64_t lo = std::max(seg.begin, limit) + seg.offset;
    if (!hourly && prev) lo = std::max(lo, afterRepeatedTimes(*prev, seg));
    if (const auto local = prevLocalMatch(s, hi, lo)) return toTimePoint(*local - seg.offset);
    // The jump (at seg.begin) is earlier than every time inside the segment: it comes next going back.
    if (!hourly && prev && seg.begin >= limit && gapHasMatch(s, *prev, seg)) return toTimePoint(seg.begin);
    if (!prev) break;
    seg = *prev;
    first = false;
  }
  return std::nullopt;
}

}  // namespace tjf::cron

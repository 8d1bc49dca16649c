// The thin layer over the OS time zone database (Howard Hinnant's date/tz with USE_OS_TZDB: it
// reads /usr/share/zoneinfo, never downloads). Internal to the cron module.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.hpp"

namespace date {
class time_zone;
}  // namespace date

namespace tjf::cron {

// nullptr for "UTC" (so UTC schedules never touch the database); else the zone, or
// `Unknown time zone '<name>'`.
Result<const date::time_zone*> resolveZone(std::string_view name);

// A stretch of time with one UTC offset: [begin, end) in Unix seconds; local = unix + offset.
struct Segment {
  std::int64_t begin;
  std::int64_t end;
  std::int64_t offset;
};

inline constexpr std::int64_t kFarPast = -(std::int64_t{1} << 40);  // ~ year -32000
inline constexpr std::int64_t kFarFuture = std::int64_t{1} << 40;   // ~ year 36800

// The segment containing `unix_seconds`. For nullptr (UTC): one endless segment.
Segment segmentAt(const date::time_zone* zone, std::int64_t unix_seconds);

}  // namespace tjf::cron

#include "cron/zone.hpp"

#include <date/tz.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <string>

namespace tjf::cron {

Result<const date::time_zone*> resolveZone(std::string_view name) {
  if (name == "UTC") return nullptr;
  try {
    (void)date::get_tzdb();
  } catch (const std::exception& e) {
    return internalError(std::string("time zone database unavailable: ") + e.what());
  }
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return invalidArgument("Unknown time zone '" + std::string(name) + "'");
  }
}

Segment segmentAt(const date::time_zone* zone, std::int64_t unix_seconds) {
  if (zone == nullptr) return {kFarPast, kFarFuture, 0};
  const auto info = zone->get_info(date::sys_seconds{std::chrono::seconds{unix_seconds}});
  return {std::max(info.begin.time_since_epoch().count(), kFarPast),
          std::min(info.end.time_since_epoch().count(), kFarFuture), info.offset.count()};
}

}  // namespace tjf::cron

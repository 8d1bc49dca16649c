// Cron schedules: parsing with upstream's messages, macro spreading, and fire-time computation in
// an IANA time zone. Pure: no I/O except reading the OS time zone database on first use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "base/result.hpp"

namespace date {
class time_zone;
}  // namespace date

namespace tjf::cron {

inline constexpr std::string_view kDefaultTimeZone = "UTC";

struct Schedule {
  std::string text;                         // as the user typed it (not lowercased)
  std::string effective;                    // the 5 effective fields, e.g. "37 3 * * *"
  std::string time_zone{kDefaultTimeZone};  // IANA name

  // Parsed fields: bit n set = value n matches.
  std::uint64_t minutes = 0;        // bits 0-59
  std::uint32_t hours = 0;          // bits 0-23
  std::uint32_t days_of_month = 0;  // bits 1-31
  std::uint16_t months = 0;         // bits 1-12
  std::uint8_t days_of_week = 0;    // bits 0-6, Sunday = 0 (a typed 7 is folded into 0)
  // A field is unrestricted when one of its entries is a bare `*` (or `*/1`). Only when both day
  // fields are restricted does a day match if EITHER matches (Vixie cron / Kubernetes semantics).
  bool dom_restricted = false;
  bool dow_restricted = false;
  bool is_macro = false;  // text was one of the @-macros

  // The resolved zone; nullptr means UTC (no zone lookups at all on the hot path).
  const date::time_zone* zone = nullptr;

  friend bool operator==(const Schedule&, const Schedule&) = default;
};

// Parses and validates `text` for job `job` of tool `tool` (the pair seeds macro spreading).
// An empty time_zone means UTC. Errors (kInvalidArgument):
//   Unable to parse cron expression "<text>" (<upstream's inner message>)
//   Unknown time zone '<name>'
Result<Schedule> parseSchedule(std::string_view text, std::string_view tool, std::string_view job,
                               std::string_view time_zone = kDefaultTimeZone);

// Checks an IANA zone name: the same error as parseSchedule for an unknown zone.
Status validateTimeZone(std::string_view time_zone);

// The first fire time strictly after `after` (whole minutes of local time), or nullopt if there is
// none within about 5 years (e.g. `0 0 30 2 *`).
std::optional<TimePoint> nextFireAfter(const Schedule& s, TimePoint after);

// The latest fire time <= `at`, or nullopt if there is none within the last ~5 years.
std::optional<TimePoint> lastFireAtOrBefore(const Schedule& s, TimePoint at);

// The effective fields of a macro (`@hourly` ... `@yearly`) spread for (tool, job), e.g.
// spreadMacro("@daily", "tf-test", "mycron") == "37 3 * * *". Empty for an unknown macro.
std::string spreadMacro(std::string_view macro, std::string_view tool, std::string_view job);

}  // namespace tjf::cron

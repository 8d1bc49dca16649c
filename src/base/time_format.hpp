// Upstream's time and duration formats, shared by the API, the CLI and the tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.hpp"

namespace tjf {

// "2021-06-30T10:26:00Z" (UTC, whole seconds), as Kubernetes timestamps and upstream's hints.
std::string formatIsoUtc(TimePoint t);
// "2026-07-20T10:00:00.123456+00:00" (UTC, microseconds), as the logs endpoint's `datetime`.
std::string formatIsoUtcMicros(TimePoint t);
// Parses formatIsoUtc / formatIsoUtcMicros output (and "+00:00" instead of "Z").
std::optional<TimePoint> parseIsoUtc(std::string_view text);

// Upstream's format_duration: "1d1h1m", "1h1m1s", "59s", "0s"; seconds dropped when days > 0.
std::string formatDuration(std::int64_t seconds);

// Milliseconds since the Unix epoch, the store's representation of a time.
std::int64_t toUnixMillis(TimePoint t);
TimePoint fromUnixMillis(std::int64_t ms);

}  // namespace tjf

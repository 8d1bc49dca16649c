// A schedule as `--schedule` and the API take it (cron/schedule.hpp): the first line is the
// schedule, an optional second line the time zone. An accepted schedule's next fire is later,
// and its last fire not later, than the time asked about.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cron/schedule.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nl = input.find('\n');
  const std::string_view text = input.substr(0, nl);
  const std::string_view zone = nl == std::string_view::npos ? "UTC" : input.substr(nl + 1);
  auto schedule = tjf::cron::parseSchedule(text, "fuzz-tool", "fuzz-job", zone);
  if (!schedule) return 0;
  const tjf::TimePoint at = std::chrono::sys_days{std::chrono::year{2024} / 3 / 31} +
                            std::chrono::hours{1} + std::chrono::minutes{30};
  if (auto next = tjf::cron::nextFireAfter(*schedule, at); next && *next <= at) __builtin_trap();
  if (auto last = tjf::cron::lastFireAtOrBefore(*schedule, at); last && *last > at) {
    __builtin_trap();
  }
  return 0;
}

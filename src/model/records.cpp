#include "model/records.hpp"

#include <array>
#include <utility>

namespace tjf::model {
namespace {

constexpr std::array<std::pair<RunState, std::string_view>, 6> kRunStates{{
    {RunState::kPending, "pending"}, {RunState::kRunning, "running"},
    {RunState::kSucceeded, "succeeded"}, {RunState::kFailed, "failed"},
    {RunState::kLost, "lost"}, {RunState::kSkipped, "skipped"}}};

constexpr std::array<std::pair<RunReason, std::string_view>, 12> kRunReasons{{
    {RunReason::kNone, ""}, {RunReason::kCompleted, "Completed"}, {RunReason::kError, "Error"},
    {RunReason::kSignal, "Signal"}, {RunReason::kOomKilled, "OOMKilled"},
    {RunReason::kTimeout, "DeadlineExceeded"}, {RunReason::kHealthCheckFailed, "HealthCheckFailed"},
    {RunReason::kStartError, "StartError"}, {RunReason::kStopped, "Stopped"},
    {RunReason::kLost, "Lost"}, {RunReason::kConcurrencyForbid, "ConcurrencyForbid"},
    {RunReason::kMissedDeadline, "MissedStartingDeadline"}}};

}  // namespace

std::string_view toString(RunState v) {
  for (const auto& [value, name] : kRunStates) {
    if (value == v) return name;
  }
  return "unknown";
}
std::string_view toString(RunReason v) {
  for (const auto& [value, name] : kRunReasons) {
    if (value == v) return name;
  }
  return "";
}
std::optional<RunState> runStateFromString(std::string_view s) {
  for (const auto& [value, name] : kRunStates) {
    if (name == s) return value;
  }
  return std::nullopt;
}
std::optional<RunReason> runReasonFromString(std::string_view s) {
  for (const auto& [value, name] : kRunReasons) {
    if (name == s) return value;
  }
  return std::nullopt;
}
bool isFinal(RunState s) { return s != RunState::kPending && s != RunState::kRunning; }

}  // namespace tjf::model

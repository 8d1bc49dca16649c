// A job's status in upstream's three shapes (status_short, the hints of status_long, and the
// structured v2 `status`), computed from the store only: the API never asks the runtime.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "model/records.hpp"
#include "model/resolve.hpp"

namespace tjf::service {

struct JobStatus {
  std::string status_short;  // "Running for 3m2s", "Completed", "Failed", ...
  std::string status_long;   // hints about the latest run
  std::string state = "unknown";  // v2 short: pending|running|succeeded|failed|unknown
  std::optional<std::string> duration;
  std::vector<std::string> messages;
  std::optional<TimePoint> previous_schedule;
  std::optional<TimePoint> next_schedule;
};

// `runs`: the job's runs of its current generation, newest first.
JobStatus oneOffStatus(const model::ResolvedJob& job, const std::vector<model::RunRecord>& runs,
                       TimePoint now);

// Upstream's hint sentences about one run, saying "Run" where upstream says "Pod".
std::string runHints(const model::RunRecord& run, int restarts);

// "exit code 1", "signal 9 (SIGKILL)", "OOMKilled", ... : why a run ended, for hints and email.
std::string endDescription(const model::RunRecord& run);

}  // namespace tjf::service

#include "engine/decide.hpp"

#include <algorithm>

namespace tjf::engine {

using model::RunReason;
using model::RunState;

Millis retryBackoff(int retry, const RetryPolicy& policy) {
  Millis delay = policy.base;
  for (int i = 1; i < retry && delay < policy.cap; ++i) delay *= 2;
  return std::min(delay, policy.cap);
}

Decision decideOneOff(const model::ResolvedJob& job, const std::vector<model::RunRecord>& runs,
                      TimePoint now, const RetryPolicy& policy) {
  Decision d;
  if (runs.empty()) {
    d.actions.push_back(CreateRun{});
    return d;
  }
  const model::RunRecord& last = runs.back();
  switch (last.state) {
    case RunState::kPending:
      if (!last.not_before || *last.not_before <= now) {
        d.actions.push_back(StartRun{last.id});
      } else {
        d.wake_at = last.not_before;
      }
      return d;
    case RunState::kRunning:
    case RunState::kSucceeded:
    case RunState::kSkipped:
      return d;
    case RunState::kFailed:
    case RunState::kLost: {
      // A run stopped on purpose is not retried; anything else is, up to --retry times.
      if (last.reason == RunReason::kStopped) return d;
      const int retries_done = last.attempt - 1;
      if (retries_done >= job.retry) return d;
      const auto finished = last.finished_at.value_or(now);
      d.actions.push_back(CreateRun{.attempt = last.attempt + 1,
                                    .not_before = finished + retryBackoff(last.attempt, policy)});
      return d;
    }
  }
  return d;
}

Decision decideRemoval(const std::vector<model::RunRecord>& active_runs) {
  Decision d;
  for (const auto& run : active_runs) {
    if (run.state == RunState::kRunning) {
      d.actions.push_back(StopRun{run.id, RunReason::kStopped});
    } else if (run.state == RunState::kPending) {
      d.actions.push_back(CancelRun{run.id, RunReason::kStopped});
    }
  }
  return d;
}

}  // namespace tjf::engine

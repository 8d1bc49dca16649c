// The pure decide step: from what a job wants, what its runs did and the time, what to do next.
// No I/O and no clock reads, so every policy (retries, back-off, later cron and supervision) is
// tested as tables of cases with a manual clock.
#pragma once

#include <optional>
#include <variant>
#include <vector>

#include "base/clock.hpp"
#include "model/records.hpp"
#include "model/resolve.hpp"

namespace tjf::engine {

struct RetryPolicy {
  Millis base{10'000};  // first retry after 10 s, doubling...
  Millis cap{360'000};  // ...up to 6 min, as a Kubernetes Job's backoff
};

// Create a run row (its id is assigned before anything starts) and start it when due.
struct CreateRun {
  int attempt = 1;
  int replica = 0;
  std::optional<TimePoint> not_before;     // unset: start now
  std::optional<TimePoint> scheduled_for;  // cron fires
};
// Start a run that is already in the store (pending, now due).
struct StartRun {
  std::int64_t run_id = 0;
};
// Stop an active run, recording why.
struct StopRun {
  std::int64_t run_id = 0;
  model::RunReason reason = model::RunReason::kStopped;
};
// Record a pending run as never started.
struct CancelRun {
  std::int64_t run_id = 0;
  model::RunReason reason = model::RunReason::kStopped;
};

using Action = std::variant<CreateRun, StartRun, StopRun, CancelRun>;

struct Decision {
  std::vector<Action> actions;
  std::optional<TimePoint> wake_at;  // reconcile again at this time at the latest
};

// The delay before retry number `retry` (1 for the first retry).
Millis retryBackoff(int retry, const RetryPolicy& policy);

// `runs` are the job's runs of its current generation, oldest first.
Decision decideOneOff(const model::ResolvedJob& job, const std::vector<model::RunRecord>& runs,
                      TimePoint now, const RetryPolicy& policy);

// A job that no longer exists (deleted) or runs of an older generation: stop what is active.
Decision decideRemoval(const std::vector<model::RunRecord>& active_runs);

}  // namespace tjf::engine

// The pure decide step of scheduled (cron) jobs: from the job's policies, its parsed schedule, its
// runs of the current generation and the time, what to do next. No I/O and no clock reads (see
// decide.hpp), so firing, concurrency, deadlines, downtime and retries are tested as tables with a
// ManualClock.
//
// The policy (decisions.md "Schedules"; Kubernetes' CronJob controller where tjf is silent):
//  - A fire is identified by (job, scheduled time): its runs carry `scheduled_for`, and the store
//    refuses a second row for the same (job, scheduled_for, replica, attempt). Fire times up to
//    the `handled` mark (the latest `scheduled_for` of the generation's runs, or when the
//    generation began) are done; the latest fire time F in (handled, now] is due.
//  - Starting deadline (default 30 s; 0 = none): F noticed more than the deadline after F is not
//    started but recorded as a skipped run (kMissedDeadline).
//  - Daemon downtime: every fire time in (handled, now] was missed, but only the latest, F, is
//    acted on: it runs if still inside the deadline, else it is recorded as skipped. The earlier
//    ones are not replayed; one skipped run (at the latest of them) records how many there were,
//    so the history shows the gap without thousands of rows.
//  - Concurrency when F is due: Forbid (default) records F as skipped (kConcurrencyForbid) while
//    any run of the job is active (running, pending, a retry waiting for its back-off, or a run of
//    an older generation still stopping); Allow starts F beside them; Replace stops the running
//    runs and cancels the pending ones (reason kStopped), then starts F at once.
//  - Retries: a run of a fire that fails (not stopped by tjf) is retried up to `--retry` times with
//    engine::retryBackoff, each retry a new run with the same `scheduled_for` and attempt + 1, as
//    decideOneOff does for one-off jobs. A retry counts as active for Forbid.
//  - A run that was created for a fire but never started (the daemon stopped in between) is
//    started if its fire is still inside the deadline, else recorded as skipped (kMissedDeadline).
//    A run waiting for the tool's running quota (admission.hpp) is not late: it keeps waiting,
//    and counts as active for Forbid.
//  - Manual runs (`toolforge jobs restart`): the service writes a pending run without
//    `scheduled_for` (one per generation, since restart starts a new generation, which also stops
//    the runs of the old one). It starts as soon as no run of an older generation is active,
//    whatever the concurrency policy, and it does not move the schedule: the next fire time is
//    computed from the schedule alone. Retries apply to it as to a fire.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "cron/schedule.hpp"
#include "engine/decide.hpp"
#include "model/records.hpp"
#include "model/resolve.hpp"

namespace tjf::engine {

// Record a fire time as a run that never started (state kSkipped), with why.
struct SkipFire {
  TimePoint scheduled_for{};
  model::RunReason reason = model::RunReason::kMissedDeadline;  // or kConcurrencyForbid
  std::string message;  // for a person: how late, or what was still running
};

struct ScheduledInput {
  // The job's runs of its current generation, oldest first (by id); the latest few dozen are
  // enough (the engine passes up to 64).
  std::vector<model::RunRecord> runs;
  // When the current generation began (the job's creation, last update or restart): fire times at
  // or before it belong to an older definition and are never fired by this one.
  TimePoint generation_start{};
  // Whether a run of an older generation is still active (being stopped after an update or a
  // restart): it counts as active for Forbid, and a manual run waits for it to end.
  bool superseded_active = false;
};

struct ScheduledDecision {
  std::vector<Action> actions;  // CreateRun (with scheduled_for), StartRun, StopRun, CancelRun
  std::vector<SkipFire> skips;
  // The earliest back-off that ends (a pending retry): reconcile again then.
  std::optional<TimePoint> wake_at;
  // The first fire time strictly after `now`, for the engine's fire queue; nullopt when the
  // schedule never fires again (e.g. `0 0 30 2 *`).
  std::optional<TimePoint> next_fire;
};

// The decision for one scheduled job. `job` gives retry, concurrency_policy and
// starting_deadline_seconds; `schedule` is the job's parsed schedule (cron::parseSchedule).
ScheduledDecision decideScheduled(const model::ResolvedJob& job, const cron::Schedule& schedule,
                                  const ScheduledInput& input, TimePoint now,
                                  const RetryPolicy& retry);

// Whether a run is the record of a fire that never started (a Forbid or deadline skip), as
// opposed to a run that was created and then cancelled or stopped.
bool isSkippedFire(const model::RunRecord& run);

// How many fire times lie strictly between `after` and `before`, counting at most `cap` (so
// cap means "cap or more").
int countFiresBetween(const cron::Schedule& schedule, TimePoint after, TimePoint before, int cap);

}  // namespace tjf::engine

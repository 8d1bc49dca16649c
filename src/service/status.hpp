// A job's status in upstream's three shapes (status_short, the hints of status_long, and the
// structured v2 `status`), computed from the store only: the API never asks the runtime.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "cron/schedule.hpp"
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

// Continuous jobs (upstream's Deployment status): `Running` when every wanted replica runs and
// has passed its health check, `Specified command fails to run` when a replica's latest run ended
// by itself and it waits to be restarted (a crash loop), else `Not running`. The hints describe the
// first replica that is not running (else replica 0): its latest run, `Run has been restarted N
// times.`, the previous run's exit code or signal and reason, and the back-off.
// `runs`: the job's runs of its current generation, newest first, at least the latest two of
// every replica. `health_check_passed(run_id)`: whether a running run counts as ready (true for
// jobs without a health check). `since`: when the job was created or last restarted or updated
// (after 600 s without every replica ready, the v2 state is `failed`, as upstream's progress
// deadline).
JobStatus continuousStatus(const model::ResolvedJob& job,
                           const std::vector<model::RunRecord>& runs,
                           const std::function<bool(std::int64_t)>& health_check_passed,
                           TimePoint since, TimePoint now);

// Scheduled jobs (upstream's CronJob status, §4.1 and §4.3):
//  - status_short: `Running for <d>` while a run of the current definition runs, `Retrying in ...`
//    while a failed run waits for its back-off, else `Last schedule time: <ISO>` (the latest fire
//    that made a run; as upstream, manual runs do not count) or `Waiting for scheduled time`;
//  - hints: the latest run as runHints, plus a sentence for a manual run, the attempt, and the
//    latest fire that was skipped (Forbid, deadline, downtime) when it is newer than that run;
//  - v2: previous_schedule = the time of the latest run's fire (a manual run: when it was asked
//    for); next_schedule = the first fire time after `now` (none when `schedule` is null, or the
//    schedule never fires again); state from the latest run as for one-off jobs, `pending` before
//    the first run.
// `runs`: the job's runs of every generation, newest first (the latest fire may belong to the
// definition before an update or a restart); `generation`: the job's current one; `created`: when
// the job was created.
JobStatus scheduledStatus(const model::ResolvedJob& job, const std::vector<model::RunRecord>& runs,
                          std::int64_t generation, const cron::Schedule* schedule,
                          TimePoint created, TimePoint now);

// Upstream's hint sentences about one run, saying "Run" where upstream says "Pod".
std::string runHints(const model::RunRecord& run, int restarts);

// "exit code 1", "signal 9 (SIGKILL)", "OOMKilled", ... : why a run ended, for hints and email.
std::string endDescription(const model::RunRecord& run);

}  // namespace tjf::service

// What the store keeps about jobs and runs, shared by the engine (which decides on them), the
// store (which persists them) and the API (which shows them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "model/job.hpp"

namespace tjf::model {

struct JobRecord {
  std::int64_t id = 0;
  std::string tool;
  JobSpec spec;
  TimePoint created_at{};
  TimePoint updated_at{};
  // Bumped on every change that needs new runs (update, restart); runs carry the generation they
  // were started for, so the engine can tell current runs from superseded ones.
  std::int64_t generation = 1;
};

enum class RunState {
  kPending,    // id assigned, not started yet (waiting for back-off, quota, or the loop)
  kRunning,    // the shim has been started
  kSucceeded,  // exit code 0
  kFailed,     // non-zero exit, signal, timeout, could not start
  kLost,       // the run's process vanished without a recorded result
  kSkipped,    // never started: concurrency policy, missed deadline, daemon downtime
};

// Why a run ended (or did not start). Shown in hints and email.
enum class RunReason {
  kNone,
  kCompleted,          // exit 0
  kError,              // non-zero exit code
  kSignal,             // killed by a signal nobody from tjf sent
  kOomKilled,          // killed by the memory limit
  kTimeout,            // --timeout expired
  kHealthCheckFailed,  // liveness probe failures
  kStartError,         // could not start (log path, exec failure, image)
  kStopped,            // stopped by delete, flush or restart
  kLost,               // vanished while the daemon was away, no result recorded
  kConcurrencyForbid,  // skipped: previous run still active (Forbid)
  kMissedDeadline,     // skipped: later than the starting deadline
};

std::string_view toString(RunState v);
std::string_view toString(RunReason v);
std::optional<RunState> runStateFromString(std::string_view s);
std::optional<RunReason> runReasonFromString(std::string_view s);
bool isFinal(RunState s);

struct RunRecord {
  std::int64_t id = 0;
  std::int64_t job_id = 0;
  std::string tool;
  std::string job_name;
  std::int64_t generation = 1;
  int attempt = 1;  // 1 for the first try, +1 per retry
  int replica = 0;
  RunState state = RunState::kPending;
  RunReason reason = RunReason::kNone;
  std::string message;  // extra detail for a person, e.g. the path that could not be opened
  TimePoint created_at{};
  std::optional<TimePoint> not_before;  // pending runs: earliest start (retry back-off)
  std::optional<TimePoint> started_at;
  std::optional<TimePoint> finished_at;
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::optional<TimePoint> scheduled_for;  // cron fires: the schedule time (unique per job)
  bool stop_requested = false;
  std::int64_t shim_pid = 0;
  std::int64_t shim_start_ticks = 0;  // /proc/<pid>/stat starttime, guards against pid reuse
  bool captured_output = false;        // output went to the log store (no file logs)
  // Runs that a placed job's runtime started by itself (runtime.hpp, ObservedRun): the runtime's
  // name for the run, unique within the job. Empty for runs the engine started.
  std::string external_id;
};

}  // namespace tjf::model

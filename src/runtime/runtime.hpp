// The seam between the engine and whatever runs processes. The local runtime runs each run under
// tjf-shim on this machine; a Kubernetes runtime would create API objects instead. The engine only
// sees this interface, and a runtime never reads the store.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "model/images.hpp"
#include "model/job.hpp"
#include "model/resolve.hpp"
#include "model/tool.hpp"

namespace tjf::runtime {

// Everything needed to start one run. Built by the engine from the job, the tool and the image.
struct RunRequest {
  std::int64_t run_id = 0;
  std::string tool;
  std::string job_name;
  std::string command;
  const model::Image* image = nullptr;
  std::filesystem::path workdir;  // the tool home
  std::vector<std::string> env;   // KEY=VALUE
  // Empty: capture into the log store. "/dev/null" discards. Same path for both: merged.
  std::optional<std::filesystem::path> stdout_path;
  std::optional<std::filesystem::path> stderr_path;
  std::int64_t timeout_seconds = 0;
  std::int64_t memory_bytes = 0;
  std::int64_t cpu_millis = 0;
  std::optional<uid_t> uid;  // platform mode: drop to the tool's identity
  std::optional<gid_t> gid;
  std::vector<gid_t> groups;
  // Containers (image->runner == kOci): the tool home bind-mounted (kAll) or nothing from the
  // host (kNone).
  model::MountPolicy mount = model::MountPolicy::kAll;
};

// What the runtime knows about a started run; the engine stores it so a restarted daemon can
// re-adopt the run.
struct RunHandle {
  std::int64_t run_id = 0;
  std::int64_t pid = 0;
  std::int64_t start_ticks = 0;
  TimePoint started_at{};
  bool captured_output = false;
  // A run the runtime started by itself for a placed job (see JobPlacement): its ObservedRun id.
  std::string external_id;
};

struct RunExit {
  std::int64_t run_id = 0;
  std::optional<TimePoint> started_at;
  TimePoint finished_at{};
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::string reason;  // model::RunReason string form
  std::string message;
  // The run never started (the daemon stopped between recording it and starting it): the engine
  // starts it again under the same id instead of counting a failed attempt.
  bool never_started = false;
};

// ---- The job-level seam (optional) ----
// A runtime that keeps scheduled and continuous jobs going by itself (a cluster's CronJobs and
// Deployments, which fire and restart while tjfd is down) takes their definitions whole. For such
// a job the engine neither fires nor supervises runs: it places the definition (again after each
// update or restart, i.e. each new generation), and the runtime tells it of every run it sees
// start (ObservedRun). The engine records the run and answers with its id; from then on the run
// is like any other: its exit comes through the exit callback, stop() stops it, its output is
// captured under its id.

// Everything a runtime needs to keep one job going: the definition as resolved for the tool, and
// the environment and identity every run gets (the same as a RunRequest of the job would carry).
struct JobPlacement {
  model::Tool tool;
  model::JobSpec spec;
  model::ResolvedJob resolved;
  const model::Image* image = nullptr;
  std::string effective_schedule;  // scheduled jobs: the 5-field schedule (macros spread)
  // Runs made from this placement report it back (ObservedRun::generation), so the engine can
  // tell runs of an older definition from current ones.
  std::int64_t generation = 1;
  std::vector<std::string> env;  // KEY=VALUE, as RunRequest::env
  std::optional<uid_t> uid;      // platform mode: the tool's identity
  std::optional<gid_t> gid;
};

// A run that a placed job's runtime started by itself.
struct ObservedRun {
  std::string tool;
  std::string job_name;
  // The runtime's own name for the run: unique within the job and stable across daemon
  // restarts (e.g. a Job's name, or a pod's name and container restart count).
  std::string external_id;
  std::int64_t generation = 0;  // of the placement that made it; 0: unknown (taken as current)
  std::optional<TimePoint> started_at;
  // Scheduled jobs: the schedule time the run was made for (a Kubernetes CronJob names its Jobs
  // `<cronjob>-<minutes since the epoch>`); unset for runs made otherwise.
  std::optional<TimePoint> scheduled_for;
  // 1 for a first start, +1 per restart of the same replica (a container restarted in place).
  int attempt = 1;
  bool captured_output = false;  // the runtime captures its output (capturedOutput(id))
};

class Runtime {
 public:
  using ExitCallback = std::function<void(const RunExit&)>;
  // A note about a live run that a person should see while it lasts, such as "Unable to start,
  // out of quota for pods" while a cluster holds the run's pods back; "" when it no longer holds.
  using NoteCallback = std::function<void(std::int64_t run_id, const std::string& note)>;
  // A note about a placed job as a whole, while it holds: its definition could not be placed
  // (refused by the cluster), or the cluster cannot start its runs (out of quota, an image that
  // cannot be pulled). "" when it no longer holds.
  using JobNoteCallback = std::function<void(const std::string& tool, const std::string& job_name,
                                             const std::string& note)>;
  // Answers an observed run with the id the engine recorded it under, or nullopt when the
  // engine does not want it tracked (no such job, not a placed job, or a run already ended).
  using RunObserver = std::function<std::optional<std::int64_t>(const ObservedRun&)>;

  virtual ~Runtime() = default;

  // Called once, before anything else, on the loop thread. Every exit of a started or adopted
  // run is reported exactly once through it, on the loop thread.
  virtual void setExitCallback(ExitCallback callback) = 0;
  // Starts a run. An error means nothing was started (and no exit will be reported).
  virtual Result<RunHandle> start(const RunRequest& request) = 0;
  // Asks a run to stop: SIGTERM now, SIGKILL after the grace period. Repeats are harmless.
  virtual Status stop(std::int64_t run_id) = 0;
  // Re-attaches to a run started by an earlier daemon. If the run is gone, its exit is reported
  // (from its record, or as lost) through the callback, asynchronously.
  virtual void adopt(const RunHandle& handle) = 0;
  // Where a run's captured output lives (for `logs`), or nullopt when the runtime keeps none.
  virtual std::optional<std::filesystem::path> capturedOutput(std::int64_t run_id) const = 0;
  // Stops live runs that the store does not know (orphans, e.g. from a lost write) and returns
  // their ids. Called once after adoption at start-up.
  virtual std::vector<std::int64_t> stopOrphans(const std::vector<std::int64_t>& known) = 0;

  // Called once, before recovery, on the loop thread; notes come on the loop thread. Runtimes
  // that have nothing to say about live runs (the local one) never call it.
  virtual void setNoteCallback(NoteCallback /*callback*/) {}

  // -- the job-level seam; the defaults say "not supported" (the local runtime) --
  // Called once, before recovery, on the loop thread; job notes come on the loop thread, when they
  // change (and again after a restart of the daemon, as the runtime finds them anew).
  virtual void setJobNoteCallback(JobNoteCallback /*callback*/) {}
  // Whether jobs of this type are placed whole (placeJob) instead of run by the engine.
  virtual bool placesJobs(model::JobType /*type*/) const { return false; }
  // Called once, before recovery, on the loop thread; observed runs are reported through it, on
  // the loop thread, each as often as the runtime sees it anew (the engine deduplicates by
  // external id).
  virtual void setRunObserver(RunObserver /*observer*/) {}
  // Creates or updates what keeps the job going. Idempotent: placing the same generation twice
  // changes nothing. Asynchronous: failures are logged and the next placement retries.
  virtual Status placeJob(const JobPlacement& /*placement*/) {
    return internalError("this runtime cannot place jobs");
  }
  // Removes a placed job; its running runs are stopped and reported (Stopped).
  virtual Status removeJob(const std::string& /*tool*/, const std::string& /*job_name*/) {
    return {};
  }
  // Removes placed jobs that the store does not know (deleted while the daemon was away), given
  // every (tool, job name) the store has. Called once at start-up, after adoption.
  virtual void removeUnknownJobs(const std::vector<std::pair<std::string, std::string>>& /*known*/) {}
};

}  // namespace tjf::runtime

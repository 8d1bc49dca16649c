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

class Runtime {
 public:
  using ExitCallback = std::function<void(const RunExit&)>;

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
};

}  // namespace tjf::runtime

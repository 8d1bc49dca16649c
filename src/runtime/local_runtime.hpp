// The local runtime: each run is a tjf-shim process on this machine, started in its own session
// so it outlives the daemon. The daemon watches each shim through a pidfd on the loop thread.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <filesystem>
#include <map>
#include <memory>

#include "base/unique_fd.hpp"
#include "model/state_paths.hpp"
#include "runtime/cgroups.hpp"
#include "runtime/oci.hpp"
#include "runtime/runtime.hpp"

namespace tjf::runtime {

struct LocalRuntimeOptions {
  model::StateLayout layout{"/nonexistent"};
  std::filesystem::path shim_path;  // tjf-shim, normally beside tjfd
  std::int64_t stop_grace_seconds = 15;
  // -- resources and images (runtime/cgroups.hpp, runtime/oci.hpp) --
  // What detectCgroups() found at start-up; kNone starts runs without limits.
  CgroupSupport cgroups;
  std::int64_t pids_limit = 0;  // per run; 0: none
  std::optional<OciRuntime> oci;                      // for images with a root filesystem
  std::optional<std::filesystem::path> container_init;  // PID 1 of containers
  std::vector<std::filesystem::path> shared_dirs;       // --mount all containers get these too
  // -- file-log rotation by the shim (docs/logs.md): 0 bytes, never --
  std::int64_t filelog_rotate_bytes = 0;
  int filelog_rotate_keep = 1;
};

class LocalRuntime final : public Runtime {
 public:
  LocalRuntime(boost::asio::io_context& io, LocalRuntimeOptions options);
  ~LocalRuntime() override;

  void setExitCallback(ExitCallback callback) override { on_exit_ = std::move(callback); }
  Result<RunHandle> start(const RunRequest& request) override;
  Status stop(std::int64_t run_id) override;
  void adopt(const RunHandle& handle) override;
  std::optional<std::filesystem::path> capturedOutput(std::int64_t run_id) const override;
  std::vector<std::int64_t> stopOrphans(const std::vector<std::int64_t>& known) override;

  std::size_t watchedCount() const { return watched_.size(); }
  std::uint64_t spuriousWakeups() const { return spurious_wakeups_; }
  const CgroupSupport& cgroupSupport() const { return options_.cgroups; }

 private:
  struct Watched {
    pid_t pid = 0;
    UniqueFd pidfd;
    std::unique_ptr<boost::asio::posix::stream_descriptor> waiter;
  };

  void watch(std::int64_t run_id, pid_t pid, UniqueFd pidfd);
  void arm(std::int64_t run_id);
  // Live shims of this state directory by run id, found through /proc.
  std::map<std::int64_t, pid_t> liveShims() const;
  void onShimGone(std::int64_t run_id);
  RunExit exitFromRecord(std::int64_t run_id) const;

  boost::asio::io_context& io_;
  LocalRuntimeOptions options_;
  ExitCallback on_exit_;
  std::map<std::int64_t, Watched> watched_;
  std::uint64_t spurious_wakeups_ = 0;
  std::optional<std::map<std::int64_t, pid_t>> shim_scan_;  // filled once, during recovery
  // Each live run's cgroups, removed when its exit has been reported (kept when the daemon
  // stops: the runs outlive it).
  std::map<std::int64_t, std::unique_ptr<RunCgroup>> cgroups_;
};

// The start time of a process in clock ticks since boot (/proc/<pid>/stat field 22), or 0.
std::int64_t processStartTicks(pid_t pid);

}  // namespace tjf::runtime

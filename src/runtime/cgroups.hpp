// Per-run cgroups for the local runtime: the job's limits (memory, CPU, pids) and the tracking a
// supervisor needs (kill everything the run started, "is anything left", CPU used).
//
// Two layouts are supported, found once at start-up by detectCgroups():
//  - kUnified: a pure cgroup v2 machine. One cgroup per run with memory.max, cpu.max and pids.max
//    (the controllers are enabled in cgroup.subtree_control of every ancestor tjf creates).
//  - kHybrid: v1 controllers at <root>/{memory,cpu,pids} carry the limits; when a v2 hierarchy is
//    mounted at <root>/unified (this machine kind: machine-notes §1d), a controller-less v2 cgroup
//    per run adds cgroup.kill and populated tracking, which v1 lacks.
// Where neither works (personal mode without delegation, a container without cgroup access),
// the mode is kNone and `reason` says why; runs then start without limits and the daemon says
// "limits are not enforced: <reason>" once and in every job's hints.
//
// Every run's cgroups live under <hierarchy>/<parent>/run-<id>, where <parent> is
// cgroupParentFor(state dir): two daemons with two state directories never share a run cgroup
// even though both count their run ids from 1.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace tjf::runtime {

enum class CgroupMode { kNone, kUnified, kHybrid };
std::string_view toString(CgroupMode mode);

// What detectCgroups() found. Copied freely; read-only after start-up.
struct CgroupSupport {
  CgroupMode mode = CgroupMode::kNone;
  std::filesystem::path fs_root = "/sys/fs/cgroup";
  std::string parent;     // relative to each hierarchy, e.g. "tjf/1a2b3c4d"
  bool tracking = false;  // kHybrid: a v2 tracking cgroup per run (kUnified always tracks)
  bool can_kill = false;  // cgroup.kill exists (Linux 5.14+)
  std::string reason;     // kNone: why limits are not enforced, for a person

  bool enforced() const { return mode != CgroupMode::kNone; }
  // One line for the daemon's start-up log: "cgroup limits: v1 memory+cpu+pids with v2
  // tracking under 'tjf/1a2b3c4d'", or "limits are not enforced: <reason>".
  std::string describe() const;
};

// "tjf/<8 hex digits of a hash of the state directory>".
std::string cgroupParentFor(const std::filesystem::path& state_dir);

// Finds out what works under `fs_root` (normally /sys/fs/cgroup) by creating `parent` in each
// hierarchy and a probe cgroup with a limit below it (removed again). Never fails: what does not
// work is kNone with the reason. Called once at start-up, on the loop thread.
CgroupSupport detectCgroups(const std::filesystem::path& fs_root, const std::string& parent);

struct CgroupLimits {
  std::int64_t memory_bytes = 0;  // 0: no limit
  std::int64_t cpu_millis = 0;    // 0: no limit; 500 = half a CPU (quota 50 ms per 100 ms)
  std::int64_t pids = 0;          // 0: no limit
};

// The kernel's values for a CPU limit: quota and period in microseconds (period 100 ms, quota at
// least 1 ms, the kernel's minimum).
struct CpuQuota {
  std::int64_t quota_us = 0;
  std::int64_t period_us = 100'000;
};
CpuQuota cpuQuotaFor(std::int64_t cpu_millis);

// One run's cgroups (one directory per hierarchy in use). create() makes them and writes the
// limits before any process joins; the run's process joins them itself through procsFiles()
// (the shim's child writes its pid there before exec, so nothing of the job ever runs outside).
// The destructor kills whatever is still inside and removes the directories: the owner destroys
// it when the run's exit has been reported. Not thread-safe; the loop thread owns it.
class RunCgroup {
 public:
  // The name of a run's cgroup below the parent: "run-<id>".
  static std::string leafName(std::int64_t run_id);

  // Fails (naming the file) when a directory or limit cannot be written; what was created by
  // then is removed again.
  static Result<std::unique_ptr<RunCgroup>> create(const CgroupSupport& support,
                                                   std::int64_t run_id, const CgroupLimits& limits);
  // Takes over the cgroups of a run started by an earlier daemon (whatever of them exists), so
  // they are cleaned up when its exit is reported.
  static std::unique_ptr<RunCgroup> attach(const CgroupSupport& support, std::int64_t run_id);

  RunCgroup(const RunCgroup&) = delete;
  RunCgroup& operator=(const RunCgroup&) = delete;
  ~RunCgroup();

  // The cgroup.procs files a process writes its pid into to join every hierarchy.
  std::vector<std::string> procsFiles() const;
  // The file whose "oom_kill <n>" line counts OOM kills in the run (v1 memory.oom_control, v2
  // memory.events), or empty without a memory hierarchy.
  std::string oomCounter() const;
  // The v2 cgroup.kill file, or empty where the kernel or layout has none.
  std::string killFile() const;
  // The v2 cgroup path relative to the hierarchy root ("/tjf/1a2b3c4d/run-7"), or empty.
  std::string unifiedPath() const;
  // The path below each hierarchy ("tjf/1a2b3c4d/run-7").
  const std::string& relativePath() const { return rel_; }

  // SIGKILL to every process in the run's cgroups (cgroup.kill where there is one, else each pid
  // in cgroup.procs, repeated while new ones appear). Repeats are harmless.
  void killAll();
  // Whether any process is still inside (v2 cgroup.events "populated", else cgroup.procs).
  bool populated() const;
  // CPU time used by the run so far, in microseconds (v2 cpu.stat usage_usec), if known.
  std::optional<std::int64_t> cpuUsageMicros() const;
  // Makes the destructor leave the cgroups alone: the daemon is going away and the run outlives
  // it (the next daemon attaches to them).
  void keep() { kept_ = true; }

 private:
  RunCgroup(CgroupSupport support, std::string rel, std::vector<std::filesystem::path> dirs);
  // Every cgroup directory of the run, each with its own cgroup.procs.
  std::vector<std::filesystem::path> dirs_;
  CgroupSupport support_;
  std::string rel_;
  bool kept_ = false;
};

}  // namespace tjf::runtime

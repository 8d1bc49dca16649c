// The contract between the daemon and tjf-shim, the tiny per-run supervisor. The daemon writes a
// ShimSpec into the run directory and starts the shim; the shim starts the job, holds its output,
// enforces the timeout and the stop grace period, and writes an ExitRecord with an atomic rename
// when the job has ended. Because both live in files, a run outlives the daemon: a restarted
// daemon re-adopts the shim by pid or reads the record it left.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"

namespace tjf::runtime {

// Where one output stream goes.
struct OutputTarget {
  enum class Kind { kFile, kCapture };
  Kind kind = Kind::kFile;
  std::string path;  // kFile: absolute path, opened O_APPEND (may be /dev/null)
};

struct ShimSpec {
  std::int64_t run_id = 0;
  std::string command;  // run with /bin/sh -c
  std::string workdir;
  std::vector<std::string> env;  // KEY=VALUE, the whole environment
  OutputTarget stdout_target;
  OutputTarget stderr_target;
  std::string capture_path;  // output.log, when a stream is captured
  std::int64_t timeout_seconds = 0;       // 0: none
  std::int64_t stop_grace_seconds = 15;   // SIGTERM -> SIGKILL
  std::optional<uid_t> uid;               // drop to these before opening logs (platform mode)
  std::optional<gid_t> gid;
  std::vector<gid_t> groups;
  std::vector<std::string> cgroup_procs;  // cgroup.procs files to join before exec
  std::string oom_counter;                // memory.oom_control to read after exit, if any
  // -- resources and images (runtime/cgroups.hpp, runtime/oci.hpp) --
  // A v2 cgroup.kill file: written when the job's main process has ended and at the SIGKILL of
  // a stop, so nothing the run started outlives it (a container's processes are not in the
  // job's process group).
  std::string kill_cgroup;
  // Containers: when not empty, the job process is this argv (an OCI runtime's `run`) instead of
  // /bin/sh -c `command`. The shim then keeps root for it (the runtime needs it; the container
  // takes the tool's uid itself), opens log files with the tool's effective ids instead of
  // dropping its own, and leaves the command check to the container.
  std::vector<std::string> argv;
  // -- file-log rotation (docs/logs.md; shim/filelog_rotation.hpp) --
  // A file log that grows past this many bytes is copied to <file>.1 and truncated
  // (copytruncate), keeping `filelog_rotate_keep` copies; 0: never rotated.
  std::int64_t filelog_rotate_bytes = 0;
  int filelog_rotate_keep = 1;
};

struct ExitRecord {
  TimePoint started_at{};
  TimePoint finished_at{};
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::string reason;   // model::RunReason string form
  std::string message;  // for a person
};

Status writeShimSpec(const std::filesystem::path& file, const ShimSpec& spec);
Result<ShimSpec> readShimSpec(const std::filesystem::path& file);
Status writeExitRecord(const std::filesystem::path& file, const ExitRecord& record);
Result<ExitRecord> readExitRecord(const std::filesystem::path& file);

enum class Sync { kToDisk, kNone };

// Writes `content` to `file` through a temporary file and a rename, so a reader sees the whole
// old content or the whole new one. With Sync::kToDisk (exit records) it also fsyncs the file and
// its directory, so the result survives power loss; inputs written just before a process starts
// (run specs, bundles) skip that, since a power loss ends the process too.
Status writeFileAtomically(const std::filesystem::path& file, const std::string& content,
                           Sync sync = Sync::kToDisk);

}  // namespace tjf::runtime

// The one place that knows where tjf keeps things on disk. The state directory:
//
//   <state-dir>/                 TJF_STATE_DIR; default $XDG_STATE_HOME/tjf, ~/.local/state/tjf,
//   |                            or /var/lib/tjf for root
//   +-- tjfd.sqlite              the store (with -wal and -shm beside it while open)
//   +-- tjfd.sock                the API socket, unless $XDG_RUNTIME_DIR/tjf/ exists for it
//   |                            (platform mode: /run/tjf/tjfd.sock, see platformSocketPath)
//   +-- tjfd.log                 the daemon's own log when started in the background
//   +-- runs/<run-id>/           one directory per run, written before the run starts
//       +-- spec.json            what the shim runs (command, env, log targets, limits)
//       +-- shim.pid             the shim's pid and start time, for re-adoption
//       +-- exit.json            the result, written by the shim with an atomic rename
//       +-- output.log           captured output of runs without file logs:
//                                one line per record, "<unix-micros> <o|e> <text>"
//       +-- bundle/config.json   container runs: the OCI bundle (runtime/oci.hpp); the root
//                                filesystem is the image's, referenced, not copied
//   +-- kubernetes/              runtime: kubernetes only (kubernetes/resume_point.hpp)
//       +-- watch-<ns>.json      how far the watches of one namespace got (watch-_all.json for
//                                the cluster-wide scope), so a restart resumes from there
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace tjf::model {

// The default state directory for the current user.
std::filesystem::path defaultStateDir();
// The default socket: $XDG_RUNTIME_DIR/tjf/tjfd.sock when $XDG_RUNTIME_DIR is set, else
// <default state dir>/tjfd.sock. The CLI and the daemon compute the same path.
std::filesystem::path defaultSocketPath();
// Platform mode's socket, outside the 0700 state directory: /run/tjf/tjfd.sock. A CLI that finds
// no personal daemon looks here (docs/platform-mode.md).
std::filesystem::path platformSocketPath();

class StateLayout {
 public:
  explicit StateLayout(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path database() const { return root_ / "tjfd.sqlite"; }
  std::filesystem::path daemonLog() const { return root_ / "tjfd.log"; }
  std::filesystem::path runsDir() const { return root_ / "runs"; }
  std::filesystem::path kubernetesDir() const { return root_ / "kubernetes"; }
  std::filesystem::path runDir(std::int64_t run_id) const {
    return runsDir() / std::to_string(run_id);
  }
  static std::filesystem::path runSpec(const std::filesystem::path& run_dir) {
    return run_dir / "spec.json";
  }
  static std::filesystem::path shimPid(const std::filesystem::path& run_dir) {
    return run_dir / "shim.pid";
  }
  static std::filesystem::path exitRecord(const std::filesystem::path& run_dir) {
    return run_dir / "exit.json";
  }
  static std::filesystem::path output(const std::filesystem::path& run_dir) {
    return run_dir / "output.log";
  }
  static std::filesystem::path bundleDir(const std::filesystem::path& run_dir) {
    return run_dir / "bundle";
  }

 private:
  std::filesystem::path root_;
};

}  // namespace tjf::model

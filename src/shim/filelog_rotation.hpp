// Size-based rotation of a run's file logs (docs/logs.md, "Rotation"), done by tjf-shim while
// the job writes: when a log file has grown past `max_bytes`, its rotated copies are shifted
// (<file>.1 -> <file>.2 ... up to `keep`), the file is copied to <file>.1, and then truncated to
// zero. That is logrotate's `copytruncate`: the job's descriptor stays valid, and because every
// writer opened the file O_APPEND, its next write lands at the new end instead of leaving a hole.
// Lines written between the copy and the truncation are lost (the same window as logrotate's);
// the shim keeps it short by copying again what arrived during the first copy.
//
// Several writers may share a file (replicas, the next run of the same job, an outside
// logrotate): rotation holds an exclusive flock(2) on the file, and a writer that finds the file
// already small after taking the lock does nothing. Single-threaded: owned by the shim's loop.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace tjf::shim {

struct RotationPolicy {
  std::int64_t max_bytes = 0;  // 0: never rotate
  int keep = 1;                // rotated copies kept (<file>.1 ... <file>.<keep>); 0: truncate only
};

// Rotates `path` (of which `fd` is an open descriptor with write access) if it is a regular file
// larger than policy.max_bytes. Returns true when it rotated. Does nothing when the name no
// longer leads to the file of `fd` (someone else moved it away), or when another process holds
// the rotation lock right now (the next check retries).
Result<bool> rotateIfLarger(int fd, const std::string& path, const RotationPolicy& policy);

// The log files of one run, checked now and then by the shim's loop.
class FileLogRotator {
 public:
  // Whose rights rotation uses when the shim itself is root (container runs keep root for the
  // OCI runtime): the tool's, so a symlink the tool plants among its log files never makes a
  // privileged process create or rename files where the tool could not.
  struct Identity {
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
  };
  explicit FileLogRotator(RotationPolicy policy, std::optional<Identity> as = std::nullopt)
      : policy_(policy), as_(std::move(as)) {}

  bool enabled() const { return policy_.max_bytes > 0 && !files_.empty(); }
  // Watches the file behind `fd` (a duplicate is kept); non-regular files (/dev/null, a pipe)
  // and a second descriptor of the same file are ignored.
  void add(const std::string& path, int fd);
  // Rotates every watched file that is too large. Errors are reported once per file through
  // `report` (the shim's diagnostics) and do not stop the job.
  void check(void (*report)(const std::string& message));

 private:
  struct File {
    std::string path;
    UniqueFd fd;
    dev_t dev = 0;
    ino_t ino = 0;
    bool reported = false;
  };
  RotationPolicy policy_;
  std::optional<Identity> as_;
  std::vector<File> files_;
};

}  // namespace tjf::shim

// Where the KubernetesRuntime's watches of one scope had got to, saved in the state directory so
// that a restarted tjfd replays what the cluster did meanwhile (docs/kubernetes.md, "Restart"):
//
//   <state-dir>/kubernetes/watch-<namespace>.json   one file per watched namespace
//   <state-dir>/kubernetes/watch-_all.json          the cluster-wide scope (no namespace can be
//                                                   called "_all")
//
//   {"server": "https://k8s.example:6443", "namespace": "tool-x", "jobs": "123456",
//    "pods": "123450"}
//
// `jobs` and `pods` are the resourceVersions up to which the runtime had handled the Job and pod
// watch events of the scope. A version means nothing on another API server, so a point saved for
// another server is ignored.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace tjf::kubernetes {

struct ResumePoint {
  std::string server;
  std::string ns;  // empty: cluster-wide
  std::string jobs;
  std::string pods;

  bool operator==(const ResumePoint&) const = default;
};

// The file of a scope under the state directory's root.
std::filesystem::path resumePointPath(const std::filesystem::path& state_root, const std::string& ns);

// nullopt when nothing is saved (no file). An unreadable or malformed file is an error naming
// it; the caller then lists as if nothing were saved.
Result<std::optional<ResumePoint>> readResumePoint(const std::filesystem::path& file);

// Writes the point through a temporary file and a rename (creating the directory), so a reader
// sees the old point or the new one, never a mix. `sync`: fsync the file and its directory too.
Status writeResumePoint(const std::filesystem::path& file, const ResumePoint& point, bool sync);

// resourceVersions are opaque to clients, but every API server in use (etcd revisions) gives
// decimal integers that grow with every change. These compare two such versions; when either
// is not a decimal integer they answer false / `a`, so that callers fall back to waiting.
bool versionAtOrPast(std::string_view version, std::string_view mark);
std::string olderVersion(const std::string& a, const std::string& b);

}  // namespace tjf::kubernetes

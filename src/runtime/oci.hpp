// Container images through an OCI runtime (crun, or runc as a fallback): the bundle (config.json)
// a run's image needs, and the command line that runs it. The shim runs that command as the job
// process instead of /bin/sh -c, so a container run outlives the daemon like any other run, and
// log files, capture, timeouts and stops work the same (the shim holds the descriptors and
// signals the runtime, which forwards to the container's init).
//
// What a container gets (decisions.md, "Images"): its own mount, PID, IPC and UTS namespaces and
// the host network; the tool's uid, gid and groups; no new privileges and only the default
// runtime capabilities (none ambient); the image's root filesystem read-only; /tmp, /dev/shm as
// tmpfs; for --mount all the tool home bind-mounted read-write at the same path (and the
// operator's shared directories), for --mount none nothing from the host (an empty tmpfs at the
// home path, so HOME and the working directory exist); the job's limits as OCI resources.
// PID 1 is a static init from the host (tini-static or catatonit) bind-mounted read-only, so
// SIGTERM reaches the job: a shell as PID 1 would ignore it (machine-notes §2d).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/result.hpp"
#include "model/images.hpp"
#include "model/job.hpp"

namespace tjf::runtime {

enum class OciRuntimeKind { kCrun, kRunc };
std::string_view toString(OciRuntimeKind kind);

struct OciRuntime {
  OciRuntimeKind kind = OciRuntimeKind::kCrun;
  std::filesystem::path path;  // absolute
};

// `configured`: a path or name from the operator's configuration (empty: look for crun, then
// runc, in the usual binary directories). nullopt when none is found.
std::optional<OciRuntime> findOciRuntime(const std::string& configured = "");

// A static init for PID 1: `configured` if given, else tini-static or catatonit from the usual
// places. nullopt when none is found (then a stop is a SIGKILL after the grace period).
std::optional<std::filesystem::path> findContainerInit(const std::string& configured = "");

// Where the init is bind-mounted inside every container.
inline constexpr std::string_view kContainerInitPath = "/.tjf-init";

struct BundleSpec {
  std::filesystem::path rootfs;  // absolute, no symlinks (runc insists)
  std::string command;           // run with /bin/sh -c inside the container
  std::vector<std::string> env;  // KEY=VALUE
  std::filesystem::path home;    // the tool home: bind-mounted (kAll) or a tmpfs (kNone) here
  model::MountPolicy mount = model::MountPolicy::kAll;
  std::vector<std::filesystem::path> shared_dirs;  // kAll only: bind-mounted read-write too
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string hostname;
  std::optional<std::filesystem::path> init;  // host path of the init (see findContainerInit)
  std::int64_t memory_bytes = 0;  // 0: no limit
  std::int64_t cpu_millis = 0;
  std::int64_t pids = 0;
  std::int64_t nofile = 1024;     // RLIMIT_NOFILE; never above the daemon's own hard limit
  std::string cgroups_path;       // linux.cgroupsPath; empty: left to the runtime
};

// config.json for the bundle. Pure: the same spec gives the same document.
nlohmann::json bundleConfig(const BundleSpec& spec);

// Writes <bundle_dir>/config.json (creating the directory). The rootfs is referenced, not copied.
Status writeBundle(const std::filesystem::path& bundle_dir, const BundleSpec& spec);

// Whether an image can run here: an OCI image needs its root filesystem (a directory with
// /bin/sh) and an OCI runtime. Errors name the image and the path (creation-time checks).
Status checkImageRunnable(const model::Image& image, bool have_runtime);

// A container id unique on this host: "tjf-<8 hex of the cgroup parent>-<run id>".
std::string containerId(const std::string& cgroup_parent, std::int64_t run_id);

// The command the shim runs as the job process. `tjf_cgroups`: the run's cgroups are made by
// tjf and joined by the runtime process itself, so crun must not make its own
// (--cgroup-manager=disabled): the container then inherits them, and with them the limits, the
// OOM counter and kill-all. runc has no such mode and places the container in cgroupsPath.
std::vector<std::string> ociRunArgv(const OciRuntime& runtime,
                                    const std::filesystem::path& bundle_dir,
                                    const std::string& container_id, bool tjf_cgroups);

}  // namespace tjf::runtime

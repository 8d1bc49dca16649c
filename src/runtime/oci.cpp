#include "runtime/oci.hpp"

#include <unistd.h>

#include <cstdio>

#include <nlohmann/json.hpp>

#include "runtime/cgroups.hpp"
#include "runtime/shim_protocol.hpp"

namespace tjf::runtime {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kBinDirs[] = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin",
                                    "/sbin", "/bin"};

std::optional<fs::path> findProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) == 0) return fs::absolute(name);
    return std::nullopt;
  }
  for (const char* dir : kBinDirs) {
    const fs::path p = fs::path(dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return std::nullopt;
}

json mount(std::string destination, std::string type, std::string source,
           std::vector<std::string> options) {
  json m = {{"destination", std::move(destination)}, {"type", std::move(type)},
            {"source", std::move(source)}};
  if (!options.empty()) m["options"] = std::move(options);
  return m;
}

}  // namespace

std::string_view toString(OciRuntimeKind kind) {
  return kind == OciRuntimeKind::kCrun ? "crun" : "runc";
}

std::optional<OciRuntime> findOciRuntime(const std::string& configured) {
  if (!configured.empty()) {
    auto path = findProgram(configured);
    if (!path) return std::nullopt;
    const bool runc = path->filename().string().find("runc") != std::string::npos;
    return OciRuntime{runc ? OciRuntimeKind::kRunc : OciRuntimeKind::kCrun, *path};
  }
  if (auto crun = findProgram("crun")) return OciRuntime{OciRuntimeKind::kCrun, *crun};
  if (auto runc = findProgram("runc")) return OciRuntime{OciRuntimeKind::kRunc, *runc};
  return std::nullopt;
}

std::optional<fs::path> findContainerInit(const std::string& configured) {
  if (!configured.empty()) return findProgram(configured);
  // Static builds only: the init runs inside an image that may have no libc at all.
  for (const char* candidate :
       {"/usr/bin/tini-static", "/usr/libexec/podman/catatonit", "/usr/bin/catatonit"}) {
    if (::access(candidate, X_OK) == 0) return fs::path(candidate);
  }
  return std::nullopt;
}

json bundleConfig(const BundleSpec& s) {
  // The job's command, under the init when there is one. `-g`: signals go to the job's whole
  // process group, as the shim sends them to a host job's group.
  json args = json::array();
  if (s.init) {
    args = {std::string(kContainerInitPath), "-g", "--", "/bin/sh", "-c", s.command};
  } else {
    args = {"/bin/sh", "-c", s.command};
  }
  const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  json process = {
      {"terminal", false},
      {"user", {{"uid", s.uid}, {"gid", s.gid}}},
      {"args", args},
      {"env", s.env},
      {"cwd", s.home.string()},
      // No ambient capabilities: a non-root job must not gain any.
      {"capabilities",
       {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", s.nofile}, {"soft", s.nofile}}})},
      {"noNewPrivileges", true},
  };
  if (!s.groups.empty()) process["user"]["additionalGids"] = s.groups;

  json mounts = json::array({
      mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      mount("/tmp", "tmpfs", "tmpfs", {"nosuid", "nodev", "mode=1777"}),
  });
  if (s.mount == model::MountPolicy::kAll) {
    mounts.push_back(mount(s.home.string(), "bind", s.home.string(), {"rbind", "rw"}));
    for (const auto& dir : s.shared_dirs) {
      mounts.push_back(mount(dir.string(), "bind", dir.string(), {"rbind", "rw"}));
    }
  } else {
    // Nothing from the host: an empty, private home that the job may write (lost at its end).
    mounts.push_back(mount(s.home.string(), "tmpfs", "tmpfs",
                           {"nosuid", "nodev", "mode=0700", "uid=" + std::to_string(s.uid),
                            "gid=" + std::to_string(s.gid)}));
  }
  if (s.init) {
    mounts.push_back(mount(std::string(kContainerInitPath), "bind", s.init->string(),
                           {"bind", "ro", "nosuid", "nodev"}));
  }

  json resources = {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}};
  if (s.memory_bytes > 0) resources["memory"] = {{"limit", s.memory_bytes}};
  if (s.cpu_millis > 0) {
    const CpuQuota q = cpuQuotaFor(s.cpu_millis);
    resources["cpu"] = {{"quota", q.quota_us}, {"period", q.period_us}};
  }
  if (s.pids > 0) resources["pids"] = {{"limit", s.pids}};

  json linux = {
      {"resources", resources},
      // No network namespace: the host network, as a Toolforge job expects for outbound HTTP and
      // database connections.
      {"namespaces", json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "uts"}},
                                  {{"type", "mount"}}})},
      {"maskedPaths",
       {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
        "/proc/scsi"}},
      {"readonlyPaths",
       {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
  };
  if (!s.cgroups_path.empty()) linux["cgroupsPath"] = s.cgroups_path;

  return json{{"ociVersion", "1.0.2"},
              {"process", process},
              {"root", {{"path", s.rootfs.string()}, {"readonly", true}}},
              {"hostname", s.hostname},
              {"mounts", mounts},
              {"linux", linux}};
}

Status writeBundle(const fs::path& bundle_dir, const BundleSpec& spec) {
  std::error_code ec;
  fs::create_directories(bundle_dir, ec);
  if (ec) return internalError("cannot create '" + bundle_dir.string() + "': " + ec.message());
  return writeFileAtomically(bundle_dir / "config.json", bundleConfig(spec).dump(1), Sync::kNone);
}

Status checkImageRunnable(const model::Image& image, bool have_runtime) {
  if (image.runner != model::ImageRunner::kOci) return {};
  std::error_code ec;
  if (!fs::is_directory(image.rootfs, ec)) {
    return invalidArgument("The root filesystem '" + image.rootfs.string() + "' of image '" +
                           image.shortname + "' does not exist");
  }
  if (!fs::exists(image.rootfs / "bin" / "sh", ec) && !fs::is_symlink(image.rootfs / "bin" / "sh", ec)) {
    return invalidArgument("The root filesystem '" + image.rootfs.string() + "' of image '" +
                           image.shortname + "' has no '/bin/sh' to run the command with");
  }
  if (!have_runtime) {
    return invalidArgument("Image '" + image.shortname +
                           "' runs in a container, but no OCI runtime (crun or runc) is "
                           "installed on this machine");
  }
  return {};
}

std::string containerId(const std::string& cgroup_parent, std::int64_t run_id) {
  std::string tag = cgroup_parent;
  const auto slash = tag.rfind('/');
  if (slash != std::string::npos) tag = tag.substr(slash + 1);
  return "tjf-" + tag + "-" + std::to_string(run_id);
}

std::vector<std::string> ociRunArgv(const OciRuntime& runtime, const fs::path& bundle_dir,
                                    const std::string& container_id, bool tjf_cgroups) {
  std::vector<std::string> argv{runtime.path.string()};
  if (runtime.kind == OciRuntimeKind::kCrun && tjf_cgroups) {
    argv.push_back("--cgroup-manager=disabled");
  }
  for (const auto& a : {std::string("run"), std::string("--bundle"), bundle_dir.string(),
                        container_id}) {
    argv.push_back(a);
  }
  return argv;
}

}  // namespace tjf::runtime

#include "runtime/cgroups.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/unique_fd.hpp"

namespace tjf::runtime {
namespace {

namespace fs = std::filesystem;

// The v1 controllers that carry limits, and the limit file a probe writes in each.
struct V1Controller {
  const char* name;
  const char* probe_file;
};
constexpr V1Controller kV1Controllers[] = {
    {"memory", "memory.limit_in_bytes"},
    {"cpu", "cpu.cfs_quota_us"},
    {"pids", "pids.max"},
};

Status writeText(const fs::path& file, std::string_view text) {
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return systemError("cannot open '" + file.string() + "'", errno);
  if (::write(fd.get(), text.data(), text.size()) < 0) {
    return systemError("cannot write '" + std::string(text) + "' to '" + file.string() + "'",
                       errno);
  }
  return {};
}

std::optional<std::string> readText(const fs::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// mkdir -p for cgroup directories: EEXIST is fine (another run or an earlier daemon made it).
Status makeDirs(const fs::path& base, const std::string& rel) {
  fs::path dir = base;
  for (const auto& part : fs::path(rel)) {
    dir /= part;
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      return systemError("cannot create cgroup '" + dir.string() + "'", errno);
    }
  }
  return {};
}

std::vector<pid_t> pidsIn(const fs::path& dir) {
  std::vector<pid_t> pids;
  std::ifstream in(dir / "cgroup.procs");
  pid_t pid = 0;
  while (in >> pid) pids.push_back(pid);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory(ec)) {
      const auto more = pidsIn(entry.path());
      pids.insert(pids.end(), more.begin(), more.end());
    }
  }
  return pids;
}

// Removes a cgroup and whatever cgroups an OCI runtime left below it. Processes that were just
// killed leave their cgroup a moment after the signal, so EBUSY is retried for a short, bounded
// time (a run's cgroups are removed after its supervisor has already waited for the job).
void removeTree(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory(ec)) removeTree(entry.path());
  }
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::fprintf(stderr, "tjfd: cannot remove cgroup '%s': %s\n", dir.c_str(),
               std::strerror(errno));
}

std::string describeError(const Error& error) {
  std::string text = error.message;
  if (text.find("Permission denied") != std::string::npos ||
      text.find("Read-only file system") != std::string::npos ||
      text.find("Operation not permitted") != std::string::npos) {
    text += " (tjfd needs root, or a cgroup delegated to its user)";
  }
  return text;
}

// Creates `parent` and a probe cgroup below it in one hierarchy, writes one limit, removes the
// probe again. Returns the probe's directory listing check through `has_kill`.
Status probeHierarchy(const fs::path& base, const std::string& parent, const char* limit_file,
                      const char* limit_value, bool* has_kill) {
  if (auto ok = makeDirs(base, parent); !ok) return ok;
  const fs::path probe = base / parent / ("probe-" + std::to_string(::getpid()));
  if (::mkdir(probe.c_str(), 0755) != 0 && errno != EEXIST) {
    return systemError("cannot create cgroup '" + probe.string() + "'", errno);
  }
  Status result;
  if (limit_file) result = writeText(probe / limit_file, limit_value);
  std::error_code ec;
  if (has_kill) *has_kill = fs::exists(probe / "cgroup.kill", ec);
  ::rmdir(probe.c_str());
  return result;
}

CgroupSupport detectUnified(CgroupSupport s) {
  const auto controllers = readText(s.fs_root / "cgroup.controllers").value_or("");
  std::istringstream words(controllers);
  bool memory = false, cpu = false, pids = false;
  for (std::string w; words >> w;) {
    memory = memory || w == "memory";
    cpu = cpu || w == "cpu";
    pids = pids || w == "pids";
  }
  if (!memory || !cpu) {
    s.reason = "the cgroup v2 hierarchy at '" + s.fs_root.string() +
               "' offers no memory and cpu controllers to this process";
    return s;
  }
  if (auto ok = makeDirs(s.fs_root, s.parent); !ok) {
    s.reason = describeError(ok.error());
    return s;
  }
  // Controllers reach a cgroup only when every ancestor enables them for its children.
  const std::string enable = pids ? "+memory +cpu +pids" : "+memory +cpu";
  fs::path dir = s.fs_root;
  std::vector<fs::path> chain{dir};
  for (const auto& part : fs::path(s.parent)) chain.push_back(dir /= part);
  for (const auto& d : chain) {
    if (auto ok = writeText(d / "cgroup.subtree_control", enable); !ok) {
      s.reason = describeError(ok.error());
      return s;
    }
  }
  bool has_kill = false;
  if (auto ok = probeHierarchy(s.fs_root, s.parent, "memory.max", "max", &has_kill); !ok) {
    s.reason = describeError(ok.error());
    return s;
  }
  s.mode = CgroupMode::kUnified;
  s.tracking = true;
  s.can_kill = has_kill;
  return s;
}

CgroupSupport detectHybrid(CgroupSupport s) {
  for (const auto& c : kV1Controllers) {
    const fs::path base = s.fs_root / c.name;
    std::error_code ec;
    if (!fs::exists(base / "cgroup.procs", ec)) {
      s.reason = std::string("no cgroup v1 '") + c.name + "' hierarchy at '" + base.string() +
                 "' and no cgroup v2 hierarchy with controllers at '" + s.fs_root.string() + "'";
      return s;
    }
  }
  for (const auto& c : kV1Controllers) {
    const char* value = std::string_view(c.name) == "memory" ? "9223372036854771712"
                        : std::string_view(c.name) == "cpu"  ? "-1"
                                                              : "max";
    if (auto ok = probeHierarchy(s.fs_root / c.name, s.parent, c.probe_file, value, nullptr); !ok) {
      s.reason = describeError(ok.error());
      return s;
    }
  }
  s.mode = CgroupMode::kHybrid;
  const fs::path unified = s.fs_root / "unified";
  std::error_code ec;
  if (fs::exists(unified / "cgroup.procs", ec)) {
    bool has_kill = false;
    if (probeHierarchy(unified, s.parent, nullptr, nullptr, &has_kill)) {
      s.tracking = true;
      s.can_kill = has_kill;
    }
  }
  return s;
}

}  // namespace

std::string_view toString(CgroupMode mode) {
  switch (mode) {
    case CgroupMode::kNone: return "none";
    case CgroupMode::kUnified: return "v2";
    case CgroupMode::kHybrid: return "v1";
  }
  return "none";
}

std::string CgroupSupport::describe() const {
  switch (mode) {
    case CgroupMode::kNone: return "limits are not enforced: " + reason;
    case CgroupMode::kUnified:
      return "cgroup limits: v2 memory+cpu+pids under '" + parent + "'";
    case CgroupMode::kHybrid:
      return "cgroup limits: v1 memory+cpu+pids" +
             std::string(tracking ? " with v2 tracking" : " without v2 tracking") + " under '" +
             parent + "'";
  }
  return reason;
}

std::string cgroupParentFor(const std::filesystem::path& state_dir) {
  // FNV-1a: stable across builds and machines, unlike std::hash.
  std::uint32_t h = 2166136261u;
  auto normal = state_dir.lexically_normal();
  if (!normal.has_filename() && normal.has_parent_path()) normal = normal.parent_path();
  for (const unsigned char c : normal.string()) {
    h ^= c;
    h *= 16777619u;
  }
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", h);
  return std::string("tjf/") + hex;
}

CgroupSupport detectCgroups(const std::filesystem::path& fs_root, const std::string& parent) {
  CgroupSupport s;
  s.fs_root = fs_root;
  s.parent = parent;
  std::error_code ec;
  if (fs::exists(fs_root / "cgroup.controllers", ec)) return detectUnified(std::move(s));
  if (fs::exists(fs_root / "memory", ec)) return detectHybrid(std::move(s));
  s.reason = "no cgroup hierarchy is mounted at '" + fs_root.string() + "'";
  return s;
}

CpuQuota cpuQuotaFor(std::int64_t cpu_millis) {
  CpuQuota q;
  q.quota_us = std::max<std::int64_t>(1000, cpu_millis * q.period_us / 1000);
  return q;
}

std::string RunCgroup::leafName(std::int64_t run_id) { return "run-" + std::to_string(run_id); }

RunCgroup::RunCgroup(CgroupSupport support, std::string rel, std::vector<fs::path> dirs)
    : dirs_(std::move(dirs)), support_(std::move(support)), rel_(std::move(rel)) {}

Result<std::unique_ptr<RunCgroup>> RunCgroup::create(const CgroupSupport& support,
                                                     std::int64_t run_id,
                                                     const CgroupLimits& limits) {
  if (!support.enforced()) return internalError("cgroups are not available: " + support.reason);
  const std::string rel = support.parent + "/" + leafName(run_id);
  std::vector<fs::path> dirs;
  if (support.mode == CgroupMode::kUnified) {
    dirs.push_back(support.fs_root / rel);
  } else {
    for (const auto& c : kV1Controllers) dirs.push_back(support.fs_root / c.name / rel);
    if (support.tracking) dirs.push_back(support.fs_root / "unified" / rel);
  }
  // Owned from here on: a failure below removes what was made.
  std::unique_ptr<RunCgroup> cg(new RunCgroup(support, rel, {}));
  for (const auto& dir : dirs) {
    if (::mkdir(dir.c_str(), 0755) != 0) {
      const int err = errno;
      if (err != EEXIST && err != ENOENT) {
        return systemError("cannot create cgroup '" + dir.string() + "'", err);
      }
      if (err == ENOENT) {  // the parent went away (someone removed it): make it again
        const auto base = dir.parent_path();
        if (auto ok = makeDirs(support.fs_root, fs::relative(base, support.fs_root).string()); !ok) {
          return tl::unexpected(ok.error());
        }
        if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
          return systemError("cannot create cgroup '" + dir.string() + "'", errno);
        }
      }
    }
    cg->dirs_.push_back(dir);
  }
  const CpuQuota cpu = cpuQuotaFor(limits.cpu_millis);
  std::vector<std::pair<fs::path, std::string>> writes;
  if (support.mode == CgroupMode::kUnified) {
    const fs::path& d = cg->dirs_[0];
    if (limits.memory_bytes > 0) {
      writes.emplace_back(d / "memory.max", std::to_string(limits.memory_bytes));
      // As in a Kubernetes pod: a limit on memory is a limit on memory plus swap.
      if (std::error_code ec; fs::exists(d / "memory.swap.max", ec)) {
        writes.emplace_back(d / "memory.swap.max", "0");
      }
    }
    if (limits.cpu_millis > 0) {
      writes.emplace_back(d / "cpu.max",
                          std::to_string(cpu.quota_us) + " " + std::to_string(cpu.period_us));
    }
    if (limits.pids > 0 && fs::exists(d / "pids.max")) {
      writes.emplace_back(d / "pids.max", std::to_string(limits.pids));
    }
  } else {
    if (limits.memory_bytes > 0) {
      writes.emplace_back(cg->dirs_[0] / "memory.limit_in_bytes",
                          std::to_string(limits.memory_bytes));
    }
    if (limits.cpu_millis > 0) {
      writes.emplace_back(cg->dirs_[1] / "cpu.cfs_period_us", std::to_string(cpu.period_us));
      writes.emplace_back(cg->dirs_[1] / "cpu.cfs_quota_us", std::to_string(cpu.quota_us));
    }
    if (limits.pids > 0) {
      writes.emplace_back(cg->dirs_[2] / "pids.max", std::to_string(limits.pids));
    }
  }
  for (const auto& [file, value] : writes) {
    if (auto ok = writeText(file, value); !ok) return tl::unexpected(ok.error());
  }
  return cg;
}

std::unique_ptr<RunCgroup> RunCgroup::attach(const CgroupSupport& support, std::int64_t run_id) {
  const std::string rel = support.parent + "/" + leafName(run_id);
  std::vector<fs::path> dirs;
  if (support.mode == CgroupMode::kUnified) {
    dirs.push_back(support.fs_root / rel);
  } else if (support.mode == CgroupMode::kHybrid) {
    for (const auto& c : kV1Controllers) dirs.push_back(support.fs_root / c.name / rel);
    if (support.tracking) dirs.push_back(support.fs_root / "unified" / rel);
  }
  return std::unique_ptr<RunCgroup>(new RunCgroup(support, rel, std::move(dirs)));
}

RunCgroup::~RunCgroup() {
  if (kept_) return;
  killAll();
  for (const auto& dir : dirs_) removeTree(dir);
}

std::vector<std::string> RunCgroup::procsFiles() const {
  std::vector<std::string> files;
  for (const auto& dir : dirs_) files.push_back((dir / "cgroup.procs").string());
  return files;
}

std::string RunCgroup::oomCounter() const {
  if (dirs_.empty()) return {};
  if (support_.mode == CgroupMode::kUnified) return (dirs_[0] / "memory.events").string();
  return (dirs_[0] / "memory.oom_control").string();
}

std::string RunCgroup::killFile() const {
  if (!support_.can_kill || dirs_.empty()) return {};
  if (support_.mode == CgroupMode::kUnified) return (dirs_[0] / "cgroup.kill").string();
  if (support_.tracking) return (dirs_.back() / "cgroup.kill").string();
  return {};
}

std::string RunCgroup::unifiedPath() const {
  if (support_.mode == CgroupMode::kUnified || support_.tracking) return "/" + rel_;
  return {};
}

void RunCgroup::killAll() {
  std::error_code ec;
  if (const auto kill = killFile(); !kill.empty() && fs::exists(kill, ec)) {
    if (writeText(kill, "1")) return;
  }
  // No cgroup.kill: signal each process, again while a fork raced with the previous round.
  for (int round = 0; round < 10; ++round) {
    bool any = false;
    for (const auto& dir : dirs_) {
      for (const pid_t pid : pidsIn(dir)) {
        if (pid > 0 && ::kill(pid, SIGKILL) == 0) any = true;
      }
    }
    if (!any) return;
  }
}

bool RunCgroup::populated() const {
  if (support_.mode == CgroupMode::kUnified || support_.tracking) {
    if (const auto events = readText(dirs_.back() / "cgroup.events")) {
      return events->find("populated 1") != std::string::npos;
    }
  }
  for (const auto& dir : dirs_) {
    if (!pidsIn(dir).empty()) return true;
  }
  return false;
}

std::optional<std::int64_t> RunCgroup::cpuUsageMicros() const {
  if (dirs_.empty() || !(support_.mode == CgroupMode::kUnified || support_.tracking)) {
    return std::nullopt;
  }
  std::ifstream in(dirs_.back() / "cpu.stat");
  std::string key;
  std::int64_t value = 0;
  while (in >> key >> value) {
    if (key == "usage_usec") return value;
  }
  return std::nullopt;
}

}  // namespace tjf::runtime

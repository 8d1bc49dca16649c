#include "runtime/local_runtime.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <fstream>
#include <sstream>

#include "runtime/shim_protocol.hpp"

namespace tjf::runtime {
namespace {

namespace asio = boost::asio;

// glibc 2.36 declares these without C linkage for C++; the system calls are stable.
int pidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
int pidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

OutputTarget targetFor(const std::optional<std::filesystem::path>& path) {
  if (!path) return OutputTarget{OutputTarget::Kind::kCapture, {}};
  return OutputTarget{OutputTarget::Kind::kFile, path->string()};
}

}  // namespace

std::int64_t processStartTicks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 22) return std::stoll(field);
  }
  return 0;
}

LocalRuntime::LocalRuntime(asio::io_context& io, LocalRuntimeOptions options)
    : io_(io), options_(std::move(options)) {}

LocalRuntime::~LocalRuntime() {
  // Shims are left running on purpose: runs outlive the daemon.
  for (auto& [id, w] : watched_) {
    if (w.waiter) w.waiter->release();
  }
  for (auto& [id, cgroup] : cgroups_) cgroup->keep();
}

Result<RunHandle> LocalRuntime::start(const RunRequest& request) {
  const auto run_dir = options_.layout.runDir(request.run_id);
  std::error_code ec;
  std::filesystem::create_directories(run_dir, ec);
  if (ec) return internalError("cannot create '" + run_dir.string() + "': " + ec.message());

  ShimSpec spec;
  spec.run_id = request.run_id;
  spec.command = request.command;
  spec.workdir = request.workdir.string();
  spec.env = request.env;
  spec.stdout_target = targetFor(request.stdout_path);
  spec.stderr_target = targetFor(request.stderr_path);
  spec.capture_path = model::StateLayout::output(run_dir).string();
  spec.timeout_seconds = request.timeout_seconds;
  spec.stop_grace_seconds = options_.stop_grace_seconds;
  spec.filelog_rotate_bytes = options_.filelog_rotate_bytes;  // file-log rotation (docs/logs.md)
  spec.filelog_rotate_keep = options_.filelog_rotate_keep;
  spec.uid = request.uid;
  spec.gid = request.gid;
  spec.groups = request.groups;
  // Limits: the run's cgroups exist, with their limits written, before its process joins them.
  std::unique_ptr<RunCgroup> cgroup;
  if (options_.cgroups.enforced()) {
    auto made = RunCgroup::create(options_.cgroups, request.run_id,
                                  {.memory_bytes = request.memory_bytes,
                                   .cpu_millis = request.cpu_millis,
                                   .pids = options_.pids_limit});
    if (!made) return tl::unexpected(made.error());
    cgroup = std::move(*made);
    spec.cgroup_procs = cgroup->procsFiles();
    spec.oom_counter = cgroup->oomCounter();
    spec.kill_cgroup = cgroup->killFile();
  }
  if (request.image && request.image->runner == model::ImageRunner::kOci) {
    if (auto ok = checkImageRunnable(*request.image, options_.oci.has_value()); !ok) {
      return tl::unexpected(ok.error());
    }
    std::error_code canonical_ec;
    BundleSpec bundle;
    bundle.rootfs = std::filesystem::canonical(request.image->rootfs, canonical_ec);
    bundle.command = request.command;
    bundle.env = request.env;
    bundle.home = request.workdir;
    bundle.mount = request.mount;
    bundle.shared_dirs = options_.shared_dirs;
    bundle.uid = request.uid.value_or(::getuid());
    bundle.gid = request.gid.value_or(::getgid());
    bundle.groups = request.groups;
    bundle.hostname = request.job_name;
    bundle.init = options_.container_init;
    bundle.memory_bytes = request.memory_bytes;
    bundle.cpu_millis = request.cpu_millis;
    bundle.pids = options_.pids_limit;
    // With tjf's cgroups, crun joins them (its own cgroups are off) and runc nests below them.
    bundle.cgroups_path = "/" + (cgroup ? cgroup->relativePath() + "/container"
                                        : options_.cgroups.parent + "/" +
                                              RunCgroup::leafName(request.run_id));
    const auto bundle_dir = model::StateLayout::bundleDir(run_dir);
    if (auto ok = writeBundle(bundle_dir, bundle); !ok) return tl::unexpected(ok.error());
    spec.argv = ociRunArgv(*options_.oci, bundle_dir,
                           containerId(options_.cgroups.parent, request.run_id),
                           cgroup != nullptr);
  }
  if (auto written = writeShimSpec(model::StateLayout::runSpec(run_dir), spec); !written) {
    return tl::unexpected(written.error());
  }

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string shim_log = (run_dir / "shim.log").string();
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, shim_log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0600);
  // Nothing of the daemon's leaks into a run: above all not the API's listening socket, which a
  // surviving shim would otherwise keep accepting on after the daemon died.
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  // A new session: the shim is no longer in the daemon's process group or terminal, so the
  // daemon's death (or a Ctrl-C on its terminal) does not reach the run.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  const std::string shim = options_.shim_path.string();
  const std::string dir = run_dir.string();
  char* argv[] = {const_cast<char*>(shim.c_str()), const_cast<char*>(dir.c_str()), nullptr};
  char* envp[] = {nullptr};
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, shim.c_str(), &actions, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return systemError("cannot start '" + shim + "'", rc);

  RunHandle handle;
  handle.run_id = request.run_id;
  handle.pid = pid;
  handle.started_at = std::chrono::system_clock::now();
  handle.start_ticks = processStartTicks(pid);
  handle.captured_output = !request.stdout_path || !request.stderr_path;
  UniqueFd pidfd(pidfdOpen(pid));
  if (!pidfd.valid()) {
    // Cannot watch it: stop it rather than leave a run nobody will ever see end.
    ::kill(pid, SIGKILL);
    return systemError("cannot watch run " + std::to_string(request.run_id), errno);
  }
  watch(request.run_id, pid, std::move(pidfd));
  if (cgroup) cgroups_[request.run_id] = std::move(cgroup);
  return handle;
}

void LocalRuntime::watch(std::int64_t run_id, pid_t pid, UniqueFd pidfd) {
  auto waiter = std::make_unique<asio::posix::stream_descriptor>(io_, pidfd.get());
  watched_[run_id] = Watched{pid, std::move(pidfd), std::move(waiter)};
  arm(run_id);
}

void LocalRuntime::arm(std::int64_t run_id) {
  watched_.at(run_id).waiter->async_wait(
      asio::posix::stream_descriptor::wait_read,
      [this, run_id](const boost::system::error_code& ec) {
        if (ec == asio::error::operation_aborted) return;
        onShimGone(run_id);
      });
}

void LocalRuntime::onShimGone(std::int64_t run_id) {
  auto it = watched_.find(run_id);
  if (it == watched_.end()) return;
  // A pidfd is readable once its process has exited. The reactor may wake us without that
  // (seen under load), and a run reported gone while its shim lives would be recorded as lost:
  // ask the pidfd itself.
  pollfd check{it->second.pidfd.get(), POLLIN, 0};
  if (::poll(&check, 1, 0) == 0) {
    ++spurious_wakeups_;
    arm(run_id);
    return;
  }
  // Reap it if it is our child; a shim adopted from an earlier daemon is reaped by init (ECHILD).
  siginfo_t info{};
  ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(it->second.pidfd.get()), &info,
           WEXITED | WNOHANG);
  it->second.waiter->release();  // the UniqueFd closes the pidfd
  watched_.erase(it);
  const RunExit exit = exitFromRecord(run_id);
  if (on_exit_) on_exit_(exit);
  // After the report: whatever the run left in its cgroups is killed and they are removed.
  cgroups_.erase(run_id);
}

RunExit LocalRuntime::exitFromRecord(std::int64_t run_id) const {
  const auto run_dir = options_.layout.runDir(run_id);
  RunExit exit;
  exit.run_id = run_id;
  auto record = readExitRecord(model::StateLayout::exitRecord(run_dir));
  if (!record) {
    exit.finished_at = std::chrono::system_clock::now();
    exit.reason = "Lost";
    std::error_code ec;
    // The spawn creates shim.log before the shim runs: without it, no shim ever existed.
    if (!std::filesystem::exists(run_dir / "shim.log", ec)) {
      exit.message = "the daemon stopped while starting this run; it never started";
      exit.never_started = true;
    } else {
      exit.message = "the run's supervisor ended without recording a result (killed, or the "
                     "machine stopped; see '" + (run_dir / "shim.log").string() + "')";
    }
    return exit;
  }
  exit.started_at = record->started_at;
  exit.finished_at = record->finished_at;
  exit.exit_code = record->exit_code;
  exit.signal = record->signal;
  exit.reason = record->reason;
  exit.message = record->message;
  return exit;
}

Status LocalRuntime::stop(std::int64_t run_id) {
  auto it = watched_.find(run_id);
  if (it == watched_.end()) return {};  // already gone: its exit is (or was) reported
  if (pidfdSendSignal(it->second.pidfd.get(), SIGTERM) != 0 && errno != ESRCH) {
    return systemError("cannot stop run " + std::to_string(run_id), errno);
  }
  return {};
}

void LocalRuntime::adopt(const RunHandle& handle) {
  auto pid = static_cast<pid_t>(handle.pid);
  auto start_ticks = handle.start_ticks;
  if (pid <= 0) {
    // The daemon stopped between marking the run running and recording its shim's pid: look
    // for the shim by its run directory (one scan of /proc, shared by all such runs).
    if (!shim_scan_) shim_scan_ = liveShims();
    if (auto it = shim_scan_->find(handle.run_id); it != shim_scan_->end()) {
      pid = it->second;
      start_ticks = processStartTicks(pid);
    }
  }
  UniqueFd pidfd(pid > 0 ? pidfdOpen(pid) : -1);
  // The pid may have been reused by an unrelated process while nobody watched: the start time
  // tells them apart.
  if (pidfd.valid() && processStartTicks(pid) == start_ticks) {
    watch(handle.run_id, pid, std::move(pidfd));
    if (options_.cgroups.enforced()) {
      cgroups_[handle.run_id] = RunCgroup::attach(options_.cgroups, handle.run_id);
    }
    return;
  }
  asio::post(io_, [this, id = handle.run_id] {
    if (on_exit_) on_exit_(exitFromRecord(id));
    if (options_.cgroups.enforced()) RunCgroup::attach(options_.cgroups, id);  // removes them
  });
}

std::optional<std::filesystem::path> LocalRuntime::capturedOutput(std::int64_t run_id) const {
  auto path = model::StateLayout::output(options_.layout.runDir(run_id));
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  return path;
}

std::map<std::int64_t, pid_t> LocalRuntime::liveShims() const {
  // A shim's command line is "<shim> <runs-dir>/<id>"; a shim is never renamed, so this finds
  // every one of this state directory, whoever started it.
  std::map<std::int64_t, pid_t> shims;
  const std::string prefix = options_.layout.runsDir().string() + "/";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const auto name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto nul = cmdline.find('\0');
    if (nul == std::string::npos) continue;
    const std::string arg = cmdline.substr(nul + 1, cmdline.find('\0', nul + 1) - nul - 1);
    if (arg.rfind(prefix, 0) != 0) continue;
    const std::string id_text = arg.substr(prefix.size());
    if (id_text.empty() || id_text.find_first_not_of("0123456789") != std::string::npos) continue;
    shims[std::stoll(id_text)] = static_cast<pid_t>(std::stol(name));
  }
  return shims;
}

std::vector<std::int64_t> LocalRuntime::stopOrphans(const std::vector<std::int64_t>& known) {
  std::vector<std::int64_t> orphans;
  for (const auto& [id, pid] : liveShims()) {
    if (std::find(known.begin(), known.end(), id) != known.end()) continue;
    // SIGTERM to the shim: it stops its job with the grace period and records why.
    orphans.push_back(id);
    ::kill(pid, SIGTERM);
  }
  return orphans;
}

}  // namespace tjf::runtime

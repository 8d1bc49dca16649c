// tjf-shim: the per-run supervisor (see runtime/shim_protocol.hpp for the contract).
//
//   tjf-shim <run-dir>
//
// Started by tjfd in a new session, so it survives the daemon. It never talks to the daemon: the
// daemon watches its pid and reads the exit record it leaves in the run directory.
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "base/time_format.hpp"
#include "base/unique_fd.hpp"
#include "model/state_paths.hpp"
#include "runtime/command_check.hpp"
#include "runtime/shim_protocol.hpp"
#include "shim/capture.hpp"
#include "shim/filelog_rotation.hpp"

namespace tjf::shim {
namespace {

using runtime::ExitRecord;
using runtime::OutputTarget;
using runtime::ShimSpec;

// Capture (docs/logs.md): one read takes what a full pipe of the default size holds. (Growing
// busy pipes with F_SETPIPE_SZ measured no faster, and it spends the tool's pipe-user-pages.)
constexpr std::size_t kReadBuffer = 64 * 1024;
// How often the shim looks at the size of the run's file logs when rotation is on.
constexpr auto kRotationCheck = std::chrono::seconds(1);

TimePoint now() { return std::chrono::system_clock::now(); }

std::string envValue(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& kv : env) {
    if (kv.size() > key.size() && kv.compare(0, key.size(), key) == 0 && kv[key.size()] == '=') {
      return kv.substr(key.size() + 1);
    }
  }
  return {};
}

// Drops to the tool's identity for good (platform mode): the job process does, in startChild.
// The log files were opened before with the tool's effective ids (asTool), so a tool's symlink
// never makes the shim write where the tool could not.
bool dropPrivileges(const ShimSpec& spec, std::string* error) {
  if (!spec.uid || ::geteuid() != 0) return true;
  const gid_t gid = spec.gid.value_or(*spec.uid);
  if (::setgroups(spec.groups.size(), spec.groups.data()) != 0 || ::setgid(gid) != 0 ||
      ::setuid(*spec.uid) != 0) {
    *error = std::string("cannot switch to the tool's identity: ") + std::strerror(errno);
    return false;
  }
  return true;
}

int openLog(const std::string& path, std::string* error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) *error = "cannot open log file '" + path + "': " + std::strerror(errno);
  return fd;
}

class Supervisor {
 public:
  Supervisor(ShimSpec spec, std::filesystem::path run_dir)
      : spec_(std::move(spec)), run_dir_(std::move(run_dir)), rotator_(rotationOf(spec_)) {}

  int run() {
    blockSignals();
    record_.started_at = now();
    std::string error;
    // The log store is the daemon's (a 0700 state directory): opened as the shim itself.
    if (!openCapture(&error)) return finishWithoutStart(error);
    if (container()) {
      // The command resolves inside the image, not here: the container reports a missing one.
      if (!prepareOutputsAsTool(&error)) return finishWithoutStart(error);
    } else {
      // Platform mode: the shim stays root, so the run's records stay where no tool can change
      // them and no job can signal its supervisor; the log files are opened, and the command
      // looked up, with the tool's rights; the job itself drops to the tool (startChild).
      if (!asTool([&] { return prepareOutputs(&error) && commandFound(&error); }, &error)) {
        return finishWithoutStart(error);
      }
    }
    if (!startChild(&error)) return finishWithoutStart(error);
    supervise();
    if (container()) cleanUpContainer();
    return finish();
  }

 private:
  // -- Containers (runtime/oci.hpp): the job process is the OCI runtime's `run` --------------
  bool container() const { return !spec_.argv.empty(); }

  // The shim stays root for the OCI runtime, so only its effective ids become the tool's while
  // the log files are opened: a tool's symlink never makes it write where the tool could not.
  bool prepareOutputsAsTool(std::string* error) {
    return asTool([&] { return prepareOutputs(error); }, error);
  }

  // Runs `step` with the tool's effective ids (platform mode), then switches back to root.
  template <typename Step>
  bool asTool(Step step, std::string* error) {
    if (!spec_.uid || ::geteuid() != 0) return step();
    std::vector<gid_t> saved(static_cast<std::size_t>(std::max(0, ::getgroups(0, nullptr))));
    if (::getgroups(static_cast<int>(saved.size()), saved.data()) < 0) saved.clear();
    const gid_t gid = spec_.gid.value_or(*spec_.uid);
    if (::setgroups(spec_.groups.size(), spec_.groups.data()) != 0 || ::setegid(gid) != 0 ||
        ::seteuid(*spec_.uid) != 0) {
      *error = std::string("cannot take the tool's identity: ") + std::strerror(errno);
      return false;
    }
    const bool ok = step();
    if (::seteuid(0) != 0 || ::setegid(0) != 0 || ::setgroups(saved.size(), saved.data()) != 0) {
      // Half-switched ids would start the container with the wrong rights: stop here.
      *error = std::string("cannot switch back to root after opening the logs: ") +
               std::strerror(errno);
      return false;
    }
    return ok;
  }

  // The command check of a run on the host (runtime/command_check.hpp), with the rights it runs
  // with (effective ids, see asTool).
  bool commandFound(std::string* error) {
    if (auto problem = runtime::commandProblem(spec_.command, spec_.workdir,
                                               envValue(spec_.env, "PATH"))) {
      *error = *problem;
      return false;
    }
    return true;
  }

  bool openCapture(std::string* error) {
    const bool captures = spec_.stdout_target.kind == OutputTarget::Kind::kCapture ||
                          spec_.stderr_target.kind == OutputTarget::Kind::kCapture;
    if (captures && !writer_.open(spec_.capture_path)) {
      *error = "cannot open the log store '" + spec_.capture_path + "': " + std::strerror(errno);
      return false;
    }
    return true;
  }

  // A runtime killed at the end of a stop leaves its container's state behind; `delete --force`
  // removes it (and anything left of the container). Bounded: the runtime itself answers fast.
  void cleanUpContainer() {
    if (!child_killed_) return;
    const pid_t pid = ::fork();
    if (pid == 0) {
      std::string force = "--force", del = "delete";
      std::string runtime = spec_.argv.front(), id = spec_.argv.back();
      char* argv[] = {runtime.data(), del.data(), force.data(), id.data(), nullptr};
      const int devnull = ::open("/dev/null", O_RDWR);
      ::dup2(devnull, 0);
      ::dup2(devnull, 1);
      ::dup2(devnull, 2);
      ::execv(argv[0], argv);
      ::_exit(127);
    }
    if (pid > 0) ::waitpid(pid, nullptr, 0);
  }

  // Kills whatever is left in the run's cgroup (see ShimSpec::kill_cgroup).
  void killCgroup() {
    if (spec_.kill_cgroup.empty()) return;
    std::ofstream(spec_.kill_cgroup) << "1";
  }

  // The job's ends of its output: log files (opened O_APPEND), or pipes to the log store
  // (openCapture first).
  bool prepareOutputs(std::string* error) {
    auto prepare = [&](const OutputTarget& t, char tag, UniqueFd* child_end) {
      if (t.kind == OutputTarget::Kind::kFile) {
        // One path for both streams: share the descriptor, so the lines interleave in order.
        if (tag == 'e' && spec_.stdout_target.kind == OutputTarget::Kind::kFile &&
            spec_.stdout_target.path == t.path) {
          child_end->reset(::dup(stdout_fd_.get()));
          return child_end->valid();
        }
        child_end->reset(openLog(t.path, error));
        return child_end->valid();
      }
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0) {
        *error = std::string("cannot create a pipe: ") + std::strerror(errno);
        return false;
      }
      streams_.push_back(CapturedStream{UniqueFd(fds[0]), tag, {}});
      child_end->reset(fds[1]);
      return true;
    };
    return prepare(spec_.stdout_target, 'o', &stdout_fd_) &&
           prepare(spec_.stderr_target, 'e', &stderr_fd_);
  }

  // From the first instruction on, SIGTERM is a stop request read from a signalfd, never a death.
  void blockSignals() {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    ::sigprocmask(SIG_BLOCK, &mask, &old_mask_);
    signal_fd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  }

  bool startChild(std::string* error) {
    std::vector<char*> envp;
    for (auto& kv : spec_.env) envp.push_back(kv.data());
    envp.push_back(nullptr);
    std::string sh = "/bin/sh", dash_c = "-c";
    std::vector<char*> argv = {sh.data(), dash_c.data(), spec_.command.data(), nullptr};
    if (container()) {
      argv.clear();
      for (auto& a : spec_.argv) argv.push_back(a.data());
      argv.push_back(nullptr);
    }

    child_ = ::fork();
    if (child_ < 0) {
      *error = std::string("cannot fork: ") + std::strerror(errno);
      return false;
    }
    if (child_ == 0) {
      // The job gets its own process group, so a stop reaches everything it started.
      ::setpgid(0, 0);
      ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
      for (const auto& procs : spec_.cgroup_procs) {
        std::ofstream(procs) << ::getpid();
      }
      const int devnull = ::open("/dev/null", O_RDONLY);
      ::dup2(devnull, 0);
      ::dup2(stdout_fd_.get(), 1);
      ::dup2(stderr_fd_.get(), 2);
      // Platform mode: the job runs as the tool (the shim stays root; a container takes the
      // tool's ids itself). After joining the cgroups, which only root may do.
      if (std::string why; !container() && !dropPrivileges(spec_, &why)) {
        std::fprintf(stderr, "tjf: %s\n", why.c_str());
        ::_exit(126);
      }
      if (::chdir(spec_.workdir.c_str()) != 0) {
        std::fprintf(stderr, "tjf: cannot enter '%s': %s\n", spec_.workdir.c_str(),
                     std::strerror(errno));
        ::_exit(126);
      }
      ::execve(argv[0], argv.data(), envp.data());
      std::fprintf(stderr, "tjf: cannot run %s: %s\n", argv[0], std::strerror(errno));
      ::_exit(127);
    }
    ::setpgid(child_, child_);  // also here, so the group exists before any kill below
    // File-log rotation (docs/logs.md) keeps its own descriptor of each log file.
    if (spec_.stdout_target.kind == OutputTarget::Kind::kFile) {
      rotator_.add(spec_.stdout_target.path, stdout_fd_.get());
    }
    if (spec_.stderr_target.kind == OutputTarget::Kind::kFile) {
      rotator_.add(spec_.stderr_target.path, stderr_fd_.get());
    }
    stdout_fd_.reset();
    stderr_fd_.reset();
    if (spec_.timeout_seconds > 0) {
      deadline_ = now() + std::chrono::seconds(spec_.timeout_seconds);
    }
    return true;
  }

  void killGroup(int sig) { ::kill(-child_, sig); }

  void requestStop(const char* reason) {
    if (stopping_) return;
    stopping_ = true;
    stop_reason_ = reason;
    killGroup(SIGTERM);
    kill_at_ = now() + std::chrono::seconds(spec_.stop_grace_seconds);
  }

  // -- Output: capture into the log store (shim/capture.hpp), file-log rotation ---------------
  static FileLogRotator rotationOf(const ShimSpec& spec) {
    std::optional<FileLogRotator::Identity> as;
    if (spec.uid) as = FileLogRotator::Identity{*spec.uid, spec.gid.value_or(*spec.uid), spec.groups};
    return FileLogRotator({.max_bytes = spec.filelog_rotate_bytes, .keep = spec.filelog_rotate_keep},
                          std::move(as));
  }
  static void reportToShimLog(const std::string& message) {
    std::fprintf(stderr, "tjf-shim: file-log rotation: %s\n", message.c_str());
  }

  void supervise() {
    std::vector<char> buf(kReadBuffer);
    bool child_running = true;
    std::optional<TimePoint> drain_until;
    std::optional<TimePoint> next_rotation;
    if (rotator_.enabled()) {
      rotator_.check(reportToShimLog);  // a short run that appends to a big file rotates too
      next_rotation = now() + kRotationCheck;
    }
    while (true) {
      std::vector<pollfd> fds;
      fds.push_back({signal_fd_.get(), POLLIN, 0});
      for (auto& s : streams_) {
        if (s.read_end.valid()) fds.push_back({s.read_end.get(), POLLIN, 0});
      }
      if (!child_running && fds.size() == 1) break;
      if (drain_until && now() >= *drain_until) break;
      int timeout_ms = -1;
      auto consider = [&](const std::optional<TimePoint>& t) {
        if (!t) return;
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*t - now()).count();
        const int clamped = static_cast<int>(std::max<long long>(0, std::min<long long>(ms, 60000)));
        timeout_ms = timeout_ms < 0 ? clamped : std::min(timeout_ms, clamped);
      };
      if (child_running) {
        consider(deadline_);
        consider(kill_at_);
        consider(next_rotation);
      }
      consider(drain_until);
      if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) break;

      if (child_running && deadline_ && now() >= *deadline_ && !stopping_) {
        requestStop("DeadlineExceeded");
      }
      if (child_running && kill_at_ && now() >= *kill_at_) {
        killGroup(SIGKILL);
        killCgroup();
        kill_at_.reset();
      }
      if (child_running && next_rotation && now() >= *next_rotation) {
        rotator_.check(reportToShimLog);
        next_rotation = now() + kRotationCheck;
      }
      if (fds[0].revents & POLLIN) {
        signalfd_siginfo info;
        while (::read(signal_fd_.get(), &info, sizeof info) == sizeof info) {
          if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) requestStop("Stopped");
        }
        int status = 0;
        if (child_running && ::waitpid(child_, &status, WNOHANG) == child_) {
          child_running = false;
          recordStatus(status);
          // As in a pod: when the main process ends, what it left behind is ended too, so no
          // background process keeps the output pipes open.
          killGroup(SIGKILL);
          killCgroup();
          drain_until = now() + std::chrono::seconds(2);
        }
      }
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        for (auto& s : streams_) {
          if (s.read_end.get() != fds[i].fd) continue;
          const ssize_t n = ::read(s.read_end.get(), buf.data(), buf.size());
          if (n > 0) {
            writer_.consume(s, std::string_view(buf.data(), static_cast<std::size_t>(n)), now(),
                            false);
          } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            writer_.consume(s, {}, now(), true);
            s.read_end.reset();
          }
        }
      }
    }
    for (auto& s : streams_) {
      if (s.read_end.valid()) writer_.consume(s, {}, now(), true);
    }
    if (rotator_.enabled()) rotator_.check(reportToShimLog);
    reportCapture();
  }

  // One line in shim.log: what was captured, what was lost, and what it cost.
  void reportCapture() const {
    if (streams_.empty()) return;
    const CaptureStats& st = writer_.stats();
    rusage self{};
    ::getrusage(RUSAGE_SELF, &self);
    auto seconds = [](const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; };
    std::fprintf(stderr,
                 "tjf-shim: captured %llu lines (%llu bytes of output), lost %llu; cpu user "
                 "%.3fs system %.3fs\n",
                 static_cast<unsigned long long>(st.lines),
                 static_cast<unsigned long long>(st.bytes),
                 static_cast<unsigned long long>(st.lost_lines), seconds(self.ru_utime),
                 seconds(self.ru_stime));
  }

  bool oomKilled() const {
    if (spec_.oom_counter.empty()) return false;
    std::ifstream in(spec_.oom_counter);
    std::string key;
    long long value = 0;
    while (in >> key >> value) {
      if (key == "oom_kill") return value > 0;
    }
    return false;
  }

  void recordStatus(int status) {
    record_.finished_at = now();
    if (WIFEXITED(status)) {
      record_.exit_code = WEXITSTATUS(status);
      record_.reason = *record_.exit_code == 0 ? "Completed" : "Error";
    } else if (WIFSIGNALED(status)) {
      record_.signal = WTERMSIG(status);
      record_.exit_code = 128 + *record_.signal;
      record_.reason = "Signal";
      child_killed_ = true;
    }
    // Killed by the memory limit: the victim may be the main process (SIGKILL) or one it waits
    // for (a shell or a container's init then exits with 128 + SIGKILL).
    if (record_.exit_code == 128 + SIGKILL && oomKilled()) record_.reason = "OOMKilled";
    if (stopping_ && record_.reason != "Completed") record_.reason = stop_reason_;
    if (record_.reason == "DeadlineExceeded") {
      record_.message = "the run exceeded its timeout of " +
                        std::to_string(spec_.timeout_seconds) + " seconds";
    }
  }

  int finishWithoutStart(const std::string& message) {
    record_.finished_at = now();
    record_.reason = "StartError";
    record_.message = message;
    return finish();
  }

  int finish() {
    const auto written =
        runtime::writeExitRecord(model::StateLayout::exitRecord(run_dir_), record_);
    if (!written) {
      std::fprintf(stderr, "tjf-shim: %s\n", written.error().message.c_str());
      return 1;
    }
    return 0;
  }

  ShimSpec spec_;
  std::filesystem::path run_dir_;
  ExitRecord record_;
  UniqueFd stdout_fd_;
  UniqueFd stderr_fd_;
  UniqueFd signal_fd_;
  std::vector<CapturedStream> streams_;
  CaptureWriter writer_;
  FileLogRotator rotator_;
  sigset_t old_mask_{};
  pid_t child_ = -1;
  bool child_killed_ = false;  // the job process died of a signal (see cleanUpContainer)
  bool stopping_ = false;
  std::string stop_reason_;
  std::optional<TimePoint> deadline_;
  std::optional<TimePoint> kill_at_;
};

}  // namespace
}  // namespace tjf::shim

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tjf-shim <run-dir>\n");
    return 2;
  }
  // Nothing the daemon had open (its store, its sockets) reaches the job, or another tool.
  ::close_range(3, ~0U, 0);
  ::signal(SIGPIPE, SIG_IGN);
  const std::filesystem::path run_dir = argv[1];
  auto spec = tjf::runtime::readShimSpec(tjf::model::StateLayout::runSpec(run_dir));
  if (!spec) {
    std::fprintf(stderr, "tjf-shim: %s\n", spec.error().message.c_str());
    return 2;
  }
  return tjf::shim::Supervisor(std::move(*spec), run_dir).run();
}

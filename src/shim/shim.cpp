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

namespace tjf::shim {
namespace {

using runtime::ExitRecord;
using runtime::OutputTarget;
using runtime::ShimSpec;

TimePoint now() { return std::chrono::system_clock::now(); }

std::string envValue(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& kv : env) {
    if (kv.size() > key.size() && kv.compare(0, key.size(), key) == 0 && kv[key.size()] == '=') {
      return kv.substr(key.size() + 1);
    }
  }
  return {};
}

// Drops to the tool's identity (platform mode). Must happen before log files are opened, so a
// tool's symlink can never make us write where the tool could not.
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

// One captured stream: buffers a partial line until its newline arrives.
struct CapturedStream {
  UniqueFd read_end;
  char tag;  // 'o' or 'e'
  std::string partial;
};

class CaptureWriter {
 public:
  bool open(const std::string& path) {
    fd_.reset(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
    return fd_.valid();
  }
  // Appends the complete lines of `data` (prefixing each with time and stream) and keeps the rest.
  void consume(CapturedStream& s, const char* data, std::size_t n, bool eof) {
    const auto stamp = std::to_string(
        std::chrono::duration_cast<std::chrono::microseconds>(now().time_since_epoch()).count());
    out_.clear();
    std::size_t start = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (data[i] != '\n') continue;
      appendLine(s, stamp, std::string_view(data + start, i - start));
      start = i + 1;
    }
    s.partial.append(data + start, n - start);
    // A line longer than 64 KiB is split rather than buffered without bound.
    if (s.partial.size() > 65536 || (eof && !s.partial.empty())) {
      appendLine(s, stamp, {});
    }
    writeAll(out_);
  }

 private:
  void appendLine(CapturedStream& s, const std::string& stamp, std::string_view tail) {
    out_ += stamp;
    out_ += ' ';
    out_ += s.tag;
    out_ += ' ';
    out_ += s.partial;
    out_ += tail;
    out_ += '\n';
    s.partial.clear();
  }
  void writeAll(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t w = ::write(fd_.get(), data.data() + done, data.size() - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return;  // disk full: drop rather than block the job
      done += static_cast<std::size_t>(w);
    }
  }

  UniqueFd fd_;
  std::string out_;
};

int openLog(const std::string& path, std::string* error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) *error = "cannot open log file '" + path + "': " + std::strerror(errno);
  return fd;
}

class Supervisor {
 public:
  Supervisor(ShimSpec spec, std::filesystem::path run_dir)
      : spec_(std::move(spec)), run_dir_(std::move(run_dir)) {}

  int run() {
    blockSignals();
    record_.started_at = now();
    std::string error;
    if (container()) {
      // The command resolves inside the image, not here: the container reports a missing one.
      if (!prepareOutputsAsTool(&error)) return finishWithoutStart(error);
    } else {
      if (!dropPrivileges(spec_, &error) || !prepareOutputs(&error)) {
        return finishWithoutStart(error);
      }
      if (auto problem = runtime::commandProblem(spec_.command, spec_.workdir,
                                                 envValue(spec_.env, "PATH"))) {
        return finishWithoutStart(*problem);
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
    if (!spec_.uid || ::geteuid() != 0) return prepareOutputs(error);
    std::vector<gid_t> saved(static_cast<std::size_t>(std::max(0, ::getgroups(0, nullptr))));
    if (::getgroups(static_cast<int>(saved.size()), saved.data()) < 0) saved.clear();
    const gid_t gid = spec_.gid.value_or(*spec_.uid);
    if (::setgroups(spec_.groups.size(), spec_.groups.data()) != 0 || ::setegid(gid) != 0 ||
        ::seteuid(*spec_.uid) != 0) {
      *error = std::string("cannot take the tool's identity: ") + std::strerror(errno);
      return false;
    }
    const bool ok = prepareOutputs(error);
    if (::seteuid(0) != 0 || ::setegid(0) != 0 || ::setgroups(saved.size(), saved.data()) != 0) {
      // Half-switched ids would start the container with the wrong rights: stop here.
      *error = std::string("cannot switch back to root after opening the logs: ") +
               std::strerror(errno);
      return false;
    }
    return ok;
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

  bool prepareOutputs(std::string* error) {
    const bool captures = spec_.stdout_target.kind == OutputTarget::Kind::kCapture ||
                          spec_.stderr_target.kind == OutputTarget::Kind::kCapture;
    if (captures && !writer_.open(spec_.capture_path)) {
      *error = "cannot open the log store '" + spec_.capture_path + "': " + std::strerror(errno);
      return false;
    }
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

  void supervise() {
    std::vector<char> buf(1 << 16);
    bool child_running = true;
    std::optional<TimePoint> drain_until;
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
            writer_.consume(s, buf.data(), static_cast<std::size_t>(n), false);
          } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
            writer_.consume(s, buf.data(), 0, true);
            s.read_end.reset();
          }
        }
      }
    }
    for (auto& s : streams_) {
      if (s.read_end.valid()) writer_.consume(s, buf.data(), 0, true);
    }
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
  ::signal(SIGPIPE, SIG_IGN);
  const std::filesystem::path run_dir = argv[1];
  auto spec = tjf::runtime::readShimSpec(tjf::model::StateLayout::runSpec(run_dir));
  if (!spec) {
    std::fprintf(stderr, "tjf-shim: %s\n", spec.error().message.c_str());
    return 2;
  }
  return tjf::shim::Supervisor(std::move(*spec), run_dir).run();
}

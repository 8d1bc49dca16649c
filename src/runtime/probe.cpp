#include "runtime/probe.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstring>

#include "base/unique_fd.hpp"

namespace tjf::runtime {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

constexpr std::size_t kMaxOutput = 1024;  // of a script's output, kept for the message

int pidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

std::string describeTimeout(std::chrono::milliseconds timeout) {
  if (timeout.count() % 1000 == 0) return std::to_string(timeout.count() / 1000) + "s";
  return std::to_string(timeout.count()) + "ms";
}

// The output as one short line for a message: whitespace runs folded, at most 200 characters.
std::string oneLine(const std::string& output) {
  std::string line;
  bool space = false;
  for (const char c : output) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !line.empty();
      continue;
    }
    if (space) line += ' ';
    space = false;
    line += c;
    if (line.size() >= 200) {
      line += "...";
      break;
    }
  }
  return line;
}

// The text of an errno value without strerror's locale machinery (not async-signal-safe).
const char* errnoText(int err) {
  const char* text = ::strerrordesc_np(err);
  return text ? text : "unknown error";
}

// Async-signal-safe write of a message from the forked child to its output pipe.
void childSay(const char* what, const char* detail) {
  const char* parts[] = {"tjf: ", what, detail, "\n"};
  for (const char* p : parts) {
    if (::write(2, p, std::strlen(p)) < 0) return;
  }
}

}  // namespace

std::string_view toString(ProbeKind kind) {
  switch (kind) {
    case ProbeKind::kScript: return "script";
    case ProbeKind::kHttp: return "http";
    case ProbeKind::kTcp: return "tcp";
  }
  return "unknown";
}

struct LocalProber::Operation {
  explicit Operation(asio::io_context& io) : timer(io) {}

  LocalProber* owner = nullptr;  // null once the prober is gone: handlers then do nothing
  ProbeId id = 0;
  ProbeKind kind = ProbeKind::kScript;
  Callback done;  // empty once cancelled
  bool finished = false;
  bool timed_out = false;
  std::chrono::milliseconds timeout{0};
  asio::steady_timer timer;
  // Script probes: the shell is the leader of its own process group, so `-pid` reaches all of
  // it. The pidfd (owned by exit_waiter) keeps the pid from being reused until we reap it.
  pid_t pid = -1;
  bool reaped = true;
  std::unique_ptr<asio::posix::stream_descriptor> exit_waiter;
  std::unique_ptr<asio::posix::stream_descriptor> output;
  std::array<char, 512> chunk{};
  std::string captured;
  // HTTP and TCP probes.
  std::unique_ptr<asio::ip::tcp::socket> socket;
  std::string request;
  asio::streambuf response{4096};
  std::uint16_t port = 0;

  void killGroup() const {
    if (pid > 0 && !reaped) ::kill(-pid, SIGKILL);
  }
};

LocalProber::LocalProber(asio::io_context& io) : io_(io) {}

LocalProber::~LocalProber() {
  for (auto& [id, op] : operations_) {
    op->owner = nullptr;
    error_code ignored;
    op->timer.cancel();
    if (op->socket) op->socket->close(ignored);
    if (op->output) op->output->close(ignored);
    if (op->pid > 0 && !op->reaped) {
      // Bounded: the group has just been sent SIGKILL.
      // (waitpid, not waitid on the pidfd: asio made that non-blocking.) The open pidfd keeps
      // the pid from being reused until this reaps it.
      op->killGroup();
      ::waitpid(op->pid, nullptr, 0);
      op->reaped = true;
    }
    if (op->exit_waiter) op->exit_waiter->close(ignored);
  }
}

Prober::ProbeId LocalProber::start(const ProbeSpec& spec, Callback done) {
  auto op = std::make_shared<Operation>(io_);
  op->owner = this;
  op->id = next_id_++;
  op->kind = spec.kind;
  op->done = std::move(done);
  op->timeout = spec.timeout;
  operations_[op->id] = op;
  op->timer.expires_after(spec.timeout);
  op->timer.async_wait([op](const error_code& ec) {
    if (ec || !op->owner || op->finished) return;
    op->timed_out = true;
    if (op->kind == ProbeKind::kScript) {
      // The exit waiter reports it once the group is dead and the shell reaped.
      op->killGroup();
    } else {
      op->owner->finish(op, ProbeResult{false, true,
                                        "timed out after " + describeTimeout(op->timeout)});
    }
  });
  if (spec.kind == ProbeKind::kScript) {
    startScript(op, spec);
  } else {
    startNetwork(op, spec);
  }
  return op->id;
}

void LocalProber::startScript(const std::shared_ptr<Operation>& op, const ProbeSpec& spec) {
  auto failLater = [this, op](std::string message) {
    asio::post(io_, [op, message = std::move(message)] {
      if (op->owner) op->owner->finish(op, ProbeResult{false, false, message});
    });
  };
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return failLater(std::string("cannot create a pipe for the health check: ") +
                     std::strerror(errno));
  }
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);

  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::string sh = "/bin/sh", dash_c = "-c", script = spec.script;
  char* argv[] = {sh.data(), dash_c.data(), script.data(), nullptr};
  std::vector<std::string> env = spec.env;
  std::vector<char*> envp;
  for (auto& kv : env) envp.push_back(kv.data());
  envp.push_back(nullptr);
  const std::string workdir = spec.workdir.empty() ? "/" : spec.workdir.string();
  const bool drop = spec.uid && ::geteuid() == 0;
  const uid_t uid = spec.uid.value_or(0);
  const gid_t gid = spec.gid.value_or(uid);
  const std::vector<gid_t> groups = spec.groups;
  const std::vector<std::string> cgroup_procs = spec.cgroup_procs;

  // Without an identity to take or cgroups to join, posix_spawn does it all (glibc spawns with
  // CLONE_VM | CLONE_VFORK: no copy of the daemon's page tables, which is most of a fork's cost
  // at a hundred probes a second). Otherwise a fork, whose child does the extra steps.
  pid_t pid = -1;
  if (!drop && cgroup_procs.empty()) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, write_end.get(), 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawn_file_actions_addchdir_np(&actions, workdir.c_str());
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF);
    const int rc = ::posix_spawn(&pid, argv[0], &actions, &attr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
      return failLater("cannot start the health check in '" + workdir + "': " +
                       std::strerror(rc));
    }
  } else {
    pid = ::fork();
  }
  if (pid < 0) {
    return failLater(std::string("cannot start the health check: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    // Signal dispositions the daemon ignores (SIGPIPE) would survive exec: restore them.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    ::dup2(write_end.get(), 1);
    ::dup2(write_end.get(), 2);
    ::close_range(3, ~0U, 0);  // no daemon descriptor (store, sockets) reaches the probe
    if (!cgroup_procs.empty()) {
      // The pid in decimal, without the allocating helpers fork forbids.
      char digits[16];
      char* p = digits + sizeof digits;
      for (pid_t n = ::getpid(); n > 0 || p == digits + sizeof digits; n /= 10) {
        *--p = static_cast<char>('0' + n % 10);
      }
      const auto len = static_cast<std::size_t>(digits + sizeof digits - p);
      for (const auto& procs : cgroup_procs) {
        const int fd = ::open(procs.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0 || ::write(fd, p, len) != static_cast<ssize_t>(len)) {
          childSay("cannot join the run's cgroup: ", errnoText(errno));
          ::_exit(126);
        }
        ::close(fd);
      }
    }
    if (drop && (::setgroups(groups.size(), groups.data()) != 0 || ::setgid(gid) != 0 ||
                 ::setuid(uid) != 0)) {
      childSay("cannot switch to the tool's identity: ", errnoText(errno));
      ::_exit(126);
    }
    if (::chdir(workdir.c_str()) != 0) {
      childSay("cannot enter the working directory: ", errnoText(errno));
      ::_exit(126);
    }
    ::execve(argv[0], argv, envp.data());
    childSay("cannot run /bin/sh: ", errnoText(errno));
    ::_exit(127);
  }
  // Also here, so the group exists before any kill below (the child may not have run yet).
  ::setpgid(pid, pid);
  write_end.reset();
  op->pid = pid;
  op->reaped = false;
  const int pidfd = pidfdOpen(pid);
  if (pidfd < 0) {
    // Cannot watch it without blocking: end it now, and report the failure.
    const int err = errno;
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    op->reaped = true;
    return failLater(std::string("cannot watch the health check: ") + std::strerror(err));
  }
  op->exit_waiter = std::make_unique<asio::posix::stream_descriptor>(io_, pidfd);
  op->exit_waiter->async_wait(asio::posix::stream_descriptor::wait_read,
                              [op](const error_code& ec) {
                                if (ec || !op->owner) return;
                                op->owner->onScriptExit(op);
                              });
  ::fcntl(read_end.get(), F_SETFL, ::fcntl(read_end.get(), F_GETFL) | O_NONBLOCK);
  op->output = std::make_unique<asio::posix::stream_descriptor>(io_, read_end.release());
  readOutput(op);
}

// Keeps draining the output, so a chatty script never blocks on a full pipe; keeps the start.
void LocalProber::readOutput(const std::shared_ptr<Operation>& op) {
  op->output->async_read_some(asio::buffer(op->chunk), [op](const error_code& ec, std::size_t n) {
    if (ec || !op->owner || op->finished) return;
    const std::size_t room = kMaxOutput - std::min(kMaxOutput, op->captured.size());
    op->captured.append(op->chunk.data(), std::min(n, room));
    op->owner->readOutput(op);
  });
}

void LocalProber::onScriptExit(const std::shared_ptr<Operation>& op) {
  // The group first, while the unreaped shell still holds the group id: nothing the script left
  // behind survives it, and the id cannot have been reused.
  op->killGroup();
  siginfo_t info{};
  ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(op->exit_waiter->native_handle()),
           &info, WEXITED);
  op->reaped = true;
  // What the script wrote and the reader has not picked up yet.
  while (op->captured.size() < kMaxOutput) {
    const ssize_t n = ::read(op->output->native_handle(), op->chunk.data(), op->chunk.size());
    if (n <= 0) break;
    op->captured.append(op->chunk.data(),
                        std::min(static_cast<std::size_t>(n), kMaxOutput - op->captured.size()));
  }
  ProbeResult result;
  if (op->timed_out) {
    result.timed_out = true;
    result.message = "timed out after " + describeTimeout(op->timeout);
  } else if (info.si_code == CLD_EXITED) {
    result.healthy = info.si_status == 0;
    result.message = "exit code " + std::to_string(info.si_status);
  } else {
    result.message = "killed by signal " + std::to_string(info.si_status);
  }
  const std::string said = oneLine(op->captured);
  if (!said.empty()) result.message += ": " + said;
  finish(op, std::move(result));
}

void LocalProber::startNetwork(const std::shared_ptr<Operation>& op, const ProbeSpec& spec) {
  op->port = spec.port;
  op->socket = std::make_unique<asio::ip::tcp::socket>(io_);
  const asio::ip::tcp::endpoint endpoint(asio::ip::address_v4::loopback(), spec.port);
  if (spec.kind == ProbeKind::kHttp) {
    const std::string path = spec.path.empty() || spec.path.front() != '/' ? "/" + spec.path
                                                                             : spec.path;
    op->request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(spec.port) +
                  "\r\nUser-Agent: tjf-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n";
  }
  const std::string where = "127.0.0.1:" + std::to_string(spec.port);
  op->socket->async_connect(endpoint, [op, where](const error_code& ec) {
    if (!op->owner || op->finished) return;
    if (ec) {
      op->owner->finish(op, ProbeResult{false, false, "cannot connect to " + where + ": " +
                                                           ec.message()});
      return;
    }
    if (op->kind == ProbeKind::kTcp) {
      op->owner->finish(op, ProbeResult{true, false, "connected to " + where});
      return;
    }
    asio::async_write(*op->socket, asio::buffer(op->request), [op](const error_code& ec,
                                                                   std::size_t) {
      if (!op->owner || op->finished) return;
      if (ec) {
        op->owner->finish(op, ProbeResult{false, false, "cannot send the request: " +
                                                             ec.message()});
        return;
      }
      asio::async_read_until(*op->socket, op->response, "\r\n", [op](const error_code& ec,
                                                                     std::size_t n) {
        if (!op->owner || op->finished) return;
        if (ec) {
          op->owner->finish(op, ProbeResult{false, false, "no HTTP response: " + ec.message()});
          return;
        }
        // "HTTP/1.1 200 OK": 2xx and 3xx are healthy, as Kubernetes' httpGet.
        const std::string line(asio::buffers_begin(op->response.data()),
                               asio::buffers_begin(op->response.data()) +
                                   static_cast<std::ptrdiff_t>(n - 2));
        const auto space = line.find(' ');
        int status = 0;
        if (line.rfind("HTTP/", 0) == 0 && space != std::string::npos &&
            line.size() >= space + 4) {
          for (std::size_t i = space + 1; i < space + 4; ++i) {
            const char c = line[i];
            status = c >= '0' && c <= '9' ? status * 10 + (c - '0') : -1000;
          }
        }
        if (status < 100) {
          op->owner->finish(op, ProbeResult{false, false, "not an HTTP response: '" +
                                                               oneLine(line) + "'"});
          return;
        }
        op->owner->finish(op, ProbeResult{status >= 200 && status < 400, false,
                                          "HTTP " + std::to_string(status)});
      });
    });
  });
}

void LocalProber::finish(const std::shared_ptr<Operation>& op, ProbeResult result) {
  if (op->finished) return;
  op->finished = true;
  error_code ignored;
  op->timer.cancel();
  if (op->socket) op->socket->close(ignored);
  if (op->output) op->output->close(ignored);
  if (op->exit_waiter) op->exit_waiter->close(ignored);
  Callback done = std::move(op->done);
  op->done = nullptr;
  operations_.erase(op->id);
  if (done) done(result);
}

void LocalProber::cancel(ProbeId id) {
  const auto it = operations_.find(id);
  if (it == operations_.end()) return;
  const std::shared_ptr<Operation> op = it->second;
  op->done = nullptr;
  if (op->kind == ProbeKind::kScript && !op->reaped) {
    // Reaped (and forgotten) by the exit waiter once the group is dead.
    op->killGroup();
    return;
  }
  finish(op, ProbeResult{});
}

}  // namespace tjf::runtime

// Launch benchmark (issue: foundation). Measures, in one run on this machine:
//   1. wall time from `toolforge jobs run` (a whole CLI invocation) to the job's process running;
//   2. wall time from the raw HTTP request (POST /jobs over the socket) to the process running;
//   3. one-off jobs of `true` completed per second (submitted back to back, then drained);
// each beside the physical limit: a bare fork/exec of the same `/bin/sh -c` command.
// "Running" is observed with inotify: the job's command is `: > started-N` (a shell builtin), and
// the clock stops when that file is created.
//
//   build/bin/launch_bench [samples=50] [jobs=300]
#include <fcntl.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "harness.hpp"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
using tjf::testing::TestDaemon;

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Waits until `name` is created in the directory watched by `fd`.
void waitCreated(int fd, const std::string& name) {
  alignas(inotify_event) char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    for (ssize_t i = 0; i < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + i);
      if (ev->len > 0 && name == ev->name) return;
      i += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
}

pid_t spawnShell(const std::string& command, const std::string& cwd) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = 0;
  posix_spawn(&pid, "/bin/sh", &fa, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

struct Stats {
  double median, p90;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v[v.size() * 9 / 10]};
}

}  // namespace

int main(int argc, char** argv) {
  const int samples = argc > 1 ? std::atoi(argv[1]) : 50;
  const int jobs = argc > 2 ? std::atoi(argv[2]) : 300;
  TestDaemon daemon;
  const std::string home = daemon.home().string();
  const int in = inotify_init1(IN_CLOEXEC);
  inotify_add_watch(in, home.c_str(), IN_CREATE);

  std::vector<double> bare, http, cli;
  for (int i = 0; i < samples; ++i) {
    const std::string marker = "bare-" + std::to_string(i);
    auto t0 = Clock::now();
    const pid_t pid = spawnShell(": > " + marker, home);
    waitCreated(in, marker);
    bare.push_back(ms(Clock::now() - t0));
    ::waitpid(pid, nullptr, 0);
  }
  for (int i = 0; i < samples; ++i) {
    const std::string marker = "http-" + std::to_string(i);
    const std::string body = R"({"name":"h)" + std::to_string(i) +
                             R"(","cmd":": > )" + marker + R"(","imagename":"bookworm","filelog":false})";
    auto t0 = Clock::now();
    daemon.http("POST", "/v1/tool/" + daemon.tool() + "/jobs", body);
    waitCreated(in, marker);
    http.push_back(ms(Clock::now() - t0));
  }
  daemon.jobs({"flush"});
  for (int i = 0; i < samples; ++i) {
    const std::string marker = "cli-" + std::to_string(i);
    auto t0 = Clock::now();
    daemon.jobs({"run", "c" + std::to_string(i), "--command", ": > " + marker, "--image",
                 "bookworm", "--no-filelog"});
    waitCreated(in, marker);
    cli.push_back(ms(Clock::now() - t0));
  }
  daemon.jobs({"flush"});

  // Throughput: bare fork/exec/wait of `true`, then the same count through tjfd.
  auto t0 = Clock::now();
  for (int i = 0; i < jobs; ++i) ::waitpid(spawnShell("true", home), nullptr, 0);
  const double bare_rate = jobs / (ms(Clock::now() - t0) / 1000.0);

  t0 = Clock::now();
  for (int i = 0; i < jobs; ++i) {
    daemon.http("POST", "/v1/tool/" + daemon.tool() + "/jobs",
                R"({"name":"t)" + std::to_string(i) +
                    R"(","cmd":"true","imagename":"bookworm","filelog":false})");
  }
  tjf::testing::eventually(
      [&] {
        const auto [status, body] = daemon.http("GET", "/v1/tool/" + daemon.tool() + "/jobs");
        return body.find("\"Completed\"") != std::string::npos &&
               body.find("\"Running for") == std::string::npos &&
               body.find("\"Pending\"") == std::string::npos;
      },
      std::chrono::minutes(5));
  const double tjf_rate = jobs / (ms(Clock::now() - t0) / 1000.0);
  daemon.jobs({"flush"});

  const auto b = stats(bare), h = stats(http), c = stats(cli);
  std::printf("| measurement | median | p90 | ratio to bare (median) |\n|---|---|---|---|\n");
  std::printf("| bare fork/exec of /bin/sh -c (to running) | %.2f ms | %.2f ms | 1.0 |\n", b.median, b.p90);
  std::printf("| tjfd: HTTP POST /jobs to running | %.2f ms | %.2f ms | %.1f |\n", h.median, h.p90, h.median / b.median);
  std::printf("| tjfd: `toolforge jobs run` to running | %.2f ms | %.2f ms | %.1f |\n", c.median, c.p90, c.median / b.median);
  std::printf("\n| throughput (%d jobs of `true`) | jobs/s | ratio to bare |\n|---|---|---|\n", jobs);
  std::printf("| bare fork/exec/wait, sequential | %.0f | 1.0 |\n", bare_rate);
  std::printf("| tjfd, submitted back to back over HTTP, until all completed | %.0f | %.2f |\n", tjf_rate, tjf_rate / bare_rate);
  return 0;
}

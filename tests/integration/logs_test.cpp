// Logs end to end (docs/logs.md): the real tjfd, the real shim and the real CLI. What a user sees
// from `toolforge jobs logs [-f] [-l N]`, that nothing is lost (a daemon restart mid-run, a job
// writing as fast as it can), retention, and file logs with rotation.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "harness.hpp"

namespace tjf::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using nlohmann::json;
namespace fs = std::filesystem;

// A `toolforge jobs logs -f ...` running in the background, read as it prints.
class Follower {
 public:
  Follower(TestDaemon& daemon, const std::vector<std::string>& args) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::setenv("TJF_STATE_DIR", daemon.stateDir().c_str(), 1);
      ::unsetenv("TJF_SOCKET");
      ::unsetenv("TJF_URL");
      ::unsetenv("TJF_TOOL");
      if (::chdir(daemon.home().c_str()) != 0) ::_exit(126);
      const std::string cli = (binDir() / "toolforge").string();
      std::vector<std::string> all = {cli, "jobs"};
      all.insert(all.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(cli.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
  }
  ~Follower() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_fd_);
    ::close(err_fd_);
  }
  // Reads what the CLI prints until `needle` shows up (true) or `timeout` passes (false).
  bool waitFor(const std::string& needle,
               std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out_.find(needle) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !pump(left)) return out_.find(needle) != std::string::npos;
    }
    return true;
  }
  // Reads what arrives within `timeout`; false when the CLI's output ended.
  bool pump(std::chrono::milliseconds timeout) {
    pollfd p{out_fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return true;
    char buf[65536];
    const ssize_t n = ::read(out_fd_, buf, sizeof buf);
    if (n <= 0) return false;
    out_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  // Ctrl-C: the exit code, and what it printed on stderr.
  std::pair<int, std::string> interrupt() {
    ::kill(pid_, SIGINT);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    std::string err;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(err_fd_, buf, sizeof buf)) > 0) err.append(buf, static_cast<std::size_t>(n));
    return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), err};
  }
  const std::string& out() const { return out_; }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
};

std::vector<std::string> linesOf(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) out.push_back(line);
  return out;
}

// The message part of a rendered line "<datetime> [<run>] <message>".
std::string messageOf(const std::string& line) {
  const auto close = line.find("] ");
  return close == std::string::npos ? line : line.substr(close + 2);
}
std::string runOf(const std::string& line) {
  const auto open = line.find('[');
  const auto close = line.find(']');
  return line.substr(open + 1, close - open - 1);
}

class LogsTest : public ::testing::Test {
 protected:
  void SetUp() override { daemon_ = std::make_unique<TestDaemon>(DaemonOptions{.config_yaml = config()}); }
  virtual std::string config() const { return "restart_backoff_ms: 100\n"; }
  CommandResult run(const std::vector<std::string>& args) {
    auto r = daemon_->jobs(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r;
  }
  json runsOf(const std::string& name) {
    const auto [status, body] =
        daemon_->http("GET", "/v1/tool/" + daemon_->tool() + "/jobs/" + name + "/runs");
    return status == 200 ? json::parse(body).at("runs") : json::array();
  }
  std::unique_ptr<TestDaemon> daemon_;
};

TEST_F(LogsTest, EveryRetryHasItsLinesAndLastGivesTheNewest) {
  run({"run", "flaky", "--command", "echo \"attempt $TJF_ATTEMPT\"; echo \"oops $TJF_ATTEMPT\" >&2; exit 1",
       "--image", "bookworm", "--no-filelog", "--retry", "2"});
  ASSERT_TRUE(eventually([&] {
    const auto runs = runsOf("flaky");
    return runs.size() == 3 && runs[0].at("state") == "failed";
  }));
  auto r = run({"logs", "flaky"});
  const auto lines = linesOf(r.out);
  ASSERT_EQ(lines.size(), 6u) << r.out;
  std::vector<std::string> messages;
  for (const auto& l : lines) messages.push_back(messageOf(l));
  // Each run's own order; runs in order; a new run per attempt.
  EXPECT_EQ(messages[0], "attempt 1");
  EXPECT_EQ(messages[5], "oops 3");
  EXPECT_NE(runOf(lines[0]), runOf(lines[5]));
  EXPECT_THAT(lines[0], ::testing::MatchesRegex(
                            "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+\\+00:00 \\[[0-9]+\\] attempt 1"));
  r = run({"logs", "flaky", "-l", "2"});
  EXPECT_EQ(linesOf(r.out).size(), 2u);
  EXPECT_EQ(messageOf(linesOf(r.out)[0]), "attempt 3");
  EXPECT_EQ(messageOf(linesOf(r.out)[1]), "oops 3");
  // --json: the API's objects.
  r = run({"logs", "flaky", "-l", "1", "--json"});
  const auto j = json::parse(r.out);
  EXPECT_EQ(j.at("container"), "stderr");
  EXPECT_EQ(j.at("message"), "oops 3");
}

TEST_F(LogsTest, AJobOrLinesThatDoNotExistGiveUpstreamsMessage) {
  auto r = daemon_->jobs({"logs", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Job 'nope' does not have any logs available"));
  r = daemon_->jobs({"logs", "nope", "-f"});
  EXPECT_EQ(r.exit_code, 1) << "following a job that does not exist ends at once";
  EXPECT_THAT(r.err, HasSubstr("Job 'nope' does not have any logs available"));
  run({"run", "silent", "--command", "true", "--image", "bookworm", "--no-filelog", "--wait"});
  r = daemon_->jobs({"logs", "silent"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Job 'silent' does not have any logs available"));
}

TEST_F(LogsTest, OutputThatIsNotTextStillComesBack) {
  run({"run", "binary", "--command", "printf 'a\\377b\\000c\\n'; printf 'no newline at the end'",
       "--image", "bookworm", "--no-filelog", "--wait"});
  const auto r = run({"logs", "binary"});
  const auto lines = linesOf(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(messageOf(lines[0]), std::string("a\xEF\xBF\xBD") + "b" + std::string(1, '\0') + "c");
  EXPECT_EQ(messageOf(lines[1]), "no newline at the end");
}

TEST_F(LogsTest, FollowShowsANewLineAndCtrlCEndsQuietly) {
  // The job prints a line for every line written into its FIFO: the test decides when.
  ASSERT_EQ(::mkfifo((daemon_->home() / "say").c_str(), 0600), 0);
  run({"run", "echoer", "--command", "echo ready; while true; do cat say; done", "--image",
       "bookworm", "--no-filelog", "--continuous"});
  Follower f(*daemon_, {"logs", "echoer", "-f"});
  ASSERT_TRUE(f.waitFor("] ready\n")) << f.out();
  {
    std::ofstream fifo(daemon_->home() / "say");
    fifo << "hello from the test\n";
  }
  EXPECT_TRUE(f.waitFor("] hello from the test\n")) << f.out();
  const auto [code, err] = f.interrupt();
  EXPECT_EQ(code, 0);
  EXPECT_EQ(err, "");
}

TEST_F(LogsTest, FollowKeepsFollowingAcrossARestartOfAContinuousJob) {
  run({"run", "bot", "--command", "echo \"run $TJF_RUN_ID up\"; exec sleep 600", "--image",
       "bookworm", "--no-filelog", "--continuous"});
  ASSERT_TRUE(eventually([&] { return daemon_->jobs({"logs", "bot"}).out.find(" up") != std::string::npos; }));
  const std::string first_run = runOf(linesOf(daemon_->jobs({"logs", "bot"}).out).back());
  Follower f(*daemon_, {"logs", "bot", "-f"});
  ASSERT_TRUE(f.waitFor("run " + first_run + " up\n"));
  run({"restart", "bot"});
  // The restarted run's line arrives on the same connection.
  const auto other_run = [&] {
    for (const auto& line : linesOf(f.out())) {
      if (runOf(line) != first_run && line.ends_with(" up")) return true;
    }
    return false;
  };
  EXPECT_TRUE(eventually([&] {
    f.pump(std::chrono::milliseconds(100));
    return other_run();
  })) << f.out();
}

TEST_F(LogsTest, ADaemonRestartMidRunLosesNothing) {
  run({"run", "counter", "--command",
       "i=0; while [ $i -lt 3000 ]; do echo $i; i=$((i+1)); [ $((i % 100)) -eq 0 ] && sleep 0.1; done",
       "--image", "bookworm", "--no-filelog"});
  ASSERT_TRUE(eventually([&] {
    const auto r = daemon_->jobs({"logs", "counter", "-l", "1"});
    return r.exit_code == 0 && !r.out.empty();
  }));
  daemon_->restart();  // the shim holds the pipes; the daemon is not needed to capture
  ASSERT_TRUE(eventually([&] {
    const auto runs = runsOf("counter");
    return !runs.empty() && runs[0].at("state") == "succeeded";
  }, std::chrono::seconds(60)));
  const auto r = run({"logs", "counter", "-l", "5000"});
  const auto lines = linesOf(r.out);
  ASSERT_EQ(lines.size(), 3000u);
  for (int i = 0; i < 3000; ++i) ASSERT_EQ(messageOf(lines[static_cast<std::size_t>(i)]), std::to_string(i));
}

TEST_F(LogsTest, AFastWriterLosesNothing) {
  run({"run", "flood", "--command", "seq 1 2000000", "--image", "bookworm", "--no-filelog",
       "--wait"});
  const auto runs = runsOf("flood");
  ASSERT_EQ(runs.size(), 1u);
  // Every line in the log store, in order (logs itself returns at most 5000).
  std::ifstream in(daemon_->stateDir() / "runs" / std::to_string(runs[0].at("id").get<int>()) /
                   "output.log");
  long expected = 1;
  for (std::string line; std::getline(in, line); ++expected) {
    const auto text = line.substr(line.find(" o ") + 3);
    ASSERT_EQ(text, std::to_string(expected));
  }
  EXPECT_EQ(expected - 1, 2'000'000);
  const auto r = run({"logs", "flood", "-l", "2"});
  EXPECT_EQ(messageOf(linesOf(r.out)[0]), "1999999");
  EXPECT_EQ(messageOf(linesOf(r.out)[1]), "2000000");
}

TEST_F(LogsTest, FileLogJobsAreReadFromTheirFilesAndFollowed) {
  run({"run", "filer", "--command", "echo out1; echo err1 >&2; echo out2", "--image", "bookworm",
       "--wait"});
  auto r = run({"logs", "filer"});
  // No times in a plain file: the file names the lines; the newest file last.
  EXPECT_THAT(r.out, HasSubstr("[filer.out] out1\n[filer.out] out2\n"));
  EXPECT_THAT(r.out, HasSubstr("[filer.err] err1\n"));
  r = run({"logs", "filer", "-l", "1"});
  EXPECT_THAT(r.out, HasSubstr("[filer.out] out2\n"));
  EXPECT_THAT(r.out, Not(HasSubstr("out1")));
  Follower f(*daemon_, {"logs", "filer", "-f", "-l", "1"});
  ASSERT_TRUE(f.waitFor("[filer.out] out2\n")) << f.out();
  // Appended by hand as by a new run: the follower sees it.
  {
    std::ofstream out(daemon_->home() / "filer.out", std::ios::app);
    out << "appended\n";
  }
  EXPECT_TRUE(f.waitFor("[filer.out] appended\n")) << f.out();
}

class LogRetentionTest : public LogsTest {
 protected:
  std::string config() const override {
    return "log_retention_bytes: 24Ki\n"
           "log_retention_interval_seconds: 0.2\n"
           "filelog_rotate_bytes: 1Ki\n"
           "filelog_rotate_keep: 2\n";
  }
};

TEST_F(LogRetentionTest, OldestRunsAreDroppedFirstAndUsageIsShown) {
  // Three runs of about 10 KiB each against a budget of 24 KiB: the first one goes.
  for (int i = 1; i <= 3; ++i) {
    run({"run", "chatty", "--command", "seq -f \"run " + std::to_string(i) + " line %g\" 1 300",
         "--image", "bookworm", "--no-filelog", "--wait"});
    if (i < 3) run({"delete", "chatty"});
  }
  const auto runs = runsOf("chatty");
  ASSERT_EQ(runs.size(), 3u);
  auto outputOf = [&](std::size_t i) {
    return daemon_->stateDir() / "runs" / std::to_string(runs[i].at("id").get<int>()) / "output.log";
  };
  EXPECT_TRUE(eventually([&] { return !fs::exists(outputOf(2)); })) << "the oldest run's log";
  EXPECT_TRUE(fs::exists(outputOf(1)));
  EXPECT_TRUE(fs::exists(outputOf(0)));
  const auto r = run({"logs", "chatty", "-l", "5000"});
  EXPECT_THAT(r.out, Not(HasSubstr("run 1 line")));
  EXPECT_THAT(r.out, HasSubstr("] run 2 line 1\n"));
  EXPECT_THAT(r.out, HasSubstr("] run 3 line 300\n"));
  const auto quota = run({"quota"});
  EXPECT_THAT(quota.out, HasSubstr("Logs"));
  EXPECT_THAT(quota.out, HasSubstr("Stored output of jobs without file logs"));
  EXPECT_THAT(quota.out, HasSubstr("24Ki"));
}

TEST_F(LogRetentionTest, FileLogsAreRotatedBySizeKeepingTheConfiguredCopies) {
  // 3 runs writing about 2 KiB each into the same file: each run's shim rotates what it finds.
  for (int i = 1; i <= 3; ++i) {
    run({"run", "rotated", "--command", "seq -f \"gen " + std::to_string(i) + " %04g\" 1 200",
         "--image", "bookworm", "--wait"});
    run({"delete", "rotated"});
  }
  const fs::path out = daemon_->home() / "rotated.out";
  EXPECT_LE(fs::file_size(out), 1024u);
  ASSERT_TRUE(fs::exists(out.string() + ".1"));
  ASSERT_TRUE(fs::exists(out.string() + ".2"));
  EXPECT_FALSE(fs::exists(out.string() + ".3"));
  EXPECT_THAT(daemon_->readHomeFile("rotated.out.1"), HasSubstr("gen 3 0200\n"));
  EXPECT_THAT(daemon_->readHomeFile("rotated.out.2"), HasSubstr("gen 2 0200\n"));
}

}  // namespace
}  // namespace tjf::testing

// Runs outlive the daemon: SIGTERM, SIGKILL and crashes at any point lose no job, run, output
// or exit status; orphans are stopped; nothing that should run once runs twice.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <random>
#include <thread>
#include <set>
#include <sstream>

#include "base/time_format.hpp"
#include "harness.hpp"

namespace tjf::testing {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

json runsOf(TestDaemon& d, const std::string& name) {
  const auto [status, body] = d.http("GET", "/v1/tool/" + d.tool() + "/jobs/" + name + "/runs");
  if (status != 200) return json::array();
  return json::parse(body).at("runs");
}

bool processAlive(pid_t pid) { return ::kill(pid, 0) == 0; }

// The pids of this daemon's live shims (their command line names its runs directory).
std::set<pid_t> shimPids(TestDaemon& d) {
  std::set<pid_t> pids;
  const std::string needle = (d.stateDir() / "runs").string() + "/";
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto pid = static_cast<pid_t>(std::stol(name));
    // A shim leads its own session; its child is a copy of it until it calls exec.
    if (cmdline.find("tjf-shim") != std::string::npos && cmdline.find(needle) != std::string::npos &&
        ::getsid(pid) == pid) {
      pids.insert(pid);
    }
  }
  return pids;
}

class RecoveryTest : public ::testing::TestWithParam<int> {
 protected:
  TestDaemon daemon_;
};

// Jobs started before the daemon dies finish while it is down; the restarted daemon records
// their real exit codes and times, and their output is complete.
TEST_P(RecoveryTest, ExitsWhileTheDaemonIsDownAreRecorded) {
  const int sig = GetParam();
  daemon_.writeHomeFile("count.sh",
                        "#!/bin/sh\ni=0\nwhile [ $i -lt 20 ]; do echo $i; i=$((i+1)); sleep 0.05; "
                        "done\nexit $1\n",
                        true);
  ASSERT_EQ(daemon_.jobs({"run", "ok", "--command", "./count.sh 0", "--image", "bookworm"}).exit_code, 0);
  ASSERT_EQ(daemon_.jobs({"run", "bad", "--command", "./count.sh 7", "--image", "bookworm",
                          "--no-filelog"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return shimPids(daemon_).size() == 2; }));
  const auto shims = shimPids(daemon_);
  const auto killed_at = std::chrono::system_clock::now();
  daemon_.stop(sig);
  // The jobs keep running without the daemon, and end.
  for (const pid_t pid : shims) EXPECT_TRUE(processAlive(pid));
  ASSERT_TRUE(eventually([&] {
    for (const pid_t pid : shims) {
      if (processAlive(pid)) return false;
    }
    return true;
  }));
  daemon_.start();
  ASSERT_TRUE(eventually([&] { return daemon_.showJson("bad").value("status_short", "") == "Failed"; }));
  EXPECT_EQ(daemon_.showJson("ok").value("status_short", ""), "Completed");
  const auto bad = runsOf(daemon_, "bad");
  ASSERT_EQ(bad.size(), 1u) << "nothing ran twice";
  EXPECT_EQ(bad[0].at("exit_code"), 7);
  EXPECT_EQ(bad[0].at("reason"), "Error");
  // Its finish time is the real one (while the daemon was down), not the time of the restart.
  const auto finished = *parseIsoUtc(bad[0].at("finished_at").get<std::string>());
  EXPECT_GE(finished, std::chrono::floor<std::chrono::seconds>(killed_at));
  std::string expected;
  for (int i = 0; i < 20; ++i) expected += std::to_string(i) + "\n";
  EXPECT_EQ(daemon_.readHomeFile("ok.out"), expected);
  const auto logs = daemon_.jobs({"logs", "bad"});
  ASSERT_EQ(logs.exit_code, 0) << logs.err;
  std::istringstream lines(logs.out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    EXPECT_THAT(line, ::testing::EndsWith("] " + std::to_string(n))) << "in order, none lost";
    ++n;
  }
  EXPECT_EQ(n, 20);
}

INSTANTIATE_TEST_SUITE_P(Signals, RecoveryTest, ::testing::Values(SIGTERM, SIGKILL),
                         [](const auto& info) { return info.param == SIGTERM ? "Sigterm" : "Sigkill"; });

class RecoveryCases : public ::testing::Test {
 protected:
  TestDaemon daemon_;
};

TEST_F(RecoveryCases, RunningJobsAreReadoptedAndCanStillBeStopped) {
  ASSERT_EQ(daemon_.jobs({"run", "long", "--command", "sleep 300", "--image", "bookworm"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return shimPids(daemon_).size() == 1; }));
  const pid_t shim = *shimPids(daemon_).begin();
  daemon_.stop(SIGKILL);
  daemon_.start();
  EXPECT_THAT(daemon_.showJson("long").value("status_short", ""), HasSubstr("Running for"));
  EXPECT_TRUE(processAlive(shim)) << "re-adopted, not restarted";
  ASSERT_EQ(daemon_.jobs({"delete", "long"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return !processAlive(shim); }));
  const auto runs = runsOf(daemon_, "long");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].at("reason"), "Stopped");
}

TEST_F(RecoveryCases, ARunWhoseSupervisorVanishedIsLostAndRetriedByPolicy) {
  ASSERT_EQ(daemon_.jobs({"run", "victim", "--command", "sleep 300", "--image", "bookworm",
                          "--retry", "1"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return shimPids(daemon_).size() == 1; }));
  const pid_t shim = *shimPids(daemon_).begin();
  daemon_.stop(SIGKILL);
  // The supervisor dies too (as in an out-of-memory kill): no exit record is left. Its job
  // process group goes with it.
  std::ifstream children("/proc/" + std::to_string(shim) + "/task/" + std::to_string(shim) +
                         "/children");
  pid_t job = 0;
  children >> job;
  ::kill(shim, SIGKILL);
  ASSERT_TRUE(eventually([&] { return !processAlive(shim); }));
  daemon_.start();
  ASSERT_TRUE(eventually([&] { return runsOf(daemon_, "victim").size() == 2; }));
  const auto runs = runsOf(daemon_, "victim");
  EXPECT_EQ(runs[1].at("state"), "lost");
  EXPECT_EQ(runs[1].at("reason"), "Lost");
  EXPECT_THAT(runs[1].at("message").get<std::string>(), HasSubstr("without recording a result"));
  EXPECT_EQ(runs[0].at("attempt"), 2) << "the retry policy restarted it";
  daemon_.jobs({"flush"});
  // The killed supervisor's `sleep` is left in its own process group: end it (we started it).
  if (job > 0) ::kill(job, SIGKILL);
}

TEST_F(RecoveryCases, OrphansWithoutARecordAreStopped) {
  ASSERT_EQ(daemon_.jobs({"run", "ghost", "--command", "sleep 300", "--image", "bookworm"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return shimPids(daemon_).size() == 1; }));
  const pid_t shim = *shimPids(daemon_).begin();
  daemon_.stop(SIGKILL);
  // A lost write: the store no longer knows the run.
  const auto r = daemon_.exec({"sqlite3", (daemon_.stateDir() / "tjfd.sqlite").string(),
                               "DELETE FROM runs; DELETE FROM jobs;"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  daemon_.start();
  EXPECT_TRUE(eventually([&] { return !processAlive(shim); })) << "the orphan is stopped";
  std::ifstream log(daemon_.root() / "tjfd.log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("stopped orphaned run"));
}

TEST_F(RecoveryCases, DefinitionsAcknowledgedBeforeAKillSurviveIt) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(daemon_.jobs({"run", "j" + std::to_string(i), "--command", "true", "--image",
                            "bookworm"}).exit_code, 0);
  }
  daemon_.stop(SIGKILL);
  daemon_.start();
  const auto list = daemon_.jobs({"list", "-o", "name"});
  EXPECT_EQ(list.out, "j0\nj1\nj2\nj3\nj4\n");
}

// Kills the daemon with SIGKILL at random points of a mixed workload, many times, and checks the
// invariants after each restart. TJF_CRASH_ROUNDS sets the number of rounds (soak: hundreds).
TEST_F(RecoveryCases, CrashLoopKeepsEveryInvariant) {
  const char* rounds_env = std::getenv("TJF_CRASH_ROUNDS");
  const int rounds = rounds_env ? std::atoi(rounds_env) : 12;
  std::mt19937 rng(20261129);
  daemon_.writeHomeFile("seq.sh", "#!/bin/sh\nfor i in 1 2 3 4 5; do echo \"$1 $i\"; sleep 0.01; done\n", true);
  std::set<std::string> acknowledged;
  std::set<std::string> deleted;
  int next = 0;
  for (int round = 0; round < rounds; ++round) {
    // A burst of operations, each acknowledged or not.
    const int ops = 1 + static_cast<int>(rng() % 4);
    for (int op = 0; op < ops; ++op) {
      const auto choice = rng() % 5;
      if (choice <= 2 || acknowledged.empty()) {
        const std::string name = "c" + std::to_string(next++);
        const auto r = daemon_.jobs({"run", name, "--command", "./seq.sh " + name, "--image",
                                     "bookworm", "--no-filelog"});
        if (r.exit_code == 0) acknowledged.insert(name);
      } else if (choice == 3) {
        const std::string name = *acknowledged.begin();
        if (daemon_.jobs({"delete", name}).exit_code == 0) {
          acknowledged.erase(name);
          deleted.insert(name);
        }
      } else {
        const std::string name = "c" + std::to_string(next++);
        const auto r = daemon_.jobs({"run", name, "--command", "exit 1", "--image", "bookworm",
                                     "--retry", "1", "--no-filelog"});
        if (r.exit_code == 0) acknowledged.insert(name);
      }
    }
    // Crash at a random moment of the engine's work.
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 40));
    daemon_.stop(SIGKILL);
    daemon_.start();
    // Every acknowledged definition exists.
    const auto names = daemon_.jobs({"list", "-o", "name"}).out;
    for (const auto& name : acknowledged) {
      EXPECT_THAT(names, HasSubstr(name + "\n")) << "round " << round;
    }
  }
  // Let everything settle, then check runs and output.
  ASSERT_TRUE(eventually([&] {
    for (const auto& name : acknowledged) {
      for (const auto& run : runsOf(daemon_, name)) {
        if (run.at("state") == "running" || run.at("state") == "pending") return false;
      }
    }
    return true;
  }, std::chrono::seconds(60)));
  for (const auto& name : acknowledged) {
    const auto runs = runsOf(daemon_, name);
    ASSERT_FALSE(runs.empty()) << name;
    std::set<int> attempts;
    for (const auto& run : runs) {
      EXPECT_TRUE(attempts.insert(run.at("attempt").get<int>()).second)
          << name << ": attempt " << run.at("attempt") << " ran twice";
      if (run.at("state") == "lost") {
        const auto dir = daemon_.stateDir() / "runs" / std::to_string(run.at("id").get<int>());
        std::string listing;
        for (const auto& e : std::filesystem::directory_iterator(dir)) listing += e.path().filename().string() + " ";
        std::ifstream shim_log(dir / "shim.log");
        std::string text((std::istreambuf_iterator<char>(shim_log)), std::istreambuf_iterator<char>());
        const auto events = daemon_.exec({"sqlite3", (daemon_.stateDir() / "tjfd.sqlite").string(),
                                          "SELECT time, run_id, kind, message FROM events WHERE job_name = '" + name + "'"});
        std::ifstream dlog(daemon_.root() / "tjfd.log");
        std::string dtext((std::istreambuf_iterator<char>(dlog)), std::istreambuf_iterator<char>());
        ADD_FAILURE() << name << ": " << run.dump() << "\nrun dir: " << listing << "\nshim.log: " << text
                      << "\nevents:\n" << events.out << "\ndaemon log:\n" << dtext;
      }
    }
    const auto job = daemon_.showJson(name);
    if (job.value("cmd", "").rfind("./seq.sh", 0) == 0) {
      EXPECT_EQ(runs.size(), 1u) << name;
      EXPECT_EQ(runs[0].at("reason"), "Completed") << runs[0].dump();
      const auto logs = daemon_.jobs({"logs", name});
      int lines = 0;
      std::istringstream in(logs.out);
      std::string line;
      while (std::getline(in, line)) {
        EXPECT_THAT(line, HasSubstr(name + " " + std::to_string(++lines)));
      }
      EXPECT_EQ(lines, 5) << name << " lost log lines";
    } else {
      EXPECT_EQ(runs.size(), 2u) << name << ": retry 1 means two attempts";
    }
  }
  // No orphans: every live shim belongs to a running run.
  EXPECT_TRUE(shimPids(daemon_).empty());
}

}  // namespace
}  // namespace tjf::testing

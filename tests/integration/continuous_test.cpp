// Continuous jobs end to end: the real tjfd, the real CLI, real processes and probes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "harness.hpp"

namespace tjf::testing {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

class ContinuousTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A short back-off keeps crash loops quick; the policy itself is unit-tested with a clock.
    daemon_ =
        std::make_unique<TestDaemon>(DaemonOptions{.config_yaml = "restart_backoff_ms: 200\n"});
  }
  std::string statusOf(const std::string& name) {
    const auto job = daemon_->showJson(name);
    return job.is_null() ? "" : job.at("status_short").get<std::string>();
  }
  std::string hintsOf(const std::string& name) {
    const auto job = daemon_->showJson(name);
    return job.is_null() ? "" : job.at("status_long").get<std::string>();
  }
  json runsOf(const std::string& name) {
    const auto [status, body] =
        daemon_->http("GET", "/v1/tool/" + daemon_->tool() + "/jobs/" + name + "/runs");
    return status == 200 ? json::parse(body).at("runs") : json::array();
  }
  int activeRuns(const std::string& name) {
    int n = 0;
    for (const auto& run : runsOf(name)) {
      n += run.at("state") == "running" || run.at("state") == "pending";
    }
    return n;
  }
  static int freePort() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(
        io, boost::asio::ip::tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
    return a.local_endpoint().port();
  }
  std::unique_ptr<TestDaemon> daemon_;
};

TEST_F(ContinuousTest, ACrashingJobIsRestartedAndSaysSoUntilDeleted) {
  auto r = daemon_->jobs({"run", "bot", "--command", "echo run >> runs.txt; exit 3", "--image",
                          "bookworm", "--continuous"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return runsOf("bot").size() >= 4; }));
  EXPECT_TRUE(eventually([&] { return statusOf("bot") == "Specified command fails to run"; }));
  EXPECT_THAT(hintsOf("bot"), HasSubstr("Exit code '3'"));
  EXPECT_THAT(hintsOf("bot"), HasSubstr("Run has been restarted"));
  for (const auto& run : runsOf("bot")) {
    if (run.at("state") == "failed") {
      EXPECT_EQ(run.at("exit_code"), 3);
    }
  }
  r = daemon_->jobs({"delete", "bot"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(activeRuns("bot"), 0) << "delete waits for the runs to be gone";
  const auto count = runsOf("bot").size();
  EXPECT_FALSE(eventually([&] { return runsOf("bot").size() > count; },
                          std::chrono::milliseconds(1000)))
      << "nothing restarts a deleted job";
}

TEST_F(ContinuousTest, HealthCheckScriptGatesRunningAndRestartsAfterThreeFailures) {
  auto r = daemon_->jobs({"run", "checked", "--command", "exec sleep 600", "--image", "bookworm",
                          "--continuous", "--health-check-script", "test -e ready"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return activeRuns("checked") == 1; }));
  EXPECT_EQ(statusOf("checked"), "Not running");
  EXPECT_THAT(hintsOf("checked"), HasSubstr("Waiting for the health check to pass."));
  daemon_->writeHomeFile("ready", "");
  ASSERT_TRUE(eventually([&] { return statusOf("checked") == "Running"; }));
  const auto first = runsOf("checked").at(0).at("id").get<std::int64_t>();

  // Liveness: every 10 s, three failures in a row restart the run.
  std::filesystem::remove(daemon_->home() / "ready");
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& run : runsOf("checked")) {
          if (run.at("id") == first && run.at("state") == "failed") return true;
        }
        return false;
      },
      std::chrono::seconds(60)));
  const auto runs = runsOf("checked");
  const auto& ended = runs.back();
  EXPECT_EQ(ended.at("reason"), "HealthCheckFailed");
  EXPECT_THAT(ended.at("message").get<std::string>(), HasSubstr("3 times in a row"));
  EXPECT_TRUE(eventually([&] { return runsOf("checked").size() >= 2; }));
  EXPECT_THAT(hintsOf("checked"), HasSubstr("HealthCheckFailed"));
}

TEST_F(ContinuousTest, PortSetsPortAndHttpCheckAndTwoJobsCannotShareIt) {
  const int port = freePort();
  auto r = daemon_->jobs({"run", "web", "--command",
                          "exec python3 -m http.server \"$PORT\" --bind 127.0.0.1", "--image",
                          "python3.11", "--continuous", "--port", std::to_string(port),
                          "--health-check-http", "/"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(eventually([&] { return statusOf("web") == "Running"; }))
      << hintsOf("web") << "\n" << daemon_->readHomeFile("web.err");

  r = daemon_->jobs({"run", "web2", "--command", "sleep 600", "--image", "bookworm",
                     "--continuous", "--port", std::to_string(port)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Port " + std::to_string(port) + "/tcp is already used by job 'web'"));

  r = daemon_->jobs({"run", "web3", "--command", "sleep 600", "--image", "bookworm",
                     "--continuous", "--health-check-http", "/healthz"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Port must be set for HTTP health checks"));
}

// A script that is not there yet is accepted with a warning, as a command is (decisions,
// "Commands"; real job files name scripts that are deployed later); one that is there but cannot
// run is refused, since it can be fixed now.
TEST_F(ContinuousTest, AMissingHealthCheckScriptWarnsAndANonExecutableOneIsRefused) {
  auto r = daemon_->jobs({"run", "c0", "--command", "sleep 600", "--image", "bookworm",
                          "--continuous", "--health-check-script", "./check.sh"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("WARNING: job 'c0': health check script: command './check.sh' not found"));
  ASSERT_EQ(daemon_->jobs({"delete", "c0"}).exit_code, 0);
  daemon_->writeHomeFile("check.sh", "#!/bin/sh\nexit 0\n", false);
  r = daemon_->jobs({"run", "c1", "--command", "sleep 600", "--image", "bookworm",
                     "--continuous", "--health-check-script", "./check.sh"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("Invalid health check script of job 'c1'"));
  EXPECT_THAT(r.err, HasSubstr("is not executable"));
  daemon_->writeHomeFile("check.sh", "#!/bin/sh\nexit 0\n", true);
  r = daemon_->jobs({"run", "c1", "--command", "sleep 600", "--image", "bookworm",
                     "--continuous", "--health-check-script", "./check.sh"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(eventually([&] { return statusOf("c1") == "Running"; }));
}

TEST_F(ContinuousTest, ReplicasRunSeparatelyAndRestartReplacesThemAll) {
  auto r = daemon_->jobs({"run", "many", "--command", "exec sleep 600", "--image", "bookworm",
                          "--continuous", "--replicas", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return statusOf("many") == "Running"; }));
  EXPECT_THAT(hintsOf("many"), HasSubstr("2 of 2 replicas running."));
  std::set<std::int64_t> before;
  for (const auto& run : runsOf("many")) before.insert(run.at("id").get<std::int64_t>());
  ASSERT_EQ(before.size(), 2u);

  r = daemon_->jobs({"restart", "many"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(eventually([&] {
    int fresh = 0;
    for (const auto& run : runsOf("many")) {
      if (!before.count(run.at("id").get<std::int64_t>()) && run.at("state") == "running") {
        ++fresh;
      }
    }
    return fresh == 2 && activeRuns("many") == 2;
  }));
  for (const auto& run : runsOf("many")) {
    if (before.count(run.at("id").get<std::int64_t>())) {
      EXPECT_EQ(run.at("reason"), "Stopped");
    }
  }
  EXPECT_EQ(statusOf("many"), "Running");
}

TEST_F(ContinuousTest, RunsOutliveADaemonRestart) {
  auto r = daemon_->jobs({"run", "steady", "--command", "exec sleep 600", "--image", "bookworm",
                          "--continuous", "--health-check-script", "true"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return statusOf("steady") == "Running"; }));
  const auto id = runsOf("steady").at(0).at("id");
  daemon_->restart();
  EXPECT_TRUE(eventually([&] { return statusOf("steady") == "Running"; }));
  const auto runs = runsOf("steady");
  ASSERT_EQ(runs.size(), 1u) << "re-adopted, not restarted";
  EXPECT_EQ(runs.at(0).at("id"), id);
}

}  // namespace
}  // namespace tjf::testing

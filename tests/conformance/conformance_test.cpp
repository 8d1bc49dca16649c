// The conformance suite: the same user-visible scenarios, through the real CLI and a real tjfd,
// against every runtime. "local" runs processes on this machine; "kubernetes" points tjfd at a
// cluster: by default the in-repo FAKE API server (`tjf-fake-kube-apiserver`, which plays the
// controllers and runs pods as local processes), or a real cluster when TJF_CONFORMANCE_KUBECONFIG
// names a kubeconfig (scripts/check-kubernetes.sh; docs/kubernetes.md, "Checking a cluster").
//
// A scenario asserts only what a user sees (CLI output, `show`, `logs`, run history, files in
// the tool home), never how the runtime got there.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>

#include "harness.hpp"

namespace tjf::testing {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

const char* envOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

using FakeCluster = FakeKubeApiServer;  // the FAKE API server (harness.hpp)

class ConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    scratch_ = std::filesystem::temp_directory_path() /
               ("tjf-conformance-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::remove_all(scratch_);
    std::filesystem::create_directories(scratch_);
    std::string config = "restart_backoff_ms: 200\nretry_backoff_ms: 200\n";
    if (onCluster()) config += clusterConfig();
    daemon_ = std::make_unique<TestDaemon>(DaemonOptions{.config_yaml = config, .tool = tool()});
  }
  void TearDown() override {
    if (daemon_) daemon_->jobs({"flush"});
    daemon_.reset();
    fake_.reset();
    std::filesystem::remove_all(scratch_);
  }

  bool onCluster() const { return GetParam() == "kubernetes"; }
  bool onFake() const { return onCluster() && std::getenv("TJF_CONFORMANCE_KUBECONFIG") == nullptr; }
  static std::string tool() { return envOr("TJF_CONFORMANCE_TOOL", "tf-test"); }
  static std::string image() { return envOr("TJF_CONFORMANCE_IMAGE", "bookworm"); }

  std::string clusterConfig() {
    std::string kubeconfig = envOr("TJF_CONFORMANCE_KUBECONFIG", "");
    if (kubeconfig.empty()) {
      fake_ = std::make_unique<FakeCluster>(scratch_);
      kubeconfig = (scratch_ / "kubeconfig").string();
      fake_->writeKubeconfig(kubeconfig);
    }
    // Pods never run as root; the fake runs them as this process, a real cluster as this uid.
    std::string config = kubernetesRuntimeConfig(kubeconfig, envOr("TJF_CONFORMANCE_UID", "1000"),
                                                 envOr("TJF_CONFORMANCE_GID", "1000"));
    if (const char* images = std::getenv("TJF_CONFORMANCE_IMAGES")) {
      config += std::string("images: ") + images + "\n";
    }
    return config;
  }

  CommandResult jobs(const std::vector<std::string>& args) { return daemon_->jobs(args); }
  CommandResult run(const std::string& name, const std::string& command,
                    std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"run", name, "--command", command, "--image", image()};
    args.insert(args.end(), extra.begin(), extra.end());
    return jobs(args);
  }
  json show(const std::string& name) { return daemon_->showJson(name); }
  std::string status(const std::string& name) {
    const auto job = show(name);
    return job.is_null() ? "" : job.at("status_short").get<std::string>();
  }
  json runsOf(const std::string& name) {
    const auto [code, body] =
        daemon_->http("GET", "/v1/tool/" + daemon_->tool() + "/jobs/" + name + "/runs");
    return code == 200 ? json::parse(body).at("runs") : json::array();
  }
  int countRuns(const std::string& name, const std::string& state) {
    int n = 0;
    for (const auto& r : runsOf(name)) n += r.at("state") == state;
    return n;
  }
  std::string logs(const std::string& name) { return jobs({"logs", name}).out; }
  // Fake only: a CronJob's schedule comes due now (the fake's test-only trigger).
  void fireCronJob(const std::string& name) {
    auto r = daemon_->exec({"curl", "-sf", "-X", "POST", "-H",
                            std::string("Authorization: Bearer ") + FakeCluster::kToken,
                            fake_->url() + "/fake/v1/namespaces/tool-" + tool() + "/cronjobs/" +
                                name + "/fire"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  static inline int counter_ = 0;
  std::filesystem::path scratch_;
  std::unique_ptr<FakeCluster> fake_;  // declared before the daemon: stopped after it
  std::unique_ptr<TestDaemon> daemon_;
};

INSTANTIATE_TEST_SUITE_P(Runtimes, ConformanceTest, ::testing::Values("local", "kubernetes"),
                         [](const auto& info) { return info.param; });

TEST_P(ConformanceTest, AOneOffJobCompletesAndItsOutputIsInLogs) {
  auto r = run("hello", "echo hello-conformance", {"--no-filelog", "--wait", "60"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(status("hello"), "Completed");
  EXPECT_TRUE(eventually([&] { return logs("hello").find("hello-conformance") != std::string::npos; }))
      << logs("hello");
  const auto runs = runsOf("hello");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].at("state"), "succeeded");
  EXPECT_EQ(runs[0].at("exit_code"), 0);
}

TEST_P(ConformanceTest, FileLogsLandInTheToolHome) {
  auto r = run("writer", "echo to-out; echo to-err >&2", {"--wait", "60"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  if (onCluster() && !onFake()) GTEST_SKIP() << "a real cluster writes into its own volumes";
  EXPECT_EQ(daemon_->readHomeFile("writer.out"), "to-out\n");
  EXPECT_EQ(daemon_->readHomeFile("writer.err"), "to-err\n");
}

TEST_P(ConformanceTest, AFailedRunShowsItsExitCode) {
  auto r = run("broken", "exit 3", {"--wait", "60"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ERROR: job 'broken' failed:"));
  EXPECT_THAT(r.out, HasSubstr("Exit code '3'"));
  const auto runs = runsOf("broken");
  ASSERT_FALSE(runs.empty());
  EXPECT_EQ(runs.back().at("exit_code"), 3);
}

TEST_P(ConformanceTest, RetriesRunTheCommandAgain) {
  auto r = run("flaky", "echo try >> tries.txt; exit 1", {"--retry", "2", "--wait", "90"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  if (onCluster() && !onFake()) return;
  EXPECT_EQ(daemon_->readHomeFile("tries.txt"), "try\ntry\ntry\n") << "one try and two retries";
}

TEST_P(ConformanceTest, ATimeoutStopsTheRun) {
  auto r = run("slow", "sleep 120", {"--timeout", "2", "--wait", "60"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const auto runs = runsOf("slow");
  ASSERT_FALSE(runs.empty());
  EXPECT_EQ(runs.back().at("reason"), "DeadlineExceeded") << runs.dump();
}

TEST_P(ConformanceTest, DeleteStopsARunningJob) {
  ASSERT_EQ(run("sleeper", "sleep 300").exit_code, 0);
  ASSERT_TRUE(eventually([&] { return countRuns("sleeper", "running") == 1; }))
      << runsOf("sleeper").dump();
  auto r = jobs({"delete", "sleeper"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(eventually([&] { return show("sleeper").is_null(); }));
  EXPECT_TRUE(eventually([&] { return countRuns("sleeper", "running") == 0; }))
      << runsOf("sleeper").dump();
}

TEST_P(ConformanceTest, AContinuousJobRunsAndIsRestartedAfterACrash) {
  ASSERT_EQ(run("bot", "echo up >> bot-runs.txt; sleep 1; exit 3", {"--continuous"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return runsOf("bot").size() >= 2; }, std::chrono::seconds(60)))
      << runsOf("bot").dump();
  bool saw_exit_code = false;
  for (const auto& r : runsOf("bot")) {
    if (r.at("state") == "failed") saw_exit_code |= r.at("exit_code") == 3;
  }
  EXPECT_TRUE(saw_exit_code) << runsOf("bot").dump();
  EXPECT_THAT(jobs({"list"}).out, HasSubstr("bot"));
  ASSERT_EQ(jobs({"delete", "bot"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return countRuns("bot", "running") == 0; }));
}

TEST_P(ConformanceTest, AContinuousJobKeepsItsReplicasRunning) {
  ASSERT_EQ(run("pair", "sleep 300", {"--continuous", "--replicas", "2"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return countRuns("pair", "running") == 2; },
                         std::chrono::seconds(60)))
      << runsOf("pair").dump();
  EXPECT_TRUE(eventually([&] { return status("pair") == "Running"; })) << status("pair");
}

TEST_P(ConformanceTest, RestartOfAScheduledJobRunsItNow) {
  auto r = run("nightly", "echo nightly-ran", {"--schedule", "@yearly", "--no-filelog"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(status("nightly"), "Waiting for scheduled time");
  ASSERT_EQ(jobs({"restart", "nightly"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return countRuns("nightly", "succeeded") == 1; },
                         std::chrono::seconds(60)))
      << runsOf("nightly").dump();
  EXPECT_TRUE(eventually([&] { return logs("nightly").find("nightly-ran") != std::string::npos; }))
      << logs("nightly");
}

TEST_P(ConformanceTest, RunsAndDefinitionsSurviveADaemonRestart) {
  ASSERT_EQ(run("done", "echo finished", {"--no-filelog", "--wait", "60"}).exit_code, 0);
  ASSERT_EQ(run("longrun", "sleep 300", {"--continuous"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return countRuns("longrun", "running") == 1; },
                         std::chrono::seconds(60)));
  const auto before = runsOf("longrun");
  daemon_->restart();
  EXPECT_EQ(status("done"), "Completed");
  EXPECT_THAT(logs("done"), HasSubstr("finished"));
  ASSERT_TRUE(eventually([&] { return countRuns("longrun", "running") == 1; }));
  EXPECT_EQ(runsOf("longrun").size(), before.size()) << "re-adopted, not started again";
}

// The point of CronJobs: the cluster fires while tjfd is down, and the run shows up afterwards
// with its output. Fake only (it needs the fake's trigger, as a real schedule takes minutes).
TEST_P(ConformanceTest, ACronJobFiresWhileTjfdIsDown) {
  if (!onFake()) GTEST_SKIP() << "needs the fake cluster's CronJob trigger";
  auto r = run("cron", "echo fired-while-away", {"--schedule", "@yearly", "--no-filelog"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  daemon_->stop();
  fireCronJob("cron");
  daemon_->start();
  EXPECT_TRUE(eventually([&] { return countRuns("cron", "succeeded") == 1; },
                         std::chrono::seconds(60)))
      << runsOf("cron").dump();
  EXPECT_TRUE(eventually([&] { return logs("cron").find("fired-while-away") != std::string::npos; }))
      << logs("cron");
  const auto runs = runsOf("cron");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_FALSE(runs[0].at("scheduled_for").is_null()) << "a fire, not a manual run";
}

// --- Issue 11: quota notes from Events, and watches that resume across a restart (fake only) ---

// A request to the FAKE cluster's API with this daemon's curl, as fireCronJob() does; the body
// of the answer, "" when curl fails.
std::string fakeApi(TestDaemon& daemon, const std::string& url, const std::string& method,
                    const std::string& body = "") {
  std::vector<std::string> argv = {"curl", "-sf", "-X", method, "-H",
                                   std::string("Authorization: Bearer ") + FakeCluster::kToken};
  if (!body.empty()) {
    argv.insert(argv.end(), {"-H", "Content-Type: application/json", "-d", body});
  }
  argv.push_back(url);
  auto r = daemon.exec(argv);
  return r.exit_code == 0 ? r.out : std::string();
}

// Sets a key of the `kubernetes:` section of the daemon's config file; it counts from the
// daemon's next start.
void setKubernetesKey(TestDaemon& daemon, const std::string& key, const std::string& value) {
  const auto file = daemon.root() / "tjfd.yaml";
  std::string text = readFile(file);
  const std::string section = "\nkubernetes:\n";
  const auto at = text.find(section);
  ASSERT_NE(at, std::string::npos) << text;
  text.insert(at + section.size(), "  " + key + ": " + value + "\n");
  std::ofstream(file) << text;
}

// The cluster holds the second run's pod back (a ResourceQuota of one pod): it shows upstream's
// status, and runs once the first one is deleted.
TEST_P(ConformanceTest, ARunHeldBackByTheClustersQuotaWaitsAndStartsWhenThereIsRoom) {
  if (!onFake()) GTEST_SKIP() << "writes a ResourceQuota into the fake cluster";
  const std::string ns = "tool-" + tool();
  const json quota = {{"apiVersion", "v1"},
                      {"kind", "ResourceQuota"},
                      {"metadata", {{"name", ns}}},
                      {"spec", {{"hard", {{"pods", "1"}}}}}};
  ASSERT_NE(fakeApi(*daemon_, fake_->url() + "/api/v1/namespaces/" + ns + "/resourcequotas", "POST", quota.dump()),
            "");
  ASSERT_EQ(run("first", "echo first-is-up; sleep 300", {"--no-filelog"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return logs("first").find("first-is-up") != std::string::npos; },
                         std::chrono::seconds(60)))
      << "the first run's pod takes the one pod of the quota";
  ASSERT_EQ(run("second", "echo second-is-up; sleep 300", {"--no-filelog"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return status("second") == "Unable to start, out of quota for pods"; },
                         std::chrono::seconds(60)))
      << status("second");
  EXPECT_EQ(countRuns("second", "running"), 1) << runsOf("second").dump();
  ASSERT_EQ(jobs({"delete", "first"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return status("second").rfind("Running for ", 0) == 0; }, std::chrono::seconds(60)))
      << status("second");
  EXPECT_TRUE(eventually([&] { return logs("second").find("second-is-up") != std::string::npos; }))
      << logs("second");
}

// A CronJob fires while tjfd is down, and the cluster removes the finished Job (TTL 1 s) before
// tjfd is back: the restarted tjfd replays the watch history it missed and records the run.
TEST_P(ConformanceTest, ACronJobRunThatCameAndWentWhileTjfdWasDownIsRecorded) {
  if (!onFake()) GTEST_SKIP() << "needs the fake cluster's CronJob trigger";
  daemon_->stop();
  setKubernetesKey(*daemon_, "ttl_seconds_after_finished", "1");
  daemon_->start();
  auto r = run("ephemeral", "echo gone-before-tjfd-came-back", {"--schedule", "@yearly", "--no-filelog"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string ns = "tool-" + tool();
  ASSERT_TRUE(eventually([&] {
    const auto cronjob = json::parse(fakeApi(*daemon_, fake_->url() + "/apis/batch/v1/namespaces/" + ns +
                                                           "/cronjobs/ephemeral", "GET"),
                                     nullptr, false);
    return cronjob.is_object() &&
           cronjob.value("/spec/jobTemplate/spec/ttlSecondsAfterFinished"_json_pointer, 0) == 1;
  })) << "placed with the short TTL";
  daemon_->stop();
  fireCronJob("ephemeral");
  ASSERT_TRUE(eventually([&] {
    const auto list = json::parse(fakeApi(*daemon_, fake_->url() + "/apis/batch/v1/namespaces/" + ns + "/jobs", "GET"),
                                  nullptr, false);
    if (!list.is_object()) return false;
    for (const auto& job : list.value("items", json::array())) {
      if (job.value("/metadata/name"_json_pointer, std::string()).rfind("ephemeral-", 0) == 0) return false;
    }
    return true;
  }, std::chrono::seconds(60))) << "the cluster removes the finished Job while tjfd is down";
  daemon_->start();
  EXPECT_TRUE(eventually([&] { return countRuns("ephemeral", "succeeded") == 1; }, std::chrono::seconds(60)))
      << runsOf("ephemeral").dump();
  const auto runs = runsOf("ephemeral");
  ASSERT_EQ(runs.size(), 1u) << runs.dump();
  EXPECT_EQ(runs[0].at("exit_code"), 0);
  EXPECT_FALSE(runs[0].at("scheduled_for").is_null()) << "a fire, not a manual run";
  EXPECT_THAT(runs[0].at("message").get<std::string>(),
              HasSubstr("output not collected: the pod was removed while tjfd was away"));
}

// --- Job notes: why a placed job does not run (fake only) ---

// The cluster refuses the pods of a continuous job's Deployment (`pods: 0`): `show` says so in
// upstream's words, and the job runs once the quota allows it. (A quota of no Deployments at all
// is refused by `run` itself, before anything is placed, as upstream does.)
TEST_P(ConformanceTest, AContinuousJobWhosePodsTheClusterRefusesSaysWhyAndRunsOnceTheQuotaAllows) {
  if (!onFake()) GTEST_SKIP() << "writes a ResourceQuota into the fake cluster";
  const std::string ns = "tool-" + tool();
  const std::string quotas = fake_->url() + "/api/v1/namespaces/" + ns + "/resourcequotas";
  auto quota = [&](const std::string& pods) {
    return json{{"apiVersion", "v1"},
                {"kind", "ResourceQuota"},
                {"metadata", {{"name", ns}, {"namespace", ns}}},
                {"spec", {{"hard", {{"pods", pods}}}}}}
        .dump();
  };
  ASSERT_NE(fakeApi(*daemon_, quotas, "POST", quota("0")), "");
  const auto created = run("web", "echo web-is-up; sleep 300", {"--continuous", "--no-filelog"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_TRUE(eventually([&] { return status("web") == "Unable to start, out of quota for pods"; },
                         std::chrono::seconds(60)))
      << status("web");
  EXPECT_EQ(countRuns("web", "running"), 0) << runsOf("web").dump();
  ASSERT_NE(fakeApi(*daemon_, quotas + "/" + ns, "PUT", quota("1")), "");
  EXPECT_TRUE(eventually([&] { return status("web").rfind("Running", 0) == 0; }, std::chrono::seconds(60)))
      << status("web");
  EXPECT_TRUE(eventually([&] { return logs("web").find("web-is-up") != std::string::npos; })) << logs("web");
}

}  // namespace
}  // namespace tjf::testing

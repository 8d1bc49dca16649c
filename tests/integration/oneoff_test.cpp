// One-off jobs end to end: the real tjfd, the real CLI, real processes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "harness.hpp"

namespace tjf::testing {
namespace {

using ::testing::HasSubstr;

class OneOffTest : public ::testing::Test {
 protected:
  void SetUp() override { daemon_ = std::make_unique<TestDaemon>(); }
  std::string statusOf(const std::string& name) {
    const auto job = daemon_->showJson(name);
    return job.is_null() ? "" : job.at("status_short").get<std::string>();
  }
  std::unique_ptr<TestDaemon> daemon_;
};

TEST_F(OneOffTest, RunWaitCompletesAndWritesFileLogsInTheToolHome) {
  daemon_->writeHomeFile("mycommand.sh",
                         "#!/bin/sh\necho \"out $1 $JOB_NAME $HOME\"\necho err >&2\n", true);
  auto r = daemon_->jobs({"run", "myjob", "--command", "./mycommand.sh --withargs", "--image",
                          "bookworm", "--wait"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(daemon_->readHomeFile("myjob.out"),
            "out --withargs myjob " + daemon_->home().string() + "\n");
  EXPECT_EQ(daemon_->readHomeFile("myjob.err"), "err\n");
  EXPECT_EQ(statusOf("myjob"), "Completed");

  // A new run under the name of a finished one-off replaces it and appends to the same files.
  r = daemon_->jobs({"run", "myjob", "--command", "./mycommand.sh again", "--image", "bookworm",
                     "--wait", "30"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(daemon_->readHomeFile("myjob.out"),
            "out --withargs myjob " + daemon_->home().string() + "\nout again myjob " +
                daemon_->home().string() + "\n");
}

TEST_F(OneOffTest, WaitReportsFailureWithShowAndExitCodeOne) {
  auto r = daemon_->jobs({"run", "broken", "--command", "exit 3", "--image", "python3.11",
                          "--wait"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ERROR: job 'broken' failed:"));
  EXPECT_THAT(r.out, HasSubstr("| Status:       | Failed"));
  EXPECT_THAT(r.out, HasSubstr("Exit code '3'"));
}

TEST_F(OneOffTest, WaitTimesOutWithExitCodeTwo) {
  auto r = daemon_->jobs({"run", "slow", "--command", "sleep 60", "--image", "bookworm",
                          "--wait", "1"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("timed out 1 seconds waiting for job 'slow' to complete:"));
  EXPECT_THAT(r.out, HasSubstr("Running for"));
}

TEST_F(OneOffTest, CustomLogPathsMergeDiscardAndNoFilelog) {
  std::filesystem::create_directories(daemon_->home() / "logs");
  auto r = daemon_->jobs({"run", "merged", "--command", "echo o; echo e >&2", "--image",
                          "bookworm", "-o", "logs/both.log", "-e", "logs/both.log", "--wait"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(daemon_->readHomeFile("logs/both.log"), "o\ne\n");

  r = daemon_->jobs({"run", "quiet", "--command", "echo o; echo e >&2", "--image", "bookworm",
                     "--filelog-stderr", "/dev/null", "--wait"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(daemon_->readHomeFile("quiet.out"), "o\n");
  EXPECT_FALSE(std::filesystem::exists(daemon_->home() / "quiet.err"));

  r = daemon_->jobs({"run", "nolog", "--command", "echo captured", "--image", "bookworm",
                     "--no-filelog", "--wait"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(daemon_->home() / "nolog.out"));
  r = daemon_->jobs({"logs", "nolog"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("] captured\n"));
}

TEST_F(OneOffTest, MissingLogDirectoryFailsTheRunNamingThePath) {
  auto r = daemon_->jobs({"run", "nodir", "--command", "echo x", "--image", "bookworm", "-o",
                          "missing/dir/out.log", "--wait"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("missing/dir/out.log"));
}

TEST_F(OneOffTest, MissingCommandWarnsAtCreationAndFailsTheRunNamingIt) {
  auto r = daemon_->jobs({"run", "nocmd", "--command", "./not-there.sh", "--image", "bookworm",
                          "--wait"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("WARNING: job 'nocmd': command './not-there.sh' not found"));
  EXPECT_THAT(r.out, HasSubstr("not-there.sh"));
  daemon_->writeHomeFile("noexec.sh", "#!/bin/sh\necho hi\n", false);
  r = daemon_->jobs({"run", "noexec", "--command", "./noexec.sh", "--image", "bookworm", "--wait"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("is not executable"));
}

TEST_F(OneOffTest, ListFormatsAndEmptyList) {
  auto r = daemon_->jobs({"list"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "") << "no jobs: list prints nothing at all";
  ASSERT_EQ(daemon_->jobs({"run", "alpha", "--command", "true", "--image", "bookworm", "--mem",
                           "100Mi", "--wait"}).exit_code, 0);
  r = daemon_->jobs({"list"});
  EXPECT_EQ(r.out,
            "Job name:    Job type:    Status:\n"
            "-----------  -----------  ---------\n"
            "alpha        normal       Completed\n");
  r = daemon_->jobs({"list", "-o", "name"});
  EXPECT_EQ(r.out, "alpha\n");
  r = daemon_->jobs({"list", "--output", "long"});
  EXPECT_EQ(r.out,
            "Job name:    Command:    Job type:    Image:    File log:    Output log:    Error "
            "log:    Emails:    Resources:                Retry:    Status:\n"
            "-----------  ----------  -----------  --------  -----------  -------------  "
            "------------  ---------  ------------------------  --------  ---------\n"
            "alpha        true        normal       bookworm  yes          alpha.out      alpha.err  "
            "   none       mem: 100Mi, cpu: default  no        Completed\n");
  r = daemon_->jobs({"list", "-l"});
  EXPECT_THAT(r.err, HasSubstr("WARNING: the `--long` flag is deprecated, use `--output long` instead"));
  EXPECT_THAT(r.out, HasSubstr("Command:"));
}

TEST_F(OneOffTest, ShowDeleteFlushAndTheirMessages) {
  ASSERT_EQ(daemon_->jobs({"run", "a", "--command", "sleep 60", "--image", "bookworm"}).exit_code, 0);
  ASSERT_EQ(daemon_->jobs({"run", "b", "--command", "sleep 60", "--image", "bookworm"}).exit_code, 0);
  auto r = daemon_->jobs({"run", "a", "--command", "true", "--image", "bookworm"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ERROR: A job with the name a already exists"));
  r = daemon_->jobs({"show", "a"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("| Job name:     | a"));
  r = daemon_->jobs({"show", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ERROR: Job 'nope' does not exist"));
  r = daemon_->jobs({"delete", "a"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(daemon_->showJson("a"), nlohmann::json());
  r = daemon_->jobs({"delete", "a"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("WARNING: job 'a' does not exist"));
  r = daemon_->jobs({"flush"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(daemon_->jobs({"list"}).out, "");
  // The runs were stopped (SIGTERM to the process group), and recorded as such.
  const auto [status, body] = daemon_->http("GET", "/v1/tool/tf-test/jobs/b/runs");
  ASSERT_EQ(status, 200);
  const auto runs = nlohmann::json::parse(body).at("runs");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].at("reason"), "Stopped");
}

TEST_F(OneOffTest, RetryRunsAgainAfterFailure) {
  daemon_->writeHomeFile("flaky.sh",
                         "#!/bin/sh\nn=$(cat count 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > "
                         "count\n[ $n -ge 3 ]\n",
                         true);
  auto r = daemon_->jobs({"run", "flaky", "--command", "./flaky.sh", "--image", "bookworm",
                          "--retry", "2", "--wait", "60"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(daemon_->readHomeFile("count"), "3\n");
  const auto [status, body] = daemon_->http("GET", "/v1/tool/tf-test/jobs/flaky/runs");
  const auto runs = nlohmann::json::parse(body).at("runs");
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0].at("attempt"), 3);
  EXPECT_EQ(runs[0].at("reason"), "Completed");
  EXPECT_EQ(runs[2].at("exit_code"), 1);
}

TEST_F(OneOffTest, BadInputGetsClearErrorsAndCreatesNothing) {
  struct Case {
    std::vector<std::string> args;
    int exit_code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"run", "Bad_Name", "--command", "true", "--image", "bookworm"}, 1,
       "ERROR: Invalid job name. See the documentation for the naming rules: https://w.wiki/6YL8"},
      {{"run", std::string(53, 'a'), "--command", "true", "--image", "bookworm"}, 1,
       "it can't be longer than 52 characters"},
      {{"run", "x", "--command", "true", "--image", "nope"}, 1, "ERROR: No such image 'nope'"},
      {{"run", "x", "--command", "true", "--image", "bookworm", "--retry", "6"}, 2,
       "argument --retry: invalid choice: 6 (choose from 0, 1, 2, 3, 4, 5)"},
      {{"run", "x", "--command", "true", "--image", "bookworm", "--wait", "--continuous"}, 2,
       "usage: toolforge jobs run"},
      {{"run", "x", "--image", "bookworm"}, 2, "--command"},
      {{"run", "x", "--command", "true", "--image", "bookworm", "--bogus"}, 2, "--bogus"},
      {{"run", "x", "--command", "true", "--image", "bookworm", "--mem", "1g"}, 1,
       "Invalid number format: 1g"},
      {{"run", "x", "--command", "true", "--image", "bookworm", "--emails", "sometimes"}, 2,
       "argument --emails: invalid choice: 'sometimes'"},
      {{"run", "x", "--command", "true", "--image", "bookworm", "--health-check-script", "true"}, 1,
       "You can only configure a health-check for a continuous job"},
      {{"frobnicate"}, 2, "invalid choice: 'frobnicate'"},
  };
  for (const auto& c : cases) {
    const auto r = daemon_->jobs(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args[0] << " " << r.err;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << r.err;
    EXPECT_EQ(r.out, "");
  }
  EXPECT_EQ(daemon_->jobs({"list"}).out, "") << "nothing half-created";
  const auto [status, body] = daemon_->http("GET", "/v1/tool/tf-test/jobs/x/runs");
  EXPECT_EQ(nlohmann::json::parse(body).at("runs").size(), 0u);
}

TEST_F(OneOffTest, DaemonNotRunningIsAClearErrorWithExitTwo) {
  daemon_->stop();
  const auto r = daemon_->jobs({"list"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("cannot reach tjfd on socket"));
  daemon_->start();
}

TEST_F(OneOffTest, ImagesTableAndHelp) {
  auto r = daemon_->jobs({"images"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("Short name    Container image URL\n------------  ----"));
  EXPECT_THAT(r.out, HasSubstr("\npython3.11    docker-registry.tools.wmflabs.org/toolforge-python311-sssd-web:latest\n"));
  EXPECT_EQ(r.out.find("buster"), std::string::npos) << "deprecated images are hidden";
  r = daemon_->jobs({"-h"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.out, HasSubstr("usage: toolforge jobs [-h] {images,run,show,logs,list,delete,flush,load,restart,quota,dump} ..."));
  r = daemon_->jobs({"run", "-h"});
  EXPECT_THAT(r.out, HasSubstr("  --no-filelog          disable redirecting job output to files in the home directory\n"));
  r = daemon_->exec({(binDir() / "toolforge-jobs").string(), "list"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(OneOffTest, ApiSpeaksUpstreamShapes) {
  auto [status, body] = daemon_->http("GET", "/v1/healthz");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, R"({"health":{"status":"OK","message":"OK"},"messages":{}})");
  std::tie(status, body) = daemon_->http(
      "POST", "/v1/tool/tf-test/jobs/",
      R"({"name":"api","cmd":"true","imagename":"bookworm","retry":1})");
  EXPECT_EQ(status, 201) << body;
  const auto created = nlohmann::ordered_json::parse(body);
  std::vector<std::string> keys;
  for (const auto& [k, v] : created.at("job").items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"name", "cmd", "imagename", "filelog", "filelog_stdout",
                                            "filelog_stderr", "emails", "mount", "memory", "cpu",
                                            "image", "image_state", "status_short", "status_long",
                                            "job_type", "retry", "timeout", "status"}));
  std::tie(status, body) = daemon_->http("GET", "/v1/tool/tf-test/jobs/api?include_unset=false");
  EXPECT_EQ(nlohmann::json::parse(body).at("job"),
            nlohmann::json::parse(R"({"name":"api","cmd":"true","imagename":"bookworm",
              "image":"bookworm","job_type":"one-off","retry":1})"));
  std::tie(status, body) = daemon_->http("GET", "/v1/tool/other-tool/jobs");
  EXPECT_EQ(status, 403);
  std::tie(status, body) = daemon_->http("POST", "/v1/tool/tf-test/jobs", "{not json");
  EXPECT_EQ(status, 422);
  EXPECT_THAT(body, HasSubstr(R"({"error":[)"));
  std::tie(status, body) = daemon_->http("GET", "/v1/tool/tf-test/jobs/api/logs?lines=abc");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(body, R"({"error":["Unable to parse lines as integer"]})");
  std::tie(status, body) = daemon_->http("POST", "/v1/tool/tf-test/jobs/api/restart");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(body, R"({"error":["Unable to restart a one-off job"]})");
}

}  // namespace
}  // namespace tjf::testing

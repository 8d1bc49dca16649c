// How the CLI shows API JSON: upstream's cells and table layouts (python-tabulate "simple" and
// "grid"), byte for byte. The layouts were checked by hand against upstream-behaviour.md §11.6:
// simple columns are max(longest cell, header + 2) wide and separated by two spaces, numeric
// columns are right-aligned, grid cells are padded to the longest line.
#include "cli/render.hpp"

#include <gtest/gtest.h>

namespace tjf::cli {
namespace {

using nlohmann::json;

const json kContinuous = json::parse(R"j({
  "name": "web", "cmd": "./serve", "imagename": "python3.11", "image": "python3.11",
  "image_state": "stable", "job_type": "continuous", "filelog": true,
  "filelog_stdout": "/home/t/web.out", "filelog_stderr": "/var/log/web.err",
  "emails": "onfailure", "mount": "all", "memory": "100Mi", "cpu": "0.5",
  "memory_set": true, "cpu_set": false, "continuous": true, "replicas": 2, "port": 8080,
  "port_protocol": "udp", "health_check": {"type": "http", "path": "/healthz"},
  "status_short": "Running",
  "status_long": "Run has been restarted 2 times. The previous run ended with exit code 1 (Error) at 2024-01-01T00:00:00Z, and this sentence is long enough to wrap."
})j");

const json kScheduled = json::parse(R"j({
  "name": "nightly", "cmd": "./n.sh", "imagename": "tf-python39", "image": "tf-python39",
  "image_state": "deprecated", "job_type": "scheduled", "schedule": "@daily",
  "schedule_actual": "37 3 * * *", "time_zone": "Europe/Berlin", "filelog": false,
  "filelog_stdout": null, "filelog_stderr": null, "retry": 2, "timeout": 600,
  "status_short": "Waiting for scheduled time", "status_long": "",
  "status": {"previous_schedule": null, "next_schedule": "2024-01-02T02:37:00Z"}
})j");

TEST(Cells, JobType) {
  EXPECT_EQ(jobTypeCell(kContinuous), "continuous");
  EXPECT_EQ(jobTypeCell(kScheduled), "schedule: @daily");
  EXPECT_EQ(jobTypeCell(json{{"job_type", "one-off"}}), "normal");
}

TEST(Cells, ResourcesShowOnlyWhatTheUserSet) {
  EXPECT_EQ(resourcesCell(kContinuous), "mem: 100Mi, cpu: default");
  EXPECT_EQ(resourcesCell(kScheduled), "default");
  EXPECT_EQ(resourcesCell(json{{"memory", "512Mi"}, {"cpu", "2"}, {"memory_set", false},
                               {"cpu_set", true}}),
            "mem: default, cpu: 2");
  EXPECT_EQ(resourcesCell(json{{"memory", "1Gi"}, {"cpu", "0.5"}, {"memory_set", true},
                               {"cpu_set", true}}),
            "mem: 1Gi, cpu: 0.5");
}

TEST(Cells, Retry) {
  EXPECT_EQ(retryCell(kContinuous), "no");
  EXPECT_EQ(retryCell(kScheduled), "yes: 2 time(s)");
  EXPECT_EQ(retryCell(json{{"retry", 0}}), "no");
}

TEST(Cells, LogPathsAreRelativeInsideTheHomeOnly) {
  EXPECT_EQ(logPathCell("/home/t/web.out", "/home/t"), "web.out");
  EXPECT_EQ(logPathCell("/home/t/logs/a.log", "/home/t"), "logs/a.log");
  EXPECT_EQ(logPathCell("/home/tool2/x.out", "/home/t"), "/home/tool2/x.out");
  EXPECT_EQ(logPathCell("/home/t", "/home/t"), "/home/t");
  EXPECT_EQ(logPathCell("/dev/null", "/home/t"), "/dev/null");
  EXPECT_EQ(logPathCell(json(), "/home/t"), "/dev/null");
  EXPECT_EQ(logPathCell("/home/t/x.out", ""), "/home/t/x.out");
}

TEST(List, NothingAtAllWithoutJobs) {
  EXPECT_EQ(renderList(json::array(), ListFormat::kNormal, "/home/t"), "");
  EXPECT_EQ(renderList(json::array(), ListFormat::kLong, "/home/t"), "");
  EXPECT_EQ(renderList(json::array(), ListFormat::kName, "/home/t"), "");
}

TEST(List, NormalNameAndLong) {
  const json jobs = json::array({kContinuous, kScheduled});
  EXPECT_EQ(renderList(jobs, ListFormat::kNormal, "/home/t"),
            "Job name:    Job type:         Status:\n"
            "-----------  ----------------  --------------------------\n"
            "web          continuous        Running\n"
            "nightly      schedule: @daily  Waiting for scheduled time");
  EXPECT_EQ(renderList(jobs, ListFormat::kName, "/home/t"), "web\nnightly");
  EXPECT_EQ(
      renderList(jobs, ListFormat::kLong, "/home/t"),
      "Job name:    Command:    Job type:         Image:                    File log:    Output "
      "log:    Error log:        Emails:    Resources:                Retry:          Status:\n"
      "-----------  ----------  ----------------  ------------------------  -----------  "
      "-------------  ----------------  ---------  ------------------------  --------------  "
      "--------------------------\n"
      "web          ./serve     continuous        python3.11                yes          web.out "
      "       /var/log/web.err  onfailure  mem: 100Mi, cpu: default  no              Running\n"
      "nightly      ./n.sh      schedule: @daily  tf-python39 (deprecated)  no           "
      "/dev/null      /dev/null         none       default                   yes: 2 time(s)  "
      "Waiting for scheduled time");
}

TEST(Show, ContinuousJobGridWithPortReplicasAndWrappedHints) {
  EXPECT_EQ(renderShow(kContinuous, "/home/t"),
            "+---------------+------------------------------------------------------------------------+\n"
            "| Job name:     | web                                                                    |\n"
            "+---------------+------------------------------------------------------------------------+\n"
            "| Command:      | ./serve                                                                |\n"
            "+---------------+------------------------------------------------------------------------+\n"
            "| Job type:     | continuous                                                             |\n"
            "+---------------+------------------------------------------------------------------------+\n"
            "| Image:        | python3.11                                                             |\n"
            "+---------------+------------------------------------------------------------------------+\n"
            "| File log:     | yes                                                                    |\n"
            "+---------------+------------------------------------------------------------------------+\n"
            "| Output log:   | web.out                                                                |\n"
            "+---------------+------------------------------------------------------------------------+\n"
            "| Error log:    | /var/log/web.err                                                       |\n"
            "+---------------+------------------------------------------------------------------------+\n"
            "| Emails:       | onfailure                                                              |\n"
            "+---------------+------------------------------------------------------------------------+\n"
            "| Resources:    | mem: 100Mi, cpu: default                                               |\n"
            "+---------------+------------------------------------------------------------------------+\n"
            "| Mounts:       | all                                                                    |\n"
            "+---------------+------------------------------------------------------------------------+\n"
            "| Retry:        | no                                                                     |\n"
            "+---------------+------------------------------------------------------------------------+\n"
            "| Health check: | http: /healthz                                                         |\n"
            "+---------------+------------------------------------------------------------------------+\n"
            "| Port:         | 8080/udp                                                               |\n"
            "+---------------+------------------------------------------------------------------------+\n"
            "| Replicas:     | 2                                                                      |\n"
            "+---------------+------------------------------------------------------------------------+\n"
            "| Status:       | Running                                                                |\n"
            "+---------------+------------------------------------------------------------------------+\n"
            "| Hints:        | Run has been restarted 2 times. The previous run ended with exit code  |\n"
            "|               | 1 (Error) at 2024-01-01T00:00:00Z, and this sentence is long enough to |\n"
            "|               | wrap.                                                                  |\n"
            "+---------------+------------------------------------------------------------------------+");
}

TEST(Show, ScheduledJobRows) {
  const std::string out = renderShow(kScheduled, "/home/t");
  for (const char* row : {"| Job type:           | schedule: @daily           |",
                          "| Image:              | tf-python39 (deprecated)   |",
                          "| File log:           | no                         |",
                          "| Output log:         | /dev/null                  |",
                          "| Retry:              | yes: 2 time(s)             |",
                          "| Timeout:            | 600s                       |",
                          "| Effective schedule: | 37 3 * * *                 |",
                          "| Time zone:          | Europe/Berlin              |",
                          "| Next schedule:      | 2024-01-02T02:37:00Z       |",
                          "| Status:             | Waiting for scheduled time |"}) {
    EXPECT_NE(out.find(row), std::string::npos) << row << "\n" << out;
  }
  EXPECT_EQ(out.find("Last schedule:"), std::string::npos) << "no previous fire yet";
  EXPECT_EQ(out.find("Port:"), std::string::npos) << "continuous jobs only";
  // No "Effective schedule" row when the expression is what the user wrote.
  json plain = kScheduled;
  plain["schedule_actual"] = "@daily";
  EXPECT_EQ(renderShow(plain, "/home/t").find("Effective schedule:"), std::string::npos);
}

TEST(Images, SimpleTable) {
  EXPECT_EQ(renderImages(json::parse(R"([
              {"shortname": "bookworm",
               "image": "docker-registry.tools.wmflabs.org/toolforge-bookworm-sssd:latest"},
              {"shortname": "python3.11", "image": "x/y:latest"}])")),
            "Short name    Container image URL\n"
            "------------  ----------------------------------------------------------------\n"
            "bookworm      docker-registry.tools.wmflabs.org/toolforge-bookworm-sssd:latest\n"
            "python3.11    x/y:latest");
}

TEST(Quota, ThreeTablesNumbersRightAligned) {
  EXPECT_EQ(renderQuota(json::parse(R"j({"categories": [
              {"name": "Running jobs", "items": [
                {"name": "Total running jobs at once (Kubernetes pods)", "limit": "10", "used": "1"},
                {"name": "Memory", "limit": "8.0Gi", "used": "0.5Gi"}]},
              {"name": "Per-job limits", "items": [{"name": "CPU", "limit": "1.0", "used": null}]},
              {"name": "Job definitions", "items": [
                {"name": "Cron jobs", "limit": "50", "used": "3"}]}]})j")),
            "Running jobs                                  Used    Limit\n"
            "--------------------------------------------  ------  -------\n"
            "Total running jobs at once (Kubernetes pods)  1       10\n"
            "Memory                                        0.5Gi   8.0Gi\n"
            "\n"
            "Per-job limits      Limit\n"
            "----------------  -------\n"
            "CPU                     1\n"
            "\n"
            "Job definitions      Used    Limit\n"
            "-----------------  ------  -------\n"
            "Cron jobs               3       50");
}

TEST(Logs, LineWithAndWithoutTime) {
  EXPECT_EQ(renderLogLine(json::parse(R"({"pod": "12", "container": "stdout",
              "datetime": "2024-01-01T00:00:00+00:00", "message": "hi"})")),
            "2024-01-01T00:00:00+00:00 [12] hi");
  EXPECT_EQ(renderLogLine(json::parse(
                R"({"pod": "x.out", "container": "stdout", "datetime": null, "message": "hi"})")),
            "[x.out] hi");
}

}  // namespace
}  // namespace tjf::cli

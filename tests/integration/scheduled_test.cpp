// Scheduled jobs end to end: the real tjfd, the real CLI, real processes. Firing on the minute is
// covered by the decide tables (engine/decide_scheduled_test.cpp) and by one slow test here that
// waits for a real minute boundary (at most ~65 s; set TJF_SKIP_SLOW_TESTS=1 to skip it).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <ctime>

#include "harness.hpp"

namespace tjf::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using nlohmann::json;

// "2024-05-01T03:37:00Z" for the next 03:37 UTC after now (tf-test/mycron's spread @daily).
std::string nextUtc(int hour, int minute) {
  const auto now = std::chrono::system_clock::now();
  const auto day = std::chrono::floor<std::chrono::days>(now);
  auto t = day + std::chrono::hours(hour) + std::chrono::minutes(minute);
  if (t <= now) t += std::chrono::days(1);
  const std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

class ScheduledTest : public ::testing::Test {
 protected:
  // Retries of a failed run after 200 ms instead of 10 s, so the retry test is quick.
  void SetUp() override {
    daemon_ = std::make_unique<TestDaemon>(DaemonOptions{.config_yaml = "retry_backoff_ms: 200\n"});
  }
  json runs(const std::string& name) {
    const auto [status, body] = daemon_->http("GET", "/v1/tool/tf-test/jobs/" + name + "/runs");
    EXPECT_EQ(status, 200) << body;
    return status == 200 ? json::parse(body).at("runs") : json::array();
  }
  // The runs of `name` that have ended, newest first.
  json endedRuns(const std::string& name) {
    json out = json::array();
    for (const auto& run : runs(name)) {
      const auto state = run.at("state").get<std::string>();
      if (state != "pending" && state != "running") out.push_back(run);
    }
    return out;
  }
  std::unique_ptr<TestDaemon> daemon_;
};

TEST_F(ScheduledTest, ListAndShowAScheduledJob) {
  auto r = daemon_->jobs({"run", "mycron", "--command", "./daily.sh", "--image", "bookworm",
                          "--schedule", "@daily"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_THAT(r.err, HasSubstr("WARNING: job 'mycron': command './daily.sh' not found"));

  r = daemon_->jobs({"list"});
  EXPECT_EQ(r.out,
            "Job name:    Job type:         Status:\n"
            "-----------  ----------------  --------------------------\n"
            "mycron       schedule: @daily  Waiting for scheduled time\n");

  // spreadMacro("@daily", "tf-test", "mycron") == "37 3 * * *" (upstream's test vector).
  const std::string next = nextUtc(3, 37);
  r = daemon_->jobs({"show", "mycron"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("| Job type:           | schedule: @daily "));
  EXPECT_THAT(r.out, HasSubstr("| Effective schedule: | 37 3 * * * "));
  EXPECT_THAT(r.out, HasSubstr("| Next schedule:      | " + next + " "));
  EXPECT_THAT(r.out, HasSubstr("| Status:             | Waiting for scheduled time "));
  EXPECT_THAT(r.out, HasSubstr("| Hints:              | No runs were created for this job yet."));
  EXPECT_EQ(r.out.find("Last schedule:"), std::string::npos);
  EXPECT_EQ(r.out.find("Time zone:"), std::string::npos) << "UTC is not shown";

  const json job = daemon_->showJson("mycron");
  EXPECT_EQ(job.at("job_type"), "scheduled");
  EXPECT_EQ(job.at("schedule"), "@daily");
  EXPECT_EQ(job.at("schedule_actual"), "37 3 * * *");
  EXPECT_EQ(job.at("time_zone"), "UTC");
  EXPECT_EQ(job.at("concurrency_policy"), "Forbid");
  EXPECT_EQ(job.at("starting_deadline_seconds"), 30);
  EXPECT_EQ(job.at("status").at("short"), "pending");
  EXPECT_EQ(job.at("status").at("next_schedule"), next);
  EXPECT_TRUE(job.at("status").at("previous_schedule").is_null());

  // A plain expression is kept as typed; the effective one is lowercased and single-spaced.
  r = daemon_->jobs({"run", "weekdays", "--command", "true", "--image", "bookworm", "--schedule",
                     "0  9 * *  MON-FRI", "--timezone", "Europe/Berlin"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = daemon_->jobs({"show", "weekdays"});
  EXPECT_THAT(r.out, HasSubstr("| Job type:           | schedule: 0  9 * *  MON-FRI "));
  EXPECT_THAT(r.out, HasSubstr("| Effective schedule: | 0 9 * * mon-fri "));
  EXPECT_THAT(r.out, HasSubstr("| Time zone:          | Europe/Berlin "));
  // 09:00 in Berlin is 07:00 or 08:00 UTC.
  EXPECT_THAT(daemon_->showJson("weekdays").at("status").at("next_schedule").get<std::string>(),
              MatchesRegex("....-..-..T0[78]:00:00Z"));
}

TEST_F(ScheduledTest, BadSchedulesAndZonesAreRefusedAndNothingIsCreated) {
  const struct {
    std::vector<std::string> flags;
    std::string message;
  } cases[] = {
      {{"--schedule", "@reboot"},
       "ERROR: Unable to parse cron expression \"@reboot\" (Unable to parse cron expression "
       "\"@reboot\": Invalid at-macro '@reboot', supported macros are: @hourly, @daily, @weekly, "
       "@monthly, @yearly)\n"},
      {{"--schedule", "* * * *"}, "Expected to find 5 space-separated values, found 4"},
      {{"--schedule", "*/60 * * * *"},
       "(Unable to parse cron expression \"*/60\": Invalid step value in '*')"},
      {{"--schedule", "1-2000 * * * *"}, "End value 2000 must be at most 59"},
      {{"--schedule", "0 0 * * *", "--timezone", "Mars/Olympus_Mons"},
       "ERROR: Unknown time zone 'Mars/Olympus_Mons'"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args = {"run", "bad", "--command", "true", "--image", "bookworm"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    const auto r = daemon_->jobs(args);
    EXPECT_EQ(r.exit_code, 1) << c.flags[1];
    EXPECT_THAT(r.err, HasSubstr(c.message));
  }
  EXPECT_EQ(daemon_->jobs({"list"}).out, "");
}

TEST_F(ScheduledTest, RestartRunsItNowWithoutMovingTheSchedule) {
  ASSERT_EQ(daemon_->jobs({"run", "mycron", "--command", "echo tick >> ticks.txt", "--image",
                           "bookworm", "--schedule", "@daily"}).exit_code, 0);
  const json before = daemon_->showJson("mycron").at("status");
  auto r = daemon_->jobs({"restart", "mycron"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return endedRuns("mycron").size() == 1; }));
  EXPECT_EQ(daemon_->readHomeFile("ticks.txt"), "tick\n");
  const json run = runs("mycron").at(0);
  EXPECT_EQ(run.at("reason"), "Completed");
  EXPECT_TRUE(run.at("scheduled_for").is_null()) << "a manual run has no fire time";

  const json job = daemon_->showJson("mycron");
  EXPECT_EQ(job.at("status").at("next_schedule"), before.at("next_schedule"));
  EXPECT_EQ(job.at("status_short"), "Waiting for scheduled time") << "manual runs are no fires";
  EXPECT_EQ(job.at("status").at("short"), "succeeded");
  EXPECT_FALSE(job.at("status").at("previous_schedule").is_null());
  EXPECT_THAT(job.at("status_long").get<std::string>(),
              HasSubstr("Started manually (toolforge jobs restart)."));

  r = daemon_->jobs({"restart", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("ERROR: Job 'nope' does not exist"));
}

TEST_F(ScheduledTest, RestartStopsTheRunningRunFirst) {
  ASSERT_EQ(daemon_->jobs({"run", "long", "--command", "sleep 300", "--image", "bookworm",
                           "--schedule", "@yearly"}).exit_code, 0);
  ASSERT_EQ(daemon_->jobs({"restart", "long"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] {
    const auto status = daemon_->showJson("long").at("status_short").get<std::string>();
    return status.rfind("Running for", 0) == 0;
  }));
  const auto first = runs("long").at(0).at("id");
  ASSERT_EQ(daemon_->jobs({"restart", "long"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] {
    const json all = runs("long");
    return all.size() == 2 && all.at(0).at("state") == "running";
  }));
  const json all = runs("long");
  EXPECT_EQ(all.at(1).at("id"), first);
  EXPECT_EQ(all.at(1).at("reason"), "Stopped");
  EXPECT_EQ(daemon_->jobs({"delete", "long"}).exit_code, 0);
}

TEST_F(ScheduledTest, TimeoutAndRetryApplyToItsRuns) {
  ASSERT_EQ(daemon_->jobs({"run", "slow", "--command", "sleep 60", "--image", "bookworm",
                           "--schedule", "@daily", "--timeout", "1"}).exit_code, 0);
  ASSERT_EQ(daemon_->jobs({"restart", "slow"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return endedRuns("slow").size() == 1; }));
  EXPECT_EQ(runs("slow").at(0).at("reason"), "DeadlineExceeded");
  EXPECT_THAT(daemon_->jobs({"show", "slow"}).out, HasSubstr("stopped at its timeout"));

  ASSERT_EQ(daemon_->jobs({"run", "flaky", "--command", "exit 3", "--image", "bookworm",
                           "--schedule", "@daily", "--retry", "1"}).exit_code, 0);
  ASSERT_EQ(daemon_->jobs({"restart", "flaky"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return endedRuns("flaky").size() == 2; }));
  const json all = runs("flaky");
  EXPECT_EQ(all.at(0).at("attempt"), 2);
  EXPECT_EQ(all.at(1).at("attempt"), 1);
  EXPECT_EQ(all.at(0).at("exit_code"), 3);
  EXPECT_TRUE(all.at(0).at("scheduled_for").is_null()) << "the retry of a manual run is manual";
}

TEST_F(ScheduledTest, ApiPoliciesAndLoadRoundTrip) {
  auto [status, body] = daemon_->http(
      "POST", "/v1/tool/tf-test/jobs/",
      R"({"name":"api","cmd":"true","imagename":"bookworm","schedule":"*/5 * * * *",)"
      R"("concurrency_policy":"Replace","starting_deadline_seconds":120,)"
      R"("time_zone":"Asia/Tokyo"})");
  ASSERT_EQ(status, 201) << body;
  json job = daemon_->showJson("api");
  EXPECT_EQ(job.at("concurrency_policy"), "Replace");
  EXPECT_EQ(job.at("starting_deadline_seconds"), 120);
  EXPECT_EQ(job.at("time_zone"), "Asia/Tokyo");
  EXPECT_THAT(job.at("status").at("next_schedule").get<std::string>(),
              MatchesRegex("....-..-..T..:.[05]:00Z"));

  daemon_->writeHomeFile("jobs.yaml",
                         "- name: nightly\n  command: ./nightly.sh\n  image: bookworm\n"
                         "  schedule: '@daily'\n  timeout: 600\n");
  auto r = daemon_->jobs({"load", (daemon_->home() / "jobs.yaml").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = daemon_->jobs({"load", (daemon_->home() / "jobs.yaml").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out + r.err, HasSubstr("already up to date"));
  EXPECT_EQ(daemon_->showJson("nightly").at("schedule_actual"), "35 14 * * *")
      << "spread for tf-test/nightly";
}

// A real fire on a real minute boundary: waits for the next one (at most ~65 s).
TEST_F(ScheduledTest, SlowFiresOnTheMinuteBoundary) {
  if (std::getenv("TJF_SKIP_SLOW_TESTS")) GTEST_SKIP() << "TJF_SKIP_SLOW_TESTS is set";
  ASSERT_EQ(daemon_->jobs({"run", "minutely", "--command", "date +%s.%N >> fired.txt", "--image",
                           "bookworm", "--schedule", "* * * * *"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return endedRuns("minutely").size() >= 1; },
                         std::chrono::seconds(65)));
  const json run = endedRuns("minutely").back();  // the first fire
  ASSERT_FALSE(run.at("scheduled_for").is_null());
  EXPECT_EQ(run.at("reason"), "Completed");
  EXPECT_THAT(run.at("scheduled_for").get<std::string>(), MatchesRegex("....-..-..T..:..:00Z"));
  // Fired within a second of its time (the run's start is recorded to the second).
  EXPECT_THAT(run.at("started_at").get<std::string>(), MatchesRegex("....-..-..T..:..:0[01]Z"));
  EXPECT_EQ(run.at("started_at").get<std::string>().substr(0, 16),
            run.at("scheduled_for").get<std::string>().substr(0, 16));
  const json job = daemon_->showJson("minutely");
  EXPECT_EQ(job.at("status_short"),
            "Last schedule time: " + run.at("scheduled_for").get<std::string>());
  EXPECT_EQ(daemon_->jobs({"list"}).out.find("schedule: * * * * *") != std::string::npos, true);
}

}  // namespace
}  // namespace tjf::testing

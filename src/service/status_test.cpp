#include <gtest/gtest.h>

#include "base/time_format.hpp"
#include "service/status.hpp"

namespace tjf::service {
namespace {

using model::RunReason;
using model::RunRecord;
using model::RunState;

const TimePoint kStart = *parseIsoUtc("2021-06-30T10:26:08Z");

RunRecord finished(RunState state, RunReason reason, std::optional<int> exit_code) {
  RunRecord r;
  r.id = 7;
  r.state = state;
  r.reason = reason;
  r.started_at = kStart;
  r.finished_at = kStart + std::chrono::seconds(3);
  r.exit_code = exit_code;
  return r;
}

TEST(OneOffStatus, RunningShowsUpstreamDuration) {
  RunRecord r;
  r.state = RunState::kRunning;
  r.started_at = kStart;
  const auto s = oneOffStatus({}, {r}, kStart + std::chrono::seconds(182));
  EXPECT_EQ(s.status_short, "Running for 3m2s");
  EXPECT_EQ(s.state, "running");
  EXPECT_EQ(s.status_long,
            "Last run at 2021-06-30T10:26:08Z. Run in 'Running' phase. State 'running'. Started "
            "at '2021-06-30T10:26:08Z'.");
}

TEST(OneOffStatus, ARunWhosePodsTheClusterHoldsBackIsOutOfQuota) {
  RunRecord r;
  r.state = RunState::kRunning;
  r.started_at = kStart;
  r.message = "Unable to start, out of quota for cpu, pods";  // the runtime's note
  const auto s = oneOffStatus({}, {r}, kStart + std::chrono::seconds(5));
  EXPECT_EQ(s.status_short, "Unable to start, out of quota for cpu, pods");
  EXPECT_EQ(s.state, "pending");
}

TEST(OneOffStatus, CompletedAndFailedNameTheEnd) {
  auto done = oneOffStatus({}, {finished(RunState::kSucceeded, RunReason::kCompleted, 0)},
                           kStart + std::chrono::seconds(10));
  EXPECT_EQ(done.status_short, "Completed");
  EXPECT_EQ(done.state, "succeeded");
  EXPECT_EQ(done.status_long,
            "Last run at 2021-06-30T10:26:08Z. Run in 'Succeeded' phase. State 'terminated'. "
            "Reason 'Completed'. Started at '2021-06-30T10:26:08Z'. Finished at "
            "'2021-06-30T10:26:11Z'. Exit code '0'.");
  auto failed = oneOffStatus({}, {finished(RunState::kFailed, RunReason::kError, 3)},
                             kStart + std::chrono::seconds(10));
  EXPECT_EQ(failed.status_short, "Failed");
  EXPECT_EQ(failed.state, "failed");
  EXPECT_NE(failed.status_long.find("Exit code '3'. Additional message:'exit code 3'."),
            std::string::npos)
      << failed.status_long;
  auto oom = finished(RunState::kFailed, RunReason::kOomKilled, 137);
  oom.signal = 9;
  EXPECT_NE(oneOffStatus({}, {oom}, kStart).status_long.find("Reason 'OOMKilled'"),
            std::string::npos);
}

TEST(OneOffStatus, RetryBackOffIsVisible) {
  model::ResolvedJob job;
  job.retry = 2;
  RunRecord pending;
  pending.state = RunState::kPending;
  pending.attempt = 2;
  pending.not_before = kStart + std::chrono::seconds(20);
  const auto s = oneOffStatus(job, {pending, finished(RunState::kFailed, RunReason::kError, 1)},
                              kStart + std::chrono::seconds(10));
  EXPECT_EQ(s.status_short, "Retrying in 11s (attempt 2 of 3)");
  EXPECT_EQ(s.state, "pending");
  EXPECT_NE(s.status_long.find("Exit code '1'"), std::string::npos) << s.status_long;
}

TEST(EndDescription, NamesSignals) {
  RunRecord r;
  r.state = RunState::kFailed;
  r.reason = RunReason::kSignal;
  r.signal = 15;
  EXPECT_EQ(endDescription(r), "killed by signal 15 (SIGTERM)");
}

// ---- Continuous jobs (continuousStatus) -----------------------------------------------------

RunRecord continuousRun(std::int64_t id, int replica, int attempt, RunState state,
                        RunReason reason = RunReason::kNone) {
  RunRecord r;
  r.id = id;
  r.replica = replica;
  r.attempt = attempt;
  r.state = state;
  r.reason = reason;
  if (state != RunState::kPending) r.started_at = kStart;
  if (model::isFinal(state)) {
    r.finished_at = kStart + std::chrono::seconds(3);
    if (reason == RunReason::kError) r.exit_code = 1;
  }
  return r;
}

const auto kAllPassed = [](std::int64_t) { return true; };

TEST(ContinuousStatus, AllReplicasRunningIsRunning) {
  model::ResolvedJob job;
  job.replicas = 2;
  const auto s = continuousStatus(job,
                                  {continuousRun(2, 1, 1, RunState::kRunning),
                                   continuousRun(1, 0, 1, RunState::kRunning)},
                                  kAllPassed, kStart, kStart + std::chrono::seconds(65));
  EXPECT_EQ(s.status_short, "Running");
  EXPECT_EQ(s.state, "running");
  EXPECT_EQ(s.duration, "1m5s");
  EXPECT_EQ(s.status_long,
            "Last run at 2021-06-30T10:26:08Z. Run in 'Running' phase. State 'running'. Started "
            "at '2021-06-30T10:26:08Z'. 2 of 2 replicas running.");
}

TEST(ContinuousStatus, CrashLoopFailsToRunWithRestartsExitCodeAndBackOff) {
  model::ResolvedJob job;
  auto waiting = continuousRun(4, 0, 4, RunState::kPending);
  waiting.not_before = kStart + std::chrono::seconds(3 + 80);
  const auto s = continuousStatus(job,
                                  {waiting, continuousRun(3, 0, 3, RunState::kFailed,
                                                          RunReason::kError)},
                                  kAllPassed, kStart, kStart + std::chrono::seconds(13));
  EXPECT_EQ(s.status_short, "Specified command fails to run");
  EXPECT_EQ(s.state, "pending");
  EXPECT_EQ(s.status_long,
            "Last run at 2021-06-30T10:26:08Z. Run in 'Failed' phase. Run has been restarted 2 "
            "times. State 'terminated'. Reason 'Error'. Started at '2021-06-30T10:26:08Z'. "
            "Finished at '2021-06-30T10:26:11Z'. Exit code '1'. Additional message:'exit code "
            "1'. Restarting in 1m11s (back-off).");
  EXPECT_EQ(s.messages, (std::vector<std::string>{"restarted (2)", "exitcode 1"}));
  // After upstream's 600 s progress deadline, the v2 state is failed.
  EXPECT_EQ(continuousStatus(job, {waiting}, kAllPassed, kStart - std::chrono::minutes(20),
                             kStart + std::chrono::seconds(13))
                .state,
            "failed");
}

TEST(ContinuousStatus, ARestartedRunNamesThePreviousEnd) {
  model::ResolvedJob job;
  auto previous = continuousRun(1, 0, 1, RunState::kFailed, RunReason::kSignal);
  previous.signal = 9;
  previous.exit_code = 137;
  auto current = continuousRun(2, 0, 2, RunState::kRunning);
  current.started_at = kStart + std::chrono::seconds(13);
  const auto s = continuousStatus(job, {current, previous}, kAllPassed, kStart,
                                  kStart + std::chrono::seconds(20));
  EXPECT_EQ(s.status_short, "Running");
  EXPECT_NE(s.status_long.find(" Run has been restarted 1 times."), std::string::npos)
      << s.status_long;
  EXPECT_NE(s.status_long.find(" Previous run ended at '2021-06-30T10:26:11Z' with reason "
                               "'Signal': killed by signal 9 (SIGKILL)."),
            std::string::npos)
      << s.status_long;
}

TEST(ContinuousStatus, WaitingForTheHealthCheckIsNotRunningYet) {
  model::ResolvedJob job;
  const auto s = continuousStatus(job, {continuousRun(1, 0, 1, RunState::kRunning)},
                                  [](std::int64_t) { return false; }, kStart,
                                  kStart + std::chrono::seconds(5));
  EXPECT_EQ(s.status_short, "Not running");
  EXPECT_EQ(s.state, "pending");
  EXPECT_NE(s.status_long.find("Waiting for the health check to pass."), std::string::npos);
  EXPECT_EQ(s.messages, (std::vector<std::string>{"waiting for the health check"}));
}

TEST(ContinuousStatus, AHealthCheckFailureIsNamed) {
  model::ResolvedJob job;
  auto failed = continuousRun(1, 0, 1, RunState::kFailed, RunReason::kHealthCheckFailed);
  failed.exit_code = 143;
  failed.message = "the health check failed 3 times in a row (last: HTTP 503)";
  const auto s = continuousStatus(job, {failed}, kAllPassed, kStart,
                                  kStart + std::chrono::seconds(5));
  EXPECT_EQ(s.status_short, "Specified command fails to run");
  EXPECT_NE(s.status_long.find("Reason 'HealthCheckFailed'."), std::string::npos);
  EXPECT_NE(s.status_long.find("(last: HTTP 503)"), std::string::npos) << s.status_long;
}

TEST(ContinuousStatus, OneCrashingReplicaOfThreeFailsTheJob) {
  model::ResolvedJob job;
  job.replicas = 3;
  const auto s = continuousStatus(job,
                                  {continuousRun(3, 2, 1, RunState::kRunning),
                                   continuousRun(2, 1, 1, RunState::kFailed, RunReason::kError),
                                   continuousRun(1, 0, 1, RunState::kRunning)},
                                  kAllPassed, kStart, kStart + std::chrono::seconds(5));
  EXPECT_EQ(s.status_short, "Specified command fails to run");
  EXPECT_NE(s.status_long.find("Reason 'Error'"), std::string::npos) << "replica 1 is shown";
  EXPECT_NE(s.status_long.find("2 of 3 replicas running."), std::string::npos);
}

TEST(ContinuousStatus, LostOrStoppedRunsAreNotRunningRatherThanFailing) {
  model::ResolvedJob job;
  const auto s = continuousStatus(
      job, {continuousRun(1, 0, 1, RunState::kLost, RunReason::kLost)}, kAllPassed, kStart,
      kStart + std::chrono::seconds(5));
  EXPECT_EQ(s.status_short, "Not running");
}

TEST(ContinuousStatus, NoRunsYetAndScaledToZero) {
  model::ResolvedJob job;
  EXPECT_EQ(continuousStatus(job, {}, kAllPassed, kStart, kStart).status_long,
            "No runs were created for this job yet.");
  job.replicas = 0;
  const auto s = continuousStatus(job, {continuousRun(1, 0, 1, RunState::kFailed,
                                                      RunReason::kStopped)},
                                  kAllPassed, kStart, kStart);
  EXPECT_EQ(s.status_short, "Not running");
  EXPECT_EQ(s.status_long, "The job is scaled to 0 replicas.");
}

// ---- Scheduled jobs (scheduledStatus) ---------------------------------------------------------

RunRecord scheduledRun(std::int64_t id, std::optional<const char*> fire, RunState state,
                       RunReason reason = RunReason::kNone, std::int64_t generation = 1) {
  RunRecord r;
  r.id = id;
  r.generation = generation;
  r.state = state;
  r.reason = reason;
  if (fire) r.scheduled_for = *parseIsoUtc(*fire);
  r.created_at = r.scheduled_for.value_or(kStart);
  if (state != RunState::kPending && state != RunState::kSkipped) r.started_at = r.created_at;
  if (model::isFinal(state)) r.finished_at = r.created_at + std::chrono::seconds(5);
  return r;
}

TEST(ScheduledStatus, WaitingForTheFirstFire) {
  const auto schedule = cron::parseSchedule("@daily", "tf-test", "mycron", "UTC");
  ASSERT_TRUE(schedule);
  const auto s = scheduledStatus({}, {}, 1, &*schedule, kStart, kStart + std::chrono::seconds(90));
  EXPECT_EQ(s.status_short, "Waiting for scheduled time");
  EXPECT_EQ(s.status_long, "No runs were created for this job yet.");
  EXPECT_EQ(s.state, "pending");
  EXPECT_EQ(s.duration, "1m30s");
  EXPECT_FALSE(s.previous_schedule.has_value());
  EXPECT_EQ(formatIsoUtc(s.next_schedule.value()), "2021-07-01T03:37:00Z");
}

TEST(ScheduledStatus, RunningThenLastScheduleTime) {
  const auto now = *parseIsoUtc("2021-06-30T10:29:02Z");
  auto s = scheduledStatus(
      {}, {scheduledRun(2, "2021-06-30T10:26:00Z", RunState::kRunning)}, 1, nullptr, kStart, now);
  EXPECT_EQ(s.status_short, "Running for 3m2s");
  EXPECT_EQ(s.state, "running");
  EXPECT_EQ(formatIsoUtc(s.previous_schedule.value()), "2021-06-30T10:26:00Z");
  EXPECT_FALSE(s.next_schedule.has_value()) << "no schedule given";

  s = scheduledStatus({},
                      {scheduledRun(2, "2021-06-30T10:26:00Z", RunState::kFailed, RunReason::kError)},
                      1, nullptr, kStart, now);
  EXPECT_EQ(s.status_short, "Last schedule time: 2021-06-30T10:26:00Z");
  EXPECT_EQ(s.state, "failed");
  EXPECT_EQ(s.status_long,
            "Last run at 2021-06-30T10:26:00Z. Run in 'Failed' phase. State 'terminated'. Reason "
            "'Error'. Started at '2021-06-30T10:26:00Z'. Finished at '2021-06-30T10:26:05Z'.");
}

TEST(ScheduledStatus, SkippedFiresAreNamedInTheHints) {
  auto skipped = scheduledRun(3, "2021-06-30T10:27:00Z", RunState::kSkipped,
                              RunReason::kConcurrencyForbid);
  skipped.message = "the run of 2021-06-30T10:26:00Z (run 2) was still running";
  const auto s = scheduledStatus(
      {}, {skipped, scheduledRun(2, "2021-06-30T10:26:00Z", RunState::kSucceeded,
                                 RunReason::kCompleted)},
      1, nullptr, kStart, *parseIsoUtc("2021-06-30T10:28:00Z"));
  EXPECT_EQ(s.status_short, "Last schedule time: 2021-06-30T10:26:00Z");
  EXPECT_EQ(s.state, "succeeded");
  EXPECT_EQ(s.status_long,
            "Last run at 2021-06-30T10:26:00Z. Run in 'Succeeded' phase. State 'terminated'. "
            "Reason 'Completed'. Started at '2021-06-30T10:26:00Z'. Finished at "
            "'2021-06-30T10:26:05Z'. The run of 2021-06-30T10:27:00Z was skipped: the run of "
            "2021-06-30T10:26:00Z (run 2) was still running.");
}

TEST(ScheduledStatus, AManualRunShowsInHintsAndPreviousScheduleButNotInLastScheduleTime) {
  const auto s = scheduledStatus(
      {},
      {scheduledRun(5, std::nullopt, RunState::kSucceeded, RunReason::kCompleted, 2),
       scheduledRun(2, "2021-06-30T10:00:00Z", RunState::kSucceeded, RunReason::kCompleted, 1)},
      2, nullptr, kStart, kStart + std::chrono::seconds(60));
  EXPECT_EQ(s.status_short, "Last schedule time: 2021-06-30T10:00:00Z");
  EXPECT_EQ(formatIsoUtc(s.previous_schedule.value()), "2021-06-30T10:26:08Z");
  EXPECT_NE(s.status_long.find("Started manually (toolforge jobs restart)."), std::string::npos)
      << s.status_long;
}

TEST(ScheduledStatus, ARetryWaitingForItsBackOff) {
  model::ResolvedJob job;
  job.retry = 2;
  auto retry = scheduledRun(3, "2021-06-30T10:26:00Z", RunState::kPending);
  retry.attempt = 2;
  retry.not_before = *parseIsoUtc("2021-06-30T10:26:20Z");
  const auto s = scheduledStatus(
      job, {retry, scheduledRun(2, "2021-06-30T10:26:00Z", RunState::kFailed, RunReason::kError)},
      1, nullptr, kStart, *parseIsoUtc("2021-06-30T10:26:10Z"));
  EXPECT_EQ(s.status_short, "Retrying in 11s (attempt 2 of 3)");
  EXPECT_EQ(s.state, "pending");
}

}  // namespace
}  // namespace tjf::service

namespace tjf::service {
namespace {

// Between a failed attempt being recorded and the next one being created, the job must not look
// failed: `--wait` would stop there.
TEST(OneOffStatus, AFailedAttemptWithRetriesLeftIsStillPending) {
  model::ResolvedJob job;
  job.retry = 1;
  model::RunRecord failed;
  failed.state = model::RunState::kFailed;
  failed.reason = model::RunReason::kError;
  failed.attempt = 1;
  failed.exit_code = 1;
  failed.started_at = failed.finished_at = fromUnixMillis(1'000'000);
  auto s = oneOffStatus(job, {failed}, fromUnixMillis(1'001'000));
  EXPECT_EQ(s.state, "pending");
  EXPECT_EQ(s.status_short, "Retrying (attempt 2 of 2)");
  failed.attempt = 2;
  s = oneOffStatus(job, {failed}, fromUnixMillis(1'001'000));
  EXPECT_EQ(s.state, "failed");
  failed.attempt = 1;
  failed.reason = model::RunReason::kStopped;
  EXPECT_EQ(oneOffStatus(job, {failed}, fromUnixMillis(1'001'000)).state, "failed");
}

}  // namespace
}  // namespace tjf::service

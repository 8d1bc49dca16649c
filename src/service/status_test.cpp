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

}  // namespace
}  // namespace tjf::service

// The scheduled decide step as tables and timelines, on a ManualClock: firing, Forbid / Allow /
// Replace, the starting deadline, daemon downtime, retries, manual runs (restart) and DST.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "base/time_format.hpp"
#include "engine/admission.hpp"
#include "engine/decide_scheduled.hpp"

namespace tjf::engine {
namespace {

using model::ConcurrencyPolicy;
using model::RunReason;
using model::RunRecord;
using model::RunState;
using ::testing::HasSubstr;

TimePoint at(const char* iso) {
  auto t = parseIsoUtc(iso);
  EXPECT_TRUE(t.has_value()) << iso;
  return t.value_or(TimePoint{});
}

std::string show(std::optional<TimePoint> t) { return t ? formatIsoUtc(*t) : "none"; }

cron::Schedule schedule(const char* expr, const char* zone = "UTC", const char* tool = "tool",
                        const char* job = "job") {
  auto s = cron::parseSchedule(expr, tool, job, zone);
  EXPECT_TRUE(s.has_value()) << expr << ": " << (s ? "" : s.error().message);
  return s.value_or(cron::Schedule{});
}

class DecideScheduledTest : public ::testing::Test {
 protected:
  // A run of the fire at `fire` (nullopt: the manual run).
  RunRecord run(std::int64_t id, std::optional<TimePoint> fire, RunState state, int attempt = 1,
                RunReason reason = RunReason::kNone) {
    RunRecord r;
    r.id = id;
    r.attempt = attempt;
    r.state = state;
    r.reason = reason;
    r.scheduled_for = fire;
    r.created_at = fire.value_or(clock_.now());
    if (state != RunState::kPending) r.started_at = r.created_at;
    if (model::isFinal(state)) r.finished_at = clock_.now();
    return r;
  }

  ScheduledDecision decide(const cron::Schedule& s) {
    return decideScheduled(job_, s, input_, clock_.now(), policy_);
  }

  ManualClock clock_{at("2024-05-01T09:59:45Z")};
  model::ResolvedJob job_;  // Forbid, 30 s deadline, no retry: the defaults
  ScheduledInput input_{.generation_start = at("2024-05-01T09:59:30Z")};
  RetryPolicy policy_;
  const cron::Schedule every_minute_ = schedule("* * * * *");
};

const CreateRun& createAt(const ScheduledDecision& d, std::size_t i) {
  return std::get<CreateRun>(d.actions.at(i));
}

// ---- Firing ---------------------------------------------------------------------------------

TEST_F(DecideScheduledTest, ANewJobWaitsForItsFirstFireTime) {
  const auto d = decide(every_minute_);
  EXPECT_TRUE(d.actions.empty());
  EXPECT_TRUE(d.skips.empty());
  EXPECT_FALSE(d.wake_at.has_value());
  EXPECT_EQ(show(d.next_fire), "2024-05-01T10:00:00Z");
}

TEST_F(DecideScheduledTest, FiresAtTheFireTimeWithTheFireTimeAsIdentity) {
  clock_.set(at("2024-05-01T10:00:00Z") + Millis(3));
  const auto d = decide(every_minute_);
  ASSERT_EQ(d.actions.size(), 1u);
  const auto& create = createAt(d, 0);
  EXPECT_EQ(show(create.scheduled_for), "2024-05-01T10:00:00Z");
  EXPECT_EQ(create.attempt, 1);
  EXPECT_EQ(create.replica, 0);
  EXPECT_FALSE(create.not_before.has_value());
  EXPECT_TRUE(d.skips.empty());
  EXPECT_EQ(show(d.next_fire), "2024-05-01T10:01:00Z");
}

TEST_F(DecideScheduledTest, AFireIsHandledOnceWhateverBecameOfItsRun) {
  clock_.set(at("2024-05-01T10:00:20Z"));
  for (const auto state : {RunState::kPending, RunState::kRunning, RunState::kSucceeded,
                           RunState::kFailed, RunState::kLost, RunState::kSkipped}) {
    input_.runs = {run(1, at("2024-05-01T10:00:00Z"), state)};
    const auto d = decide(every_minute_);
    for (const auto& action : d.actions) {
      if (const auto* create = std::get_if<CreateRun>(&action)) {
        ADD_FAILURE() << "fired again with a run in state " << model::toString(state) << " for "
                      << show(create->scheduled_for);
      }
    }
    EXPECT_TRUE(d.skips.empty()) << model::toString(state);
    EXPECT_EQ(show(d.next_fire), "2024-05-01T10:01:00Z");
  }
}

TEST_F(DecideScheduledTest, FireTimesOfAnEarlierGenerationAreNotFiredAgain) {
  // Updated (or restarted) at 10:00:20, after the 10:00 fire of the old definition.
  input_.generation_start = at("2024-05-01T10:00:20Z");
  clock_.set(at("2024-05-01T10:00:25Z"));
  auto d = decide(every_minute_);
  EXPECT_TRUE(d.actions.empty());
  EXPECT_TRUE(d.skips.empty());
  clock_.set(at("2024-05-01T10:01:00Z"));
  d = decide(every_minute_);
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(show(createAt(d, 0).scheduled_for), "2024-05-01T10:01:00Z");
}

TEST_F(DecideScheduledTest, MacrosFireAtTheSpreadTime) {
  // decisions.md: "tf-test mycron" @daily is 37 3 * * * (upstream's test vector).
  const auto daily = schedule("@daily", "UTC", "tf-test", "mycron");
  EXPECT_EQ(daily.effective, "37 3 * * *");
  input_.generation_start = at("2024-05-01T00:00:00Z");
  clock_.set(at("2024-05-01T03:36:59Z"));
  EXPECT_TRUE(decide(daily).actions.empty());
  EXPECT_EQ(show(decide(daily).next_fire), "2024-05-01T03:37:00Z");
  clock_.set(at("2024-05-01T03:37:00Z"));
  const auto d = decide(daily);
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(show(createAt(d, 0).scheduled_for), "2024-05-01T03:37:00Z");
  EXPECT_EQ(show(d.next_fire), "2024-05-02T03:37:00Z");
}

TEST_F(DecideScheduledTest, AScheduleThatNeverFiresHasNoNextFire) {
  const auto d = decide(schedule("0 0 30 2 *"));
  EXPECT_TRUE(d.actions.empty());
  EXPECT_FALSE(d.next_fire.has_value());
}

// ---- Concurrency ------------------------------------------------------------------------------

TEST_F(DecideScheduledTest, ForbidRecordsTheFireAsSkippedWhileARunIsActive) {
  clock_.set(at("2024-05-01T10:01:00Z") + Millis(2));
  input_.runs = {run(7, at("2024-05-01T10:00:00Z"), RunState::kRunning)};
  const auto d = decide(every_minute_);
  EXPECT_TRUE(d.actions.empty());
  ASSERT_EQ(d.skips.size(), 1u);
  EXPECT_EQ(show(d.skips[0].scheduled_for), "2024-05-01T10:01:00Z");
  EXPECT_EQ(d.skips[0].reason, RunReason::kConcurrencyForbid);
  EXPECT_EQ(d.skips[0].message, "the run of 2024-05-01T10:00:00Z (run 7) was still running");
  EXPECT_EQ(show(d.next_fire), "2024-05-01T10:02:00Z");
}

TEST_F(DecideScheduledTest, ForbidCountsARetryWaitingForItsBackOffAsActive) {
  job_.retry = 2;
  clock_.set(at("2024-05-01T10:01:00Z"));
  RunRecord retry = run(8, at("2024-05-01T10:00:00Z"), RunState::kPending, 2);
  retry.not_before = at("2024-05-01T10:01:05Z");
  input_.runs = {run(7, at("2024-05-01T10:00:00Z"), RunState::kFailed, 1, RunReason::kError),
                 retry};
  const auto d = decide(every_minute_);
  EXPECT_TRUE(d.actions.empty());
  ASSERT_EQ(d.skips.size(), 1u);
  EXPECT_EQ(d.skips[0].reason, RunReason::kConcurrencyForbid);
  EXPECT_THAT(d.skips[0].message, HasSubstr("(run 8) was still waiting to be retried"));
  EXPECT_EQ(show(d.wake_at), "2024-05-01T10:01:05Z");
}

TEST_F(DecideScheduledTest, ForbidCountsAFailureAboutToBeRetriedAsActive) {
  // The run failed just before the fire; its retry is created by this very decision.
  job_.retry = 1;
  clock_.set(at("2024-05-01T10:01:00Z"));
  input_.runs = {run(7, at("2024-05-01T10:00:00Z"), RunState::kFailed, 1, RunReason::kError)};
  const auto d = decide(every_minute_);
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(createAt(d, 0).attempt, 2);
  EXPECT_EQ(show(createAt(d, 0).scheduled_for), "2024-05-01T10:00:00Z");
  ASSERT_EQ(d.skips.size(), 1u);
  EXPECT_EQ(d.skips[0].reason, RunReason::kConcurrencyForbid);
}

TEST_F(DecideScheduledTest, ForbidCountsARunOfThePreviousDefinitionStillStopping) {
  input_.superseded_active = true;
  clock_.set(at("2024-05-01T10:00:00Z"));
  const auto d = decide(every_minute_);
  EXPECT_TRUE(d.actions.empty());
  ASSERT_EQ(d.skips.size(), 1u);
  EXPECT_EQ(d.skips[0].message, "a run of the job's previous definition was still stopping");
}

TEST_F(DecideScheduledTest, ForbidFiresWhenThePreviousRunHasEnded) {
  clock_.set(at("2024-05-01T10:01:00Z"));
  for (const auto state : {RunState::kSucceeded, RunState::kFailed, RunState::kLost}) {
    input_.runs = {run(7, at("2024-05-01T10:00:00Z"), state, 1, RunReason::kError)};
    const auto d = decide(every_minute_);
    ASSERT_EQ(d.actions.size(), 1u) << model::toString(state);
    EXPECT_EQ(show(createAt(d, 0).scheduled_for), "2024-05-01T10:01:00Z");
    EXPECT_TRUE(d.skips.empty());
  }
}

TEST_F(DecideScheduledTest, AllowStartsBesideTheActiveRun) {
  job_.concurrency_policy = ConcurrencyPolicy::kAllow;
  clock_.set(at("2024-05-01T10:01:00Z"));
  input_.runs = {run(7, at("2024-05-01T10:00:00Z"), RunState::kRunning)};
  const auto d = decide(every_minute_);
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(show(createAt(d, 0).scheduled_for), "2024-05-01T10:01:00Z");
  EXPECT_TRUE(d.skips.empty());
}

TEST_F(DecideScheduledTest, ReplaceStopsTheRunningRunThenStarts) {
  job_.concurrency_policy = ConcurrencyPolicy::kReplace;
  clock_.set(at("2024-05-01T10:01:00Z"));
  input_.runs = {run(7, at("2024-05-01T10:00:00Z"), RunState::kRunning)};
  const auto d = decide(every_minute_);
  ASSERT_EQ(d.actions.size(), 2u);
  const auto& stop = std::get<StopRun>(d.actions[0]);
  EXPECT_EQ(stop.run_id, 7);
  EXPECT_EQ(stop.reason, RunReason::kStopped);
  EXPECT_EQ(show(createAt(d, 1).scheduled_for), "2024-05-01T10:01:00Z");
  EXPECT_TRUE(d.skips.empty());
}

TEST_F(DecideScheduledTest, ReplaceCancelsPendingRetriesAndDropsTheOnesAboutToBeCreated) {
  job_.concurrency_policy = ConcurrencyPolicy::kReplace;
  job_.retry = 3;
  clock_.set(at("2024-05-01T10:02:00Z"));
  RunRecord waiting = run(8, at("2024-05-01T10:00:00Z"), RunState::kPending, 2);
  waiting.not_before = at("2024-05-01T10:02:30Z");
  input_.runs = {run(7, at("2024-05-01T10:00:00Z"), RunState::kFailed, 1, RunReason::kError),
                 waiting,
                 run(9, at("2024-05-01T10:01:00Z"), RunState::kFailed, 1, RunReason::kError)};
  const auto d = decide(every_minute_);
  ASSERT_EQ(d.actions.size(), 2u);
  const auto& cancel = std::get<CancelRun>(d.actions[0]);
  EXPECT_EQ(cancel.run_id, 8);
  EXPECT_EQ(cancel.reason, RunReason::kStopped);
  EXPECT_EQ(show(createAt(d, 1).scheduled_for), "2024-05-01T10:02:00Z");
  EXPECT_EQ(createAt(d, 1).attempt, 1);
  EXPECT_FALSE(d.wake_at.has_value());
}

// ---- Starting deadline ------------------------------------------------------------------------

TEST_F(DecideScheduledTest, TheStartingDeadlineIsThirtySecondsByDefault) {
  const struct {
    const char* now;
    bool fires;
  } cases[] = {
      {"2024-05-01T10:00:00Z", true},
      {"2024-05-01T10:00:29Z", true},
      {"2024-05-01T10:00:30Z", true},  // exactly the deadline: still in time
      {"2024-05-01T10:00:31Z", false},
      {"2024-05-01T10:00:59Z", false},
  };
  for (const auto& c : cases) {
    clock_.set(at(c.now));
    const auto d = decide(every_minute_);
    if (c.fires) {
      ASSERT_EQ(d.actions.size(), 1u) << c.now;
      EXPECT_TRUE(d.skips.empty()) << c.now;
    } else {
      EXPECT_TRUE(d.actions.empty()) << c.now;
      ASSERT_EQ(d.skips.size(), 1u) << c.now;
      EXPECT_EQ(d.skips[0].reason, RunReason::kMissedDeadline);
      EXPECT_EQ(show(d.skips[0].scheduled_for), "2024-05-01T10:00:00Z");
    }
  }
  clock_.set(at("2024-05-01T10:00:31Z"));
  EXPECT_EQ(decide(every_minute_).skips.at(0).message,
            "the fire time 2024-05-01T10:00:00Z was reached 31s late, past the starting deadline "
            "of 30s (the daemon was not running or fell behind)");
}

TEST_F(DecideScheduledTest, TheDeadlineIsPerJobAndZeroMeansNone) {
  job_.starting_deadline_seconds = 120;
  clock_.set(at("2024-05-01T10:01:59Z"));
  auto d = decide(schedule("0 10 * * *"));
  ASSERT_EQ(d.actions.size(), 1u);
  clock_.set(at("2024-05-01T10:02:01Z"));
  d = decide(schedule("0 10 * * *"));
  EXPECT_TRUE(d.actions.empty());
  ASSERT_EQ(d.skips.size(), 1u);

  job_.starting_deadline_seconds = 0;
  clock_.set(at("2024-05-01T18:00:00Z"));
  d = decide(schedule("0 10 * * *"));
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(show(createAt(d, 0).scheduled_for), "2024-05-01T10:00:00Z");
  EXPECT_TRUE(d.skips.empty());
}

TEST_F(DecideScheduledTest, ARunCreatedButNeverStartedStartsOnlyInsideTheDeadline) {
  // The daemon stopped between writing the run and starting it.
  input_.runs = {run(3, at("2024-05-01T10:00:00Z"), RunState::kPending)};
  clock_.set(at("2024-05-01T10:00:10Z"));
  auto d = decide(every_minute_);
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(std::get<StartRun>(d.actions[0]).run_id, 3);

  clock_.set(at("2024-05-01T10:00:45Z"));
  d = decide(every_minute_);
  ASSERT_EQ(d.actions.size(), 1u);
  const auto& cancel = std::get<CancelRun>(d.actions[0]);
  EXPECT_EQ(cancel.run_id, 3);
  EXPECT_EQ(cancel.reason, RunReason::kMissedDeadline);
  EXPECT_TRUE(d.skips.empty());
}

TEST_F(DecideScheduledTest, ARunWaitingForQuotaIsNeverTooLate) {
  RunRecord waiting = run(3, at("2024-05-01T10:04:00Z"), RunState::kPending);
  waiting.message = "Unable to start, out of quota for cpu";
  ASSERT_TRUE(isQuotaWait(waiting.message));
  input_.runs = {waiting};
  clock_.set(at("2024-05-01T10:05:00Z"));
  const auto d = decide(every_minute_);
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(std::get<StartRun>(d.actions[0]).run_id, 3);  // admission decides again
  ASSERT_EQ(d.skips.size(), 1u);  // and the 10:05 fire is skipped under Forbid
  EXPECT_EQ(d.skips[0].reason, RunReason::kConcurrencyForbid);
}

// ---- Downtime ---------------------------------------------------------------------------------

TEST_F(DecideScheduledTest, AfterDowntimeTheLatestFireRunsOnceIfInsideTheDeadline) {
  // Last fired at 07:00, the daemon came back at 10:00:10: 179 fire times (07:01 ... 09:59)
  // were missed, 10:00 is still in time.
  input_.generation_start = at("2024-05-01T00:00:00Z");
  input_.runs = {run(1, at("2024-05-01T07:00:00Z"), RunState::kSucceeded)};
  clock_.set(at("2024-05-01T10:00:10Z"));
  const auto d = decide(every_minute_);
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(show(createAt(d, 0).scheduled_for), "2024-05-01T10:00:00Z");
  ASSERT_EQ(d.skips.size(), 1u);  // one record, not 179
  EXPECT_EQ(show(d.skips[0].scheduled_for), "2024-05-01T09:59:00Z");
  EXPECT_EQ(d.skips[0].reason, RunReason::kMissedDeadline);
  EXPECT_EQ(d.skips[0].message,
            "179 fire times from 2024-05-01T07:01:00Z to 2024-05-01T09:59:00Z were missed (the "
            "daemon was not running or fell behind); only the latest, 2024-05-01T10:00:00Z, was "
            "still inside the starting deadline and runs");
}

TEST_F(DecideScheduledTest, AfterDowntimePastTheDeadlineOneSkippedRunIsRecorded) {
  const auto hourly = schedule("0 * * * *");
  input_.generation_start = at("2024-05-01T00:00:00Z");
  input_.runs = {run(1, at("2024-05-01T03:00:00Z"), RunState::kSucceeded)};
  clock_.set(at("2024-05-01T10:20:00Z"));
  const auto d = decide(hourly);
  EXPECT_TRUE(d.actions.empty());
  ASSERT_EQ(d.skips.size(), 1u);
  EXPECT_EQ(show(d.skips[0].scheduled_for), "2024-05-01T10:00:00Z");
  EXPECT_EQ(d.skips[0].reason, RunReason::kMissedDeadline);
  EXPECT_EQ(d.skips[0].message,
            "the fire time 2024-05-01T10:00:00Z was reached 20m late, past the starting deadline "
            "of 30s (the daemon was not running or fell behind); 6 earlier fire times since "
            "2024-05-01T04:00:00Z were missed too");
  EXPECT_EQ(show(d.next_fire), "2024-05-01T11:00:00Z");
}

TEST_F(DecideScheduledTest, OneMissedFireIsNamedInTheSingular) {
  input_.generation_start = at("2024-05-01T00:00:00Z");
  input_.runs = {run(1, at("2024-05-01T09:58:00Z"), RunState::kSucceeded)};
  clock_.set(at("2024-05-01T10:00:10Z"));
  auto d = decide(every_minute_);
  ASSERT_EQ(d.skips.size(), 1u);
  EXPECT_EQ(d.skips[0].message,
            "the fire time 2024-05-01T09:59:00Z was missed (the daemon was not running or fell "
            "behind); only the latest, 2024-05-01T10:00:00Z, was still inside the starting "
            "deadline and runs");
  clock_.set(at("2024-05-01T10:00:41Z"));
  d = decide(every_minute_);
  ASSERT_EQ(d.skips.size(), 1u);
  EXPECT_THAT(d.skips[0].message,
              HasSubstr("; 1 earlier fire time since 2024-05-01T09:59:00Z was missed too"));
}

TEST_F(DecideScheduledTest, AVeryLongDowntimeIsCountedUpToALimit) {
  input_.generation_start = at("2023-12-31T00:00:00Z");
  input_.runs = {run(1, at("2024-01-01T00:00:00Z"), RunState::kSucceeded)};
  clock_.set(at("2024-03-01T12:00:40Z"));
  const auto d = decide(every_minute_);
  ASSERT_EQ(d.skips.size(), 1u);
  EXPECT_THAT(d.skips[0].message, HasSubstr("; 1000 or more earlier fire times since "
                                            "2024-01-01T00:01:00Z were missed too"));
}

TEST_F(DecideScheduledTest, ASkippedFireCountsAsHandled) {
  clock_.set(at("2024-05-01T10:01:10Z"));
  RunRecord skipped = run(2, at("2024-05-01T10:01:00Z"), RunState::kSkipped, 1,
                          RunReason::kConcurrencyForbid);
  input_.runs = {run(1, at("2024-05-01T10:00:00Z"), RunState::kSucceeded), skipped};
  const auto d = decide(every_minute_);
  EXPECT_TRUE(d.actions.empty());
  EXPECT_TRUE(d.skips.empty());
  EXPECT_TRUE(isSkippedFire(skipped));
  EXPECT_FALSE(isSkippedFire(run(3, at("2024-05-01T10:01:00Z"), RunState::kSkipped, 1,
                                 RunReason::kStopped)));
}

TEST(CountFiresBetween, CountsStrictlyBetweenUpToTheCap) {
  const auto s = schedule("*/10 * * * *");
  EXPECT_EQ(countFiresBetween(s, at("2024-05-01T10:00:00Z"), at("2024-05-01T11:00:00Z"), 100), 5);
  EXPECT_EQ(countFiresBetween(s, at("2024-05-01T10:00:00Z"), at("2024-05-01T10:10:00Z"), 100), 0);
  EXPECT_EQ(countFiresBetween(s, at("2024-05-01T10:00:00Z"), at("2024-05-02T10:00:00Z"), 7), 7);
}

// ---- Retries ----------------------------------------------------------------------------------

TEST_F(DecideScheduledTest, AFailedFireIsRetriedWithBackOffUnderTheSameFireTime) {
  job_.retry = 2;
  const auto fire = at("2024-05-01T10:00:00Z");
  clock_.set(at("2024-05-01T10:00:05Z"));
  input_.runs = {run(1, fire, RunState::kFailed, 1, RunReason::kError)};
  auto d = decide(every_minute_);
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(createAt(d, 0).attempt, 2);
  EXPECT_EQ(show(createAt(d, 0).scheduled_for), "2024-05-01T10:00:00Z");
  EXPECT_EQ(show(createAt(d, 0).not_before), "2024-05-01T10:00:15Z");  // 10 s back-off

  // The retry waits for its back-off, then starts.
  RunRecord retry = run(2, fire, RunState::kPending, 2);
  retry.not_before = at("2024-05-01T10:00:15Z");
  input_.runs.push_back(retry);
  d = decide(every_minute_);
  EXPECT_TRUE(d.actions.empty());
  EXPECT_EQ(show(d.wake_at), "2024-05-01T10:00:15Z");
  clock_.set(at("2024-05-01T10:00:15Z"));
  d = decide(every_minute_);
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(std::get<StartRun>(d.actions[0]).run_id, 2);

  // The second retry doubles the back-off; after it, the fire is given up.
  clock_.set(at("2024-05-01T10:00:20Z"));
  input_.runs.back() = run(2, fire, RunState::kFailed, 2, RunReason::kError);
  d = decide(every_minute_);
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(createAt(d, 0).attempt, 3);
  EXPECT_EQ(show(createAt(d, 0).not_before), "2024-05-01T10:00:40Z");
  input_.runs.push_back(run(3, fire, RunState::kFailed, 3, RunReason::kTimeout));
  d = decide(every_minute_);
  EXPECT_TRUE(d.actions.empty());
}

TEST_F(DecideScheduledTest, RunsStoppedByTjfAndSuccessesAreNotRetried) {
  job_.retry = 5;
  clock_.set(at("2024-05-01T10:00:20Z"));
  for (const auto& r : {run(1, at("2024-05-01T10:00:00Z"), RunState::kFailed, 1,
                            RunReason::kStopped),
                        run(1, at("2024-05-01T10:00:00Z"), RunState::kSucceeded, 1,
                            RunReason::kCompleted)}) {
    input_.runs = {r};
    EXPECT_TRUE(decide(every_minute_).actions.empty());
  }
  // A lost run (the machine went down) is retried.
  input_.runs = {run(1, at("2024-05-01T10:00:00Z"), RunState::kLost, 1, RunReason::kLost)};
  ASSERT_EQ(decide(every_minute_).actions.size(), 1u);
}

TEST_F(DecideScheduledTest, WithAllowEachFireRetriesOnItsOwn) {
  job_.concurrency_policy = ConcurrencyPolicy::kAllow;
  job_.retry = 1;
  clock_.set(at("2024-05-01T10:01:30Z"));
  input_.runs = {run(1, at("2024-05-01T10:00:00Z"), RunState::kFailed, 1, RunReason::kError),
                 run(2, at("2024-05-01T10:01:00Z"), RunState::kFailed, 1, RunReason::kError)};
  const auto d = decide(every_minute_);
  ASSERT_EQ(d.actions.size(), 2u);
  EXPECT_EQ(show(createAt(d, 0).scheduled_for), "2024-05-01T10:00:00Z");
  EXPECT_EQ(show(createAt(d, 1).scheduled_for), "2024-05-01T10:01:00Z");
}

// ---- Manual runs (restart) --------------------------------------------------------------------

TEST_F(DecideScheduledTest, AManualRunStartsNowWhenTheOldRunsHaveEnded) {
  input_.generation_start = at("2024-05-01T10:00:20Z");
  clock_.set(at("2024-05-01T10:00:20Z"));
  input_.runs = {run(5, std::nullopt, RunState::kPending)};
  input_.superseded_active = true;  // the old generation's run is being stopped
  auto d = decide(every_minute_);
  EXPECT_TRUE(d.actions.empty());
  EXPECT_EQ(show(d.next_fire), "2024-05-01T10:01:00Z");  // the schedule is not disturbed

  input_.superseded_active = false;
  d = decide(every_minute_);
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(std::get<StartRun>(d.actions[0]).run_id, 5);
  EXPECT_EQ(show(d.next_fire), "2024-05-01T10:01:00Z");
}

TEST_F(DecideScheduledTest, AManualRunIsNeverTooLateAndWaitsForNothingElse) {
  // Even long after it was asked for (the daemon was down), and with Forbid.
  input_.generation_start = at("2024-05-01T10:00:20Z");
  input_.runs = {run(5, std::nullopt, RunState::kPending)};
  clock_.set(at("2024-05-01T12:00:50Z"));
  const auto d = decide(schedule("0 0 * * *"));
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(std::get<StartRun>(d.actions[0]).run_id, 5);
}

TEST_F(DecideScheduledTest, TheScheduleKeepsFiringAroundAManualRun) {
  input_.generation_start = at("2024-05-01T10:00:20Z");
  // Still running at the next fire: Forbid skips it, naming the manual run.
  clock_.set(at("2024-05-01T10:01:00Z"));
  input_.runs = {run(5, std::nullopt, RunState::kRunning)};
  auto d = decide(every_minute_);
  ASSERT_EQ(d.skips.size(), 1u);
  EXPECT_EQ(d.skips[0].message, "the manual run (run 5) was still running");
  // Finished before it: the fire runs.
  input_.runs = {run(5, std::nullopt, RunState::kSucceeded, 1, RunReason::kCompleted)};
  d = decide(every_minute_);
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(show(createAt(d, 0).scheduled_for), "2024-05-01T10:01:00Z");
}

TEST_F(DecideScheduledTest, AFailedManualRunIsRetriedAsAManualRun) {
  job_.retry = 1;
  input_.generation_start = at("2024-05-01T10:00:20Z");
  clock_.set(at("2024-05-01T10:00:30Z"));
  input_.runs = {run(5, std::nullopt, RunState::kFailed, 1, RunReason::kError)};
  const auto d = decide(every_minute_);
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(createAt(d, 0).attempt, 2);
  EXPECT_FALSE(createAt(d, 0).scheduled_for.has_value());
}

// ---- Time zones and DST (the cron module's rules, seen through the decide step) ---------------

TEST_F(DecideScheduledTest, SpringForwardFiresOnceAtTheJump) {
  // Europe/Berlin 2024-03-31: 02:00 CET -> 03:00 CEST at 01:00Z; 02:30 does not exist that day.
  const auto s = schedule("30 2 * * *", "Europe/Berlin");
  input_.generation_start = at("2024-03-30T12:00:00Z");
  clock_.set(at("2024-03-31T00:59:59Z"));
  auto d = decide(s);
  EXPECT_TRUE(d.actions.empty());
  EXPECT_EQ(show(d.next_fire), "2024-03-31T01:00:00Z");
  clock_.set(at("2024-03-31T01:00:00Z"));
  d = decide(s);
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(show(createAt(d, 0).scheduled_for), "2024-03-31T01:00:00Z");
  EXPECT_EQ(show(d.next_fire), "2024-04-01T00:30:00Z");  // 02:30 CEST
}

TEST_F(DecideScheduledTest, FallBackFiresOnceInTheRepeatedHour) {
  // 02:30 happens at 00:30Z (CEST) and again at 01:30Z (CET) on 2024-10-27: one run, the first.
  const auto s = schedule("30 2 * * *", "Europe/Berlin");
  input_.generation_start = at("2024-10-26T12:00:00Z");
  clock_.set(at("2024-10-27T00:30:00Z"));
  auto d = decide(s);
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(show(createAt(d, 0).scheduled_for), "2024-10-27T00:30:00Z");
  EXPECT_EQ(show(d.next_fire), "2024-10-28T01:30:00Z");
  input_.runs = {run(1, at("2024-10-27T00:30:00Z"), RunState::kSucceeded)};
  clock_.set(at("2024-10-27T01:30:00Z"));
  d = decide(s);
  EXPECT_TRUE(d.actions.empty());
  EXPECT_TRUE(d.skips.empty());
}

// ---- Timelines: the decide step driven like the engine drives it ------------------------------

// A minimal engine over the decide step: applies its actions to an in-memory run list, ends runs
// after `run_length`, and steps a ManualClock through wake-ups and fire times.
class Timeline {
 public:
  Timeline(model::ResolvedJob job, cron::Schedule schedule, TimePoint start, Millis run_length)
      : job_(std::move(job)), schedule_(std::move(schedule)), clock_(start),
        run_length_(run_length) {
    input_.generation_start = start;
  }

  // Runs until `end`, reconciling at every fire time, back-off end and run end.
  void runUntil(TimePoint end) {
    reconcile();
    while (true) {
      std::optional<TimePoint> next = next_fire_;
      const auto earlier = [&](std::optional<TimePoint> t) {
        if (t && (!next || *t < *next)) next = t;
      };
      earlier(wake_at_);
      for (const auto& r : input_.runs) {
        if (r.state == RunState::kRunning) earlier(*r.started_at + run_length_);
      }
      if (!next || *next > end) break;
      clock_.set(*next);
      finishRuns();
      reconcile();
    }
  }

  // "HH:MM <state> <reason>" per run, in id order.
  std::vector<std::string> history() const {
    std::vector<std::string> out;
    for (const auto& r : input_.runs) {
      const std::string when =
          r.scheduled_for ? formatIsoUtc(*r.scheduled_for).substr(11, 5) : std::string("manual");
      std::string line = when + " " + std::string(model::toString(r.state));
      if (r.attempt > 1) line += " attempt " + std::to_string(r.attempt);
      if (r.reason != RunReason::kNone && r.reason != RunReason::kCompleted) {
        line += " " + std::string(model::toString(r.reason));
      }
      out.push_back(line);
    }
    return out;
  }

  std::function<bool(const RunRecord&)> fails = [](const RunRecord&) { return false; };

 private:
  RunRecord* find(std::int64_t id) {
    for (auto& r : input_.runs) {
      if (r.id == id) return &r;
    }
    return nullptr;
  }
  void start(RunRecord& r) {
    r.state = RunState::kRunning;
    r.started_at = clock_.now();
    r.not_before.reset();
  }
  void finishRuns() {
    for (auto& r : input_.runs) {
      if (r.state == RunState::kRunning && *r.started_at + run_length_ <= clock_.now()) {
        const bool failed = fails(r);
        r.state = failed ? RunState::kFailed : RunState::kSucceeded;
        r.reason = failed ? RunReason::kError : RunReason::kCompleted;
        r.finished_at = clock_.now();
      }
    }
  }
  void reconcile() {
    const auto d = decideScheduled(job_, schedule_, input_, clock_.now(), RetryPolicy{});
    std::optional<TimePoint> created_wake;  // as Engine::apply arms a timer for a new retry
    for (const auto& skip : d.skips) {
      RunRecord r;
      r.id = next_id_++;
      r.state = RunState::kSkipped;
      r.reason = skip.reason;
      r.scheduled_for = skip.scheduled_for;
      r.created_at = r.finished_at.emplace(clock_.now());
      insert(r);
    }
    for (const auto& action : d.actions) {
      if (const auto* c = std::get_if<CreateRun>(&action)) {
        RunRecord r;
        r.id = next_id_++;
        r.attempt = c->attempt;
        r.scheduled_for = c->scheduled_for;
        r.created_at = clock_.now();
        r.not_before = c->not_before;
        if (!r.not_before || *r.not_before <= clock_.now()) {
          start(r);
        } else {
          created_wake = created_wake ? std::min(*created_wake, *r.not_before) : *r.not_before;
        }
        insert(r);
      } else if (const auto* s = std::get_if<StartRun>(&action)) {
        start(*find(s->run_id));
      } else if (const auto* stop = std::get_if<StopRun>(&action)) {
        RunRecord& r = *find(stop->run_id);
        r.state = RunState::kFailed;
        r.reason = stop->reason;
        r.finished_at = clock_.now();
      } else if (const auto* cancel = std::get_if<CancelRun>(&action)) {
        RunRecord& r = *find(cancel->run_id);
        r.state = RunState::kSkipped;
        r.reason = cancel->reason;
        r.finished_at = clock_.now();
      }
    }
    wake_at_ = d.wake_at;
    if (created_wake && (!wake_at_ || *created_wake < *wake_at_)) wake_at_ = created_wake;
    next_fire_ = d.next_fire;
  }
  void insert(const RunRecord& r) {
    // The store's unique index on (job, scheduled_for, replica, attempt).
    for (const auto& o : input_.runs) {
      if (r.scheduled_for && o.scheduled_for == r.scheduled_for && o.attempt == r.attempt) {
        ADD_FAILURE() << "fire " << show(r.scheduled_for) << " attempt " << r.attempt
                      << " inserted twice";
      }
    }
    input_.runs.push_back(r);
  }

  model::ResolvedJob job_;
  cron::Schedule schedule_;
  ManualClock clock_;
  Millis run_length_;
  ScheduledInput input_;
  std::optional<TimePoint> wake_at_;
  std::optional<TimePoint> next_fire_;
  std::int64_t next_id_ = 1;
};

using V = std::vector<std::string>;

TEST(ScheduledTimeline, ForbidSkipsTheFiresThatOverlapALongRun) {
  Timeline t(model::ResolvedJob{}, schedule("*/5 * * * *"), at("2024-05-01T09:59:00Z"),
             std::chrono::minutes(7));
  t.runUntil(at("2024-05-01T10:30:00Z"));
  EXPECT_EQ(t.history(), (V{"10:00 succeeded", "10:05 skipped ConcurrencyForbid", "10:10 succeeded",
                            "10:15 skipped ConcurrencyForbid", "10:20 succeeded",
                            "10:25 skipped ConcurrencyForbid", "10:30 running"}));
}

TEST(ScheduledTimeline, AllowOverlapsAndReplaceStops) {
  model::ResolvedJob allow;
  allow.concurrency_policy = ConcurrencyPolicy::kAllow;
  Timeline a(allow, schedule("*/5 * * * *"), at("2024-05-01T09:59:00Z"), std::chrono::minutes(7));
  a.runUntil(at("2024-05-01T10:15:00Z"));
  EXPECT_EQ(a.history(),
            (V{"10:00 succeeded", "10:05 succeeded", "10:10 running", "10:15 running"}));

  model::ResolvedJob replace;
  replace.concurrency_policy = ConcurrencyPolicy::kReplace;
  Timeline r(replace, schedule("*/5 * * * *"), at("2024-05-01T09:59:00Z"), std::chrono::minutes(7));
  r.runUntil(at("2024-05-01T10:15:00Z"));
  EXPECT_EQ(r.history(), (V{"10:00 failed Stopped", "10:05 failed Stopped", "10:10 failed Stopped",
                            "10:15 running"}));
}

TEST(ScheduledTimeline, RetriesKeepTheNextFireWaitingUnderForbid) {
  model::ResolvedJob job;
  job.retry = 2;
  // Every run fails after 20 s; retries after 10 s and 20 s of back-off.
  Timeline t(job, schedule("* * * * *"), at("2024-05-01T09:59:30Z"), std::chrono::seconds(20));
  t.fails = [](const RunRecord&) { return true; };
  t.runUntil(at("2024-05-01T10:02:00Z"));
  EXPECT_EQ(t.history(),
            (V{"10:00 failed Error", "10:00 failed attempt 2 Error",
               "10:00 failed attempt 3 Error",
               "10:01 skipped ConcurrencyForbid",  // attempt 3 was waiting for its back-off
               "10:02 running"}));
}

}  // namespace
}  // namespace tjf::engine

#include <gtest/gtest.h>

#include "base/time_format.hpp"
#include "engine/decide.hpp"

namespace tjf::engine {
namespace {

using model::RunReason;
using model::RunRecord;
using model::RunState;

class DecideOneOffTest : public ::testing::Test {
 protected:
  RunRecord run(std::int64_t id, int attempt, RunState state, RunReason reason = RunReason::kNone) {
    RunRecord r;
    r.id = id;
    r.attempt = attempt;
    r.state = state;
    r.reason = reason;
    r.created_at = clock_.now();
    if (model::isFinal(state)) r.finished_at = clock_.now();
    return r;
  }

  ManualClock clock_{fromUnixMillis(1'700'000'000'000)};
  RetryPolicy policy_;
  model::ResolvedJob job_;
};

TEST_F(DecideOneOffTest, FirstReconcileCreatesTheFirstRun) {
  const auto d = decideOneOff(job_, {}, clock_.now(), policy_);
  ASSERT_EQ(d.actions.size(), 1u);
  const auto& create = std::get<CreateRun>(d.actions[0]);
  EXPECT_EQ(create.attempt, 1);
  EXPECT_FALSE(create.not_before.has_value());
}

TEST_F(DecideOneOffTest, RunningAndFinishedRunsNeedNothing) {
  for (const auto state : {RunState::kRunning, RunState::kSucceeded, RunState::kSkipped}) {
    const auto d = decideOneOff(job_, {run(1, 1, state)}, clock_.now(), policy_);
    EXPECT_TRUE(d.actions.empty());
    EXPECT_FALSE(d.wake_at.has_value());
  }
}

TEST_F(DecideOneOffTest, FailureWithoutRetryIsFinal) {
  const auto d = decideOneOff(job_, {run(1, 1, RunState::kFailed, RunReason::kError)},
                              clock_.now(), policy_);
  EXPECT_TRUE(d.actions.empty());
}

TEST_F(DecideOneOffTest, RetriesWithDoublingBackOffUpToTheLimit) {
  job_.retry = 3;
  std::vector<RunRecord> runs;
  const Millis expected[] = {Millis(10'000), Millis(20'000), Millis(40'000)};
  for (int attempt = 1; attempt <= 3; ++attempt) {
    runs.push_back(run(attempt, attempt, RunState::kFailed, RunReason::kError));
    const auto d = decideOneOff(job_, runs, clock_.now(), policy_);
    ASSERT_EQ(d.actions.size(), 1u) << attempt;
    const auto& create = std::get<CreateRun>(d.actions[0]);
    EXPECT_EQ(create.attempt, attempt + 1);
    EXPECT_EQ(create.not_before, clock_.now() + expected[attempt - 1]);
  }
  runs.push_back(run(4, 4, RunState::kFailed, RunReason::kError));
  EXPECT_TRUE(decideOneOff(job_, runs, clock_.now(), policy_).actions.empty())
      << "retry 3 means 4 attempts in all";
}

TEST_F(DecideOneOffTest, PendingRetryStartsWhenDueAndWakesUpOtherwise) {
  auto pending = run(2, 2, RunState::kPending);
  pending.not_before = clock_.now() + std::chrono::seconds(10);
  auto d = decideOneOff(job_, {pending}, clock_.now(), policy_);
  EXPECT_TRUE(d.actions.empty());
  EXPECT_EQ(d.wake_at, pending.not_before);
  clock_.advance(std::chrono::seconds(10));
  d = decideOneOff(job_, {pending}, clock_.now(), policy_);
  ASSERT_EQ(d.actions.size(), 1u);
  EXPECT_EQ(std::get<StartRun>(d.actions[0]).run_id, 2);
}

TEST_F(DecideOneOffTest, LostRunsAreRetriedButStoppedRunsAreNot) {
  job_.retry = 1;
  EXPECT_EQ(decideOneOff(job_, {run(1, 1, RunState::kLost, RunReason::kLost)}, clock_.now(),
                         policy_).actions.size(), 1u);
  EXPECT_TRUE(decideOneOff(job_, {run(1, 1, RunState::kFailed, RunReason::kStopped)},
                           clock_.now(), policy_).actions.empty());
}

TEST(RetryBackoff, DoublesAndCaps) {
  const RetryPolicy policy;
  EXPECT_EQ(retryBackoff(1, policy), Millis(10'000));
  EXPECT_EQ(retryBackoff(2, policy), Millis(20'000));
  EXPECT_EQ(retryBackoff(6, policy), Millis(320'000));
  EXPECT_EQ(retryBackoff(7, policy), Millis(360'000));
  EXPECT_EQ(retryBackoff(50, policy), Millis(360'000));
}

TEST(DecideRemoval, StopsRunningAndCancelsPending) {
  RunRecord running;
  running.id = 1;
  running.state = RunState::kRunning;
  RunRecord pending;
  pending.id = 2;
  pending.state = RunState::kPending;
  const auto d = decideRemoval({running, pending});
  ASSERT_EQ(d.actions.size(), 2u);
  EXPECT_EQ(std::get<StopRun>(d.actions[0]).run_id, 1);
  EXPECT_EQ(std::get<CancelRun>(d.actions[1]).run_id, 2);
}

}  // namespace
}  // namespace tjf::engine

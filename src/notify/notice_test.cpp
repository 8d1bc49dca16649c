#include "notify/notice.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/time_format.hpp"

namespace tjf::notify {
namespace {

using model::EmailPolicy;
using model::RunReason;
using model::RunRecord;
using model::RunState;

RunRecord run(RunState state, RunReason reason, int attempt = 1) {
  RunRecord r;
  r.id = 42;
  r.state = state;
  r.reason = reason;
  r.attempt = attempt;
  return r;
}

TEST(ClassifyTest, StartsAreStartsOrRestartsByAttempt) {
  EXPECT_EQ(classify("started", run(RunState::kRunning, RunReason::kNone)), NoticeKind::kStarted);
  EXPECT_EQ(classify("started", run(RunState::kRunning, RunReason::kNone, 3)),
            NoticeKind::kRestarted);
  // Read after the run ended: still a start, judged by the attempt only.
  EXPECT_EQ(classify("started", run(RunState::kFailed, RunReason::kError, 2)),
            NoticeKind::kRestarted);
}

TEST(ClassifyTest, EndsAreSortedByTheRunsReason) {
  struct Case {
    const char* event;
    RunState state;
    RunReason reason;
    std::optional<NoticeKind> want;
  };
  const Case cases[] = {
      {"completed", RunState::kSucceeded, RunReason::kCompleted, NoticeKind::kSucceeded},
      {"failed", RunState::kFailed, RunReason::kError, NoticeKind::kFailed},
      {"failed", RunState::kFailed, RunReason::kSignal, NoticeKind::kFailed},
      {"failed", RunState::kFailed, RunReason::kOomKilled, NoticeKind::kFailed},
      {"failed", RunState::kFailed, RunReason::kTimeout, NoticeKind::kFailed},
      {"failed", RunState::kFailed, RunReason::kHealthCheckFailed, NoticeKind::kFailed},
      {"failed", RunState::kLost, RunReason::kLost, NoticeKind::kFailed},
      {"failed", RunState::kFailed, RunReason::kStartError, NoticeKind::kCouldNotStart},
      // Stopped by tjf because the user deleted, flushed, restarted or updated the job.
      {"failed", RunState::kFailed, RunReason::kStopped, std::nullopt},
      {"cancelled", RunState::kSkipped, RunReason::kConcurrencyForbid, NoticeKind::kSkipped},
      {"cancelled", RunState::kSkipped, RunReason::kMissedDeadline, NoticeKind::kSkipped},
      {"skipped", RunState::kSkipped, RunReason::kMissedDeadline, NoticeKind::kSkipped},
      {"cancelled", RunState::kSkipped, RunReason::kStopped, std::nullopt},
      // Bookkeeping events: the run's end says it with its reason.
      {"stopping", RunState::kRunning, RunReason::kNone, std::nullopt},
      {"retry-scheduled", RunState::kPending, RunReason::kNone, std::nullopt},
      {"restart-scheduled", RunState::kPending, RunReason::kNone, std::nullopt},
      {"waiting", RunState::kRunning, RunReason::kNone, std::nullopt},
      {"health-check-failed", RunState::kRunning, RunReason::kHealthCheckFailed, std::nullopt},
      {"something-new", RunState::kFailed, RunReason::kError, std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(classify(c.event, run(c.state, c.reason)), c.want)
        << c.event << " " << model::toString(c.reason);
  }
}

TEST(KeepsTest, UpstreamFiltersAppliedToRunKinds) {
  const NoticeKind all_kinds[] = {NoticeKind::kStarted,   NoticeKind::kRestarted,
                                  NoticeKind::kSucceeded, NoticeKind::kFailed,
                                  NoticeKind::kCouldNotStart, NoticeKind::kSkipped};
  for (auto kind : all_kinds) {
    EXPECT_FALSE(keeps(EmailPolicy::kNone, kind)) << toString(kind);
    EXPECT_TRUE(keeps(EmailPolicy::kAll, kind)) << toString(kind);
  }
  EXPECT_FALSE(keeps(EmailPolicy::kOnFinish, NoticeKind::kStarted));
  EXPECT_FALSE(keeps(EmailPolicy::kOnFinish, NoticeKind::kRestarted));
  EXPECT_TRUE(keeps(EmailPolicy::kOnFinish, NoticeKind::kSucceeded));
  EXPECT_TRUE(keeps(EmailPolicy::kOnFinish, NoticeKind::kFailed));
  EXPECT_TRUE(keeps(EmailPolicy::kOnFinish, NoticeKind::kCouldNotStart));
  EXPECT_FALSE(keeps(EmailPolicy::kOnFinish, NoticeKind::kSkipped));

  EXPECT_FALSE(keeps(EmailPolicy::kOnFailure, NoticeKind::kStarted));
  EXPECT_FALSE(keeps(EmailPolicy::kOnFailure, NoticeKind::kRestarted));
  EXPECT_FALSE(keeps(EmailPolicy::kOnFailure, NoticeKind::kSucceeded));
  EXPECT_TRUE(keeps(EmailPolicy::kOnFailure, NoticeKind::kFailed));
  EXPECT_TRUE(keeps(EmailPolicy::kOnFailure, NoticeKind::kCouldNotStart));
  EXPECT_FALSE(keeps(EmailPolicy::kOnFailure, NoticeKind::kSkipped));
}

TEST(NoticeTest, MakeNoticeTakesTheEndOnlyForEndKinds) {
  model::JobSpec spec;
  spec.name = "backup";
  spec.type = model::JobType::kScheduled;
  spec.emails = EmailPolicy::kOnFailure;
  RunRecord r = run(RunState::kFailed, RunReason::kError, 2);
  r.exit_code = 3;
  r.started_at = fromUnixMillis(1'000);
  r.finished_at = fromUnixMillis(4'000);
  const auto end = makeNotice("tool", spec, 7, fromUnixMillis(5'000), NoticeKind::kFailed, r);
  EXPECT_EQ(end.job_name, "backup");
  EXPECT_EQ(end.emails, EmailPolicy::kOnFailure);
  EXPECT_EQ(end.run_id, 42);
  EXPECT_EQ(end.attempt, 2);
  EXPECT_EQ(end.exit_code, 3);
  EXPECT_EQ(end.reason, RunReason::kError);
  EXPECT_EQ(end.description, "exit code 3");
  EXPECT_EQ(end.finished_at, fromUnixMillis(4'000));

  const auto start = makeNotice("tool", spec, 6, fromUnixMillis(1'000), NoticeKind::kRestarted, r);
  EXPECT_EQ(start.started_at, fromUnixMillis(1'000));
  EXPECT_FALSE(start.exit_code);
  EXPECT_FALSE(start.finished_at);
  EXPECT_EQ(start.reason, RunReason::kNone);
  EXPECT_EQ(start.description, "");
}

TEST(NoticeTest, JsonRoundTripKeepsEveryField) {
  Notice n;
  n.event_id = 9;
  n.time = fromUnixMillis(123'456);
  n.tool = "t";
  n.job_name = "web";
  n.job_type = model::JobType::kContinuous;
  n.emails = EmailPolicy::kAll;
  n.kind = NoticeKind::kFailed;
  n.run_id = 77;
  n.attempt = 4;
  n.replica = 1;
  n.reason = RunReason::kOomKilled;
  n.signal = 9;
  n.description = "killed for exceeding its memory limit (OOMKilled)";
  n.started_at = fromUnixMillis(100'000);
  n.finished_at = fromUnixMillis(120'000);
  n.stderr_source = "web.err";
  n.stderr_merged = true;
  n.stderr_tail = {"a", "b \xE2\x9C\x93"};
  auto back = noticeFromJson(nlohmann::json::parse(noticeToJson(n).dump()));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, n);

  auto bad = noticeFromJson(nlohmann::json{{"event_id", 1}});
  EXPECT_FALSE(bad);
}

}  // namespace
}  // namespace tjf::notify

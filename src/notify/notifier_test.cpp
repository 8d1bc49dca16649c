// The notifier on a real store, with a ManualClock and a mailer the test completes by hand:
// events in, batches per tool and window, the outbox, retries, and restarts.
#include "notify/notifier.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/test_dir.hpp"
#include "base/time_format.hpp"

namespace tjf::notify {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using model::EmailPolicy;
using model::RunReason;
using model::RunRecord;
using model::RunState;

// Keeps each send until the test completes it (the test plays the loop).
class ManualMailer final : public Mailer {
 public:
  void send(OutgoingMail mail, Done done) override {
    pending_.push_back({std::move(mail), std::move(done)});
  }
  std::size_t waiting() const { return pending_.size(); }
  const OutgoingMail& front() const { return pending_.front().first; }
  void complete(SendResult result) {
    auto [mail, done] = std::move(pending_.front());
    pending_.erase(pending_.begin());
    done(result);
  }

 private:
  std::vector<std::pair<OutgoingMail, Done>> pending_;
};

class NotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = freshTestDir("notifier-test");
    std::filesystem::create_directories(dir_ / "home");
    std::filesystem::create_directories(dir_ / "state/runs");
    auto store = store::Store::open(dir_ / "state/db.sqlite");
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    tools_ = std::make_unique<model::SingleToolDirectory>(
        model::Tool{.name = "tf-test", .home = dir_ / "home", .uid = ::getuid()});
    options_.layout = model::StateLayout(dir_ / "state");
    options_.tools = tools_.get();
    options_.mail_from = "Jobs <jobs@tjf.test>";
    options_.to = {.domain = "tjf.test"};
    options_.batch_window = Millis(60'000);
    options_.retry_base = Millis(10'000);
    options_.retry_cap = Millis(40'000);
  }
  void TearDown() override {
    notifier_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void startNotifier() {
    notifier_ = std::make_unique<Notifier>(io_, *store_, mailer_, clock_, options_);
    ASSERT_TRUE(notifier_->load());
  }
  model::JobRecord job(const std::string& name, std::optional<EmailPolicy> emails,
                       const std::string& tool = "tf-test") {
    model::JobSpec spec;
    spec.name = name;
    spec.cmd = "./run.sh";
    spec.imagename = "bookworm";
    spec.emails = emails;
    auto j = store_->insertJob(tool, spec, clock_.now());
    EXPECT_TRUE(j) << j.error().message;
    return *j;
  }
  // A run of `job` in its final (or running) shape, and the engine's event about it.
  RunRecord event(const model::JobRecord& job, const std::string& kind, RunState state,
                  RunReason reason, std::optional<int> exit_code = std::nullopt,
                  int attempt = 1) {
    RunRecord run{.job_id = job.id, .tool = job.tool, .job_name = job.spec.name,
                  .attempt = attempt, .state = state, .reason = reason,
                  .created_at = clock_.now(), .started_at = clock_.now(),
                  .exit_code = exit_code};
    if (isFinal(state)) run.finished_at = clock_.now();
    auto inserted = store_->insertRun(run);
    EXPECT_TRUE(inserted);
    EXPECT_TRUE(store_->addEvent({.time = clock_.now(), .tool = job.tool,
                                  .job_name = job.spec.name, .run_id = inserted->id,
                                  .kind = kind, .message = ""}));
    return *inserted;
  }
  std::vector<store::OutboxMail> outbox() {
    store::MailStore mail(*store_);
    auto all = mail.recentMails(100);
    EXPECT_TRUE(all);
    std::reverse(all->begin(), all->end());
    return *all;
  }
  std::size_t pendingCount(const std::string& tool = "tf-test") {
    store::MailStore mail(*store_);
    return mail.pendingNotices(tool)->size();
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<model::SingleToolDirectory> tools_;
  boost::asio::io_context io_;
  ManualClock clock_{*parseIsoUtc("2026-07-20T10:00:00Z")};
  ManualMailer mailer_;
  NotifierOptions options_;
  std::unique_ptr<Notifier> notifier_;
};

TEST(RetryDelayTest, DoublesFromTheBaseUpToTheCap) {
  const Millis base(30'000), cap(3'600'000);
  EXPECT_EQ(retryDelay(0, base, cap), Millis(0));
  EXPECT_EQ(retryDelay(1, base, cap), Millis(30'000));
  EXPECT_EQ(retryDelay(2, base, cap), Millis(60'000));
  EXPECT_EQ(retryDelay(5, base, cap), Millis(480'000));
  EXPECT_EQ(retryDelay(8, base, cap), Millis(3'600'000));
  EXPECT_EQ(retryDelay(1000, base, cap), Millis(3'600'000));
}

TEST_F(NotifierTest, FirstStartDoesNotMailTheHistory) {
  const auto j = job("old", EmailPolicy::kAll);
  event(j, "failed", RunState::kFailed, RunReason::kError, 1);
  startNotifier();
  event(j, "failed", RunState::kFailed, RunReason::kError, 2);
  notifier_->runOnce();
  EXPECT_EQ(pendingCount(), 1u);
  clock_.advance(Seconds(60));
  notifier_->runOnce();
  const auto mails = outbox();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_THAT(mails[0].message, HasSubstr("Exit code was '2'"));
  EXPECT_THAT(mails[0].message, Not(HasSubstr("Exit code was '1'")));
}

TEST_F(NotifierTest, EachSettingKeepsItsEvents) {
  startNotifier();
  for (auto policy : {EmailPolicy::kNone, EmailPolicy::kAll, EmailPolicy::kOnFinish,
                      EmailPolicy::kOnFailure}) {
    const auto j = job(std::string("job-") + std::string(model::toString(policy)), policy);
    event(j, "started", RunState::kRunning, RunReason::kNone);
    event(j, "started", RunState::kRunning, RunReason::kNone, std::nullopt, 2);
    event(j, "completed", RunState::kSucceeded, RunReason::kCompleted, 0);
    event(j, "failed", RunState::kFailed, RunReason::kError, 3);
    event(j, "failed", RunState::kFailed, RunReason::kStartError);
    event(j, "failed", RunState::kFailed, RunReason::kStopped);  // the user's delete: never
  }
  const auto unset = job("job-unset", std::nullopt);  // resolved default: none
  event(unset, "failed", RunState::kFailed, RunReason::kError, 3);
  notifier_->runOnce();
  clock_.advance(Seconds(60));
  notifier_->runOnce();
  const auto mails = outbox();
  ASSERT_EQ(mails.size(), 1u);
  const std::string& m = mails[0].message;
  EXPECT_THAT(m, HasSubstr("Subject: [Toolforge] [tf-test] notification about 3 jobs\r\n"));
  EXPECT_THAT(m, Not(HasSubstr("job-none")));
  EXPECT_THAT(m, Not(HasSubstr("job-unset")));
  EXPECT_THAT(m, HasSubstr("* Job 'job-all' (normal) (emails: all) had 5 events:"));
  EXPECT_THAT(m, HasSubstr("* Job 'job-onfinish' (normal) (emails: onfinish) had 3 events:"));
  EXPECT_THAT(m, HasSubstr("* Job 'job-onfailure' (normal) (emails: onfailure) had 2 events:"));
  EXPECT_THAT(m, Not(HasSubstr("failed: stopped")));
}

TEST_F(NotifierTest, OneMailPerToolWhenItsWindowCloses) {
  startNotifier();
  const auto a = job("a", EmailPolicy::kOnFailure);
  const auto other = job("x", EmailPolicy::kOnFailure, "other-tool");
  event(a, "failed", RunState::kFailed, RunReason::kError, 1);
  notifier_->runOnce();
  clock_.advance(Seconds(30));
  event(other, "failed", RunState::kFailed, RunReason::kError, 1);
  const auto b = job("b", EmailPolicy::kOnFailure);
  event(b, "failed", RunState::kFailed, RunReason::kError, 2);
  notifier_->runOnce();
  clock_.advance(Seconds(29));
  notifier_->runOnce();
  EXPECT_TRUE(outbox().empty());  // 59 s after the first event
  clock_.advance(Seconds(1));
  notifier_->runOnce();
  auto mails = outbox();
  ASSERT_EQ(mails.size(), 1u);  // tf-test's window closed; other-tool's has 30 s to go
  EXPECT_EQ(mails[0].recipient, "tools.tf-test@tjf.test");
  EXPECT_EQ(mails[0].sender, "jobs@tjf.test");
  EXPECT_EQ(mails[0].subject, "[Toolforge] [tf-test] notification about 2 jobs");
  EXPECT_THAT(mails[0].message, HasSubstr("From: Jobs <jobs@tjf.test>\r\n"));
  EXPECT_THAT(mails[0].message, HasSubstr("To: tools.tf-test@tjf.test\r\n"));
  EXPECT_EQ(pendingCount(), 0u);
  clock_.advance(Seconds(30));
  notifier_->runOnce();
  mails = outbox();
  ASSERT_EQ(mails.size(), 2u);
  EXPECT_EQ(mails[1].recipient, "tools.other-tool@tjf.test");
  EXPECT_EQ(mails[1].subject, "[Toolforge] [other-tool] notification about job x");
}

TEST_F(NotifierTest, EventsEndWithTheRunsStderrFromItsFileOrCapturedOutput) {
  startNotifier();
  std::string err;
  for (int i = 1; i <= 25; ++i) err += "problem " + std::to_string(i) + "\n";
  std::ofstream(dir_ / "home/filelog.err") << err;
  const auto file_job = job("filelog", EmailPolicy::kOnFailure);
  event(file_job, "failed", RunState::kFailed, RunReason::kError, 7);

  const auto captured_job = job("captured", EmailPolicy::kOnFailure);
  RunRecord run{.job_id = captured_job.id, .tool = "tf-test", .job_name = "captured",
                .state = RunState::kFailed, .reason = RunReason::kSignal,
                .created_at = clock_.now(), .started_at = clock_.now(),
                .finished_at = clock_.now(), .signal = 9, .captured_output = true};
  auto inserted = store_->insertRun(run);
  ASSERT_TRUE(inserted);
  std::filesystem::create_directories(options_.layout.runDir(inserted->id));
  std::ofstream(model::StateLayout::output(options_.layout.runDir(inserted->id)))
      << "1784541600000000 o to stdout\n1784541600000001 e killed soon\n";
  ASSERT_TRUE(store_->addEvent({.time = clock_.now(), .tool = "tf-test", .job_name = "captured",
                                .run_id = inserted->id, .kind = "failed", .message = ""}));
  notifier_->runOnce();
  // Written after the event was read: not part of that run's tail.
  std::ofstream(dir_ / "home/filelog.err", std::ios::app) << "from a later run\n";
  clock_.advance(Seconds(60));
  notifier_->runOnce();
  const auto mails = outbox();
  ASSERT_EQ(mails.size(), 1u);
  const std::string& m = mails[0].message;
  EXPECT_THAT(m, HasSubstr("Exit code was '7'. With reason 'Error'.\r\n"
                           "     Last 20 lines of its stderr (filelog.err):\r\n"
                           "     | problem 6\r\n"));
  EXPECT_THAT(m, HasSubstr("     | problem 25\r\n"));
  EXPECT_THAT(m, Not(HasSubstr("problem 5\r\n")));
  EXPECT_THAT(m, Not(HasSubstr("from a later run")));
  EXPECT_THAT(m, HasSubstr("Run '" + std::to_string(inserted->id) +
                           "' failed: killed by signal 9 (SIGKILL)."));
  EXPECT_THAT(m, HasSubstr("Signal was '9 (SIGKILL)'. With reason 'Signal'.\r\n"
                           "     Last line of its stderr (captured output):\r\n"
                           "     | killed soon\r\n"));
  EXPECT_THAT(m, Not(HasSubstr("to stdout")));
}

TEST_F(NotifierTest, DeletedJobsAndReusedNamesSayNothing) {
  startNotifier();
  const auto gone = job("gone", EmailPolicy::kAll);
  event(gone, "failed", RunState::kFailed, RunReason::kError, 1);
  ASSERT_TRUE(store_->deleteJob(gone.id));
  const auto reused = job("reused", EmailPolicy::kAll);
  event(reused, "failed", RunState::kFailed, RunReason::kError, 1);
  ASSERT_TRUE(store_->deleteJob(reused.id));
  job("reused", EmailPolicy::kAll);  // a new job under the old name
  notifier_->runOnce();
  EXPECT_EQ(pendingCount(), 0u);
  EXPECT_GT(notifier_->cursor(), 0);
}

TEST_F(NotifierTest, StaleEventsAreNotMailed) {
  startNotifier();
  const auto j = job("j", EmailPolicy::kAll);
  event(j, "failed", RunState::kFailed, RunReason::kError, 1);
  clock_.advance(std::chrono::hours(25));
  notifier_->runOnce();
  EXPECT_EQ(pendingCount(), 0u);
}

TEST_F(NotifierTest, DeliveryIsRetriedWithBackOffWhileTheServerIsDown) {
  options_.batch_window = Millis(0);
  startNotifier();
  const auto j = job("j", EmailPolicy::kOnFailure);
  event(j, "failed", RunState::kFailed, RunReason::kError, 1);
  notifier_->runOnce();
  ASSERT_EQ(mailer_.waiting(), 1u);
  EXPECT_EQ(mailer_.front().recipient, "tools.tf-test@tjf.test");
  EXPECT_EQ(mailer_.front().sender, "jobs@tjf.test");
  EXPECT_TRUE(notifier_->sending());
  notifier_->runOnce();
  EXPECT_EQ(mailer_.waiting(), 1u);  // one at a time
  mailer_.complete({.error = "Couldn't connect to server"});
  auto mail = outbox().at(0);
  EXPECT_EQ(mail.state, store::OutboxState::kQueued);
  EXPECT_EQ(mail.attempts, 1);
  EXPECT_EQ(mail.last_error, "Couldn't connect to server");
  EXPECT_EQ(mail.next_attempt_at, clock_.now() + Seconds(10));

  // A second mail queued meanwhile waits for the server's back-off too.
  event(j, "failed", RunState::kFailed, RunReason::kError, 2);
  clock_.advance(Seconds(9));
  notifier_->runOnce();
  EXPECT_EQ(mailer_.waiting(), 0u);
  EXPECT_EQ(outbox().size(), 2u);
  clock_.advance(Seconds(1));
  notifier_->runOnce();
  ASSERT_EQ(mailer_.waiting(), 1u);
  mailer_.complete({.error = "Couldn't connect to server"});  // second failure: 20 s
  clock_.advance(Seconds(19));
  notifier_->runOnce();
  EXPECT_EQ(mailer_.waiting(), 0u);
  clock_.advance(Seconds(1));
  notifier_->runOnce();
  ASSERT_EQ(mailer_.waiting(), 1u);
  // The server is back: the mail goes, and the next one right after it, without a tick.
  mailer_.complete({.ok = true});
  ASSERT_EQ(mailer_.waiting(), 1u);
  mailer_.complete({.ok = true});
  for (const auto& m : outbox()) EXPECT_EQ(m.state, store::OutboxState::kSent) << m.id;
}

TEST_F(NotifierTest, RefusedMailsAreNotRetriedAndOldOnesAreGivenUp) {
  options_.batch_window = Millis(0);
  options_.give_up_after = Millis(60'000);
  startNotifier();
  const auto j = job("j", EmailPolicy::kOnFailure);
  event(j, "failed", RunState::kFailed, RunReason::kError, 1);
  notifier_->runOnce();
  ASSERT_EQ(mailer_.waiting(), 1u);
  mailer_.complete({.permanent = true, .error = "550 no such user"});
  EXPECT_EQ(outbox().at(0).state, store::OutboxState::kFailed);
  EXPECT_EQ(mailer_.waiting(), 0u);

  event(j, "failed", RunState::kFailed, RunReason::kError, 2);
  notifier_->runOnce();
  ASSERT_EQ(mailer_.waiting(), 1u);
  clock_.advance(Seconds(60));
  mailer_.complete({.error = "timeout"});
  const auto second = outbox().at(1);
  EXPECT_EQ(second.state, store::OutboxState::kFailed);
  EXPECT_EQ(second.attempts, 1);
  EXPECT_EQ(second.last_error, "timeout");
}

TEST_F(NotifierTest, NothingIsLostOrRepeatedAcrossRestarts) {
  startNotifier();
  const auto j = job("j", EmailPolicy::kOnFailure);
  event(j, "failed", RunState::kFailed, RunReason::kError, 1);
  notifier_->runOnce();  // a waiting notice
  notifier_.reset();     // the daemon stops...
  event(j, "failed", RunState::kFailed, RunReason::kError, 2);  // ...after recording this
  startNotifier();
  notifier_->runOnce();
  EXPECT_EQ(pendingCount(), 2u);
  clock_.advance(Seconds(60));
  notifier_->runOnce();
  ASSERT_EQ(mailer_.waiting(), 1u);
  notifier_.reset();  // stops while the mail is in flight: it stays queued, and is sent again
  startNotifier();
  notifier_->runOnce();
  ASSERT_EQ(mailer_.waiting(), 2u);
  const auto mails = outbox();
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_THAT(mails[0].message, HasSubstr("had 2 events:"));
  mailer_.complete({.ok = true});  // for the old notifier: dropped
  EXPECT_EQ(outbox().at(0).state, store::OutboxState::kQueued);
  mailer_.complete({.ok = true});
  EXPECT_EQ(outbox().at(0).state, store::OutboxState::kSent);
}

}  // namespace
}  // namespace tjf::notify

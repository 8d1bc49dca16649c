#include "store/outbox.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "base/test_dir.hpp"
#include "base/time_format.hpp"

namespace tjf::store {
namespace {

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = freshTestDir("outbox-test");
    reopen();
  }
  void TearDown() override {
    mail_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void reopen() {
    mail_.reset();
    store_.reset();
    auto store = Store::open(dir_ / "db.sqlite");
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    mail_ = std::make_unique<MailStore>(*store_);
  }
  void addEvent(const std::string& tool, std::int64_t run_id, const std::string& kind) {
    ASSERT_TRUE(store_->addEvent({.time = now_, .tool = tool, .job_name = "job",
                                  .run_id = run_id, .kind = kind, .message = "m"}));
  }
  OutboxMail mail(const std::string& tool, TimePoint at) {
    return OutboxMail{.tool = tool, .sender = "from@example.org",
                      .recipient = "tools." + tool + "@example.org", .subject = "s",
                      .message = "Subject: s\r\n\r\nbody\r\n", .created_at = at};
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<MailStore> mail_;
  TimePoint now_ = fromUnixMillis(1700000000000);
};

TEST_F(OutboxTest, CursorIsAbsentUntilSetAndSurvivesReopening) {
  auto c = mail_->cursor();
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_FALSE(c->has_value());
  ASSERT_TRUE(mail_->setCursor(7));
  ASSERT_TRUE(mail_->setCursor(9));
  reopen();
  c = mail_->cursor();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->value_or(-1), 9);
}

TEST_F(OutboxTest, EventsAfterReadsInIdOrderWithLimit) {
  EXPECT_EQ(mail_->lastEventId().value_or(-1), 0);
  for (int i = 1; i <= 5; ++i) addEvent("a", i, "started");
  auto events = mail_->eventsAfter(2, 2);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].id, 3);
  EXPECT_EQ((*events)[1].id, 4);
  EXPECT_EQ((*events)[0].run_id.value_or(0), 3);
  EXPECT_EQ(mail_->lastEventId().value_or(-1), 5);
}

TEST_F(OutboxTest, PendingNoticesIgnoreRepeatsAndGroupByTool) {
  const auto later = now_ + Seconds(5);
  ASSERT_TRUE(mail_->addPendingNotice({.event_id = 1, .tool = "b", .run_id = 1, .kind = "failed",
                                       .queued_at = later, .notice = "{}"}));
  ASSERT_TRUE(mail_->addPendingNotice({.event_id = 2, .tool = "a", .run_id = 2, .kind = "failed",
                                       .queued_at = now_, .notice = "{}"}));
  // The same event again, and another event about the same run and kind: both ignored.
  ASSERT_TRUE(mail_->addPendingNotice({.event_id = 2, .tool = "a", .run_id = 2, .kind = "failed",
                                       .queued_at = now_, .notice = "{}"}));
  ASSERT_TRUE(mail_->addPendingNotice({.event_id = 3, .tool = "a", .run_id = 2, .kind = "failed",
                                       .queued_at = now_, .notice = "{}"}));
  ASSERT_TRUE(mail_->addPendingNotice({.event_id = 4, .tool = "a", .run_id = 2, .kind = "started",
                                       .queued_at = later, .notice = "{\"x\":1}"}));
  auto tools = mail_->pendingTools();
  ASSERT_TRUE(tools);
  ASSERT_EQ(tools->size(), 2u);
  EXPECT_EQ((*tools)[0].first, "a");  // oldest first
  EXPECT_EQ((*tools)[0].second, now_);
  EXPECT_EQ((*tools)[1].first, "b");
  auto a = mail_->pendingNotices("a");
  ASSERT_TRUE(a);
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].event_id, 2);
  EXPECT_EQ((*a)[1].kind, "started");
  EXPECT_EQ((*a)[1].notice, "{\"x\":1}");

  ASSERT_TRUE(mail_->removePendingNotices("a", (*a)[0].id));
  EXPECT_EQ(mail_->pendingNotices("a")->size(), 1u);
  EXPECT_EQ(mail_->pendingNotices("b")->size(), 1u);
}

TEST_F(OutboxTest, QueuedMailIsDueInOrderAndDeferredUntilItsNextAttempt) {
  auto first = mail_->enqueueMail(mail("a", now_));
  auto second = mail_->enqueueMail(mail("b", now_ + Seconds(1)));
  ASSERT_TRUE(first && second);
  EXPECT_EQ(mail_->nextDueMail(now_ - Seconds(1))->has_value(), false);
  auto due = mail_->nextDueMail(now_ + Seconds(2));
  ASSERT_TRUE(due && *due);
  EXPECT_EQ((*due)->id, first->id);
  EXPECT_EQ((*due)->message, "Subject: s\r\n\r\nbody\r\n");

  ASSERT_TRUE(mail_->markDeferred(first->id, 1, now_ + Seconds(30), "connection refused"));
  due = mail_->nextDueMail(now_ + Seconds(2));
  ASSERT_TRUE(due && *due);
  EXPECT_EQ((*due)->id, second->id);
  EXPECT_EQ(mail_->nextAttemptTime()->value(), now_ + Seconds(1));

  ASSERT_TRUE(mail_->markSent(second->id, now_ + Seconds(3)));
  EXPECT_EQ(mail_->nextAttemptTime()->value(), now_ + Seconds(30));
  auto deferred = mail_->mailById(first->id);
  ASSERT_TRUE(deferred && *deferred);
  EXPECT_EQ((*deferred)->attempts, 1);
  EXPECT_EQ((*deferred)->last_error, "connection refused");
  EXPECT_EQ((*deferred)->state, OutboxState::kQueued);
}

TEST_F(OutboxTest, FinishedMailsArePrunedAfterTheirTimeQueuedOnesNever) {
  auto sent = mail_->enqueueMail(mail("a", now_));
  auto failed = mail_->enqueueMail(mail("a", now_));
  auto queued = mail_->enqueueMail(mail("a", now_));
  ASSERT_TRUE(sent && failed && queued);
  ASSERT_TRUE(mail_->markSent(sent->id, now_));
  ASSERT_TRUE(mail_->markFailed(failed->id, 4, now_ + Seconds(10), "550 no such user"));
  EXPECT_EQ(mail_->mailById(failed->id)->value().state, OutboxState::kFailed);
  EXPECT_EQ(mail_->pruneFinished(now_ + Seconds(5)).value_or(-1), 1);
  EXPECT_EQ(mail_->pruneFinished(now_ + Seconds(3600)).value_or(-1), 1);
  auto left = mail_->recentMails(10);
  ASSERT_TRUE(left);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().id, queued->id);
}

}  // namespace
}  // namespace tjf::store

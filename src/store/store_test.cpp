#include <gtest/gtest.h>

#include <filesystem>

#include "base/test_dir.hpp"
#include "base/time_format.hpp"
#include "store/store.hpp"

namespace tjf::store {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = freshTestDir("store-test");
    auto store = Store::open(dir_ / "db.sqlite");
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  model::JobSpec spec(const std::string& name) {
    model::JobSpec s;
    s.name = name;
    s.cmd = "./run.sh";
    s.imagename = "bookworm";
    s.memory = "100Mi";
    return s;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  TimePoint now_ = fromUnixMillis(1700000000000);
};

TEST_F(StoreTest, JobsRoundTripWithUserFields) {
  auto job = store_->insertJob("tool", spec("a"), now_);
  ASSERT_TRUE(job) << job.error().message;
  auto found = store_->findJob("tool", "a");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->spec, spec("a"));
  EXPECT_EQ((*found)->created_at, now_);
  EXPECT_FALSE(store_->findJob("other", "a")->has_value());
  EXPECT_FALSE(store_->insertJob("tool", spec("a"), now_).has_value()) << "names are unique per tool";
  ASSERT_TRUE(store_->insertJob("other", spec("a"), now_));
}

TEST_F(StoreTest, RunsKeepEveryFieldAndOutliveTheirJob) {
  auto job = store_->insertJob("tool", spec("a"), now_);
  model::RunRecord run;
  run.job_id = job->id;
  run.tool = "tool";
  run.job_name = "a";
  run.created_at = now_;
  run.state = model::RunState::kRunning;
  run.started_at = now_;
  run.shim_pid = 1234;
  auto inserted = store_->insertRun(run);
  ASSERT_TRUE(inserted);
  EXPECT_GT(inserted->id, 0);
  inserted->state = model::RunState::kFailed;
  inserted->reason = model::RunReason::kOomKilled;
  inserted->exit_code = 137;
  inserted->signal = 9;
  inserted->finished_at = now_ + std::chrono::seconds(5);
  ASSERT_TRUE(store_->updateRun(*inserted));
  ASSERT_TRUE(store_->deleteJob(job->id));
  auto runs = store_->runsByName("tool", "a", 10);
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ(runs->front().reason, model::RunReason::kOomKilled);
  EXPECT_EQ(runs->front().exit_code, 137);
  EXPECT_EQ(runs->front().finished_at, now_ + std::chrono::seconds(5));
  EXPECT_TRUE(store_->activeRuns()->empty());
}

TEST_F(StoreTest, TransactionRollsBackOnError) {
  auto result = store_->transaction([&]() -> Status {
    if (auto job = store_->insertJob("tool", spec("a"), now_); !job) {
      return tl::unexpected(job.error());
    }
    return internalError("runtime refused");
  });
  EXPECT_FALSE(result);
  EXPECT_FALSE(store_->findJob("tool", "a")->has_value());
}

TEST_F(StoreTest, CronFireIsUniquePerJobAndTime) {
  auto job = store_->insertJob("tool", spec("a"), now_);
  model::RunRecord run;
  run.job_id = job->id;
  run.tool = "tool";
  run.job_name = "a";
  run.created_at = now_;
  run.scheduled_for = now_;
  ASSERT_TRUE(store_->insertRun(run));
  EXPECT_FALSE(store_->insertRun(run)) << "the same fire must not be inserted twice";
}

TEST_F(StoreTest, ObservedRunsAreFoundByTheirExternalIdAndAreUniquePerJob) {
  auto job = store_->insertJob("tool", spec("a"), now_);
  auto other = store_->insertJob("tool", spec("b"), now_);
  model::RunRecord run{.job_id = job->id, .tool = "tool", .job_name = "a", .created_at = now_};
  run.external_id = "a-29000000";
  auto inserted = store_->insertRun(run);
  ASSERT_TRUE(inserted) << inserted.error().message;
  auto found = store_->runByExternalId(job->id, "a-29000000");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->id, inserted->id);
  EXPECT_EQ((*found)->external_id, "a-29000000");
  EXPECT_FALSE(store_->runByExternalId(other->id, "a-29000000")->has_value()) << "per job";
  EXPECT_FALSE(store_->insertRun(run).has_value()) << "one run per external id and job";
  // Runs the engine started have none, and any number of them may exist.
  model::RunRecord own{.job_id = job->id, .tool = "tool", .job_name = "a", .created_at = now_};
  ASSERT_TRUE(store_->insertRun(own));
  ASSERT_TRUE(store_->insertRun(own));
  EXPECT_FALSE(store_->runByExternalId(job->id, "")->has_value());
}

TEST_F(StoreTest, ReopenKeepsDataAndSchemaVersion) {
  ASSERT_TRUE(store_->insertJob("tool", spec("a"), now_));
  store_.reset();
  auto again = Store::open(dir_ / "db.sqlite");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE((*again)->findJob("tool", "a")->has_value());
}

}  // namespace
}  // namespace tjf::store

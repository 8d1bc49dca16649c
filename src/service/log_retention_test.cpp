#include "service/log_retention.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>

#include "base/time_format.hpp"
#include "base/unique_fd.hpp"
#include "service/logs.hpp"

namespace tjf::service {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::seconds;

const TimePoint kNow = fromUnixMillis(1'700'000'000'000);

RunLog finished(std::int64_t id, std::uint64_t bytes, TimePoint last_write) {
  return RunLog{.run_id = id, .bytes = bytes, .last_write = last_write};
}
RunLog active(std::int64_t id, std::uint64_t bytes, TimePoint last_write,
              std::optional<TimePoint> first = std::nullopt) {
  return RunLog{.run_id = id, .bytes = bytes, .last_write = last_write, .first_record = first,
                .active = true};
}

std::string describe(const std::vector<LogAction>& actions) {
  std::string out;
  for (const auto& a : actions) {
    if (!out.empty()) out += " ";
    if (a.kind == LogActionKind::kDelete) {
      out += "delete:" + std::to_string(a.run_id);
    } else if (a.older_than) {
      out += "trim-age:" + std::to_string(a.run_id);
    } else {
      out += "trim:" + std::to_string(a.run_id) + ":" + std::to_string(a.trim_bytes);
    }
  }
  return out;
}

TEST(SelectLogRemovals, UnderTheLimitsOrWithoutLimitsNothingGoes) {
  const std::vector<RunLog> logs = {finished(1, 100, kNow - hours(1000)), finished(2, 100, kNow)};
  EXPECT_EQ(describe(selectLogRemovals(logs, {}, kNow)), "");
  EXPECT_EQ(describe(selectLogRemovals(logs, {.max_bytes = 200}, kNow)), "");
}

TEST(SelectLogRemovals, OverTheBudgetTheOldestRunsGoFirstUntilTheRestFits) {
  const std::vector<RunLog> logs = {finished(3, 100, kNow - seconds(10)),
                                    finished(1, 100, kNow - seconds(30)),
                                    finished(2, 100, kNow - seconds(20)),
                                    finished(4, 100, kNow)};
  EXPECT_EQ(describe(selectLogRemovals(logs, {.max_bytes = 250}, kNow)), "delete:1 delete:2");
  EXPECT_EQ(describe(selectLogRemovals(logs, {.max_bytes = 300}, kNow)), "delete:1");
  // Same last write: the older run (smaller id) first.
  const std::vector<RunLog> tie = {finished(8, 10, kNow), finished(7, 10, kNow)};
  EXPECT_EQ(describe(selectLogRemovals(tie, {.max_bytes = 15}, kNow)), "delete:7");
}

TEST(SelectLogRemovals, ARunStillWritingLosesOnlyItsOldestPart) {
  // The continuous job alone is over the budget: its first 700 bytes go, the file stays.
  EXPECT_EQ(describe(selectLogRemovals({active(5, 1000, kNow)}, {.max_bytes = 300}, kNow)),
            "trim:5:700");
  // Older finished runs go before the running one is touched.
  const std::vector<RunLog> logs = {active(9, 400, kNow), finished(8, 500, kNow - seconds(5))};
  EXPECT_EQ(describe(selectLogRemovals(logs, {.max_bytes = 500}, kNow)), "delete:8");
  EXPECT_EQ(describe(selectLogRemovals(logs, {.max_bytes = 300}, kNow)), "delete:8 trim:9:100");
}

TEST(SelectLogRemovals, PastTheMaximumAgeFinishedRunsGoAndRunningOnesLoseTheirOldLines) {
  const LogRetentionPolicy policy{.max_age = hours(24)};
  const std::vector<RunLog> logs = {
      finished(1, 10, kNow - hours(25)),                      // all older than a day
      finished(2, 10, kNow - hours(23)),                      // written within the day
      active(3, 10, kNow, kNow - hours(48)),                  // running for two days
      active(4, 10, kNow, kNow - hours(1)),                   // running for an hour
  };
  EXPECT_EQ(describe(selectLogRemovals(logs, policy, kNow)), "delete:1 trim-age:3");
  EXPECT_EQ(*selectLogRemovals(logs, policy, kNow)[1].older_than, kNow - hours(24));
}

TEST(SelectLogRemovals, AgeAndSizeTogetherDoNotCountWhatIsAlreadyGone) {
  const std::vector<RunLog> logs = {finished(1, 1000, kNow - hours(50)),
                                    finished(2, 100, kNow - hours(2)),
                                    finished(3, 100, kNow - hours(1))};
  EXPECT_EQ(describe(selectLogRemovals(logs, {.max_bytes = 150, .max_age = hours(24)}, kNow)),
            "delete:1 delete:2");
}

TEST(FormatLogBytes, ReadsLikeAQuantity) {
  EXPECT_EQ(formatLogBytes(0), "0");
  EXPECT_EQ(formatLogBytes(1023), "1023");
  EXPECT_EQ(formatLogBytes(1024), "1Ki");
  EXPECT_EQ(formatLogBytes(1536), "1.5Ki");
  EXPECT_EQ(formatLogBytes(std::uint64_t{1} << 30), "1Gi");
  EXPECT_EQ(formatLogBytes((std::uint64_t{2} << 20) - 1), "2Mi");
  EXPECT_EQ(formatLogBytes(12'900'000), "12.3Mi");
}

class RetentionFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tjf-retention-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = store::Store::open(dir_ / "db.sqlite");
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    fs::create_directories(layout().runsDir());
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  model::StateLayout layout() const { return model::StateLayout(dir_ / "state"); }
  std::string outputOf(std::int64_t id) const {
    return model::StateLayout::output(layout().runDir(id)).string();
  }

  // A run of `tool` with `records` records of about 100 bytes, last written at `mtime`.
  std::int64_t addRun(const std::string& tool, int records, std::int64_t mtime_seconds,
                      model::RunState state = model::RunState::kSucceeded) {
    if (!jobs_.count(tool)) {
      model::JobSpec spec;
      spec.name = "job";
      spec.cmd = "true";
      spec.imagename = "bookworm";
      auto job = store_->insertJob(tool, spec, kNow);
      EXPECT_TRUE(job) << job.error().message;
      jobs_[tool] = job->id;
    }
    model::RunRecord r;
    r.job_id = jobs_[tool];
    r.tool = tool;
    r.job_name = "job";
    r.state = state;
    r.created_at = kNow;
    auto run = store_->insertRun(r);
    EXPECT_TRUE(run) << run.error().message;
    fs::create_directories(layout().runDir(run->id));
    std::ofstream out(outputOf(run->id), std::ios::binary);
    for (int i = 0; i < records; ++i) {
      char line[128];
      std::snprintf(line, sizeof line, "%lld o %089d\n",
                    static_cast<long long>(mtime_seconds) * 1'000'000 - records + i, i);
      out << line;
    }
    out.close();
    timespec times[2] = {{mtime_seconds, 0}, {mtime_seconds, 0}};
    ::utimensat(AT_FDCWD, outputOf(run->id).c_str(), times, 0);
    return run->id;
  }

  fs::path dir_;
  std::unique_ptr<store::Store> store_;
  std::map<std::string, std::int64_t> jobs_;
  ManualClock clock_{kNow};
  boost::asio::io_context io_;
};

TEST_F(RetentionFilesTest, EachToolKeepsItsOwnBudgetAndLosesItsOldestRunsFirst) {
  const auto a1 = addRun("alpha", 100, 1'000'000'000);
  const auto a2 = addRun("alpha", 100, 1'000'002'000);
  const auto a3 = addRun("alpha", 100, 1'000'003'000);
  const auto b1 = addRun("beta", 100, 500);  // the oldest of all, but beta is within budget
  const std::uint64_t run_bytes = fs::file_size(outputOf(a2));  // 100 records of 109 bytes
  ASSERT_EQ(run_bytes, 10'900u);
  LogRetention retention(io_, *store_, clock_,
                         {.layout = layout(), .policy = {.max_bytes = 25'000}});
  EXPECT_EQ(retention.usage("alpha").bytes, fs::file_size(outputOf(a1)) + 2 * run_bytes);
  ASSERT_TRUE(retention.enforce());
  EXPECT_FALSE(fs::exists(outputOf(a1)));
  EXPECT_TRUE(fs::exists(outputOf(a2)));
  EXPECT_TRUE(fs::exists(outputOf(a3)));
  EXPECT_TRUE(fs::exists(outputOf(b1)));
  EXPECT_TRUE(fs::exists(layout().runDir(a1))) << "only the captured log goes, not the run";
  EXPECT_EQ(retention.usage("alpha").bytes, 2 * run_bytes);
  EXPECT_EQ(retention.usage("alpha").runs, 2u);
  EXPECT_EQ(retention.usage("beta").bytes, fs::file_size(outputOf(b1)));
}

TEST_F(RetentionFilesTest, ARunningJobOverTheBudgetLosesTheStartOfItsFileNotItsEnd) {
  const auto id = addRun("alpha", 2000, 1'000'000'000, model::RunState::kRunning);  // 218 kB
  const auto size = fs::file_size(outputOf(id));
  LogRetention retention(io_, *store_, clock_,
                         {.layout = layout(), .policy = {.max_bytes = 50'000}});
  ASSERT_TRUE(retention.enforce());
  ASSERT_TRUE(fs::exists(outputOf(id)));
  EXPECT_EQ(fs::file_size(outputOf(id)), size) << "the size stays: offsets stay valid";
  const auto kept = retention.usage("alpha").bytes;
  if (kept == size) GTEST_SKIP() << "this filesystem cannot punch holes";
  EXPECT_LE(kept, 50'000u);
  EXPECT_GE(kept, 50'000u - 4096);
  // What is left reads as the newest records, whole.
  UniqueFd fd(::open(outputOf(id).c_str(), O_RDONLY));
  const auto lines = tailLines(fd.get(), 5000, dataStart(fd.get(), size), size, false);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.back().find(" o 00000000"), std::string::npos);
  EXPECT_TRUE(lines.back().ends_with("1999"));
  EXPECT_GE(lines.size(), 400u);
}

TEST_F(RetentionFilesTest, OldLogsGoAfterTheMaximumAgeAndRunningOnesLoseOldLines) {
  const std::int64_t now_s = 1'700'000'000;
  const auto old_run = addRun("alpha", 10, now_s - 3 * 86400);
  const auto recent = addRun("alpha", 10, now_s - 3600);
  // Running for four days, one record every 100 s: about a quarter is within the last day.
  const auto running = addRun("alpha", 0, now_s, model::RunState::kRunning);
  {
    std::ofstream out(outputOf(running), std::ios::binary);
    for (std::int64_t t = now_s - 4 * 86400; t < now_s; t += 100) {
      out << t * 1'000'000 << " o tick " << t << "\n";
    }
  }
  LogRetention retention(io_, *store_, clock_,
                         {.layout = layout(), .policy = {.max_age = std::chrono::hours(24)}});
  ASSERT_TRUE(retention.enforce());
  EXPECT_FALSE(fs::exists(outputOf(old_run)));
  EXPECT_TRUE(fs::exists(outputOf(recent)));
  UniqueFd fd(::open(outputOf(running).c_str(), O_RDONLY));
  const auto size = fs::file_size(outputOf(running));
  const auto begin = dataStart(fd.get(), size);
  if (begin == 0) GTEST_SKIP() << "this filesystem cannot punch holes";
  const auto lines = tailLines(fd.get(), 100'000, begin, size, false);
  ASSERT_FALSE(lines.empty());
  const auto first = parseCapturedLine(lines.front(), "");
  ASSERT_TRUE(first);
  // Nothing within the day was dropped; what is older is gone but for one block's worth.
  EXPECT_LT(*first->time, kNow - std::chrono::hours(24) + std::chrono::seconds(1));
  EXPECT_GT(*first->time, kNow - std::chrono::hours(24) - std::chrono::seconds(100 * 4096 / 20));
}

TEST_F(RetentionFilesTest, TheQuotaCategoryShowsUsageAndLimits) {
  addRun("alpha", 100, 1'700'000'000 - 7200);
  LogRetention retention(
      io_, *store_, clock_,
      {.layout = layout(),
       .policy = {.max_bytes = std::uint64_t{1} << 30, .max_age = std::chrono::hours(24 * 30)}});
  const auto category = retention.quotaCategory("alpha");
  EXPECT_EQ(category.dump(),
            R"({"name":"Logs","items":[{"name":"Stored output of jobs without file logs",)"
            R"("limit":"1Gi","used":"10.6Ki"},{"name":"Age of the oldest stored output",)"
            R"("limit":"30d","used":"2h"}]})");
}

TEST(FirstRecordNotOlderThan, FindsTheCutByBisection) {
  char tmpl[] = "/tmp/tjf-bisect-XXXXXX";
  const int raw = ::mkstemp(tmpl);
  UniqueFd fd(raw);
  std::string content;
  for (int i = 0; i < 1000; ++i) content += std::to_string(1000 + i) + " o line\n";
  ASSERT_EQ(::write(fd.get(), content.data(), content.size()),
            static_cast<ssize_t>(content.size()));
  const auto at = [](std::int64_t micros) {
    return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::microseconds(micros)));
  };
  const std::uint64_t record = std::string("1000 o line\n").size();
  EXPECT_EQ(firstRecordNotOlderThan(fd.get(), 0, content.size(), at(0)), 0u);
  EXPECT_EQ(firstRecordNotOlderThan(fd.get(), 0, content.size(), at(1500)), 500 * record);
  EXPECT_EQ(firstRecordNotOlderThan(fd.get(), 0, content.size(), at(1999)), 999 * record);
  EXPECT_EQ(firstRecordNotOlderThan(fd.get(), 0, content.size(), at(5000)), content.size());
  ::unlink(tmpl);
}

}  // namespace
}  // namespace tjf::service

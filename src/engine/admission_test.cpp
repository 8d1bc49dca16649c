#include "engine/admission.hpp"

#include <gtest/gtest.h>

namespace tjf::engine {
namespace {

using model::JobType;

constexpr std::int64_t kGi = std::int64_t{1} << 30;
constexpr std::int64_t kMi = std::int64_t{1} << 20;

RunningUsage usageOf(std::initializer_list<RunDemand> runs) {
  RunningUsage u;
  for (const auto& r : runs) u.add(r);
  return u;
}

TEST(Admission, DefaultsAreTheUserDocumentationsQuota) {
  const ToolQuota q;
  EXPECT_EQ(q.running_jobs, 10);
  EXPECT_EQ(q.running_oneoff_cron, 15);
  EXPECT_EQ(q.cpu_millis, 2000);
  EXPECT_EQ(q.memory_bytes, 8 * kGi);
  EXPECT_EQ(q.job_max_cpu_millis, 1000);
  EXPECT_EQ(q.job_max_memory_bytes, 4 * kGi);
  EXPECT_EQ(q.cron_jobs, 50);
  EXPECT_EQ(q.continuous_jobs, 3);
}

TEST(Admission, UsageCountsEveryRunAndOneOffAndCronRunsApart) {
  const auto u = usageOf({{JobType::kOneOff, 500, 512 * kMi},
                          {JobType::kScheduled, 250, 256 * kMi},
                          {JobType::kContinuous, 1000, kGi}});
  EXPECT_EQ(u.runs, 3);
  EXPECT_EQ(u.oneoff_cron_runs, 2);
  EXPECT_EQ(u.cpu_millis, 1750);
  EXPECT_EQ(u.memory_bytes, 1792 * kMi);
}

struct Case {
  const char* name;
  ToolQuota quota;
  RunningUsage usage;
  RunDemand run;
  std::vector<std::string> short_of;
};

TEST(Admission, Table) {
  ToolQuota tight;
  tight.running_jobs = 2;
  tight.running_oneoff_cron = 1;
  tight.cpu_millis = 1000;
  tight.memory_bytes = kGi;
  ToolQuota unlimited;
  unlimited.running_jobs = unlimited.running_oneoff_cron = 0;
  unlimited.cpu_millis = unlimited.memory_bytes = 0;

  const RunDemand half{JobType::kOneOff, 500, 512 * kMi};
  const RunDemand half_continuous{JobType::kContinuous, 500, 512 * kMi};
  const std::vector<Case> cases = {
      {"nothing running", tight, {}, half, {}},
      {"exactly at the cpu limit fits", tight, usageOf({half_continuous}), half_continuous, {}},
      {"one over cpu", tight, usageOf({half_continuous}),
       {JobType::kContinuous, 501, 0}, {"cpu"}},
      {"one over memory", tight, usageOf({half_continuous}),
       {JobType::kContinuous, 0, 512 * kMi + 1}, {"memory"}},
      {"cpu and memory, sorted", tight, usageOf({half_continuous}),
       {JobType::kContinuous, 600, 600 * kMi}, {"cpu", "memory"}},
      {"one-off and cron runs count apart", tight, usageOf({{JobType::kScheduled, 0, 0}}),
       {JobType::kOneOff, 0, 0}, {"jobs"}},
      {"a continuous run is not a one-off or cron run", tight,
       usageOf({{JobType::kScheduled, 0, 0}}), {JobType::kContinuous, 0, 0}, {}},
      {"all runs count as pods", tight,
       usageOf({{JobType::kContinuous, 0, 0}, {JobType::kContinuous, 0, 0}}),
       {JobType::kContinuous, 0, 0}, {"pods"}},
      {"everything short", tight, usageOf({half, half_continuous}), half,
       {"cpu", "jobs", "memory", "pods"}},
      {"0 means no limit", unlimited, usageOf({half, half, half, half, half}),
       {JobType::kOneOff, 100000, 100 * kGi}, {}},
  };
  for (const auto& c : cases) {
    const Admission a = admit(c.quota, c.usage, c.run);
    EXPECT_EQ(a.short_of, c.short_of) << c.name;
    EXPECT_EQ(a.admitted, c.short_of.empty()) << c.name;
  }
}

TEST(Admission, MessageIsUpstreamsStatusWording) {
  Admission a;
  EXPECT_EQ(a.message(), "");
  a.admitted = false;
  a.short_of = {"cpu"};
  EXPECT_EQ(a.message(), "Unable to start, out of quota for cpu");
  EXPECT_TRUE(isQuotaWait(a.message()));
  a.short_of = {"cpu", "memory"};
  EXPECT_EQ(a.message(), "Unable to start, out of quota for cpu, memory");
  EXPECT_FALSE(isQuotaWait("exit code 1"));
}

TEST(Admission, FreeingRoomAdmitsTheWaitingRun) {
  ToolQuota q;  // 2 CPUs
  const RunDemand one{JobType::kOneOff, 1000, 512 * kMi};
  RunningUsage u = usageOf({one, one});
  EXPECT_FALSE(admit(q, u, one).admitted);
  u = usageOf({one});  // one of them ended
  EXPECT_TRUE(admit(q, u, one).admitted);
}

}  // namespace
}  // namespace tjf::engine

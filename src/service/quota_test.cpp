#include "service/quota.hpp"

#include <gtest/gtest.h>

namespace tjf::service {
namespace {

using nlohmann::ordered_json;

constexpr std::int64_t kMi = std::int64_t{1} << 20;
constexpr std::int64_t kGi = std::int64_t{1} << 30;

model::ResolvedJob jobWith(const std::string& cpu, std::int64_t cpu_millis,
                           const std::string& memory, std::int64_t memory_bytes) {
  model::ResolvedJob j;
  j.cpu = cpu;
  j.cpu_millis = cpu_millis;
  j.memory = memory;
  j.memory_bytes = memory_bytes;
  return j;
}

model::JobRecord jobRecord(const std::string& name, model::JobType type) {
  model::JobRecord r;
  r.tool = "tool";
  r.spec.name = name;
  r.spec.type = type;
  return r;
}

TEST(Quota, PerJobLimitsUseUpstreamsMessagesWithTheUsersValue) {
  const engine::ToolQuota q;
  EXPECT_TRUE(checkJobLimits(q, jobWith("0.5", 500, "512Mi", 512 * kMi)));
  EXPECT_TRUE(checkJobLimits(q, jobWith("1", 1000, "4Gi", 4 * kGi)));

  auto r = checkJobLimits(q, jobWith("0.5", 500, "5Gi", 5 * kGi));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "Requested memory 5Gi is over maximum allowed per container (4Gi)");
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);

  r = checkJobLimits(q, jobWith("1500m", 1500, "1Gi", kGi));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "Requested CPU 1500m is over maximum allowed per container (1)");

  r = checkJobLimits(q, jobWith("0.5", 500, "500m", 1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "Requested memory 500m is less than minimum required per container (32Mi)");

  r = checkJobLimits(q, jobWith("1m", 1, "1Gi", kGi));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "Requested CPU 1m is less than minimum required per container (10m)");
}

TEST(Quota, ZeroLimitsAreNoLimits) {
  engine::ToolQuota q;
  q.job_max_cpu_millis = q.job_max_memory_bytes = q.job_min_cpu_millis = q.job_min_memory_bytes = 0;
  EXPECT_TRUE(checkJobLimits(q, jobWith("64", 64000, "1Ti", 1024 * kGi)));
  EXPECT_TRUE(checkJobLimits(q, jobWith("1m", 1, "1", 1)));
}

TEST(Quota, DefinitionCountsRefuseOneTooManyButNotAnUpdate) {
  engine::ToolQuota q;
  q.continuous_jobs = 2;
  const std::vector<model::JobRecord> jobs = {jobRecord("a", model::JobType::kContinuous),
                                              jobRecord("b", model::JobType::kContinuous),
                                              jobRecord("c", model::JobType::kScheduled),
                                              jobRecord("d", model::JobType::kOneOff)};
  model::JobSpec spec;
  spec.type = model::JobType::kContinuous;
  spec.name = "new";
  auto r = checkDefinitionCount(q, spec, jobs);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "Out of quota for this kind of job: the tool already has 2 continuous jobs and may "
            "have at most 2, so job 'new' cannot be created. Please see https://w.wiki/6YLP for "
            "details.");
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  spec.name = "a";  // an update of an existing one
  EXPECT_TRUE(checkDefinitionCount(q, spec, jobs));
  spec.name = "new";
  spec.type = model::JobType::kScheduled;  // 1 of 50
  EXPECT_TRUE(checkDefinitionCount(q, spec, jobs));
  spec.type = model::JobType::kOneOff;  // not counted
  q.continuous_jobs = 0;
  EXPECT_TRUE(checkDefinitionCount(q, spec, jobs));
}

TEST(Quota, ReportHasUpstreamsCategoriesItemsAndFormats) {
  const engine::ToolQuota q;
  engine::RunningUsage usage;
  usage.add({model::JobType::kOneOff, 500, 512 * kMi});
  const ordered_json report = quotaReport(q, usage, 2, 1);
  const ordered_json expected = ordered_json::parse(R"json({"categories": [
    {"name": "Running jobs", "items": [
      {"name": "Total running jobs at once (Kubernetes pods)", "limit": "10", "used": "1"},
      {"name": "Running one-off and cron jobs", "limit": "15", "used": "1"},
      {"name": "CPU", "limit": "2.0", "used": "0.5"},
      {"name": "Memory", "limit": "8.0Gi", "used": "0.5Gi"}]},
    {"name": "Per-job limits", "items": [
      {"name": "CPU", "limit": "1.0", "used": null},
      {"name": "Memory", "limit": "4.0Gi", "used": null}]},
    {"name": "Job definitions", "items": [
      {"name": "Cron jobs", "limit": "50", "used": "2"},
      {"name": "Continuous jobs (including web services)", "limit": "3", "used": "1"}]}]})json");
  EXPECT_EQ(report, expected) << report.dump(1);
  // Key order is part of the shape (name, limit, used), as upstream serialises it.
  EXPECT_EQ(report.dump().rfind(
                R"json({"categories":[{"name":"Running jobs","items":[{"name":"Total running )json"
                R"json(jobs at once (Kubernetes pods)","limit":"10","used":"1"})json",
                0),
            0u)
      << report.dump();
}

TEST(Quota, ConfigurationOverridesPerTool) {
  auto config = quotaConfigFrom({{"cpu", "4"}, {"running_jobs", "20"}},
                                {{"big", {{"memory", "16Gi"}, {"job_max_memory", "6Gi"}}},
                                 {"small", {{"cpu", "500m"}}}});
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->forTool("anyone").cpu_millis, 4000);
  EXPECT_EQ(config->forTool("anyone").running_jobs, 20);
  EXPECT_EQ(config->forTool("anyone").memory_bytes, 8 * kGi);
  EXPECT_EQ(config->forTool("big").memory_bytes, 16 * kGi);
  EXPECT_EQ(config->forTool("big").job_max_memory_bytes, 6 * kGi);
  EXPECT_EQ(config->forTool("big").cpu_millis, 4000);  // the global override applies too
  EXPECT_EQ(config->forTool("small").cpu_millis, 500);
}

TEST(Quota, BadConfigurationNamesTheKeyAndValue) {
  auto c = quotaConfigFrom({{"cpu", "1g"}}, {});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "quota 'cpu': Invalid number format: 1g");
  c = quotaConfigFrom({{"running_jobs", "ten"}}, {});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "quota 'running_jobs': 'ten' is not a count (0 for no limit)");
  c = quotaConfigFrom({}, {{"x", {{"cpus", "1"}}}});
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message, "tool 'x': unknown quota item 'cpus'");
}

TEST(Quota, DisplayForms) {
  EXPECT_EQ(displayMemory(4 * kGi), "4Gi");
  EXPECT_EQ(displayMemory(512 * kMi), "512Mi");
  EXPECT_EQ(displayMemory(1000), "1000");
  EXPECT_EQ(displayCpu(1000), "1");
  EXPECT_EQ(displayCpu(2500), "2500m");
  EXPECT_EQ(displayCpu(10), "10m");
}

}  // namespace
}  // namespace tjf::service

#include "service/quota.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "base/clock.hpp"

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

// ---- On a cluster: the figures of the namespace's ResourceQuota and LimitRange ----------------

// Upstream's test fixture (upstream-behaviour.md §5) as the daemon hands it over.
ClusterQuota fixtureQuota() {
  ClusterQuota c;
  c.quota = ClusterQuota::Quota{.pods = ClusterQuota::Count{10, 1},
                                .jobs = ClusterQuota::Count{15, 0},
                                .cron_jobs = ClusterQuota::Count{50, 5},
                                .continuous_jobs = ClusterQuota::Count{3, 1},
                                .cpu_millis = ClusterQuota::Count{4000, 500},
                                .memory_bytes = ClusterQuota::Count{8 * kGi, 512 * kMi}};
  c.limits = ClusterQuota::Limits{.min_cpu_millis = ClusterQuota::Bound{"50m", 50},
                                  .max_cpu_millis = ClusterQuota::Bound{"1", 1000},
                                  .min_memory_bytes = ClusterQuota::Bound{"100Mi", 100 * kMi},
                                  .max_memory_bytes = ClusterQuota::Bound{"4Gi", 4 * kGi}};
  return c;
}

const char* const kFixtureReport =
    R"json({"categories":[{"name":"Running jobs","items":[)json"
    R"json({"name":"Total running jobs at once (Kubernetes pods)","limit":"10","used":"1"},)json"
    R"json({"name":"Running one-off and cron jobs","limit":"15","used":"0"},)json"
    R"json({"name":"CPU","limit":"4.0","used":"0.5"},)json"
    R"json({"name":"Memory","limit":"8.0Gi","used":"0.5Gi"}]},)json"
    R"json({"name":"Per-job limits","items":[)json"
    R"json({"name":"CPU","limit":"1.0","used":null},)json"
    R"json({"name":"Memory","limit":"4.0Gi","used":null}]},)json"
    R"json({"name":"Job definitions","items":[)json"
    R"json({"name":"Cron jobs","limit":"50","used":"5"},)json"
    R"json({"name":"Continuous jobs (including web services)","limit":"3","used":"1"}]}]})json";

TEST(ClusterQuota, ReportIsUpstreamsFixtureByteForByte) {
  auto report = clusterQuotaReport(fixtureQuota(), {}, 0, 0);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->dump(), kFixtureReport);
}

TEST(ClusterQuota, MissingObjectsCannotBeReported) {
  for (int missing = 0; missing < 2; ++missing) {
    ClusterQuota c = fixtureQuota();
    if (missing == 0) c.quota.reset();
    if (missing == 1) c.limits.reset();
    auto report = clusterQuotaReport(c, {}, 0, 0);
    ASSERT_FALSE(report);
    EXPECT_EQ(report.error().code, ErrorCode::kInternal);  // 500, as upstream
    EXPECT_EQ(report.error().message, "Unable to load quota information for this tool");
  }
}

TEST(ClusterQuota, ItemsTheQuotaLeavesOutShowTjfsOwnUse) {
  ClusterQuota c = fixtureQuota();
  c.quota->jobs.reset();
  c.quota->memory_bytes.reset();
  c.quota->cron_jobs.reset();
  c.limits->max_cpu_millis.reset();
  engine::RunningUsage usage;
  usage.add({model::JobType::kOneOff, 250, 256 * kMi});
  usage.add({model::JobType::kContinuous, 500, 512 * kMi});
  // The cluster counts fewer definitions than tjf holds (they run as per-run Jobs, no
  // Deployments): tjf's count is shown.
  auto report = clusterQuotaReport(c, usage, 7, 2);
  ASSERT_TRUE(report);
  const auto& running = (*report)["categories"][0]["items"];
  EXPECT_EQ(running[0].dump(),
            R"json({"name":"Total running jobs at once (Kubernetes pods)","limit":"10","used":"1"})json");
  EXPECT_EQ(running[1].dump(),
            R"json({"name":"Running one-off and cron jobs","limit":"unlimited","used":"1"})json");
  EXPECT_EQ(running[3].dump(), R"json({"name":"Memory","limit":"unlimited","used":"0.75Gi"})json");
  EXPECT_EQ((*report)["categories"][1]["items"][0].dump(),
            R"json({"name":"CPU","limit":"unlimited","used":null})json");
  const auto& definitions = (*report)["categories"][2]["items"];
  EXPECT_EQ(definitions[0].dump(), R"json({"name":"Cron jobs","limit":"unlimited","used":"7"})json");
  EXPECT_EQ(definitions[1].dump(),
            R"json({"name":"Continuous jobs (including web services)","limit":"3","used":"2"})json");
  // A hard 0 is "none allowed" on a cluster, not "no limit".
  c.quota->pods = ClusterQuota::Count{0, 0};
  report = clusterQuotaReport(c, usage, 7, 2);
  ASSERT_TRUE(report);
  EXPECT_EQ((*report)["categories"][0]["items"][0]["limit"], "0");
}

TEST(ClusterQuota, PerJobLimitsUseUpstreamsFourMessages) {
  const ClusterQuota::Limits l = *fixtureQuota().limits;
  EXPECT_TRUE(checkClusterJobLimits(l, jobWith("0.5", 500, "512Mi", 512 * kMi)));
  EXPECT_TRUE(checkClusterJobLimits(l, jobWith("1", 1000, "4Gi", 4 * kGi)));
  EXPECT_TRUE(checkClusterJobLimits(l, jobWith("50m", 50, "100Mi", 100 * kMi)));
  const struct {
    model::ResolvedJob job;
    const char* message;
  } refused[] = {
      {jobWith("10m", 10, "1Gi", kGi),
       "Requested CPU 10m is less than minimum required per container (50m)"},
      {jobWith("2.5", 2500, "1Gi", kGi),
       "Requested CPU 2.5 is over maximum allowed per container (1)"},
      {jobWith("0.5", 500, "50Mi", 50 * kMi),
       "Requested memory 50Mi is less than minimum required per container (100Mi)"},
      {jobWith("0.5", 500, "5Gi", 5 * kGi),
       "Requested memory 5Gi is over maximum allowed per container (4Gi)"},
  };
  for (const auto& r : refused) {
    auto ok = checkClusterJobLimits(l, r.job);
    ASSERT_FALSE(ok) << r.message;
    EXPECT_EQ(ok.error().code, ErrorCode::kInvalidArgument);  // 400
    EXPECT_EQ(ok.error().message, r.message);
  }
  // Unbounded sides refuse nothing.
  EXPECT_TRUE(checkClusterJobLimits({}, jobWith("64", 64000, "1Ti", 1024 * kGi)));
}

TEST(ClusterQuota, DefinitionCountsTakeTheLargerOfClusterAndTjf) {
  ClusterQuota::Quota q = *fixtureQuota().quota;  // continuous: 3 allowed, the cluster counts 1
  const std::vector<model::JobRecord> jobs = {jobRecord("a", model::JobType::kContinuous),
                                              jobRecord("b", model::JobType::kContinuous),
                                              jobRecord("c", model::JobType::kScheduled)};
  model::JobSpec spec;
  spec.name = "new";
  spec.type = model::JobType::kContinuous;
  EXPECT_TRUE(checkClusterDefinitionCount(q, spec, jobs));  // tjf holds 2 of 3
  q.continuous_jobs->used = 3;  // e.g. a webservice's Deployment besides two placed jobs
  auto r = checkClusterDefinitionCount(q, spec, jobs);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(r.error().message,
            "Out of quota for this kind of job: the tool already has 3 continuous jobs and may "
            "have at most 3, so job 'new' cannot be created. Please see https://w.wiki/6YLP for "
            "details.");
  spec.name = "a";  // an update of an existing definition adds no object
  EXPECT_TRUE(checkClusterDefinitionCount(q, spec, jobs));

  q.continuous_jobs = ClusterQuota::Count{2, 0};  // the cluster counts none (per-run Jobs)
  spec.name = "new";
  r = checkClusterDefinitionCount(q, spec, jobs);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "Out of quota for this kind of job: the tool already has 2 continuous jobs and may "
            "have at most 2, so job 'new' cannot be created. Please see https://w.wiki/6YLP for "
            "details.");
  q.continuous_jobs.reset();  // not limited
  EXPECT_TRUE(checkClusterDefinitionCount(q, spec, jobs));
  spec.type = model::JobType::kScheduled;  // 1 of 50 (cluster: 5)
  EXPECT_TRUE(checkClusterDefinitionCount(q, spec, jobs));
  q.cron_jobs = ClusterQuota::Count{0, 0};  // none allowed
  EXPECT_FALSE(checkClusterDefinitionCount(q, spec, jobs));
  spec.type = model::JobType::kOneOff;  // runs are the cluster's business (count/jobs.batch)
  EXPECT_TRUE(checkClusterDefinitionCount(q, spec, jobs));
}

// QuotaService with a cluster source, over a real store and engine (the engine admits nothing:
// no EngineOptions::quota, as the daemon sets it up on a cluster).
class NullRuntime final : public runtime::Runtime {
 public:
  void setExitCallback(ExitCallback) override {}
  Result<runtime::RunHandle> start(const runtime::RunRequest& request) override {
    return runtime::RunHandle{.run_id = request.run_id};
  }
  Status stop(std::int64_t) override { return {}; }
  void adopt(const runtime::RunHandle&) override {}
  std::optional<std::filesystem::path> capturedOutput(std::int64_t) const override {
    return std::nullopt;
  }
  std::vector<std::int64_t> stopOrphans(const std::vector<std::int64_t>&) override { return {}; }
};

class ClusterQuotaService : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/tjf-quota-test-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    auto opened = store::Store::open(dir_ / "tjf.db");
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
    engine_ = std::make_unique<engine::Engine>(
        io_, *store_, runtime_, clock_,
        engine::EngineOptions{.images = &images_, .tools = &tools_});
  }
  void TearDown() override {
    engine_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  QuotaService service(std::function<Result<ClusterQuota>(const std::string&)> source,
                       LogRetention* logs = nullptr) {
    ResourceOptions options;
    options.cluster_quota = std::move(source);
    options.logs = logs;
    return QuotaService(*store_, *engine_, std::move(options));
  }
  void addJob(const std::string& name, model::JobType type) {
    model::JobSpec spec;
    spec.name = name;
    spec.cmd = "true";
    spec.imagename = "bookworm";
    spec.type = type;
    if (type == model::JobType::kScheduled) spec.schedule = "@daily";
    ASSERT_TRUE(store_->insertJob("tool", spec, clock_.now()));
  }
  Status check(QuotaService& quotas, model::JobSpec spec, const model::ResolvedJob& resolved) {
    return quotas.checkDefinition("tool", spec, *images_.resolve("bookworm"), resolved);
  }

  std::filesystem::path dir_;
  boost::asio::io_context io_;
  ManualClock clock_;
  model::ImageCatalogue images_ = model::ImageCatalogue::defaults();
  model::SingleToolDirectory tools_{model::Tool{.name = "tool", .home = "/nonexistent"}};
  NullRuntime runtime_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<engine::Engine> engine_;
};

TEST_F(ClusterQuotaService, ReportsTheClusterFigures) {
  std::vector<std::string> asked;
  auto quotas = service([&](const std::string& tool) -> Result<ClusterQuota> {
    asked.push_back(tool);
    return fixtureQuota();
  });
  addJob("daily", model::JobType::kScheduled);  // fewer than the cluster's 5: the cluster's count
  auto report = quotas.report("tool");
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->dump(), kFixtureReport);
  EXPECT_EQ(asked, std::vector<std::string>{"tool"});

  // The log store's category follows upstream's three when log retention is configured.
  LogRetention retention(io_, *store_, clock_,
                         {.layout = model::StateLayout(dir_),
                          .policy = {.max_bytes = std::uint64_t{1} << 30,
                                     .max_age = std::chrono::hours(24)}});
  auto with_logs = service([](const std::string&) -> Result<ClusterQuota> { return fixtureQuota(); },
                           &retention);
  report = with_logs.report("tool");
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_EQ((*report)["categories"].size(), 4u);
  EXPECT_EQ((*report)["categories"][3], retention.quotaCategory("tool"));
  EXPECT_EQ((*report)["categories"][3]["name"], "Logs");
  (*report)["categories"].erase(3);
  EXPECT_EQ(report->dump(), kFixtureReport);
}

TEST_F(ClusterQuotaService, MissingObjectsAndSourceErrors) {
  auto missing = service([](const std::string&) -> Result<ClusterQuota> {
    ClusterQuota c = fixtureQuota();
    c.limits.reset();
    return c;
  });
  auto report = missing.report("tool");
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kInternal);
  EXPECT_EQ(report.error().message, "Unable to load quota information for this tool");
  // Without a LimitRange nothing bounds a job (the cluster would not either).
  model::JobSpec spec;
  spec.name = "big";
  EXPECT_TRUE(check(missing, spec, jobWith("8", 8000, "64Gi", 64 * kGi)));

  auto not_loaded = service([](const std::string&) -> Result<ClusterQuota> {
    return makeError(ErrorCode::kUnavailable, "the quota of namespace 'tool-tool' has not been "
                                              "read from the cluster yet; try again in a moment");
  });
  report = not_loaded.report("tool");
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kUnavailable);  // 503: a retry will do
  auto ok = check(not_loaded, spec, jobWith("0.5", 500, "512Mi", 512 * kMi));
  ASSERT_FALSE(ok);
  EXPECT_EQ(ok.error().code, ErrorCode::kUnavailable);
}

TEST_F(ClusterQuotaService, ChecksLimitsAndDefinitionCounts) {
  ClusterQuota cluster = fixtureQuota();
  cluster.quota->continuous_jobs = ClusterQuota::Count{2, 0};
  auto quotas = service([&](const std::string&) -> Result<ClusterQuota> { return cluster; });
  model::JobSpec spec;
  spec.name = "web";
  spec.type = model::JobType::kContinuous;
  auto r = check(quotas, spec, jobWith("2", 2000, "1Gi", kGi));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "Requested CPU 2 is over maximum allowed per container (1)");
  EXPECT_TRUE(check(quotas, spec, jobWith("0.5", 500, "512Mi", 512 * kMi)));
  addJob("one", model::JobType::kContinuous);
  addJob("two", model::JobType::kContinuous);
  r = check(quotas, spec, jobWith("0.5", 500, "512Mi", 512 * kMi));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "Out of quota for this kind of job: the tool already has 2 continuous jobs and may "
            "have at most 2, so job 'web' cannot be created. Please see https://w.wiki/6YLP for "
            "details.");
  spec.name = "two";  // updating one of them
  EXPECT_TRUE(check(quotas, spec, jobWith("0.5", 500, "512Mi", 512 * kMi)));
  // The local quota is not consulted: its 1-CPU maximum would refuse this, the cluster's 4 not.
  cluster.limits->max_cpu_millis = ClusterQuota::Bound{"4", 4000};
  spec.type = model::JobType::kOneOff;
  EXPECT_TRUE(check(quotas, spec, jobWith("3", 3000, "1Gi", kGi)));
}

TEST_F(ClusterQuotaService, UnlimitedRunningItemsCountTjfsRunningRuns) {
  ClusterQuota cluster = fixtureQuota();
  cluster.quota->pods.reset();
  cluster.quota->cpu_millis.reset();
  auto quotas = service([&](const std::string&) -> Result<ClusterQuota> { return cluster; });
  addJob("once", model::JobType::kOneOff);
  auto job = store_->findJob("tool", "once");
  ASSERT_TRUE(job && *job);
  model::RunRecord run;
  run.job_id = (*job)->id;
  run.tool = "tool";
  run.job_name = "once";
  run.state = model::RunState::kRunning;
  run.created_at = clock_.now();
  run.started_at = clock_.now();
  ASSERT_TRUE(store_->insertRun(run));
  auto report = quotas.report("tool");
  ASSERT_TRUE(report) << report.error().message;
  const auto& running = (*report)["categories"][0]["items"];
  EXPECT_EQ(running[0].dump(),
            R"json({"name":"Total running jobs at once (Kubernetes pods)","limit":"unlimited","used":"1"})json");
  EXPECT_EQ(running[2].dump(), R"json({"name":"CPU","limit":"unlimited","used":"0.5"})json");
}

}  // namespace
}  // namespace tjf::service

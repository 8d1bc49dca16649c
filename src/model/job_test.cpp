#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "model/job.hpp"
#include "model/resolve.hpp"

namespace tjf::model {
namespace {

using nlohmann::json;

TEST(JobSpecJson, DiscriminatesTheUnionLikeUpstream) {
  std::vector<std::string> warnings;
  auto oneoff = jobSpecFromJson(json{{"name", "a"}, {"cmd", "true"}, {"imagename", "bookworm"}},
                                &warnings);
  ASSERT_TRUE(oneoff) << oneoff.error().message;
  EXPECT_EQ(oneoff->type, JobType::kOneOff);
  auto cron = jobSpecFromJson(
      json{{"name", "a"}, {"cmd", "true"}, {"imagename", "x"}, {"schedule", "@daily"}}, &warnings);
  ASSERT_TRUE(cron);
  EXPECT_EQ(cron->type, JobType::kScheduled);
  auto cont = jobSpecFromJson(
      json{{"name", "a"}, {"cmd", "true"}, {"imagename", "x"}, {"continuous", true}}, &warnings);
  ASSERT_TRUE(cont);
  EXPECT_EQ(cont->type, JobType::kContinuous);
}

TEST(JobSpecJson, SchemaErrorsNameTheField) {
  const json base = {{"name", "a"}, {"cmd", "true"}, {"imagename", "x"}};
  auto with = [&](const char* key, json value) {
    json b = base;
    b[key] = std::move(value);
    return jobSpecFromJson(b, nullptr);
  };
  EXPECT_EQ(with("retry", 6).error().message, "retry: Input should be less than or equal to 5");
  EXPECT_EQ(with("retry", 6).error().code, ErrorCode::kUnprocessable);
  EXPECT_EQ(with("bogus", 1).error().message, "bogus: Extra inputs are not permitted");
  EXPECT_EQ(with("port", 80).error().message, "port: Extra inputs are not permitted");
  EXPECT_EQ(with("emails", "sometimes").error().message,
            "emails: Input should be 'none', 'all', 'onfinish' or 'onfailure'");
  EXPECT_EQ(jobSpecFromJson(json{{"name", "a"}}, nullptr).error().message, "cmd: Field required");
}

TEST(JobSpecJson, RetryOnContinuousIsIgnoredWithAWarning) {
  std::vector<std::string> warnings;
  auto spec = jobSpecFromJson(json{{"name", "a"}, {"cmd", "true"}, {"imagename", "x"},
                                   {"continuous", true}, {"retry", 2}},
                              &warnings);
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_FALSE(spec->retry.has_value());
  ASSERT_EQ(warnings.size(), 1u);
}

TEST(JobSpecJson, RoundTripsUserSetFieldsOnly) {
  JobSpec spec;
  spec.name = "bot";
  spec.cmd = "./bot.sh";
  spec.imagename = "python3.11";
  spec.type = JobType::kContinuous;
  spec.memory = "100Mi";
  spec.cpu = "4000m";
  spec.port = 8000;
  spec.health_check = HealthCheck{HealthCheckType::kHttp, "/healthz"};
  const json j = jobSpecToJson(spec);
  EXPECT_FALSE(j.contains("filelog"));
  EXPECT_EQ(j.at("memory"), "100Mi");
  auto back = jobSpecFromJson(j, nullptr);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, spec);
}

TEST(JobSpecJson, QuantitiesMayBeNumbers) {
  auto spec = jobSpecFromJson(
      json{{"name", "a"}, {"cmd", "true"}, {"imagename", "x"}, {"cpu", 2}, {"memory", "1Gi"}},
      nullptr);
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->cpu, "2");
}

// Real Toolforge files set `mount: none` alone on build-service images (file logs off upstream).
TEST(ResolveJob, MountNoneTurnsFileLogsOffByDefault) {
  Image image;
  image.shortname = "redis";
  image.runner = ImageRunner::kOci;
  const Tool tool{.name = "t", .home = "/home/t"};
  JobSpec spec;
  spec.name = "core";
  spec.cmd = "./core";
  spec.imagename = "redis";
  spec.mount = MountPolicy::kNone;
  auto resolved = resolveJob(spec, tool, image, JobDefaults{});
  ASSERT_TRUE(resolved) << resolved.error().message;
  EXPECT_FALSE(resolved->filelog);
  spec.filelog = true;  // asked for explicitly: still refused, as upstream
  resolved = resolveJob(spec, tool, image, JobDefaults{});
  ASSERT_FALSE(resolved);
  EXPECT_EQ(resolved.error().message, "File logging is only available with --mount=all");
  spec.filelog.reset();
  spec.mount = MountPolicy::kAll;
  resolved = resolveJob(spec, tool, image, JobDefaults{});
  ASSERT_TRUE(resolved);
  EXPECT_TRUE(resolved->filelog);
}

}  // namespace
}  // namespace tjf::model

namespace tjf::model {
namespace {

TEST(ResolveLogPath, RelativeUnderTheHomeAndHomeVariablesExpanded) {
  Tool tool;
  tool.home = "/data/project/mytool";
  EXPECT_EQ(resolveLogPath("logs/x.out", tool), "/data/project/mytool/logs/x.out");
  EXPECT_EQ(resolveLogPath("/var/log/x", tool), "/var/log/x");
  EXPECT_EQ(resolveLogPath("$HOME/logs/x.out", tool), "/data/project/mytool/logs/x.out");
  EXPECT_EQ(resolveLogPath("${HOME}/x.out", tool), "/data/project/mytool/x.out");
  EXPECT_EQ(resolveLogPath("$TOOL_DATA_DIR/x.out", tool), "/data/project/mytool/x.out");
  EXPECT_EQ(resolveLogPath("~/x.out", tool), "/data/project/mytool/x.out");
  EXPECT_EQ(resolveLogPath("$HOMEWORK/x", tool), "/data/project/mytool/$HOMEWORK/x");
  EXPECT_EQ(displayPath("/data/project/mytool/logs/x.out", tool), "logs/x.out");
  EXPECT_EQ(displayPath("/var/log/x", tool), "/var/log/x");
}

}  // namespace
}  // namespace tjf::model

#include "kubernetes/run_mapping.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/time_format.hpp"
#include "model/images.hpp"

namespace tjf::kubernetes {
namespace {

const model::Image& python() {
  static const auto catalogue = model::ImageCatalogue::defaults();
  return *catalogue.resolve("python3.11");
}

runtime::RunRequest request() {
  runtime::RunRequest r;
  r.run_id = 7;
  r.tool = "tf-test";
  r.job_name = "myjob";
  r.command = "./run.sh --x 'y z'";
  r.image = &python();
  r.workdir = "/data/project/tf-test";
  r.env = {"HOME=/data/project/tf-test", "PATH=/usr/local/bin:/usr/bin", "SHELL=/bin/sh",
           "TOOL_DATA_DIR=/data/project/tf-test", "JOB_NAME=myjob", "TJF_RUN_ID=7"};
  r.stdout_path = "/data/project/tf-test/myjob.out";
  r.stderr_path = "/data/project/tf-test/my logs/myjob.err";
  r.timeout_seconds = 60;
  r.memory_bytes = 1LL << 30;
  r.cpu_millis = 500;
  r.uid = 52503;
  r.gid = 52503;
  return r;
}

json job(const json& status, std::int64_t deadline = 0) {
  json j = {{"metadata", {{"name", "myjob-run7"}, {"labels", {{std::string(kLabelRunId), "7"}}}}},
            {"spec", json::object()},
            {"status", status}};
  if (deadline) j["spec"]["activeDeadlineSeconds"] = deadline;
  return j;
}

json podTerminated(const json& terminated) {
  return {{"metadata", {{"name", "myjob-run7-abcde"}}},
          {"status", {{"phase", "Failed"},
                      {"containerStatuses", {{{"name", "job"}, {"state", {{"terminated", terminated}}}}}}}}};
}

// The per-run Job is a golden file too, so the schema test validates it with the others.
TEST(RunJobManifest, Golden) {
  ManifestOptions options;
  options.volumes = {VolumeConfig{.name = "home", .mount_path = "/data/project",
                                  .host_path = HostPathSource{.path = "/data/project"}}};
  auto manifest = runJobManifest(request(), options, RunJobOptions{});
  ASSERT_TRUE(manifest) << manifest.error().message;
  const auto file = std::filesystem::path(TJF_K8S_GOLDEN_DIR) / "run-job.json";
  const json actual = json::array({*manifest});
  if (std::getenv("TJF_UPDATE_GOLDEN")) {
    std::ofstream(file) << actual.dump(2) << "\n";
    GTEST_SKIP() << "rewrote " << file;
  }
  std::ifstream in(file);
  ASSERT_TRUE(in) << file;
  EXPECT_EQ(json::parse(in), actual) << actual.dump(2);
}

TEST(RunJobManifest, PersonalModeFallsBackToTheConfiguredIdentity) {
  auto r = request();
  r.uid.reset();
  r.gid.reset();
  EXPECT_FALSE(runJobManifest(r, {}, RunJobOptions{}));  // would run as root: refused
  auto manifest = runJobManifest(r, {}, RunJobOptions{.default_uid = 1000, .default_gid = 1001});
  ASSERT_TRUE(manifest);
  EXPECT_EQ((*manifest)["spec"]["template"]["spec"]["securityContext"]["runAsUser"], 1000);
  EXPECT_EQ((*manifest)["spec"]["template"]["spec"]["securityContext"]["runAsGroup"], 1001);
}

TEST(RunJobManifest, MountNoneGetsNoVolumes) {
  ManifestOptions options;
  options.volumes = {VolumeConfig{.name = "home", .mount_path = "/data/project",
                                  .host_path = HostPathSource{.path = "/data/project"}}};
  auto r = request();
  r.mount = model::MountPolicy::kNone;
  auto manifest = runJobManifest(r, options, RunJobOptions{});
  ASSERT_TRUE(manifest);
  EXPECT_EQ((*manifest)["metadata"]["labels"][std::string(kLabelMountStorage)], "none");
  EXPECT_FALSE((*manifest)["spec"]["template"]["spec"].contains("volumes"));
}

TEST(ManualRunFromCronJob, CopiesTheTemplateUnderTheRunsNameAndLabels) {
  auto run_job = runJobManifest(request(), ManifestOptions{}, RunJobOptions{});
  ASSERT_TRUE(run_job) << run_job.error().message;
  const json cronjob = {
      {"metadata", {{"name", "myjob"}, {"namespace", "tool-tf-test"}, {"uid", "cj-uid"},
                    {"labels", {{"app.kubernetes.io/name", "myjob"}}}}},
      {"spec", {{"jobTemplate",
                 {{"spec", {{"backoffLimit", 2},
                            {"ttlSecondsAfterFinished", 30},
                            {"template", {{"metadata", {{"labels", {{"app.kubernetes.io/name", "myjob"}}}}},
                                          {"spec", {{"restartPolicy", "Never"}}}}}}}}}}}};
  const auto manual = manualRunFromCronJob(cronjob, *run_job, fromUnixMillis(1'800'000'000'000));
  ASSERT_TRUE(manual);
  EXPECT_EQ((*manual)["metadata"]["name"], "myjob-run7") << "the run's own name: a retried start runs once";
  EXPECT_EQ((*manual)["metadata"]["annotations"][std::string(kAnnotationInstantiate)], "manual");
  EXPECT_EQ((*manual)["metadata"]["ownerReferences"][0]["uid"], "cj-uid");
  EXPECT_EQ((*manual)["spec"]["backoffLimit"], 2) << "the CronJob's retries, not the run Job's 0";
  EXPECT_EQ(runIdOf(*manual), 7);
  EXPECT_EQ(runIdOf((*manual)["spec"]["template"]), 7) << "its pods are the run's too";
  EXPECT_EQ((*manual)["metadata"]["labels"]["app.kubernetes.io/name"], "myjob");
  EXPECT_FALSE(manualRunFromCronJob(json{{"metadata", {{"name", "x"}}}}, *run_job,
                                    fromUnixMillis(0)))
      << "a CronJob without a uid cannot own the Job";
}

TEST(RunJobName, StaysAValidLabelValue) {
  EXPECT_EQ(runJobName("myjob", 7), "myjob-run7");
  const std::string long_name(52, 'a');
  const auto name = runJobName(long_name, 123456789012LL);
  EXPECT_EQ(name.size(), 63u);
  EXPECT_TRUE(name.ends_with("-run123456789012"));
  // A cut that would end in '-' drops it.
  // 63 - 14 = 49 characters of the job name are kept: 48 b's and the '-', which is dropped.
  EXPECT_EQ(runJobName(std::string(48, 'b') + "-cccc", 1234567890), std::string(48, 'b') + "-run1234567890");
}

TEST(RunIdOf, ReadsOnlyWellFormedLabels) {
  EXPECT_EQ(runIdOf(job({})), 7);
  EXPECT_EQ(runIdOf(json{{"metadata", {{"labels", {{std::string(kLabelRunId), "x1"}}}}}}), std::nullopt);
  EXPECT_EQ(runIdOf(json::object()), std::nullopt);
}

TEST(ExitOfFinishedJob, Complete) {
  auto exit = exitOfFinishedJob(7, job({{"startTime", "2026-01-01T00:00:00Z"},
                                        {"completionTime", "2026-01-01T00:01:30Z"},
                                        {"conditions", {{{"type", "Complete"}, {"status", "True"}}}}}),
                                {});
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->reason, "Completed");
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_EQ(*exit->started_at, *parseKubernetesTime("2026-01-01T00:00:00Z"));
  EXPECT_EQ(exit->finished_at - *exit->started_at, std::chrono::seconds(90));
}

TEST(ExitOfFinishedJob, NotFinishedYet) {
  EXPECT_FALSE(exitOfFinishedJob(7, job({{"active", 1}}), {}));
  EXPECT_FALSE(exitOfFinishedJob(7, job({{"conditions", {{{"type", "Failed"}, {"status", "False"}}}}}), {}));
}

json failed(const std::string& reason) {
  return {{"conditions", {{{"type", "Failed"}, {"status", "True"}, {"reason", reason},
                           {"message", "Job has reached the specified backoff limit"},
                           {"lastTransitionTime", "2026-01-01T00:00:10Z"}}}}};
}

TEST(ExitOfFinishedJob, ErrorWithTheContainerExitCode) {
  auto exit = exitOfFinishedJob(7, job(failed("BackoffLimitExceeded")),
                                {podTerminated({{"exitCode", 3}, {"reason", "Error"},
                                                {"finishedAt", "2026-01-01T00:00:09Z"}})});
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->reason, "Error");
  EXPECT_EQ(exit->exit_code, 3);
  EXPECT_EQ(exit->finished_at, *parseKubernetesTime("2026-01-01T00:00:09Z"));
}

TEST(ExitOfFinishedJob, OomKilled) {
  auto exit = exitOfFinishedJob(7, job(failed("BackoffLimitExceeded")),
                                {podTerminated({{"exitCode", 137}, {"reason", "OOMKilled"}})});
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->reason, "OOMKilled");
  EXPECT_EQ(exit->exit_code, 137);
  EXPECT_EQ(exit->message, "killed by the memory limit");
}

TEST(ExitOfFinishedJob, Signal) {
  auto exit = exitOfFinishedJob(7, job(failed("BackoffLimitExceeded")),
                                {podTerminated({{"exitCode", 143}, {"signal", 15}, {"reason", "Error"}})});
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->reason, "Signal");
  EXPECT_EQ(exit->signal, 15);
}

TEST(ExitOfFinishedJob, DeadlineExceededIsTheTimeout) {
  auto exit = exitOfFinishedJob(7, job(failed("DeadlineExceeded"), 60), {});
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->reason, "DeadlineExceeded");
  EXPECT_EQ(exit->message, "the run did not finish within its timeout of 60 seconds");
  EXPECT_EQ(exit->finished_at, *parseKubernetesTime("2026-01-01T00:00:10Z"));
}

TEST(ExitOfFinishedJob, FailedWithoutAContainer) {
  auto exit = exitOfFinishedJob(7, job(failed("PodFailurePolicy")), {});
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->reason, "Error");
  EXPECT_EQ(exit->message, "PodFailurePolicy: Job has reached the specified backoff limit");
}

TEST(StartFailure, ImagePullBackOff) {
  const json pod = {{"status", {{"phase", "Pending"},
                                {"containerStatuses", {{{"state", {{"waiting", {{"reason", "ImagePullBackOff"},
                                                                               {"message", "Back-off pulling image \"x\""}}}}}}}}}}};
  auto exit = startFailure(7, {pod}, TimePoint{});
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->reason, "StartError");
  EXPECT_EQ(exit->message, "ImagePullBackOff: Back-off pulling image \"x\"");
  const json creating = {{"status", {{"containerStatuses", {{{"state", {{"waiting", {{"reason", "ContainerCreating"}}}}}}}}}}};
  EXPECT_FALSE(startFailure(7, {creating}, TimePoint{}));
}

TEST(ExitOfDeletedJob, StoppedLostOrFinished) {
  const json running = job({{"active", 1}, {"startTime", "2026-01-01T00:00:00Z"}});
  EXPECT_EQ(exitOfDeletedJob(7, running, {}, true, TimePoint{}).reason, "Stopped");
  const auto lost = exitOfDeletedJob(7, running, {}, false, TimePoint{});
  EXPECT_EQ(lost.reason, "Lost");
  EXPECT_EQ(lost.message, "the Kubernetes Job 'myjob-run7' was deleted before it finished");
  EXPECT_EQ(exitOfDeletedJob(7, std::nullopt, {}, false, TimePoint{}).message,
            "the Kubernetes Job of this run no longer exists");
  // A Job that finished before it was deleted keeps its real result, even if a stop was asked.
  const json done = job({{"conditions", {{{"type", "Complete"}, {"status", "True"}}}}});
  EXPECT_EQ(exitOfDeletedJob(7, done, {}, true, TimePoint{}).reason, "Completed");
}

TEST(KubernetesTime, ParsesSecondsAndFractions) {
  const auto base = parseKubernetesTime("2026-01-01T00:00:01Z");
  ASSERT_TRUE(base);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(base->time_since_epoch()).count(), 1767225601);
  EXPECT_EQ(*parseKubernetesTime("2026-01-01T00:00:01.5Z") - *base, std::chrono::milliseconds(500));
  EXPECT_EQ(*parseKubernetesTime("2026-01-01T00:00:01.123456789Z") - *base, std::chrono::microseconds(123456));
  EXPECT_FALSE(parseKubernetesTime("2026-01-01 00:00:01"));
  EXPECT_FALSE(parseKubernetesTime("2026-01-01T00:00:01.x1Z"));
}

TEST(CapturedRecord, TurnsTimestampedLinesIntoLogStoreRecords) {
  EXPECT_EQ(capturedRecord("2026-01-01T00:00:01.000002000Z hello world"), "1767225601000002 o hello world");
  EXPECT_EQ(capturedRecord("2026-01-01T00:00:01Z "), "1767225601000000 o ");
  EXPECT_FALSE(capturedRecord("no timestamp here"));
}

}  // namespace
}  // namespace tjf::kubernetes

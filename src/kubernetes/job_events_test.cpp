// FailedCreate Events of Jobs (job_events.hpp) and saved watch positions (resume_point.hpp):
// pure functions and a small file format.
#include "kubernetes/job_events.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "kubernetes/resume_point.hpp"
#include "kubernetes/run_mapping.hpp"

namespace tjf::kubernetes {
namespace {

// An Event as the Job controller records it (core/v1, the recorded shape of a real 1.24 cluster).
json jobEvent(const std::string& message, const std::string& kind = "Job",
              const std::string& reason = "FailedCreate") {
  return {{"kind", "Event"},
          {"metadata", {{"name", "bigjob.17a"}, {"namespace", "tool-demo"},
                        {"creationTimestamp", "2026-01-01T00:00:01Z"}}},
          {"involvedObject", {{"kind", kind}, {"name", "bigjob"}, {"namespace", "tool-demo"}}},
          {"reason", reason},
          {"message", message},
          {"lastTimestamp", "2026-01-01T00:00:05Z"},
          {"type", "Warning"}};
}

TEST(JobEvents, AQuotaRefusalIsUpstreamsStatus) {
  const auto refusal = failedCreateOf(jobEvent(
      "Error creating: pods \"bigjob-kvlz8\" is forbidden: exceeded quota: tool-demo, requested: pods=1, "
      "used: pods=4, limited: pods=4"));
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->kind, PodRefusal::kQuota);
  EXPECT_EQ(refusal->text, "Unable to start, out of quota for pods");
  const auto both = failedCreateOf(jobEvent(
      "Error creating: pods \"bigjob-x\" is forbidden: exceeded quota: tool-demo, requested: "
      "limits.cpu=2,limits.memory=4Gi, used: limits.cpu=3,limits.memory=6Gi, limited: limits.cpu=4,limits.memory=8Gi"));
  ASSERT_TRUE(both);
  EXPECT_EQ(both->text, "Unable to start, out of quota for cpu, memory");
}

TEST(JobEvents, ALimitRangeRefusalIsNoQuotaWait) {
  // The LimitRanger's messages (recorded, and the fake cluster's wording of the others).
  for (const std::string why : {"maximum memory usage per Container is 4Gi, but limit is 8Gi",
                                "minimum cpu usage per Container is 50m, but request is 10m",
                                "maximum cpu usage per Pod is 2, but limit is 3",
                                "memory max limit to request ratio per Container is 2, but provided ratio is 4.000000",
                                "[maximum memory usage per Container is 4Gi, but limit is 8Gi, "
                                "maximum cpu usage per Container is 1, but limit is 2]"}) {
    const auto refusal = failedCreateOf(jobEvent("Error creating: pods \"bigjob-q\" is forbidden: " + why));
    ASSERT_TRUE(refusal) << why;
    EXPECT_EQ(refusal->kind, PodRefusal::kLimitRange) << why;
    EXPECT_EQ(refusal->text, "pods \"bigjob-q\" is forbidden: " + why);
  }
}

TEST(JobEvents, OtherRefusalsAndOtherEventsAreNeither) {
  const auto other = failedCreateOf(jobEvent(
      "Error creating: Internal error occurred: failed calling webhook \"mount.toolforge.org\""));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->kind, PodRefusal::kOther);
  // "failed quota: must specify" names no quota that is full: not a wait for room.
  EXPECT_EQ(failedCreateOf(jobEvent("Error creating: pods \"b\" is forbidden: failed quota: tool-demo: "
                                    "must specify limits.cpu"))->kind,
            PodRefusal::kOther);
  EXPECT_FALSE(failedCreateOf(jobEvent("Created pod: bigjob-kvlz8", "Job", "SuccessfulCreate")));
  // A CronJob's refused Job and a Deployment's ReplicaSet are not about a run's pod.
  EXPECT_FALSE(failedCreateOf(jobEvent("Error creating: jobs.batch \"x\" is forbidden: exceeded quota", "CronJob")));
  EXPECT_FALSE(failedCreateOf(json::object()));
  EXPECT_FALSE(failedCreateOf(json("text")));
}

TEST(JobEvents, TheInvolvedJobAndWhenTheEventLastHappened) {
  json event = jobEvent("x");
  EXPECT_EQ(involvedJobKey(event), "tool-demo/bigjob");
  event["involvedObject"].erase("namespace");  // the Event's own namespace then
  EXPECT_EQ(involvedJobKey(event), "tool-demo/bigjob");
  EXPECT_EQ(involvedJobKey(jobEvent("x", "Pod")), "");

  EXPECT_EQ(eventLastSeen(event), parseKubernetesTime("2026-01-01T00:00:05Z"));
  // events.k8s.io writers leave lastTimestamp empty and count repeats in a series.
  event["lastTimestamp"] = nullptr;
  event["eventTime"] = "2026-01-01T00:00:03.250000Z";
  EXPECT_EQ(eventLastSeen(event), parseKubernetesTime("2026-01-01T00:00:03.25Z"));
  event["series"] = {{"count", 4}, {"lastObservedTime", "2026-01-01T00:01:00.000000Z"}};
  EXPECT_EQ(eventLastSeen(event), parseKubernetesTime("2026-01-01T00:01:00Z"));
  event.erase("series");
  event.erase("eventTime");
  EXPECT_EQ(eventLastSeen(event), parseKubernetesTime("2026-01-01T00:00:01Z"));
  EXPECT_FALSE(eventLastSeen(json::object()));
}

// A CronJob's refused Job (the CronJob controller's Event): a note for the placed job.
TEST(JobEvents, ACronJobsRefusedJobIsAJobNote) {
  const json quota = jobEvent(
      "Error creating job: jobs.batch \"bigjob-29000000\" is forbidden: exceeded quota: tool-demo, requested: "
      "count/jobs.batch=1, used: count/jobs.batch=2, limited: count/jobs.batch=2",
      "CronJob");
  EXPECT_EQ(involvedCronJobKey(quota), "tool-demo/bigjob");
  EXPECT_EQ(involvedJobKey(quota), "") << "not a Job's";
  EXPECT_FALSE(failedCreateOf(quota)) << "not a run's refusal";
  EXPECT_EQ(cronJobRefusalNote(quota), "Unable to start, out of quota for jobs");
  const json webhook = jobEvent("Error creating job: admission webhook \"x\" denied the request: no", "CronJob");
  EXPECT_EQ(cronJobRefusalNote(webhook), "Unable to start: admission webhook \"x\" denied the request: no");
  EXPECT_FALSE(cronJobRefusalNote(jobEvent("Error creating: pods ...", "Job")));
  EXPECT_FALSE(cronJobRefusalNote(jobEvent("Missed scheduled time", "CronJob", "MissSchedule")));
  EXPECT_EQ(involvedCronJobKey(jobEvent("x", "CronJob", "SuccessfulCreate")), "");
}

TEST(ResumePoint, IsSavedAtomicallyAndReadBack) {
  char tmpl[] = "/tmp/tjf-k8s-resume-XXXXXX";
  const std::filesystem::path root = ::mkdtemp(tmpl);
  const auto file = resumePointPath(root, "tool-x");
  EXPECT_EQ(file, root / "kubernetes" / "watch-tool-x.json");
  EXPECT_EQ(resumePointPath(root, ""), root / "kubernetes" / "watch-_all.json");

  auto none = readResumePoint(file);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_FALSE(*none) << "nothing saved yet";

  const ResumePoint point{.server = "https://k8s:6443", .ns = "tool-x", .jobs = "1200", .pods = "1195"};
  ASSERT_TRUE(writeResumePoint(file, point, true));
  auto read = readResumePoint(file);
  ASSERT_TRUE(read && *read);
  EXPECT_EQ(**read, point);
  EXPECT_FALSE(std::filesystem::exists(file.string() + ".tmp"));

  std::ofstream(file) << "{\"server\": \"https://k8s:6443\"";  // torn or edited by hand
  auto broken = readResumePoint(file);
  ASSERT_FALSE(broken);
  EXPECT_NE(broken.error().message.find("watch-tool-x.json"), std::string::npos) << broken.error().message;
  std::filesystem::remove_all(root);
}

TEST(ResumePoint, VersionsCompareAsIntegersWhenTheyAreIntegers) {
  EXPECT_TRUE(versionAtOrPast("1000", "999"));
  EXPECT_TRUE(versionAtOrPast("1000", "1000"));
  EXPECT_FALSE(versionAtOrPast("999", "1000"));
  EXPECT_FALSE(versionAtOrPast("abc", "1")) << "opaque: never taken as past";
  EXPECT_FALSE(versionAtOrPast("1", ""));
  EXPECT_EQ(olderVersion("1000", "999"), "999");
  EXPECT_EQ(olderVersion("7", "12"), "7");
  EXPECT_EQ(olderVersion("a", "12"), "a");
  EXPECT_EQ(olderVersion("", "12"), "12");
}

}  // namespace
}  // namespace tjf::kubernetes

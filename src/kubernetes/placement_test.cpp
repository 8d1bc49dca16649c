// Placed jobs (runtime.hpp, "the job-level seam") on Kubernetes: the pure half (placement.hpp)
// and the KubernetesRuntime's placeJob / removeJob / removeUnknownJobs and observed runs against
// FakeApiServer (a contract fake of the apiserver on 127.0.0.1). As in kubernetes_runtime_test,
// the test plays the controllers: it writes the Jobs a CronJob would make and the pods a
// Deployment would have, with the status a kubelet would give them.
#include "kubernetes/placement.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/executor_work_guard.hpp>
#include <fstream>
#include <sstream>

#include "cron/schedule.hpp"
#include "fake_api_server.hpp"
#include "runtime_test_support.hpp"
#include "kubernetes/kubernetes_runtime.hpp"

namespace tjf::kubernetes {
namespace {

namespace fs = std::filesystem;
using testing::FakeApiServer;
using testing::RecordedRequest;

const std::string kNs = "tool-tf-test";

const model::Image& python() {
  static const auto catalogue = model::ImageCatalogue::defaults();
  return *catalogue.resolve("python3.11");
}

model::Tool testTool() {
  return model::Tool{.name = "tf-test", .home = "/data/project/tf-test", .uid = 52503, .gid = 52503};
}

model::JobSpec scheduledSpec() {
  model::JobSpec spec;
  spec.name = "daily";
  spec.cmd = "./backup.sh";
  spec.imagename = "python3.11";
  spec.type = model::JobType::kScheduled;
  spec.schedule = "@daily";
  return spec;
}

model::JobSpec continuousSpec(std::optional<int> port = 8080) {
  model::JobSpec spec;
  spec.name = "web";
  spec.cmd = "./serve.sh";
  spec.imagename = "python3.11";
  spec.type = model::JobType::kContinuous;
  spec.port = port;
  return spec;
}

// A placement as the engine builds it: resolved definition, effective schedule, the run
// environment (with the per-run and host variables the runtime must drop) and the identity.
runtime::JobPlacement placementOf(const model::JobSpec& spec, std::int64_t generation) {
  runtime::JobPlacement p;
  p.tool = testTool();
  p.spec = spec;
  auto resolved = model::resolveJob(spec, p.tool, python(), model::JobDefaults{});
  EXPECT_TRUE(resolved) << resolved.error().message;
  p.resolved = resolved.value_or(model::ResolvedJob{});
  p.image = &python();
  if (spec.schedule) {
    auto schedule = cron::parseSchedule(*spec.schedule, p.tool.name, spec.name, "UTC");
    EXPECT_TRUE(schedule);
    p.effective_schedule = schedule->effective;
  }
  p.generation = generation;
  p.env = {"HOME=/data/project/tf-test", "TOOL_NAME=tf-test", "PATH=/usr/bin", "LANG=C.UTF-8",
           "SHELL=/bin/sh", "JOB_NAME=" + spec.name, "TJF_RUN_ID=0", "TJF_ATTEMPT=1"};
  if (spec.port) p.env.push_back("PORT=" + std::to_string(*spec.port));
  p.uid = 52503;
  p.gid = 52503;
  return p;
}

std::map<std::string, std::string> envOf(const json& pod_template) {
  std::map<std::string, std::string> env;
  for (const auto& e : pod_template["spec"]["containers"][0]["env"]) env[e["name"]] = e["value"];
  return env;
}

std::string label(std::string_view key) { return std::string(key); }

std::string annotationDigest(const json& object) {
  return object["metadata"]["annotations"].value(label(kAnnotationPlacementDigest), "");
}

// ---- placementManifests --------------------------------------------------------------------

TEST(PlacementManifests, ACronJobCarriesTheGenerationTheEnvironmentAndTheIdentity) {
  auto p = placementOf(scheduledSpec(), 3);
  p.uid.reset();
  p.gid.reset();
  EXPECT_FALSE(placementManifests(p, {}, RunJobOptions{}));  // would run as root: refused
  auto objects = placementManifests(p, {}, RunJobOptions{.default_uid = 1000, .default_gid = 1001});
  ASSERT_TRUE(objects) << objects.error().message;
  ASSERT_EQ(objects->size(), 1u);
  const json& cronjob = (*objects)[0];
  EXPECT_EQ(cronjob["kind"], "CronJob");
  // The Jobs it makes carry the job's labels and the generation (jobTemplate.metadata.labels).
  const json& job_labels = cronjob["spec"]["jobTemplate"]["metadata"]["labels"];
  EXPECT_EQ(job_labels[label(kLabelGeneration)], "3");
  EXPECT_EQ(job_labels[label(kLabelComponent)], "cronjobs");
  EXPECT_EQ(job_labels[label(kLabelName)], "daily");
  EXPECT_FALSE(cronjob["metadata"]["labels"].contains(label(kLabelGeneration)));
  const json& pod = cronjob["spec"]["jobTemplate"]["spec"]["template"];
  EXPECT_EQ(pod["metadata"]["labels"][label(kLabelGeneration)], "3");
  const auto env = envOf(pod);
  EXPECT_EQ(env.at("JOB_NAME"), "daily");
  EXPECT_EQ(env.at("TOOL_NAME"), "tf-test");
  EXPECT_EQ(env.at("LANG"), "C.UTF-8");
  for (const char* dropped : {"PATH", "SHELL", "TJF_RUN_ID", "TJF_ATTEMPT"}) EXPECT_FALSE(env.count(dropped)) << dropped;
  EXPECT_EQ(pod["spec"]["securityContext"]["runAsUser"], 1000);
  EXPECT_EQ(pod["spec"]["securityContext"]["runAsGroup"], 1001);
  EXPECT_EQ(cronjob["spec"]["jobTemplate"]["spec"]["backoffLimit"], 0);
  EXPECT_EQ(annotationDigest(cronjob).size(), 16u);
}

TEST(PlacementManifests, ADeploymentRollsOnTheGenerationButKeepsItsSelector) {
  auto objects = placementManifests(placementOf(continuousSpec(), 2), {}, {});
  ASSERT_TRUE(objects) << objects.error().message;
  ASSERT_EQ(objects->size(), 2u);
  const json& deployment = (*objects)[0];
  EXPECT_EQ(deployment["kind"], "Deployment");
  EXPECT_EQ(deployment["spec"]["template"]["metadata"]["labels"][label(kLabelGeneration)], "2");
  EXPECT_FALSE(deployment["spec"]["selector"]["matchLabels"].contains(label(kLabelGeneration)));
  // PORT is the manifest's (not twice); the placement's variables follow it.
  const auto& env = deployment["spec"]["template"]["spec"]["containers"][0]["env"];
  int ports = 0;
  for (const auto& e : env) ports += e["name"] == "PORT";
  EXPECT_EQ(ports, 1);
  EXPECT_EQ((*objects)[1]["kind"], "Service");
  EXPECT_FALSE((*objects)[1]["spec"]["selector"].contains(label(kLabelGeneration)));
  // A new generation changes the digest (and so is written); the same one does not.
  auto again = placementManifests(placementOf(continuousSpec(), 2), {}, {});
  auto next = placementManifests(placementOf(continuousSpec(), 3), {}, {});
  EXPECT_EQ(annotationDigest((*again)[0]), annotationDigest(deployment));
  EXPECT_NE(annotationDigest((*next)[0]), annotationDigest(deployment));
}

// The placed objects are golden files too, so the schema test validates them with the others
// (labels on a jobTemplate, a Deployment selector that still matches its template).
void expectGolden(const std::string& name, const std::vector<json>& objects) {
  const auto file = fs::path(TJF_K8S_GOLDEN_DIR) / (name + ".json");
  const json actual(objects);
  if (std::getenv("TJF_UPDATE_GOLDEN")) {
    std::ofstream(file) << actual.dump(2) << "\n";
    GTEST_SKIP() << "rewrote " << file << "; review the diff";
  }
  std::ifstream in(file);
  ASSERT_TRUE(in) << "missing golden file " << file << " (run with TJF_UPDATE_GOLDEN=1)";
  EXPECT_EQ(json::parse(in), actual) << "golden " << file << " differs; generated:\n" << actual.dump(2);
}

TEST(PlacementManifests, GoldenScheduled) {
  auto objects = placementManifests(placementOf(scheduledSpec(), 3), {}, {});
  ASSERT_TRUE(objects) << objects.error().message;
  expectGolden("placed-scheduled", *objects);
}

TEST(PlacementManifests, GoldenContinuous) {
  auto spec = continuousSpec(8080);
  spec.replicas = 2;
  spec.health_check = model::HealthCheck{.type = model::HealthCheckType::kHttp, .value = "/healthz"};
  auto objects = placementManifests(placementOf(spec, 7), {}, {});
  ASSERT_TRUE(objects) << objects.error().message;
  expectGolden("placed-continuous", *objects);
}

TEST(PlacementManifests, OneOffJobsAreNotPlaced) {
  auto spec = scheduledSpec();
  spec.type = model::JobType::kOneOff;
  spec.schedule.reset();
  auto objects = placementManifests(placementOf(spec, 1), {}, {});
  ASSERT_FALSE(objects);
  EXPECT_EQ(objects.error().message,
            "Cannot place one-off job 'daily' of tool 'tf-test': the engine runs one-off jobs");
}

// ---- observed runs (pure) ------------------------------------------------------------------

json cronJobLabels(std::int64_t generation, bool filelog = false) {
  json labels = {{label(kLabelToolforge), "tool"}, {label(kLabelManagedBy), label(kManagedByValue)},
                 {label(kLabelCreatedBy), "tf-test"}, {label(kLabelComponent), "cronjobs"},
                 {label(kLabelName), "daily"}, {label(kLabelVersion), "2"},
                 {label(kLabelGeneration), std::to_string(generation)}};
  if (filelog) labels[label(kLabelFilelog)] = "yes";
  return labels;
}

json deploymentPodLabels(std::int64_t generation, bool filelog = true) {
  json labels = {{label(kLabelToolforge), "tool"}, {label(kLabelManagedBy), label(kManagedByValue)},
                 {label(kLabelCreatedBy), "tf-test"}, {label(kLabelComponent), "deployments"},
                 {label(kLabelName), "web"}, {label(kLabelVersion), "2"},
                 {label(kLabelGeneration), std::to_string(generation)}};
  if (filelog) labels[label(kLabelFilelog)] = "yes";
  return labels;
}

json containerStatus(int restarts, const json& state, const json& last_state = json::object(),
                     const std::string& id = "") {
  json s = {{"name", "job"}, {"restartCount", restarts}, {"state", state}, {"lastState", last_state}};
  if (!id.empty()) s["containerID"] = id;
  return s;
}

json deploymentPod(const std::string& name, std::int64_t generation, const json& container_status,
                   bool filelog = true) {
  return {{"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", kNs}, {"labels", deploymentPodLabels(generation, filelog)}}},
          {"spec", {{"containers", {{{"name", "job"}, {"livenessProbe", {{"tcpSocket", {{"port", 8080}}}}}}}}}},
          {"status", {{"phase", "Running"}, {"containerStatuses", {container_status}}}}};
}

json running(const std::string& at = "2026-01-01T00:00:00Z") { return {{"running", {{"startedAt", at}}}}; }
json terminated(int code, const std::string& reason, const std::string& id = "") {
  json t = {{"exitCode", code}, {"reason", reason}, {"startedAt", "2026-01-01T00:00:00Z"},
            {"finishedAt", "2026-01-01T00:01:00Z"}};
  if (!id.empty()) t["containerID"] = id;
  return {{"terminated", t}};
}

TEST(ObservedRuns, ACronJobsJobIsOneRunNamedAfterTheJob) {
  json job = {{"metadata", {{"name", "daily-29000000"}, {"namespace", kNs}, {"labels", cronJobLabels(4)},
                            {"creationTimestamp", "2026-01-01T00:00:00Z"}}},
              {"status", {{"startTime", "2026-01-01T00:00:02Z"}}}};
  const auto observed = observedCronJobRun(job, "tool-");
  EXPECT_EQ(observed.tool, "tf-test");
  EXPECT_EQ(observed.job_name, "daily");
  EXPECT_EQ(observed.external_id, "daily-29000000");
  EXPECT_EQ(observed.generation, 4);
  EXPECT_EQ(observed.started_at, parseKubernetesTime("2026-01-01T00:00:02Z"));
  EXPECT_EQ(observed.scheduled_for, TimePoint{} + std::chrono::minutes(29000000));
  EXPECT_TRUE(observed.captured_output);
  // A manual run has no schedule time; without a start time the creation counts.
  job["metadata"]["annotations"] = {{label(kAnnotationInstantiate), "manual"}};
  job["metadata"]["labels"][label(kLabelFilelog)] = "yes";
  job.erase("status");
  const auto manual = observedCronJobRun(job, "tool-");
  EXPECT_FALSE(manual.scheduled_for);
  EXPECT_FALSE(manual.captured_output);
  EXPECT_EQ(manual.started_at, parseKubernetesTime("2026-01-01T00:00:00Z"));
  // Kubernetes 1.28+ says the schedule time in an annotation.
  job["metadata"]["annotations"] = {{"batch.kubernetes.io/cronjob-scheduled-timestamp", "2026-01-02T03:04:00Z"}};
  EXPECT_EQ(observedCronJobRun(job, "tool-").scheduled_for, parseKubernetesTime("2026-01-02T03:04:00Z"));
}

TEST(ObservedRuns, JobKeysComeFromTheLabelsOrTheNamespace) {
  json object = {{"metadata", {{"name", "web"}, {"namespace", "tool-other"}}}};
  EXPECT_EQ(jobKeyOf(object, "tool-"), (JobKey{"other", "web"}));
  object["metadata"]["labels"] = {{label(kLabelCreatedBy), "tf-test"}, {label(kLabelName), "webjob"}};
  EXPECT_EQ(jobKeyOf(object, "tool-"), (JobKey{"tf-test", "webjob"}));
  EXPECT_FALSE(jobKeyOf(json{{"metadata", {{"name", "x"}, {"namespace", "default"}}}}, "tool-"));
}

TEST(ObservedRuns, EachContainerIncarnationOfADeploymentPodIsARun) {
  const json waiting = deploymentPod("web-abc", 2, containerStatus(0, {{"waiting", {{"reason", "ContainerCreating"}}}}));
  EXPECT_FALSE(observedIncarnation(waiting, "tool-"));
  int incarnation = -1;
  const auto first = observedIncarnation(deploymentPod("web-abc", 2, containerStatus(0, running())), "tool-", &incarnation);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->external_id, "web-abc/0");
  EXPECT_EQ(first->attempt, 1);
  EXPECT_EQ(first->job_name, "web");
  EXPECT_EQ(first->generation, 2);
  EXPECT_FALSE(first->captured_output);
  EXPECT_EQ(incarnation, 0);
  EXPECT_EQ(parseIncarnationId("web-abc/12"), (std::pair<std::string, int>{"web-abc", 12}));
  EXPECT_FALSE(parseIncarnationId("daily-29000000"));

  // Running: no exit. Restarted once: the previous container's result is the exit.
  EXPECT_FALSE(incarnationExit(1, deploymentPod("web-abc", 2, containerStatus(0, running())), 0, ""));
  const json restarted = deploymentPod("web-abc", 2, containerStatus(1, running(), terminated(137, "OOMKilled")));
  auto oom = incarnationExit(1, restarted, 0, "");
  ASSERT_TRUE(oom);
  EXPECT_EQ(oom->reason, "OOMKilled");
  EXPECT_EQ(oom->exit_code, 137);
  EXPECT_EQ(oom->finished_at, *parseKubernetesTime("2026-01-01T00:01:00Z"));
  EXPECT_FALSE(incarnationExit(2, restarted, 1, ""));
  const auto second = observedIncarnation(restarted, "tool-");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->external_id, "web-abc/1");
  EXPECT_EQ(second->attempt, 2) << "a restart in place is the replica's next attempt";
  // Terminated, not restarted yet: that is the exit too.
  auto failed = incarnationExit(1, deploymentPod("web-abc", 2, containerStatus(0, terminated(3, "Error"))), 0, "");
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->reason, "Error");
  EXPECT_EQ(failed->exit_code, 3);
  // Crash-loop back-off at the same restart count: the lastState is ours if its container is.
  const json backoff = deploymentPod(
      "web-abc", 2, containerStatus(0, {{"waiting", {{"reason", "CrashLoopBackOff"}}}}, terminated(0, "Completed", "c1")));
  EXPECT_FALSE(incarnationExit(1, backoff, 0, "c0"));
  auto completed = incarnationExit(1, backoff, 0, "c1");
  ASSERT_TRUE(completed);
  EXPECT_EQ(completed->reason, "Completed");
  // Restarted twice before the end was seen: which exit it was is unknown.
  auto unknown = incarnationExit(1, deploymentPod("web-abc", 2, containerStatus(2, running())), 0, "");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->reason, "Lost");
  EXPECT_EQ(unknown->message, "the container of pod 'web-abc' restarted 2 times before this run's end was seen");
  // Evicted.
  json evicted = deploymentPod("web-abc", 2, containerStatus(0, {{"waiting", json::object()}}));
  evicted["status"]["phase"] = "Failed";
  evicted["status"]["reason"] = "Evicted";
  evicted["status"]["message"] = "The node was low on resource: memory.";
  auto gone = incarnationExit(1, evicted, 0, "");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->reason, "Error");
  EXPECT_EQ(gone->message, "the pod 'web-abc' failed: Evicted: The node was low on resource: memory.");
}

TEST(ObservedRuns, ALivenessKillIsFoundInThePodsEvents) {
  const auto started = parseKubernetesTime("2026-01-01T00:00:00Z");
  const auto finished = *parseKubernetesTime("2026-01-01T00:01:00Z");
  const json unhealthy = {{"reason", "Unhealthy"}, {"message", "Liveness probe failed: dial tcp 10.0.0.1:8080: connect: connection refused"},
                          {"lastTimestamp", "2026-01-01T00:00:50Z"}};
  const json killing = {{"reason", "Killing"}, {"message", "Container job failed liveness probe, will be restarted"},
                        {"lastTimestamp", "2026-01-01T00:00:55Z"}};
  EXPECT_EQ(livenessKill({unhealthy, killing}, started, finished),
            "Liveness probe failed: dial tcp 10.0.0.1:8080: connect: connection refused");
  EXPECT_EQ(livenessKill({killing}, started, finished), "the liveness probe failed");
  EXPECT_FALSE(livenessKill({unhealthy}, started, finished));  // failing, but not killed for it
  json earlier = killing;
  earlier["lastTimestamp"] = "2025-12-31T23:00:00Z";  // a kill of an earlier incarnation
  EXPECT_FALSE(livenessKill({earlier}, started, finished));
}

// ---- job notes (pure) ----------------------------------------------------------------------

const std::string kDeploymentQuota =
    "deployments.apps \"web\" is forbidden: exceeded quota: tool-tf-test, requested: count/deployments.apps=1, "
    "used: count/deployments.apps=0, limited: count/deployments.apps=0";
const std::string kPodQuota =
    "pods \"web-5d9c7b6f4-x2x7q\" is forbidden: exceeded quota: tool-tf-test, requested: pods=1, used: pods=0, "
    "limited: pods=0";
const std::string kPodLimitRange =
    "pods \"web-5d9c7b6f4-x2x7q\" is forbidden: maximum memory usage per Container is 4Gi, but limit is 8Gi";

json replicaFailure(const std::string& message, const std::string& status = "True") {
  return {{"type", "ReplicaFailure"}, {"status", status}, {"reason", "FailedCreate"}, {"message", message}};
}

TEST(JobNotes, ARefusedPlacementSaysWhy) {
  EXPECT_EQ(unableToStartNote(kDeploymentQuota), "Unable to start, out of quota for deployments");
  EXPECT_EQ(unableToStartNote("admission webhook \"policy\" denied the request: no"),
            "Unable to start: admission webhook \"policy\" denied the request: no");
}

TEST(JobNotes, ADeploymentsReplicaFailureIsItsNote) {
  json deployment = {{"status", {{"conditions", {json{{"type", "Available"}, {"status", "True"}}, replicaFailure(kPodQuota)}}}}};
  EXPECT_EQ(deploymentNote(deployment), "Unable to start, out of quota for pods");
  deployment["status"]["conditions"][1] = replicaFailure(kPodLimitRange);
  EXPECT_EQ(deploymentNote(deployment), "Unable to start: " + kPodLimitRange);
  deployment["status"]["conditions"][1] = replicaFailure(kPodQuota, "False");
  EXPECT_EQ(deploymentNote(deployment), "");
  EXPECT_EQ(deploymentNote(json{{"status", json::object()}}), "");
}

TEST(JobNotes, AContainerThatCannotStartIsANoteAndOneThatRunsIsNot) {
  const json pull = deploymentPod(
      "web-a", 1,
      containerStatus(0, {{"waiting", {{"reason", "ImagePullBackOff"},
                                       {"message", "Back-off pulling image \"docker-registry.tools.wmflabs.org/nope\""}}}}));
  EXPECT_EQ(containerWaitNote(pull),
            "Unable to start: ImagePullBackOff: Back-off pulling image \"docker-registry.tools.wmflabs.org/nope\"");
  EXPECT_FALSE(containerRunning(pull));
  EXPECT_EQ(containerWaitNote(deploymentPod("web-a", 1, containerStatus(0, {{"waiting", {{"reason", "InvalidImageName"}}}}))),
            "Unable to start: InvalidImageName");
  // Creating, or a crash loop (the container did start): no note.
  EXPECT_EQ(containerWaitNote(deploymentPod("web-a", 1, containerStatus(0, {{"waiting", {{"reason", "ContainerCreating"}}}}))), "");
  EXPECT_EQ(containerWaitNote(deploymentPod("web-a", 1, containerStatus(2, {{"waiting", {{"reason", "CrashLoopBackOff"}}}}))), "");
  const json up = deploymentPod("web-a", 1, containerStatus(0, running()));
  EXPECT_EQ(containerWaitNote(up), "");
  EXPECT_TRUE(containerRunning(up));
  json going = pull;
  going["metadata"]["deletionTimestamp"] = "2026-01-01T00:05:00Z";
  EXPECT_EQ(containerWaitNote(going), "");
}

// ---- KubernetesRuntime with placed jobs, against FakeApiServer -----------------------------

std::string cronJobPath() { return resourcePath("batch/v1", "cronjobs", kNs, "daily"); }
std::string deploymentPath() { return resourcePath("apps/v1", "deployments", kNs, "web"); }
std::string servicePath() { return resourcePath("v1", "services", kNs, "web"); }
std::string jobPath(const std::string& name) { return resourcePath("batch/v1", "jobs", kNs, name); }
std::string podPath(const std::string& name) { return resourcePath("v1", "pods", kNs, name); }

using testing::conditionTrue;

// A Job as the CronJob controller makes it from the placed CronJob's jobTemplate.
json cronMadeJob(const std::string& name, std::int64_t generation, bool filelog = true) {
  return {{"kind", "Job"},
          {"metadata", {{"name", name}, {"labels", cronJobLabels(generation, filelog)},
                        {"ownerReferences", {{{"kind", "CronJob"}, {"name", "daily"}, {"uid", "u1"}}}}}},
          {"spec", {{"backoffLimit", 0}}},
          {"status", {{"active", 1}, {"startTime", "2026-01-01T00:00:01Z"}}}};
}

json cronMadePod(const std::string& job, const std::string& name, const json& status, bool filelog = true) {
  return {{"kind", "Pod"},
          {"metadata", {{"name", name}, {"labels", cronJobLabels(1, filelog)},
                        {"ownerReferences", {{{"kind", "Job"}, {"name", job}, {"uid", "u2"}}}}}},
          {"status", status}};
}

class Harness {
 public:
  explicit Harness(bool place_jobs = true) {
    state_ = state_dir_.path();
    client = testing::testClient(server.url());
    KubernetesRuntimeOptions options = testing::testRuntimeOptions(state_, {kNs});
    options.place_jobs = place_jobs;
    options.placement_retry = std::chrono::milliseconds(50);
    runtime = std::make_unique<KubernetesRuntime>(io, *client, options);
    runtime->setExitCallback([this](const runtime::RunExit& e) { exits.push_back(e); });
    runtime->setJobNoteCallback([this](const std::string& tool, const std::string& job, const std::string& note) {
      job_notes.push_back({tool + "/" + job, note});
    });
    // The engine's part: record each observed run once, by external id, and answer its id.
    runtime->setRunObserver([this](const runtime::ObservedRun& o) -> std::optional<std::int64_t> {
      observed.push_back(o);
      if (refuse) return std::nullopt;
      auto [it, added] = ids.emplace(o.external_id, next_id);
      if (added) ++next_id;
      return it->second;
    });
  }
  ~Harness() { runtime.reset(); }

  bool runUntil(const std::function<bool()>& done, std::chrono::seconds timeout = std::chrono::seconds(10)) {
    return testing::runLoopUntil(io, done, timeout);
  }

  void watch() {
    runtime->startWatching();
    ASSERT_TRUE(runUntil([&] { return runtime->synced() && server.openWatches() == 4; }));
  }

  // Places and waits until the worker has done what it was given.
  void placeAndSettle(const runtime::JobPlacement& p) {
    ASSERT_TRUE(runtime->placeJob(p));
    settle();
  }
  // The worker runs its tasks in order: once a marker task posted after everything else has
  // sent its request, all earlier ones are done. The marker removes a job that does not exist
  // (its last request deletes the Service 'settle-marker', which is not there).
  void settle() {
    const auto before = server.requests().size();
    ASSERT_TRUE(runtime->removeJob("tf-test", "settle-marker"));
    const std::string marker = resourcePath("v1", "services", kNs, "settle-marker");
    ASSERT_TRUE(runUntil([&] {
      for (const auto& r : requestsSince(before, "DELETE")) {
        if (r.path == marker) return true;
      }
      return false;
    }));
  }

  std::vector<RecordedRequest> requestsSince(std::size_t from, const std::string& method = "") const {
    std::vector<RecordedRequest> out;
    const auto all = server.requests();
    for (std::size_t i = from; i < all.size(); ++i) {
      if (method.empty() || all[i].method == method) out.push_back(all[i]);
    }
    return out;
  }

  FakeApiServer server;
  std::unique_ptr<Client> client;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<KubernetesRuntime> runtime;
  std::vector<runtime::RunExit> exits;
  std::vector<runtime::ObservedRun> observed;
  std::vector<std::pair<std::string, std::string>> job_notes;  // ("<tool>/<job>", note), in order
  std::map<std::string, std::int64_t> ids;
  std::int64_t next_id = 100;
  bool refuse = false;
  testing::TempStateDir state_dir_{"place"};
  fs::path state_;
};

bool isWrite(const RecordedRequest& r) { return r.method != "GET"; }

TEST(KubernetesPlacement, PlacesScheduledAndContinuousJobsOnly) {
  Harness on;
  EXPECT_TRUE(on.runtime->placesJobs(model::JobType::kScheduled));
  EXPECT_TRUE(on.runtime->placesJobs(model::JobType::kContinuous));
  EXPECT_FALSE(on.runtime->placesJobs(model::JobType::kOneOff));
  Harness off(/*place_jobs=*/false);
  EXPECT_FALSE(off.runtime->placesJobs(model::JobType::kScheduled));
  EXPECT_FALSE(off.runtime->placesJobs(model::JobType::kContinuous));
  EXPECT_FALSE(off.runtime->placeJob(placementOf(scheduledSpec(), 1)));
}

TEST(KubernetesPlacement, CreatesTheCronJobOnceAndNotAgainForTheSameGeneration) {
  Harness h;
  h.placeAndSettle(placementOf(scheduledSpec(), 1));
  const auto cronjob = h.server.object(cronJobPath());
  ASSERT_TRUE(cronjob);
  EXPECT_EQ((*cronjob)["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"][label(kLabelGeneration)], "1");
  EXPECT_EQ((*cronjob)["spec"]["jobTemplate"]["metadata"]["labels"][label(kLabelGeneration)], "1");
  // The same generation again: no request at all.
  const auto before = h.server.requests().size();
  ASSERT_TRUE(h.runtime->placeJob(placementOf(scheduledSpec(), 1)));
  h.settle();
  for (const auto& r : h.requestsSince(before)) {
    EXPECT_EQ(r.path.find("/cronjobs/daily"), std::string::npos) << r.method << " " << r.path;
  }
}

TEST(KubernetesPlacement, AManualRunOfAPlacedScheduledJobIsMadeFromItsCronJob) {
  Harness h;
  h.placeAndSettle(placementOf(scheduledSpec(), 1));
  runtime::RunRequest request;
  request.run_id = 42;
  request.tool = "tf-test";
  request.job_name = "daily";
  request.command = "./backup.sh";
  request.image = &python();
  request.workdir = "/data/project/tf-test";
  request.uid = 52503;
  request.gid = 52503;
  ASSERT_TRUE(h.runtime->start(request));
  const std::string path = resourcePath("batch/v1", "jobs", kNs, runJobName("daily", 42));
  ASSERT_TRUE(h.runUntil([&] { return h.server.object(path).has_value(); }));
  const json job = *h.server.object(path);
  EXPECT_EQ(job["metadata"]["annotations"][std::string(kAnnotationInstantiate)], "manual");
  EXPECT_EQ(job["metadata"]["ownerReferences"][0]["kind"], "CronJob");
  EXPECT_EQ(job["metadata"]["ownerReferences"][0]["name"], "daily");
  EXPECT_EQ(runIdOf(job), 42);
  EXPECT_EQ(runIdOf(job["spec"]["template"]), 42);
}

TEST(KubernetesPlacement, ANewGenerationReplacesTheObjectWithItsResourceVersion) {
  Harness h;
  h.placeAndSettle(placementOf(scheduledSpec(), 1));
  const std::string version = (*h.server.object(cronJobPath()))["metadata"]["resourceVersion"];
  const auto before = h.server.requests().size();
  h.placeAndSettle(placementOf(scheduledSpec(), 2));
  const auto puts = h.requestsSince(before, "PUT");
  ASSERT_EQ(puts.size(), 1u);
  EXPECT_EQ(puts[0].path, cronJobPath());
  EXPECT_EQ(json::parse(puts[0].body)["metadata"]["resourceVersion"], version);
  EXPECT_EQ((*h.server.object(cronJobPath()))["spec"]["jobTemplate"]["metadata"]["labels"][label(kLabelGeneration)], "2");
}

TEST(KubernetesPlacement, AfterARestartAnUnchangedJobIsReadNotWritten) {
  Harness h;
  h.placeAndSettle(placementOf(continuousSpec(), 5));
  ASSERT_TRUE(h.server.object(deploymentPath()));
  ASSERT_TRUE(h.server.object(servicePath()));
  // A new daemon (nothing in memory) places the same generation: reads only.
  Harness& cluster = h;
  KubernetesRuntimeOptions options;
  options.namespaces = {kNs};
  KubernetesRuntime restarted(cluster.io, *cluster.client, options);
  const auto before = cluster.server.requests().size();
  ASSERT_TRUE(restarted.placeJob(placementOf(continuousSpec(), 5)));
  ASSERT_TRUE(cluster.runUntil([&] {
    int reads = 0;
    for (const auto& r : cluster.requestsSince(before)) reads += r.method == "GET";
    return reads >= 3;  // Deployment, Service, and whether a CronJob of the name exists
  }));
  // The worker sends in order, so a write would have come before the last read.
  for (const auto& r : cluster.requestsSince(before)) EXPECT_FALSE(isWrite(r)) << r.method << " " << r.path;
}

TEST(KubernetesPlacement, TheServiceGoesWhenThePortDoes) {
  Harness h;
  h.placeAndSettle(placementOf(continuousSpec(8080), 1));
  ASSERT_TRUE(h.server.object(servicePath()));
  EXPECT_EQ((*h.server.object(deploymentPath()))["spec"]["template"]["metadata"]["labels"][label(kLabelGeneration)], "1");
  h.placeAndSettle(placementOf(continuousSpec(std::nullopt), 2));
  EXPECT_FALSE(h.server.object(servicePath()));
  EXPECT_EQ((*h.server.object(deploymentPath()))["spec"]["template"]["metadata"]["labels"][label(kLabelGeneration)], "2");
}

TEST(KubernetesPlacement, AJobWhoseTypeChangedLosesItsOtherWorkload) {
  Harness h;
  auto spec = continuousSpec(std::nullopt);
  spec.name = "daily";
  h.placeAndSettle(placementOf(spec, 1));
  ASSERT_TRUE(h.server.object(resourcePath("apps/v1", "deployments", kNs, "daily")));
  h.placeAndSettle(placementOf(scheduledSpec(), 2));
  EXPECT_TRUE(h.server.object(cronJobPath()));
  EXPECT_FALSE(h.server.object(resourcePath("apps/v1", "deployments", kNs, "daily")));
}

TEST(KubernetesPlacement, AFailedWriteIsForgottenSoTheNextPlacementWritesAgain) {
  Harness h;
  bool refuse = true;
  h.server.setAdmission([&](const RecordedRequest&, const json&) -> std::optional<testing::Refusal> {
    if (refuse) return testing::Refusal{403, "Forbidden", "cronjobs.batch is forbidden: exceeded quota"};
    return std::nullopt;
  });
  h.placeAndSettle(placementOf(scheduledSpec(), 1));
  EXPECT_FALSE(h.server.object(cronJobPath()));
  h.io.poll();  // the failure, posted before the marker's request, reaches the loop
  refuse = false;
  h.placeAndSettle(placementOf(scheduledSpec(), 1));
  EXPECT_TRUE(h.server.object(cronJobPath()));
}

TEST(KubernetesPlacement, RemoveJobDeletesItsObjectsInForeground) {
  Harness h;
  h.placeAndSettle(placementOf(continuousSpec(), 1));
  const auto before = h.server.requests().size();
  ASSERT_TRUE(h.runtime->removeJob("tf-test", "web"));
  h.settle();
  EXPECT_FALSE(h.server.object(deploymentPath()));
  EXPECT_FALSE(h.server.object(servicePath()));
  int foreground = 0;
  for (const auto& r : h.requestsSince(before, "DELETE")) {
    if (r.path == deploymentPath() || r.path == servicePath()) {
      foreground += json::parse(r.body)["propagationPolicy"] == "Foreground";
    }
  }
  EXPECT_EQ(foreground, 2);
  // Forgotten: placing it again creates it again.
  h.placeAndSettle(placementOf(continuousSpec(), 1));
  EXPECT_TRUE(h.server.object(deploymentPath()));
}

TEST(KubernetesPlacement, RemoveUnknownJobsDeletesOnlyWhatTheStoreDoesNotKnow) {
  Harness h;
  h.placeAndSettle(placementOf(continuousSpec(), 1));
  h.placeAndSettle(placementOf(scheduledSpec(), 1));
  auto other = scheduledSpec();
  other.name = "gone";
  h.placeAndSettle(placementOf(other, 1));
  // A per-run Job is not a placed object, whatever its job.
  h.server.put(jobPath("gone-run7"), {{"metadata", {{"labels", {{label(kLabelRunId), "7"},
                                                                {label(kLabelManagedBy), label(kManagedByValue)},
                                                                {label(kLabelName), "gone"}}}}}});
  h.runtime->removeUnknownJobs({{"tf-test", "web"}, {"tf-test", "daily"}});
  ASSERT_TRUE(h.runUntil([&] { return !h.server.object(resourcePath("batch/v1", "cronjobs", kNs, "gone")); }));
  h.settle();
  EXPECT_TRUE(h.server.object(cronJobPath()));
  EXPECT_TRUE(h.server.object(deploymentPath()));
  EXPECT_TRUE(h.server.object(servicePath()));
  EXPECT_TRUE(h.server.object(jobPath("gone-run7")));
}

TEST(KubernetesPlacement, WithPlaceJobsOffEveryPlacedObjectIsUnknown) {
  Harness h;
  h.placeAndSettle(placementOf(scheduledSpec(), 1));
  Harness& cluster = h;
  KubernetesRuntimeOptions options;
  options.namespaces = {kNs};
  options.place_jobs = false;
  KubernetesRuntime off(cluster.io, *cluster.client, options);
  off.removeUnknownJobs({{"tf-test", "daily"}});
  ASSERT_TRUE(cluster.runUntil([&] { return !cluster.server.object(cronJobPath()); }));
}

TEST(KubernetesPlacement, ACronJobsJobIsObservedOnceAndItsExitReportedWithoutDeletingIt) {
  Harness h;
  h.watch();
  h.server.put(jobPath("daily-29000000"), cronMadeJob("daily-29000000", 1));
  ASSERT_TRUE(h.runUntil([&] { return h.observed.size() == 1; }));
  EXPECT_EQ(h.observed[0].tool, "tf-test");
  EXPECT_EQ(h.observed[0].job_name, "daily");
  EXPECT_EQ(h.observed[0].external_id, "daily-29000000");
  EXPECT_EQ(h.observed[0].generation, 1);
  EXPECT_FALSE(h.observed[0].captured_output);
  EXPECT_EQ(h.observed[0].started_at, parseKubernetesTime("2026-01-01T00:00:01Z"));
  h.server.put(podPath("daily-29000000-x1"),
               cronMadePod("daily-29000000", "daily-29000000-x1",
                           {{"phase", "Failed"},
                            {"containerStatuses", {{{"name", "job"}, {"state", terminated(4, "Error")}}}}}));
  h.server.setStatus(jobPath("daily-29000000"),
                     {{"failed", 1}, {"conditions", {conditionTrue("Failed", "BackoffLimitExceeded")}}});
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].run_id, 100);
  EXPECT_EQ(h.exits[0].reason, "Error");
  EXPECT_EQ(h.exits[0].exit_code, 4);
  // Further events of the same Job: not offered again, no second exit; the Job stays (the
  // CronJob's history limits own it).
  h.server.setStatus(jobPath("daily-29000000"),
                     {{"failed", 1}, {"conditions", {conditionTrue("Failed", "BackoffLimitExceeded")}}});
  // A marker Job after it: the watch delivers in order, so once the marker is offered, the
  // modification before it has been handled.
  h.server.put(jobPath("daily-29999999"), cronMadeJob("daily-29999999", 1));
  ASSERT_TRUE(h.runUntil([&] { return h.observed.size() == 2; }));
  EXPECT_EQ(h.observed[1].external_id, "daily-29999999");
  EXPECT_EQ(h.exits.size(), 1u);
  EXPECT_TRUE(h.server.object(jobPath("daily-29000000")));
  for (const auto& r : h.server.requests()) {
    EXPECT_FALSE(r.method == "DELETE" && r.path == jobPath("daily-29000000"));
  }
}

TEST(KubernetesPlacement, ARunTheObserverDoesNotWantIsNotTracked) {
  Harness h;
  h.refuse = true;
  h.watch();
  h.server.put(jobPath("daily-29000001"), cronMadeJob("daily-29000001", 1));
  ASSERT_TRUE(h.runUntil([&] { return h.observed.size() == 1; }));
  h.server.setStatus(jobPath("daily-29000001"), {{"conditions", {conditionTrue("Complete")}}});
  h.server.erase(jobPath("daily-29000001"));
  // A marker Job after it (the watch delivers in order): the Job's changes were handled by then.
  h.server.put(jobPath("daily-29999999"), cronMadeJob("daily-29999999", 1));
  ASSERT_TRUE(h.runUntil([&] { return h.observed.size() == 2; }));
  EXPECT_EQ(h.observed[1].external_id, "daily-29999999");
  EXPECT_TRUE(h.exits.empty());
}

TEST(KubernetesPlacement, StoppingACronJobsRunDeletesItsJobInForeground) {
  Harness h;
  h.watch();
  h.server.put(jobPath("daily-29000002"), cronMadeJob("daily-29000002", 1));
  ASSERT_TRUE(h.runUntil([&] { return h.observed.size() == 1; }));
  ASSERT_TRUE(h.runtime->stop(100));
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].reason, "Stopped");
  bool foreground = false;
  for (const auto& r : h.server.requests()) {
    if (r.method == "DELETE" && r.path == jobPath("daily-29000002")) {
      foreground = json::parse(r.body)["propagationPolicy"] == "Foreground";
    }
  }
  EXPECT_TRUE(foreground);
}

TEST(KubernetesPlacement, ACronJobsJobDeletedWithItsJobEndsStopped) {
  Harness h;
  h.watch();
  h.placeAndSettle(placementOf(scheduledSpec(), 1));
  h.server.put(jobPath("daily-29000003"), cronMadeJob("daily-29000003", 1));
  ASSERT_TRUE(h.runUntil([&] { return h.observed.size() == 1; }));
  ASSERT_TRUE(h.runtime->removeJob("tf-test", "daily"));
  h.server.erase(jobPath("daily-29000003"));  // the garbage collector, after the CronJob
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].reason, "Stopped");
}

TEST(KubernetesPlacement, ADeploymentPodsRestartIsTwoRunsAndTheFirstEndsWithTheLastState) {
  Harness h;
  h.watch();
  h.placeAndSettle(placementOf(continuousSpec(), 1));
  h.server.put(podPath("web-abc"), deploymentPod("web-abc", 1, containerStatus(0, running(), json::object(), "c0")));
  ASSERT_TRUE(h.runUntil([&] { return h.observed.size() == 1; }));
  EXPECT_EQ(h.observed[0].external_id, "web-abc/0");
  EXPECT_EQ(h.observed[0].job_name, "web");
  EXPECT_EQ(h.observed[0].generation, 1);
  h.server.put(podPath("web-abc"),
               deploymentPod("web-abc", 1, containerStatus(1, running("2026-01-01T00:02:00Z"), terminated(2, "Error", "c0"), "c1")));
  ASSERT_TRUE(h.runUntil([&] { return h.observed.size() == 2 && h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].run_id, 100);
  EXPECT_EQ(h.exits[0].reason, "Error");
  EXPECT_EQ(h.exits[0].exit_code, 2);
  EXPECT_EQ(h.observed[1].external_id, "web-abc/1");
  EXPECT_EQ(h.observed[1].started_at, parseKubernetesTime("2026-01-01T00:02:00Z"));
}

TEST(KubernetesPlacement, ALivenessKillIsAHealthCheckFailure) {
  Harness h;
  h.watch();
  h.placeAndSettle(placementOf(continuousSpec(), 1));
  h.server.put(podPath("web-liv"), deploymentPod("web-liv", 1, containerStatus(0, running())));
  ASSERT_TRUE(h.runUntil([&] { return h.observed.size() == 1; }));
  h.server.put(resourcePath("v1", "events", kNs, "web-liv.1"),
               {{"involvedObject", {{"kind", "Pod"}, {"name", "web-liv"}}}, {"reason", "Unhealthy"},
                {"message", "Liveness probe failed: connection refused"}, {"lastTimestamp", "2026-01-01T00:00:40Z"}});
  h.server.put(resourcePath("v1", "events", kNs, "web-liv.2"),
               {{"involvedObject", {{"kind", "Pod"}, {"name", "web-liv"}}}, {"reason", "Killing"},
                {"message", "Container job failed liveness probe, will be restarted"},
                {"lastTimestamp", "2026-01-01T00:00:59Z"}});
  h.server.put(podPath("web-liv"), deploymentPod("web-liv", 1, containerStatus(1, running(), terminated(137, "Error"))));
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].reason, "HealthCheckFailed");
  EXPECT_EQ(h.exits[0].message, "Liveness probe failed: connection refused");
  EXPECT_EQ(h.exits[0].exit_code, 137);
}

TEST(KubernetesPlacement, APodDeletedAfterStopIsStoppedAndByOthersLost) {
  Harness h;
  h.watch();
  h.placeAndSettle(placementOf(continuousSpec(), 1));
  h.server.put(podPath("web-s1"), deploymentPod("web-s1", 1, containerStatus(0, running())));
  h.server.put(podPath("web-s2"), deploymentPod("web-s2", 1, containerStatus(0, running())));
  ASSERT_TRUE(h.runUntil([&] { return h.observed.size() == 2; }));
  const std::int64_t s1 = h.ids.at("web-s1/0"), s2 = h.ids.at("web-s2/0");
  ASSERT_TRUE(h.runtime->stop(s1));
  ASSERT_TRUE(h.runUntil([&] { return !h.server.object(podPath("web-s1")); }));
  h.server.erase(podPath("web-s2"));  // someone else (kubectl delete pod)
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 2; }));
  std::map<std::int64_t, runtime::RunExit> by_id;
  for (const auto& e : h.exits) by_id[e.run_id] = e;
  EXPECT_EQ(by_id[s1].reason, "Stopped");
  EXPECT_EQ(by_id[s2].reason, "Lost");
  EXPECT_EQ(by_id[s2].message, "the Kubernetes pod 'web-s2' was deleted before its container ended");
}

TEST(KubernetesPlacement, PodsOfAnOlderGenerationEndStoppedWhenTheyGo) {
  Harness h;
  h.watch();
  h.placeAndSettle(placementOf(continuousSpec(), 1));
  h.server.put(podPath("web-old"), deploymentPod("web-old", 1, containerStatus(0, running())));
  ASSERT_TRUE(h.runUntil([&] { return h.observed.size() == 1; }));
  h.placeAndSettle(placementOf(continuousSpec(), 2));  // `restart`: the Deployment rolls
  json terminating = deploymentPod("web-old", 1, containerStatus(0, terminated(143, "Error")));
  terminating["metadata"]["deletionTimestamp"] = "2026-01-01T00:05:00Z";
  h.server.put(podPath("web-old"), terminating);
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].reason, "Stopped");
}

TEST(KubernetesPlacement, StoppingASupersededIncarnationLeavesItToTheRollout) {
  Harness h;
  h.watch();
  h.placeAndSettle(placementOf(continuousSpec(), 1));
  h.server.put(podPath("web-roll"), deploymentPod("web-roll", 1, containerStatus(0, running())));
  ASSERT_TRUE(h.runUntil([&] { return h.observed.size() == 1; }));
  h.placeAndSettle(placementOf(continuousSpec(), 2));
  ASSERT_TRUE(h.runtime->stop(100));
  h.settle();
  for (const auto& r : h.server.requests()) EXPECT_FALSE(r.method == "DELETE" && r.path == podPath("web-roll"));
  EXPECT_TRUE(h.exits.empty());
  h.server.erase(podPath("web-roll"));  // the Deployment controller, rolling
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].reason, "Stopped");
}

TEST(KubernetesPlacement, AJobReplacedByItsCronJobEndsStopped) {
  Harness h;
  h.watch();
  auto spec = scheduledSpec();
  spec.concurrency_policy = model::ConcurrencyPolicy::kReplace;
  h.placeAndSettle(placementOf(spec, 1));
  h.server.put(jobPath("daily-29000030"), cronMadeJob("daily-29000030", 1));
  ASSERT_TRUE(h.runUntil([&] { return h.observed.size() == 1; }));
  h.server.erase(jobPath("daily-29000030"));
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].reason, "Stopped");
  EXPECT_EQ(h.exits[0].message, "replaced by the next scheduled run (concurrency policy Replace)");
}

TEST(KubernetesPlacement, AnAdoptedObservedRunThatVanishedIsLost) {
  Harness h;
  // Still there: linked by the observer (it answers the adopted id again) and watched on.
  h.server.put(jobPath("daily-29000010"), cronMadeJob("daily-29000010", 1));
  h.ids["daily-29000010"] = 50;
  h.runtime->adopt(runtime::RunHandle{.run_id = 50, .external_id = "daily-29000010"});
  h.runtime->adopt(runtime::RunHandle{.run_id = 51, .external_id = "daily-29000009"});
  h.runtime->adopt(runtime::RunHandle{.run_id = 52, .external_id = "web-zzz/3"});
  h.watch();
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 2; }));
  std::map<std::int64_t, runtime::RunExit> by_id;
  for (const auto& e : h.exits) by_id[e.run_id] = e;
  EXPECT_EQ(by_id[51].reason, "Lost");
  EXPECT_EQ(by_id[51].message, "the Kubernetes Job 'daily-29000009' was deleted while tjfd was away");
  EXPECT_EQ(by_id[52].reason, "Lost");
  EXPECT_EQ(by_id[52].message, "the Kubernetes pod 'web-zzz' was deleted while tjfd was away");
  EXPECT_FALSE(by_id.count(50));
  h.server.setStatus(jobPath("daily-29000010"), {{"conditions", {conditionTrue("Complete")}}});
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 3; }));
  EXPECT_EQ(h.exits[2].run_id, 50);
  EXPECT_EQ(h.exits[2].reason, "Completed");
}

TEST(KubernetesPlacement, AnAdoptedIncarnationThatRestartedMeanwhileEndsWithItsLastState) {
  Harness h;
  h.server.put(podPath("web-r"), deploymentPod("web-r", 1, containerStatus(1, running(), terminated(137, "OOMKilled"))));
  h.runtime->adopt(runtime::RunHandle{.run_id = 60, .external_id = "web-r/0"});
  h.watch();
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].run_id, 60);
  EXPECT_EQ(h.exits[0].reason, "OOMKilled");
  ASSERT_EQ(h.observed.size(), 1u);
  EXPECT_EQ(h.observed[0].external_id, "web-r/1");  // the running incarnation is a new run
}

TEST(KubernetesPlacement, CapturesTheOutputOfAnObservedRun) {
  Harness h;
  h.watch();
  h.server.put(jobPath("daily-29000020"), cronMadeJob("daily-29000020", 1, /*filelog=*/false));
  ASSERT_TRUE(h.runUntil([&] { return h.observed.size() == 1; }));
  EXPECT_TRUE(h.observed[0].captured_output);
  h.server.put(podPath("daily-29000020-p"), cronMadePod("daily-29000020", "daily-29000020-p", {{"phase", "Running"}}, false));
  h.server.appendLog(kNs, "daily-29000020-p", "backing up", "2026-01-01T00:00:01.5Z");
  ASSERT_TRUE(h.runUntil([&] {
    for (const auto& r : h.server.requests()) {
      if (r.path == podPath("daily-29000020-p") + "/log") return true;
    }
    return false;
  }));
  h.server.setStatus(jobPath("daily-29000020"), {{"conditions", {conditionTrue("Complete")}}});
  h.server.appendLog(kNs, "daily-29000020-p", "done", "2026-01-01T00:00:02Z");
  h.server.closeLog(kNs, "daily-29000020-p");
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].reason, "Completed");
  const auto text = testing::capturedText(*h.runtime, 100);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "1767225601500000 o backing up\n1767225602000000 o done\n");
}

// ---- job notes: why a placed job does not run ----------------------------------------------

// A Deployment as placed, with the status the Deployment controller gives it.
json placedDeployment(const json& conditions) {
  return {{"kind", "Deployment"},
          {"metadata", {{"name", "web"}, {"labels", {{label(kLabelManagedBy), label(kManagedByValue)},
                                                     {label(kLabelCreatedBy), "tf-test"},
                                                     {label(kLabelComponent), "deployments"},
                                                     {label(kLabelName), "web"}}}}},
          {"status", {{"conditions", conditions}}}};
}

json cronJobEvent(const std::string& name, const std::string& message, const std::string& last_seen) {
  return {{"kind", "Event"},
          {"metadata", {{"name", name}}},
          {"involvedObject", {{"kind", "CronJob"}, {"name", "daily"}, {"namespace", kNs}}},
          {"reason", "FailedCreate"},
          {"message", message},
          {"lastTimestamp", last_seen},
          {"type", "Warning"}};
}

using Note = std::pair<std::string, std::string>;

// A successful placement says "" once, even with nothing to clear: the engine may hold a note of
// its own from a placement it could not build (engine.cpp, reconcilePlaced).
void expectPlacedWithoutNote(Harness& h, const std::string& job) {
  ASSERT_TRUE(h.runUntil([&] { return !h.job_notes.empty(); }));
  ASSERT_EQ(h.job_notes.size(), 1u);
  EXPECT_EQ(h.job_notes[0], (Note{job, ""}));
  h.job_notes.clear();
}

TEST(KubernetesJobNotes, ARefusedPlacementIsANoteUntilARetrySucceeds) {
  Harness h;
  bool refuse = true;
  h.server.setAdmission([&](const RecordedRequest& r, const json&) -> std::optional<testing::Refusal> {
    if (refuse && r.path.find("/deployments") != std::string::npos) {
      return testing::Refusal{403, "Forbidden", kDeploymentQuota};
    }
    return std::nullopt;
  });
  h.watch();
  ASSERT_TRUE(h.runtime->placeJob(placementOf(continuousSpec(), 1)));
  ASSERT_TRUE(h.runUntil([&] { return !h.job_notes.empty(); }));
  EXPECT_EQ(h.job_notes[0], (Note{"tf-test/web", "Unable to start, out of quota for deployments"}));
  EXPECT_FALSE(h.server.object(deploymentPath()));
  // Retried by the runtime itself (the engine places a generation once): same refusal, same note,
  // not given again.
  const auto before = h.server.requests().size();
  ASSERT_TRUE(h.runUntil([&] { return h.requestsSince(before, "POST").size() >= 1; }));
  EXPECT_EQ(h.job_notes.size(), 1u);
  refuse = false;  // the quota is raised
  ASSERT_TRUE(h.runUntil([&] { return h.job_notes.size() == 2; }));
  EXPECT_EQ(h.job_notes[1], (Note{"tf-test/web", ""}));
  EXPECT_TRUE(h.server.object(deploymentPath()));
}

TEST(KubernetesJobNotes, ADeploymentWhosePodsAreRefusedHasANoteWhileTheConditionHolds) {
  Harness h;
  h.watch();
  h.placeAndSettle(placementOf(continuousSpec(), 1));
  expectPlacedWithoutNote(h, "tf-test/web");
  // The test plays the Deployment controller: the ReplicaSet's pods are refused for quota.
  h.server.setStatus(deploymentPath(), {{"conditions", json::array({replicaFailure(kPodQuota)})}});
  ASSERT_TRUE(h.runUntil([&] { return h.job_notes.size() == 1; }));
  EXPECT_EQ(h.job_notes[0], (Note{"tf-test/web", "Unable to start, out of quota for pods"}));
  h.server.setStatus(deploymentPath(), {{"conditions", json::array({replicaFailure(kPodLimitRange)})}});
  ASSERT_TRUE(h.runUntil([&] { return h.job_notes.size() == 2; }));
  EXPECT_EQ(h.job_notes[1], (Note{"tf-test/web", "Unable to start: " + kPodLimitRange}));
  h.server.setStatus(deploymentPath(), {{"conditions", json::array({conditionTrue("Available")})}});
  ASSERT_TRUE(h.runUntil([&] { return h.job_notes.size() == 3; }));
  EXPECT_EQ(h.job_notes[2], (Note{"tf-test/web", ""}));
}

TEST(KubernetesJobNotes, AContainerThatCannotStartIsANoteUntilAContainerOfTheJobRuns) {
  Harness h;
  h.watch();
  h.placeAndSettle(placementOf(continuousSpec(), 1));
  expectPlacedWithoutNote(h, "tf-test/web");
  h.server.put(podPath("web-img"),
               deploymentPod("web-img", 1, containerStatus(0, {{"waiting", {{"reason", "ErrImagePull"},
                                                                            {"message", "manifest unknown"}}}})));
  ASSERT_TRUE(h.runUntil([&] { return h.job_notes.size() == 1; }));
  EXPECT_EQ(h.job_notes[0], (Note{"tf-test/web", "Unable to start: ErrImagePull: manifest unknown"}));
  EXPECT_TRUE(h.observed.empty()) << "no container started: no run";
  // The same reason again (the kubelet's back-off): no new note.
  h.server.put(podPath("web-img"),
               deploymentPod("web-img", 1, containerStatus(0, {{"waiting", {{"reason", "ImagePullBackOff"},
                                                                            {"message", "Back-off pulling image"}}}})));
  ASSERT_TRUE(h.runUntil([&] { return h.job_notes.size() == 2; }));
  EXPECT_EQ(h.job_notes[1].second, "Unable to start: ImagePullBackOff: Back-off pulling image");
  h.server.put(podPath("web-img"), deploymentPod("web-img", 1, containerStatus(0, running())));
  ASSERT_TRUE(h.runUntil([&] { return h.job_notes.size() == 3; }));
  EXPECT_EQ(h.job_notes[2], (Note{"tf-test/web", ""}));
  EXPECT_EQ(h.observed.size(), 1u);
}

TEST(KubernetesJobNotes, ACronJobsRefusedJobIsANoteUntilItMakesAJob) {
  Harness h;
  h.watch();
  h.placeAndSettle(placementOf(scheduledSpec(), 1));
  expectPlacedWithoutNote(h, "tf-test/daily");
  // The test plays the CronJob controller: its Job is refused for `count/jobs.batch`.
  h.server.put(resourcePath("v1", "events", kNs, "daily.1"),
               cronJobEvent("daily.1",
                            "Error creating job: jobs.batch \"daily-29000000\" is forbidden: exceeded quota: "
                            "tool-tf-test, requested: count/jobs.batch=1, used: count/jobs.batch=1, "
                            "limited: count/jobs.batch=1",
                            "2026-01-01T00:10:00Z"));
  ASSERT_TRUE(h.runUntil([&] { return h.job_notes.size() == 1; }));
  EXPECT_EQ(h.job_notes[0], (Note{"tf-test/daily", "Unable to start, out of quota for jobs"}));
  // An older Job (seen late) does not end it; the next Job made does.
  json old_job = cronMadeJob("daily-28999990", 1);
  old_job["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z";
  h.server.put(jobPath("daily-28999990"), old_job);
  json next = cronMadeJob("daily-29000011", 1);
  next["metadata"]["creationTimestamp"] = "2026-01-01T00:11:00Z";
  h.server.put(jobPath("daily-29000011"), next);
  ASSERT_TRUE(h.runUntil([&] { return h.job_notes.size() == 2; }));
  EXPECT_EQ(h.job_notes[1], (Note{"tf-test/daily", ""}));
  EXPECT_EQ(h.observed.size(), 2u);
}

TEST(KubernetesJobNotes, ARestartedRuntimeGivesTheCurrentNotesOnceItsScopeIsListed) {
  Harness h;
  h.server.put(deploymentPath(), placedDeployment(json::array({replicaFailure(kPodQuota)})));
  json other = placedDeployment(json::array({conditionTrue("Available")}));
  other["metadata"]["name"] = "fine";
  other["metadata"]["labels"][label(kLabelName)] = "fine";
  h.server.put(resourcePath("apps/v1", "deployments", kNs, "fine"), other);
  h.watch();
  ASSERT_TRUE(h.runUntil([&] { return !h.job_notes.empty(); }));
  h.settle();
  h.io.poll();
  ASSERT_EQ(h.job_notes.size(), 1u) << "only the job that has a note";
  EXPECT_EQ(h.job_notes[0], (Note{"tf-test/web", "Unable to start, out of quota for pods"}));
  // Its Deployment goes (the job deleted elsewhere): the note is cleared.
  h.server.erase(deploymentPath());
  ASSERT_TRUE(h.runUntil([&] { return h.job_notes.size() == 2; }));
  EXPECT_EQ(h.job_notes[1], (Note{"tf-test/web", ""}));
}

}  // namespace
}  // namespace tjf::kubernetes

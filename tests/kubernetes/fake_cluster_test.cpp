// FakeCluster (a FAKE Kubernetes cluster for tests): its controllers and its kubelet must behave
// as the real ones do for what tjf uses, with real processes. Every wait is on the fake's
// condition variable or on a stream (no sleeps); each test takes well under two seconds.
#include "fake_cluster.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <filesystem>
#include <fstream>

#include "kubernetes/client.hpp"
#include "kubernetes/kubernetes_runtime.hpp"
#include "kubernetes/run_mapping.hpp"
#include "model/images.hpp"

namespace tjf::kubernetes::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

const std::string kNs = "tool-fake";

std::string podsPrefix() { return "/api/v1/namespaces/" + kNs + "/pods/"; }

json jobManifest(const std::string& name, const std::string& script, json spec_extra = json::object(),
                 long long grace = 1) {
  json spec = {{"template",
                {{"metadata", {{"labels", {{"app.kubernetes.io/name", name}}}}},
                 {"spec",
                  {{"restartPolicy", "Never"},
                   {"terminationGracePeriodSeconds", grace},
                   {"containers",
                    {{{"name", "job"}, {"image", "docker-registry.example/bookworm:latest"},
                      {"command", {"/bin/sh", "-c", script}}}}}}}}}};
  spec.merge_patch(spec_extra);
  return {{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"metadata", {{"name", name}}}, {"spec", spec}};
}

json deploymentManifest(const std::string& name, const std::string& script, int replicas,
                        json container_extra = json::object()) {
  json container = {{"name", "job"}, {"image", "docker-registry.example/bookworm:latest"},
                    {"command", {"/bin/sh", "-c", script}}};
  container.merge_patch(container_extra);
  const json labels = {{"app.kubernetes.io/name", name}};
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"replicas", replicas},
            {"strategy", {{"type", "Recreate"}}},
            {"selector", {{"matchLabels", labels}}},
            {"template",
             {{"metadata", {{"labels", labels}}},
              {"spec", {{"terminationGracePeriodSeconds", 1}, {"containers", {container}}}}}}}}};
}

json cronJobManifest(const std::string& name, const std::string& schedule, const std::string& script,
                     json spec_extra = json::object()) {
  json job = jobManifest(name, script, {{"backoffLimit", 0}});
  json spec = {{"schedule", schedule}, {"jobTemplate", {{"spec", job["spec"]}}}};
  spec.merge_patch(spec_extra);
  return {{"apiVersion", "batch/v1"}, {"kind", "CronJob"}, {"metadata", {{"name", name}}}, {"spec", spec}};
}

bool processGone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

pid_t pidOf(const json& pod) {
  const std::string id = pod.value("/status/containerStatuses/0/containerID"_json_pointer, std::string());
  const std::string prefix = "fake-process://";
  return id.rfind(prefix, 0) == 0 ? static_cast<pid_t>(std::stol(id.substr(prefix.size()))) : 0;
}

class FakeClusterTest : public ::testing::Test {
 protected:
  explicit FakeClusterTest(FakeClusterOptions options = {}) : cluster_(std::move(options)) {
    client_ = std::move(*Client::create(ClusterAccess{.server = cluster_.url()}));
  }

  FakeApiServer& server() { return cluster_.server(); }

  bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return server().waitFor(done, timeout);
  }

  json create(const std::string& group_version, const std::string& resource, const json& object) {
    auto created = client_->create(resourcePath(group_version, resource, kNs), object);
    EXPECT_TRUE(created) << created.error().message;
    return created ? *created : json();
  }

  std::optional<json> get(const std::string& group_version, const std::string& resource, const std::string& name) {
    return server().object(resourcePath(group_version, resource, kNs, name));
  }
  std::optional<json> job(const std::string& name) { return get("batch/v1", "jobs", name); }

  std::vector<json> podsWithLabel(const std::string& key, const std::string& value) {
    std::vector<json> out;
    for (auto& p : server().objects(podsPrefix())) {
      if (p.value("/metadata/labels"_json_pointer, json::object()).value(key, "") == value) out.push_back(p);
    }
    return out;
  }
  std::vector<json> podsOfJob(const std::string& name) { return podsWithLabel("job-name", name); }
  std::vector<json> podsOfApp(const std::string& name) { return podsWithLabel("app.kubernetes.io/name", name); }

  // The condition of `type` whose status is True.
  static std::optional<json> condition(const json& object, const std::string& type) {
    for (const auto& c : object.value("/status/conditions"_json_pointer, json::array())) {
      if (c.value("type", "") == type && c.value("status", "") == "True") return c;
    }
    return std::nullopt;
  }
  bool jobHas(const std::string& name, const std::string& type) {
    const auto j = job(name);
    return j && condition(*j, type).has_value();
  }

  std::vector<json> events(const std::string& involved, const std::string& reason) {
    std::vector<json> out;
    for (auto& e : server().objects("/api/v1/namespaces/" + kNs + "/events/")) {
      if (e.value("/involvedObject/name"_json_pointer, std::string()) == involved && e.value("reason", "") == reason) {
        out.push_back(e);
      }
    }
    return out;
  }

  std::string log(const json& pod_name) { return log(pod_name.get<std::string>()); }
  std::string log(const std::string& pod) {
    std::string text;
    auto streamed = client_->streamLog(kNs, pod, {}, [&](std::string_view line) {
      text += std::string(line) + "\n";
      return true;
    });
    EXPECT_TRUE(streamed) << streamed.error().message;
    return text;
  }

  FakeCluster cluster_;
  std::unique_ptr<Client> client_;
};

// --- Jobs

TEST_F(FakeClusterTest, AFailingJobHasItsOutputInThePodLogAndItsExitCodeInThePodStatus) {
  create("batch/v1", "jobs", jobManifest("hello", "echo hi; exit 3", {{"backoffLimit", 0}}));
  ASSERT_TRUE(eventually([&] { return jobHas("hello", "Failed"); }));
  const json j = *job("hello");
  EXPECT_EQ(condition(j, "Failed")->value("reason", ""), "BackoffLimitExceeded");
  EXPECT_EQ(j["status"]["failed"], 1);
  EXPECT_FALSE(j["status"].contains("active"));
  EXPECT_TRUE(j["status"].contains("startTime"));

  const auto pods = podsOfJob("hello");
  ASSERT_EQ(pods.size(), 1u);
  const json& pod = pods[0];
  EXPECT_THAT(pod["metadata"]["name"].get<std::string>(), MatchesRegex("hello-[a-z0-9]{5}"));
  EXPECT_EQ(pod["metadata"]["labels"]["batch.kubernetes.io/job-name"], "hello");
  EXPECT_EQ(pod["metadata"]["labels"]["controller-uid"], j["metadata"]["uid"]);
  EXPECT_EQ(pod["metadata"]["labels"]["app.kubernetes.io/name"], "hello") << "the template's labels";
  EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["uid"], j["metadata"]["uid"]);
  EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["kind"], "Job");
  EXPECT_EQ(pod["status"]["phase"], "Failed");
  const json& cs = pod["status"]["containerStatuses"][0];
  EXPECT_EQ(cs["name"], "job");
  EXPECT_EQ(cs["state"]["terminated"]["exitCode"], 3);
  EXPECT_EQ(cs["state"]["terminated"]["reason"], "Error");
  EXPECT_TRUE(cs["state"]["terminated"].contains("finishedAt"));
  EXPECT_EQ(cs["restartCount"], 0);

  EXPECT_EQ(log(pod["metadata"]["name"]), "hi\n");
  // With timestamps: RFC 3339 with nanoseconds, of now.
  std::string stamped;
  ASSERT_TRUE(client_->streamLog(kNs, pod["metadata"]["name"].get<std::string>(), {.timestamps = true}, [&](std::string_view line) {
    stamped = std::string(line);
    return true;
  }));
  EXPECT_THAT(stamped, MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{9}Z hi"));
  const auto at = parseKubernetesTime(stamped.substr(0, stamped.find(' ')));
  ASSERT_TRUE(at);
  EXPECT_LT(std::chrono::abs(*at - std::chrono::system_clock::now()), std::chrono::minutes(1));
}

TEST_F(FakeClusterTest, BackoffLimitMakesANewPodForEachRetry) {
  create("batch/v1", "jobs", jobManifest("flaky", "exit 1", {{"backoffLimit", 2}}));
  ASSERT_TRUE(eventually([&] { return jobHas("flaky", "Failed"); }));
  EXPECT_EQ(podsOfJob("flaky").size(), 3u);
  EXPECT_EQ((*job("flaky"))["status"]["failed"], 3);
  EXPECT_EQ(condition(*job("flaky"), "Failed")->value("reason", ""), "BackoffLimitExceeded");
}

TEST_F(FakeClusterTest, ASucceedingJobCompletes) {
  create("batch/v1", "jobs", jobManifest("ok", "echo done"));
  ASSERT_TRUE(eventually([&] { return jobHas("ok", "Complete"); }));
  const json j = *job("ok");
  EXPECT_EQ(j["status"]["succeeded"], 1);
  EXPECT_TRUE(j["status"].contains("completionTime"));
  const auto pods = podsOfJob("ok");
  ASSERT_EQ(pods.size(), 1u);
  EXPECT_EQ(pods[0]["status"]["phase"], "Succeeded");
  EXPECT_EQ(pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]["reason"], "Completed");
}

TEST_F(FakeClusterTest, ActiveDeadlineKillsTheProcessAndFailsTheJob) {
  create("batch/v1", "jobs", jobManifest("slow", "sleep 30", {{"activeDeadlineSeconds", 1}}));
  pid_t pid = 0;
  ASSERT_TRUE(eventually([&] {
    const auto pods = podsOfJob("slow");
    if (pods.size() == 1 && pods[0].value("/status/phase"_json_pointer, std::string()) == "Running") pid = pidOf(pods[0]);
    return pid > 0;
  }));
  EXPECT_FALSE(processGone(pid));
  EXPECT_THAT(cluster_.processIds(), ::testing::Contains(pid));
  ASSERT_TRUE(eventually([&] { return jobHas("slow", "Failed"); }));
  EXPECT_EQ(condition(*job("slow"), "Failed")->value("reason", ""), "DeadlineExceeded");
  EXPECT_TRUE(processGone(pid)) << "the Job fails only once its pod's process has ended";
  EXPECT_TRUE(cluster_.processIds().empty());
  EXPECT_TRUE(podsOfJob("slow").empty()) << "the deadline deletes the active pods";
}

TEST_F(FakeClusterTest, TtlAfterFinishedDeletesTheJobAndItsPods) {
  create("batch/v1", "jobs", jobManifest("brief", "true", {{"ttlSecondsAfterFinished", 1}}));
  ASSERT_TRUE(eventually([&] { return jobHas("brief", "Complete"); }));
  const auto finished = std::chrono::steady_clock::now();
  EXPECT_EQ(podsOfJob("brief").size(), 1u);
  ASSERT_TRUE(eventually([&] { return !job("brief") && podsOfJob("brief").empty(); }, std::chrono::seconds(5)));
  EXPECT_GE(std::chrono::steady_clock::now() - finished, std::chrono::milliseconds(900));
}

TEST_F(FakeClusterTest, ForegroundDeletionStopsThePodsBeforeTheJobGoes) {
  std::mutex mutex;
  std::vector<std::string> deleted;  // paths, in the order of their DELETED events
  server().addChangeHook([&](const std::string& type, const std::string& path, const json&) {
    if (type != "DELETED") return;
    std::lock_guard lock(mutex);
    deleted.push_back(path);
  });
  create("batch/v1", "jobs", jobManifest("victim", "sleep 30"));
  pid_t pid = 0;
  ASSERT_TRUE(eventually([&] {
    const auto pods = podsOfJob("victim");
    if (pods.size() == 1) pid = pidOf(pods[0]);
    return pid > 0;
  }));
  const std::string pod_path = podsPrefix() + podsOfJob("victim")[0]["metadata"]["name"].get<std::string>();
  auto removed = client_->remove(resourcePath("batch/v1", "jobs", kNs, "victim"), Propagation::kForeground);
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_TRUE((*removed)["metadata"].contains("deletionTimestamp"));
  EXPECT_THAT((*removed)["metadata"]["finalizers"], ::testing::Contains("foregroundDeletion"));
  ASSERT_TRUE(eventually([&] { return !job("victim"); }));
  EXPECT_TRUE(processGone(pid));
  std::lock_guard lock(mutex);
  const std::string job_path = resourcePath("batch/v1", "jobs", kNs, "victim");
  const auto pod_at = std::find(deleted.begin(), deleted.end(), pod_path);
  const auto job_at = std::find(deleted.begin(), deleted.end(), job_path);
  ASSERT_NE(pod_at, deleted.end());
  ASSERT_NE(job_at, deleted.end());
  EXPECT_LT(pod_at, job_at) << "the pod's DELETED comes before the Job's";
}

TEST_F(FakeClusterTest, BackgroundDeletionKillsThePodsAndOrphanKeepsThem) {
  create("batch/v1", "jobs", jobManifest("bg", "sleep 30"));
  create("batch/v1", "jobs", jobManifest("orphan", "sleep 30"));
  pid_t bg = 0, orphan = 0;
  ASSERT_TRUE(eventually([&] {
    const auto a = podsOfJob("bg"), b = podsOfJob("orphan");
    if (a.size() == 1) bg = pidOf(a[0]);
    if (b.size() == 1) orphan = pidOf(b[0]);
    return bg > 0 && orphan > 0;
  }));
  ASSERT_TRUE(client_->remove(resourcePath("batch/v1", "jobs", kNs, "bg"), Propagation::kBackground));
  ASSERT_TRUE(client_->remove(resourcePath("batch/v1", "jobs", kNs, "orphan"), Propagation::kOrphan));
  ASSERT_TRUE(eventually([&] { return !job("bg") && podsOfJob("bg").empty() && !job("orphan"); }));
  EXPECT_TRUE(processGone(bg));
  // Orphaned: the pod stays and runs on, without its owner.
  const auto kept = podsOfJob("orphan");
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_FALSE(kept[0]["metadata"].contains("ownerReferences"));
  EXPECT_FALSE(processGone(orphan));
  // A pod deleted directly gets its grace period and goes with its process.
  ASSERT_TRUE(client_->remove(podsPrefix() + kept[0]["metadata"]["name"].get<std::string>()));
  ASSERT_TRUE(eventually([&] { return podsOfJob("orphan").empty(); }));
  EXPECT_TRUE(processGone(orphan));
}

// --- CronJobs

TEST_F(FakeClusterTest, TheFakeTriggerFiresACronJobAndForbidSkipsWhileAJobIsActive) {
  const json cj = create("batch/v1", "cronjobs",
                         cronJobManifest("nightly", "@yearly", "sleep 30", {{"concurrencyPolicy", "Forbid"}}));
  auto fired = cluster_.fireCronJob(kNs, "nightly");
  ASSERT_TRUE(fired) << fired.error().message;
  const std::string name = (*fired)["metadata"]["name"];
  const long long minutes =
      std::chrono::duration_cast<std::chrono::minutes>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_THAT(name, MatchesRegex("nightly-[0-9]+"));
  EXPECT_NEAR(std::stoll(name.substr(8)), minutes, 1);
  const json& owner = (*fired)["metadata"]["ownerReferences"][0];
  EXPECT_EQ(owner["kind"], "CronJob");
  EXPECT_EQ(owner["name"], "nightly");
  EXPECT_EQ(owner["uid"], cj["metadata"]["uid"]);
  EXPECT_EQ(owner["controller"], true);
  EXPECT_TRUE((*fired)["metadata"]["annotations"].contains("batch.kubernetes.io/cronjob-scheduled-timestamp"));
  ASSERT_TRUE(eventually([&] { return podsOfJob(name).size() == 1; }));
  const json status = (*get("batch/v1", "cronjobs", "nightly"))["status"];
  EXPECT_TRUE(status.contains("lastScheduleTime"));
  ASSERT_EQ(status["active"].size(), 1u);
  EXPECT_EQ(status["active"][0]["name"], name);

  auto again = cluster_.fireCronJob(kNs, "nightly");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(events("nightly", "JobAlreadyActive").size(), 1u);
  // The same through the fake-only HTTP endpoint: 409 while the Job runs, 404 for no CronJob.
  auto http = client_->create("/fake/v1/namespaces/" + kNs + "/cronjobs/nightly/fire", json::object());
  ASSERT_FALSE(http);
  EXPECT_EQ(http.error().http_status, 409);
  auto missing = client_->create("/fake/v1/namespaces/" + kNs + "/cronjobs/nope/fire", json::object());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().http_status, 404);
}

TEST_F(FakeClusterTest, TheHistoryLimitPrunesOldFinishedJobs) {
  create("batch/v1", "cronjobs",
         cronJobManifest("tick", "@yearly", "true", {{"successfulJobsHistoryLimit", 1}}));
  std::vector<std::string> names;
  for (int i = 0; i < 3; ++i) {
    auto fired = client_->create("/fake/v1/namespaces/" + kNs + "/cronjobs/tick/fire", json::object());
    ASSERT_TRUE(fired) << fired.error().message;
    names.push_back((*fired)["metadata"]["name"]);
    ASSERT_TRUE(eventually([&] { return jobHas(names.back(), "Complete"); }));
  }
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), 3u) << "one Job name per fire";
  ASSERT_TRUE(eventually([&] { return !job(names[0]) && !job(names[1]); }));
  EXPECT_TRUE(job(names[2]).has_value()) << "the newest stays";
  EXPECT_TRUE(eventually([&] {
    const auto cj = get("batch/v1", "cronjobs", "tick");
    return cj && cj->contains("/status/lastSuccessfulTime"_json_pointer) && !cj->contains("/status/active"_json_pointer);
  }));
}

TEST_F(FakeClusterTest, ACronJobFiresWhenItsScheduleComesDue) {
  create("batch/v1", "cronjobs", cronJobManifest("every5", "*/5 * * * *", "echo tick"));
  cluster_.advanceClock(std::chrono::minutes(11));
  std::string name;
  ASSERT_TRUE(eventually([&] {
    for (const auto& j : server().objects("/apis/batch/v1/namespaces/" + kNs + "/jobs/")) name = j["metadata"]["name"];
    return !name.empty();
  }));
  // Only the latest missed time runs, named after its minute.
  const long long minutes = std::stoll(name.substr(std::string("every5-").size()));
  EXPECT_EQ(minutes % 5, 0);
  EXPECT_EQ(server().objects("/apis/batch/v1/namespaces/" + kNs + "/jobs/").size(), 1u);
  ASSERT_TRUE(eventually([&] { return jobHas(name, "Complete"); }));
  EXPECT_EQ(log(podsOfJob(name)[0]["metadata"]["name"]), "tick\n");
}

TEST_F(FakeClusterTest, AFireTooLateForTheStartingDeadlineIsMissed) {
  create("batch/v1", "cronjobs",
         cronJobManifest("strict", "*/5 * * * *", "true", {{"startingDeadlineSeconds", 10}}));
  // To two minutes past the next five-minute mark: that fire is 110 s beyond its deadline.
  const auto now = std::chrono::system_clock::now();
  const long long minute = std::chrono::floor<std::chrono::minutes>(now).time_since_epoch().count();
  const TimePoint target{std::chrono::minutes((minute / 5 + 1) * 5 + 2)};
  cluster_.advanceClock(std::chrono::ceil<std::chrono::seconds>(target - now));
  ASSERT_TRUE(eventually([&] { return !events("strict", "MissSchedule").empty(); }));
  EXPECT_THAT(events("strict", "MissSchedule")[0]["message"].get<std::string>(),
              MatchesRegex("Missed scheduled time to start a job: [0-9-]+T[0-9:]+Z"));
  EXPECT_TRUE(server().objects("/apis/batch/v1/namespaces/" + kNs + "/jobs/").empty());
}

// --- Deployments

TEST_F(FakeClusterTest, ADeploymentKeepsItsReplicasRunning) {
  create("apps/v1", "deployments", deploymentManifest("web", "sleep 30", 2));
  ASSERT_TRUE(eventually([&] {
    const auto d = get("apps/v1", "deployments", "web");
    return d && d->value("/status/readyReplicas"_json_pointer, 0) == 2;
  }));
  const auto pods = podsOfApp("web");
  ASSERT_EQ(pods.size(), 2u);
  for (const auto& p : pods) {
    EXPECT_THAT(p["metadata"]["name"].get<std::string>(), MatchesRegex("web-[a-z0-9]{10}-[a-z0-9]{5}"));
    EXPECT_EQ(p["metadata"]["labels"]["pod-template-hash"].get<std::string>().size(), 10u);
    EXPECT_EQ(p["status"]["phase"], "Running");
  }
  const json d = *get("apps/v1", "deployments", "web");
  EXPECT_EQ(d["status"]["replicas"], 2);
  EXPECT_EQ(d["status"]["availableReplicas"], 2);
  EXPECT_EQ(d["status"]["updatedReplicas"], 2);
  EXPECT_FALSE(d["status"].contains("unavailableReplicas"));
  EXPECT_TRUE(condition(d, "Available"));
  EXPECT_EQ(condition(d, "Progressing")->value("reason", ""), "NewReplicaSetAvailable");
  EXPECT_EQ(cluster_.processIds().size(), 2u);

  // A process that dies is restarted in place: same pod, restartCount 1.
  const std::string first = pods[0]["metadata"]["name"];
  ::kill(pidOf(pods[0]), SIGKILL);
  ASSERT_TRUE(eventually([&] {
    const auto p = server().object(podsPrefix() + first);
    return p && p->value("/status/containerStatuses/0/restartCount"_json_pointer, 0) == 1 &&
           p->value("/status/containerStatuses/0/ready"_json_pointer, false);
  }));
  const json restarted = *server().object(podsPrefix() + first);
  EXPECT_EQ(restarted["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"], 137);
  EXPECT_EQ(restarted["status"]["containerStatuses"][0]["lastState"]["terminated"]["signal"], 9);
  EXPECT_EQ(podsOfApp("web").size(), 2u);
}

TEST_F(FakeClusterTest, ACrashingContainerGoesIntoCrashLoopBackOff) {
  std::atomic<bool> saw_backoff{false};
  server().addChangeHook([&](const std::string&, const std::string&, const json& object) {
    if (object.value("/status/containerStatuses/0/state/waiting/reason"_json_pointer, std::string()) ==
        "CrashLoopBackOff") {
      saw_backoff = true;
    }
  });
  create("apps/v1", "deployments", deploymentManifest("crasher", "echo crashing; exit 1", 1));
  // Waiting in the back-off after the second restart: the log is the last container's.
  ASSERT_TRUE(eventually([&] {
    const auto pods = podsOfApp("crasher");
    return pods.size() == 1 && pods[0].value("/status/containerStatuses/0/restartCount"_json_pointer, 0) >= 2 &&
           pods[0].contains("/status/containerStatuses/0/state/waiting"_json_pointer);
  }));
  EXPECT_TRUE(saw_backoff);
  const json pod = podsOfApp("crasher")[0];
  EXPECT_EQ(pod["status"]["phase"], "Running");
  EXPECT_EQ(pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"], 1);
  EXPECT_FALSE(events(pod["metadata"]["name"], "BackOff").empty());
  // One line: the log is the last container's, not one line per restart.
  EXPECT_EQ(log(pod["metadata"]["name"]), "crashing\n");
}

TEST_F(FakeClusterTest, AChangedPodTemplateReplacesThePods) {
  create("apps/v1", "deployments", deploymentManifest("app", "sleep 30", 1));
  std::string old_name;
  pid_t old_pid = 0;
  ASSERT_TRUE(eventually([&] {
    const auto pods = podsOfApp("app");
    if (pods.size() == 1 && pods[0].value("/status/phase"_json_pointer, std::string()) == "Running") {
      old_name = pods[0]["metadata"]["name"];
      old_pid = pidOf(pods[0]);
    }
    return old_pid > 0;
  }));
  const json patch = {{"spec", {{"template", {{"metadata", {{"annotations",
                                                              {{"kubectl.kubernetes.io/restartedAt", "2026-01-01T00:00:00Z"}}}}}}}}}};
  auto patched = client_->patch(resourcePath("apps/v1", "deployments", kNs, "app"), patch,
                                "application/merge-patch+json");
  ASSERT_TRUE(patched) << patched.error().message;
  EXPECT_EQ((*patched)["metadata"]["generation"], 2);
  ASSERT_TRUE(eventually([&] {
    const auto pods = podsOfApp("app");
    return pods.size() == 1 && pods[0]["metadata"]["name"] != old_name &&
           pods[0].value("/status/phase"_json_pointer, std::string()) == "Running";
  }));
  EXPECT_TRUE(processGone(old_pid));
  EXPECT_TRUE(eventually([&] {
    const auto now = get("apps/v1", "deployments", "app");
    return now && now->value("/status/observedGeneration"_json_pointer, 0) == 2;
  }));
}

TEST_F(FakeClusterTest, DeletingADeploymentKillsItsProcesses) {
  create("apps/v1", "deployments", deploymentManifest("gone", "sleep 30", 2));
  ASSERT_TRUE(eventually([&] { return cluster_.processIds().size() == 2; }));
  const auto pids = cluster_.processIds();
  ASSERT_TRUE(client_->remove(resourcePath("apps/v1", "deployments", kNs, "gone")));
  ASSERT_TRUE(eventually([&] { return podsOfApp("gone").empty(); }));
  for (const pid_t pid : pids) EXPECT_TRUE(processGone(pid));
  EXPECT_TRUE(cluster_.processIds().empty());
}

TEST_F(FakeClusterTest, AFailingLivenessProbeRestartsTheContainer) {
  const json probe = {{"exec", {{"command", {"/bin/sh", "-c", "echo sick; exit 1"}}}},
                      {"periodSeconds", 1}, {"failureThreshold", 1}};
  create("apps/v1", "deployments", deploymentManifest("sick", "sleep 30", 1, {{"livenessProbe", probe}}));
  ASSERT_TRUE(eventually([&] {
    const auto pods = podsOfApp("sick");
    return pods.size() == 1 && pods[0].value("/status/containerStatuses/0/restartCount"_json_pointer, 0) >= 1;
  }));
  const std::string pod = podsOfApp("sick")[0]["metadata"]["name"];
  const auto unhealthy = events(pod, "Unhealthy");
  ASSERT_FALSE(unhealthy.empty());
  EXPECT_EQ(unhealthy[0]["message"], "Liveness probe failed: sick\n");
  EXPECT_EQ(unhealthy[0]["type"], "Warning");
  EXPECT_FALSE(events(pod, "Killing").empty());
}

TEST_F(FakeClusterTest, AReadinessProbeDecidesReady) {
  const json probe = {{"tcpSocket", {{"port", 1}}}, {"periodSeconds", 1}};  // nothing listens on port 1
  create("apps/v1", "deployments", deploymentManifest("shy", "sleep 30", 1, {{"readinessProbe", probe}}));
  ASSERT_TRUE(eventually([&] {
    const auto pods = podsOfApp("shy");
    return pods.size() == 1 && !events(pods[0]["metadata"]["name"], "Unhealthy").empty();
  }));
  const json pod = podsOfApp("shy")[0];
  EXPECT_EQ(events(pod["metadata"]["name"], "Unhealthy")[0]["message"],
            "Readiness probe failed: dial tcp 127.0.0.1:1: connect: connection refused");
  EXPECT_EQ(pod["status"]["phase"], "Running");
  EXPECT_EQ(pod["status"]["containerStatuses"][0]["ready"], false);
  EXPECT_FALSE(condition(pod, "Ready"));
  const json d = *get("apps/v1", "deployments", "shy");
  EXPECT_FALSE(d["status"].contains("readyReplicas"));
}

TEST_F(FakeClusterTest, HttpProbesAskTheContainersPort) {
  // The fake API server itself answers /healthz with 200 and an unknown path with 404.
  const int port = server().port();
  const json good = {{"httpGet", {{"path", "/healthz"}, {"port", "api"}}}, {"periodSeconds", 1}};
  const json bad = {{"httpGet", {{"path", "/nowhere"}, {"port", port}}}, {"periodSeconds", 1}};
  const json ports = json::array({{{"name", "api"}, {"containerPort", port}}});
  create("apps/v1", "deployments",
         deploymentManifest("healthy", "sleep 30", 1, {{"readinessProbe", good}, {"ports", ports}}));
  create("apps/v1", "deployments", deploymentManifest("unhealthy", "sleep 30", 1, {{"readinessProbe", bad}}));
  ASSERT_TRUE(eventually([&] {
    const auto d = get("apps/v1", "deployments", "healthy");
    return d && d->value("/status/readyReplicas"_json_pointer, 0) == 1;
  }));
  ASSERT_TRUE(eventually([&] {
    const auto pods = podsOfApp("unhealthy");
    return pods.size() == 1 && !events(pods[0]["metadata"]["name"], "Unhealthy").empty();
  }));
  const json pod = podsOfApp("unhealthy")[0];
  EXPECT_EQ(events(pod["metadata"]["name"], "Unhealthy")[0]["message"],
            "Readiness probe failed: HTTP probe failed with statuscode: 404");
  EXPECT_EQ(pod["status"]["containerStatuses"][0]["ready"], false);
}

// --- Quotas and limits

TEST_F(FakeClusterTest, APodQuotaHoldsBackASecondJobUntilTheFirstFinishes) {
  const fs::path flag = fs::temp_directory_path() / ("tjf-fake-flag-" + std::to_string(::getpid()));
  fs::remove(flag);
  create("v1", "resourcequotas",
         {{"apiVersion", "v1"}, {"kind", "ResourceQuota"}, {"metadata", {{"name", kNs}}}, {"spec", {{"hard", {{"pods", "1"}}}}}});
  create("batch/v1", "jobs",
         jobManifest("first", "while [ ! -e '" + flag.string() + "' ]; do sleep 0.05; done"));
  ASSERT_TRUE(eventually([&] { return podsOfJob("first").size() == 1; }));
  create("batch/v1", "jobs", jobManifest("second", "echo second"));
  ASSERT_TRUE(eventually([&] { return !events("second", "FailedCreate").empty(); }));
  const json event = events("second", "FailedCreate")[0];
  EXPECT_THAT(event["message"].get<std::string>(),
              MatchesRegex("Error creating: pods \"second-[a-z0-9]{5}\" is forbidden: exceeded quota: tool-fake, "
                           "requested: pods=1, used: pods=1, limited: pods=1"));
  EXPECT_EQ(event["type"], "Warning");
  EXPECT_EQ(event["involvedObject"]["kind"], "Job");
  EXPECT_EQ(event["involvedObject"]["uid"], (*job("second"))["metadata"]["uid"]);
  EXPECT_TRUE(podsOfJob("second").empty());
  // The quota controller's status.
  ASSERT_TRUE(eventually([&] {
    const auto q = get("v1", "resourcequotas", kNs);
    return q && q->value("/status/used/pods"_json_pointer, std::string()) == "1";
  }));
  EXPECT_EQ((*get("v1", "resourcequotas", kNs))["status"]["hard"]["pods"], "1");

  std::ofstream(flag).put('x');
  ASSERT_TRUE(eventually([&] { return jobHas("first", "Complete"); }));
  ASSERT_TRUE(eventually([&] { return jobHas("second", "Complete"); }));
  EXPECT_EQ(log(podsOfJob("second")[0]["metadata"]["name"]), "second\n");
  fs::remove(flag);
}

TEST_F(FakeClusterTest, ADeploymentOverAQuotaShowsReplicaFailure) {
  create("v1", "resourcequotas",
         {{"apiVersion", "v1"}, {"kind", "ResourceQuota"}, {"metadata", {{"name", kNs}}}, {"spec", {{"hard", {{"pods", "1"}}}}}});
  create("apps/v1", "deployments", deploymentManifest("pair", "sleep 30", 2));
  ASSERT_TRUE(eventually([&] {
    const auto d = get("apps/v1", "deployments", "pair");
    return d && condition(*d, "ReplicaFailure").has_value();
  }));
  const json d = *get("apps/v1", "deployments", "pair");
  EXPECT_EQ(condition(d, "ReplicaFailure")->value("reason", ""), "FailedCreate");
  EXPECT_THAT(condition(d, "ReplicaFailure")->value("message", ""),
              MatchesRegex("pods \"pair-[a-z0-9]{10}-[a-z0-9]{5}\" is forbidden: exceeded quota: tool-fake, "
                           "requested: pods=1, used: pods=1, limited: pods=1"));
  const std::string rs = "pair-" + podsOfApp("pair").at(0)["metadata"]["labels"]["pod-template-hash"].get<std::string>();
  ASSERT_FALSE(events(rs, "FailedCreate").empty());
  EXPECT_EQ(events(rs, "FailedCreate")[0]["involvedObject"]["kind"], "ReplicaSet");
  EXPECT_EQ(podsOfApp("pair").size(), 1u);
}

TEST_F(FakeClusterTest, AComputeQuotaNeedsContainersToSetWhatItCounts) {
  create("v1", "resourcequotas",
         {{"apiVersion", "v1"}, {"kind", "ResourceQuota"}, {"metadata", {{"name", kNs}}},
          {"spec", {{"hard", {{"limits.memory", "1Gi"}, {"limits.cpu", "2"}}}}}});
  json container = {{"name", "job"}, {"image", "x"}, {"command", {"true"}}};
  json pod = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "bare"}}},
              {"spec", {{"restartPolicy", "Never"}, {"containers", json::array({container})}}}};
  auto refused = client_->create(resourcePath("v1", "pods", kNs), pod);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().http_status, 403);
  EXPECT_EQ(refused.error().message, "pods \"bare\" is forbidden: failed quota: tool-fake: must specify limits.cpu,limits.memory");
  pod["metadata"]["name"] = "big";
  pod["spec"]["containers"][0]["resources"] = {{"limits", {{"memory", "2Gi"}, {"cpu", "500m"}}}};
  refused = client_->create(resourcePath("v1", "pods", kNs), pod);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message,
            "pods \"big\" is forbidden: exceeded quota: tool-fake, requested: limits.memory=2Gi, "
            "used: limits.memory=0, limited: limits.memory=1Gi");
}

TEST_F(FakeClusterTest, ALimitRangeMaximumRefusesPodsWithTheRealMessages) {
  create("v1", "limitranges",
         {{"apiVersion", "v1"},
          {"kind", "LimitRange"},
          {"metadata", {{"name", kNs}}},
          {"spec",
           {{"limits",
             {{{"type", "Container"},
               {"max", {{"memory", "4Gi"}, {"cpu", "1"}}},
               {"default", {{"cpu", "500m"}, {"memory", "512Mi"}}},
               {"defaultRequest", {{"cpu", "250m"}, {"memory", "256Mi"}}}}}}}}});
  // A controller's pod: a FailedCreate Event on the Job.
  json big = jobManifest("bigjob", "true");
  big["spec"]["template"]["spec"]["containers"][0]["resources"] = {{"limits", {{"memory", "8Gi"}}}};
  create("batch/v1", "jobs", big);
  ASSERT_TRUE(eventually([&] { return !events("bigjob", "FailedCreate").empty(); }));
  EXPECT_THAT(events("bigjob", "FailedCreate")[0]["message"].get<std::string>(),
              MatchesRegex("Error creating: pods \"bigjob-[a-z0-9]{5}\" is forbidden: maximum memory usage per "
                           "Container is 4Gi, but limit is 8Gi"));
  EXPECT_TRUE(podsOfJob("bigjob").empty());

  // A client's pod: 403 with the same words.
  json container = {{"name", "job"}, {"image", "x"}, {"command", {"true"}},
                    {"resources", {{"limits", {{"memory", "8Gi"}}}}}};
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", "toobig"}}},
              {"spec", {{"restartPolicy", "Never"}, {"containers", json::array({container})}}}};
  auto refused = client_->create(resourcePath("v1", "pods", kNs), pod);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().http_status, 403);
  EXPECT_EQ(refused.error().reason, "Forbidden");
  EXPECT_EQ(refused.error().message, "pods \"toobig\" is forbidden: maximum memory usage per Container is 4Gi, but limit is 8Gi");

  // Defaults go into a container that sets no resources.
  pod["metadata"]["name"] = "plain";
  pod["spec"]["containers"][0].erase("resources");
  auto created = client_->create(resourcePath("v1", "pods", kNs), pod);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_EQ((*created)["spec"]["containers"][0]["resources"],
            json::parse(R"({"limits":{"cpu":"500m","memory":"512Mi"},"requests":{"cpu":"250m","memory":"256Mi"}})"));
}

TEST_F(FakeClusterTest, AnObjectCountQuotaRefusesTheCreateWith403) {
  create("v1", "resourcequotas",
         {{"apiVersion", "v1"}, {"kind", "ResourceQuota"}, {"metadata", {{"name", kNs}}},
          {"spec", {{"hard", {{"count/jobs.batch", "1"}}}}}});
  create("batch/v1", "jobs", jobManifest("one", "true"));
  auto refused = client_->create(resourcePath("batch/v1", "jobs", kNs), jobManifest("two", "true"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().http_status, 403);
  EXPECT_EQ(refused.error().reason, "Forbidden");
  EXPECT_EQ(refused.error().message,
            "jobs.batch \"two\" is forbidden: exceeded quota: tool-fake, requested: count/jobs.batch=1, "
            "used: count/jobs.batch=1, limited: count/jobs.batch=1");
  EXPECT_FALSE(job("two").has_value());
}

TEST_F(FakeClusterTest, AJobWithoutARestartPolicyIsInvalid) {
  json manifest = jobManifest("bad", "true");
  manifest["spec"]["template"]["spec"].erase("restartPolicy");
  auto refused = client_->create(resourcePath("batch/v1", "jobs", kNs), manifest);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().http_status, 422);
  EXPECT_EQ(refused.error().message,
            "Job.batch \"bad\" is invalid: spec.template.spec.restartPolicy: Required value: valid values: "
            "\"OnFailure\", \"Never\"");
}

// --- The real KubernetesRuntime on the fake cluster

TEST_F(FakeClusterTest, TheKubernetesRuntimeRunsAJobOnTheFakeCluster) {
  char tmpl[] = "/tmp/tjf-fake-cluster-state-XXXXXX";
  const fs::path state = ::mkdtemp(tmpl);
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  KubernetesRuntimeOptions options;
  options.layout = model::StateLayout(state);
  options.namespaces = {"tool-tf-test"};
  options.error_backoff = std::chrono::milliseconds(20);
  std::vector<runtime::RunExit> exits;
  {
    KubernetesRuntime runtime(io, *client_, options);
    runtime.setExitCallback([&](const runtime::RunExit& e) { exits.push_back(e); });
    runtime.startWatching();
    auto until = [&](const std::function<bool()>& done) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while (!done() && std::chrono::steady_clock::now() < deadline) io.run_for(std::chrono::milliseconds(10));
      return done();
    };
    ASSERT_TRUE(until([&] { return runtime.synced(); }));
    static const auto catalogue = model::ImageCatalogue::defaults();
    runtime::RunRequest request;
    request.run_id = 41;
    request.tool = "tf-test";
    request.job_name = "myjob";
    request.command = "echo from-the-run; exit 3";
    request.image = &*catalogue.resolve("python3.11");
    request.workdir = state;
    request.env = {"HOME=" + state.string()};
    request.memory_bytes = 512LL << 20;
    request.cpu_millis = 500;
    request.uid = 52503;
    request.gid = 52503;
    ASSERT_TRUE(runtime.start(request));
    ASSERT_TRUE(until([&] { return exits.size() == 1; }));
    EXPECT_EQ(exits[0].reason, "Error");
    EXPECT_EQ(exits[0].exit_code, 3);
    const auto output = runtime.capturedOutput(41);
    ASSERT_TRUE(output);
    std::ifstream in(*output);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_THAT(text, HasSubstr(" o from-the-run"));
  }
  fs::remove_all(state);
}

// --- The standalone binary

TEST(FakeKubeApiserver, ServesTheApiAndStopsEveryPodOnSigterm) {
  const fs::path dir = fs::temp_directory_path() / ("tjf-fake-apiserver-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string url_file = (dir / "url").string();
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  const pid_t server = ::fork();
  ASSERT_GE(server, 0);
  if (server == 0) {
    ::dup2(out[1], 1);
    ::execl(TJF_FAKE_APISERVER_BIN, TJF_FAKE_APISERVER_BIN, "--url-file", url_file.c_str(), "--token", "sekret",
            "--state-log", (dir / "state.log").c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  // Stops the server (and so its pods) whatever happens to the test.
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      if (pid <= 0) return;
      ::kill(pid, SIGTERM);
      ::waitpid(pid, nullptr, 0);
    }
  } reaper{server};
  // It prints its "listening" line after the URL file is in place.
  std::string banner;
  char c;
  while (banner.find('\n') == std::string::npos && ::read(out[0], &c, 1) == 1) banner += c;
  ::close(out[0]);
  EXPECT_THAT(banner, HasSubstr("FAKE Kubernetes API server for tests"));
  std::ifstream in(url_file);
  std::string url;
  std::getline(in, url);
  ASSERT_THAT(url, MatchesRegex("http://127\\.0\\.0\\.1:[0-9]+"));

  auto anonymous = *Client::create(ClusterAccess{.server = url});
  auto refused = anonymous->get("/version");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().http_status, 401);
  auto client = *Client::create(ClusterAccess{.server = url, .token = "sekret"});
  auto version = client->get("/version");
  ASSERT_TRUE(version) << version.error().message;
  EXPECT_THAT((*version)["gitVersion"].get<std::string>(), HasSubstr("fake"));

  ASSERT_TRUE(client->create(resourcePath("batch/v1", "jobs", kNs), jobManifest("long", "sleep 60", json::object(), 30)));
  pid_t pid = 0;
  auto watched = client->watch(resourcePath("v1", "pods", kNs), {.timeout_seconds = 10}, [&](const WatchEvent& e) {
    if (e.object.value("/status/phase"_json_pointer, std::string()) == "Running") pid = pidOf(e.object);
    return pid == 0;
  });
  ASSERT_TRUE(watched) << watched.error().message;
  ASSERT_GT(pid, 0);
  EXPECT_FALSE(processGone(pid));

  ASSERT_EQ(::kill(server, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(server, &status, 0), server);
  reaper.pid = 0;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_TRUE(processGone(pid)) << "the pod's process went with the fake API server";
  std::ifstream log(dir / "state.log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("started pid " + std::to_string(pid)));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tjf::kubernetes::testing

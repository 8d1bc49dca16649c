// KubernetesRuntime against FakeApiServer (a contract fake of the apiserver on 127.0.0.1). The
// test plays the Job controller and the kubelet by writing Job and pod status into the fake;
// the runtime must turn them into the engine's exit reports.
#include "kubernetes/kubernetes_runtime.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/executor_work_guard.hpp>
#include <fstream>
#include <sstream>

#include "fake_api_server.hpp"
#include "runtime_test_support.hpp"
#include "kubernetes/kubeconfig.hpp"

namespace tjf::kubernetes {
namespace {

namespace fs = std::filesystem;
using testing::FakeApiServer;
using testing::RecordedRequest;
using testing::Refusal;

const std::string kNs = "tool-tf-test";

const model::Image& python() {
  static const auto catalogue = model::ImageCatalogue::defaults();
  return *catalogue.resolve("python3.11");
}

std::string jobPath(std::int64_t run_id) {
  return resourcePath("batch/v1", "jobs", kNs, "myjob-run" + std::to_string(run_id));
}
std::string podPath(std::int64_t run_id) {
  return resourcePath("v1", "pods", kNs, "myjob-run" + std::to_string(run_id) + "-x1");
}

using testing::conditionTrue;

json podFor(std::int64_t run_id, const json& status) {
  return {{"kind", "Pod"},
          {"metadata", {{"labels", {{std::string(kLabelRunId), std::to_string(run_id)},
                                    {std::string(kLabelManagedBy), std::string(kManagedByValue)}}}}},
          {"status", status}};
}

class Harness {
 public:
  explicit Harness(std::vector<std::string> namespaces = {kNs}) {
    state_ = state_dir_.path();
    client = testing::testClient(server.url());
    KubernetesRuntimeOptions options = testing::testRuntimeOptions(state_, std::move(namespaces));
    runtime = std::make_unique<KubernetesRuntime>(io, *client, options);
    runtime->setExitCallback([this](const runtime::RunExit& e) { exits.push_back(e); });
    runtime->setNoteCallback([this](std::int64_t id, const std::string& note) { notes.emplace_back(id, note); });
  }
  ~Harness() { runtime.reset(); }

  // Runs the loop until `done` holds; false after the deadline.
  bool runUntil(const std::function<bool()>& done, std::chrono::seconds timeout = std::chrono::seconds(10)) {
    return testing::runLoopUntil(io, done, timeout);
  }

  runtime::RunRequest request(std::int64_t run_id, bool file_logs = true) const {
    runtime::RunRequest r;
    r.run_id = run_id;
    r.tool = "tf-test";
    r.job_name = "myjob";
    r.command = "./run.sh";
    r.image = &python();
    r.workdir = "/data/project/tf-test";
    r.env = {"HOME=/data/project/tf-test", "PATH=/usr/bin"};
    if (file_logs) {
      r.stdout_path = "/data/project/tf-test/myjob.out";
      r.stderr_path = "/data/project/tf-test/myjob.err";
    }
    r.timeout_seconds = 30;
    r.memory_bytes = 512LL << 20;
    r.cpu_millis = 500;
    r.uid = 52503;
    r.gid = 52503;
    return r;
  }

  // Starts the watches and waits until they are listening.
  void watch() {
    runtime->startWatching();
    ASSERT_TRUE(runUntil([&] { return runtime->synced() && server.openWatches() == 4; }));
  }

  bool sawRequest(const std::string& method, const std::string& path) {
    for (const auto& r : server.requests()) {
      if (r.method == method && r.path == path) return true;
    }
    return false;
  }

  FakeApiServer server;
  std::unique_ptr<Client> client;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<KubernetesRuntime> runtime;
  std::vector<runtime::RunExit> exits;
  std::vector<std::pair<std::int64_t, std::string>> notes;
  testing::TempStateDir state_dir_{"runtime"};
  fs::path state_;
};

// A FailedCreate Event of the Job controller about a run's Job, as a real cluster records it.
json failedCreate(std::int64_t run_id, const std::string& why, const std::string& at, int count = 1) {
  const std::string job = "myjob-run" + std::to_string(run_id);
  return {{"kind", "Event"},
          {"metadata", {{"name", job + ".17a" + std::to_string(count)}}},
          {"involvedObject", {{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"name", job}, {"namespace", kNs}}},
          {"reason", "FailedCreate"},
          {"message", "Error creating: pods \"" + job + "-kvlz8\" is forbidden: " + why},
          {"source", {{"component", "job-controller"}}},
          {"firstTimestamp", at},
          {"lastTimestamp", at},
          {"count", count},
          {"type", "Warning"}};
}
std::string eventPath(const json& event) {
  return resourcePath("v1", "events", kNs, event["metadata"]["name"].get<std::string>());
}
const std::string kPodsQuota =
    "exceeded quota: tool-tf-test, requested: pods=1, used: pods=1, limited: pods=1";

TEST(KubernetesRuntime, StartCreatesAJobAndReportsCompletion) {
  Harness h;
  h.watch();
  auto handle = h.runtime->start(h.request(7));
  ASSERT_TRUE(handle) << handle.error().message;
  EXPECT_EQ(handle->run_id, 7);
  EXPECT_FALSE(handle->captured_output);
  ASSERT_TRUE(h.runUntil([&] { return h.server.object(jobPath(7)).has_value(); }));
  const json created = *h.server.object(jobPath(7));
  EXPECT_EQ(created["metadata"]["labels"][std::string(kLabelRunId)], "7");
  EXPECT_EQ(created["spec"]["backoffLimit"], 0);
  EXPECT_EQ(created["spec"]["activeDeadlineSeconds"], 30);

  h.server.setStatus(jobPath(7), {{"startTime", "2026-01-01T00:00:00Z"},
                                  {"completionTime", "2026-01-01T00:00:05Z"},
                                  {"conditions", {conditionTrue("Complete")}}});
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].run_id, 7);
  EXPECT_EQ(h.exits[0].reason, "Completed");
  EXPECT_EQ(h.exits[0].exit_code, 0);
  // The result is recorded, so the Job is cleaned up.
  ASSERT_TRUE(h.runUntil([&] { return !h.server.object(jobPath(7)); }));
  // Exactly once, even when more events for the Job arrive.
  h.io.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(h.exits.size(), 1u);
}

TEST(KubernetesRuntime, FailedJobReportsTheContainerExitCode) {
  Harness h;
  h.watch();
  ASSERT_TRUE(h.runtime->start(h.request(8)));
  ASSERT_TRUE(h.runUntil([&] { return h.server.object(jobPath(8)).has_value(); }));
  h.server.put(podPath(8), podFor(8, {{"phase", "Failed"},
                                      {"containerStatuses", {{{"name", "job"},
                                                              {"state", {{"terminated", {{"exitCode", 3}, {"reason", "Error"}}}}}}}}}));
  h.server.setStatus(jobPath(8), {{"failed", 1}, {"conditions", {conditionTrue("Failed", "BackoffLimitExceeded")}}});
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].reason, "Error");
  EXPECT_EQ(h.exits[0].exit_code, 3);
}

TEST(KubernetesRuntime, DeadlineExceededIsATimeout) {
  Harness h;
  h.watch();
  ASSERT_TRUE(h.runtime->start(h.request(9)));
  ASSERT_TRUE(h.runUntil([&] { return h.server.object(jobPath(9)).has_value(); }));
  h.server.setStatus(jobPath(9), {{"conditions", {conditionTrue("Failed", "DeadlineExceeded")}}});
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].reason, "DeadlineExceeded");
  EXPECT_EQ(h.exits[0].message, "the run did not finish within its timeout of 30 seconds");
}

TEST(KubernetesRuntime, StopDeletesInForegroundAndReportsStopped) {
  Harness h;
  h.watch();
  ASSERT_TRUE(h.runtime->start(h.request(10)));
  ASSERT_TRUE(h.runUntil([&] { return h.server.object(jobPath(10)).has_value(); }));
  h.server.setStatus(jobPath(10), {{"active", 1}, {"startTime", "2026-01-01T00:00:00Z"}});
  ASSERT_TRUE(h.runtime->stop(10));
  ASSERT_TRUE(h.runtime->stop(10));  // repeats are harmless
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].reason, "Stopped");
  bool foreground = false;
  for (const auto& r : h.server.requests()) {
    if (r.method == "DELETE" && r.path == jobPath(10)) {
      foreground = foreground || json::parse(r.body)["propagationPolicy"] == "Foreground";
    }
  }
  EXPECT_TRUE(foreground);
}

TEST(KubernetesRuntime, ImagePullFailureIsAStartErrorAndTheJobGoes) {
  Harness h;
  h.watch();
  ASSERT_TRUE(h.runtime->start(h.request(11)));
  ASSERT_TRUE(h.runUntil([&] { return h.server.object(jobPath(11)).has_value(); }));
  h.server.put(podPath(11), podFor(11, {{"phase", "Pending"},
                                        {"containerStatuses", {{{"name", "job"},
                                                                {"state", {{"waiting", {{"reason", "ErrImagePull"},
                                                                                        {"message", "not found"}}}}}}}}}));
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].reason, "StartError");
  EXPECT_EQ(h.exits[0].message, "ErrImagePull: not found");
  ASSERT_TRUE(h.runUntil([&] { return !h.server.object(jobPath(11)); }));
}

TEST(KubernetesRuntime, RefusedCreateIsAStartErrorWithTheApiserversMessage) {
  Harness h;
  const std::string quota =
      "jobs.batch \"myjob-run12\" is forbidden: exceeded quota: tool-tf-test, requested: count/jobs.batch=1, "
      "used: count/jobs.batch=15, limited: count/jobs.batch=15";
  h.server.setAdmission([&](const RecordedRequest&, const json&) -> std::optional<Refusal> {
    return Refusal{403, "Forbidden", quota};
  });
  h.watch();
  ASSERT_TRUE(h.runtime->start(h.request(12)));  // accepted: the create happens asynchronously
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].reason, "StartError");
  EXPECT_EQ(h.exits[0].message, quota);
}

TEST(KubernetesRuntime, AdoptsRunsAfterARestart) {
  Harness h;
  // What an earlier tjfd left in the cluster: run 21 finished, run 22 still running, run 23 gone.
  auto done = *runJobManifest(h.request(21), {}, {});
  done["status"] = {{"conditions", {conditionTrue("Complete")}}};
  h.server.put(jobPath(21), done);
  auto running = *runJobManifest(h.request(22), {}, {});
  running["status"] = {{"active", 1}};
  h.server.put(jobPath(22), running);

  for (const std::int64_t id : {21, 22, 23}) h.runtime->adopt(runtime::RunHandle{.run_id = id});
  h.watch();
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 2; }));
  std::map<std::int64_t, std::string> reasons;
  for (const auto& e : h.exits) reasons[e.run_id] = e.reason;
  EXPECT_EQ(reasons[21], "Completed");
  EXPECT_EQ(reasons[23], "Lost");
  EXPECT_FALSE(reasons.count(22));

  h.server.setStatus(jobPath(22), {{"conditions", {conditionTrue("Complete")}}});
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 3; }));
  EXPECT_EQ(h.exits[2].run_id, 22);
  EXPECT_EQ(h.exits[2].reason, "Completed");
}

TEST(KubernetesRuntime, ARunWhoseJobIsDeletedBySomeoneElseIsLost) {
  Harness h;
  h.watch();
  ASSERT_TRUE(h.runtime->start(h.request(30)));
  ASSERT_TRUE(h.runUntil([&] { return h.server.object(jobPath(30)).has_value(); }));
  h.server.setStatus(jobPath(30), {{"active", 1}});
  h.server.erase(jobPath(30));
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].reason, "Lost");
  EXPECT_EQ(h.exits[0].message, "the Kubernetes Job 'myjob-run30' was deleted before it finished");
}

TEST(KubernetesRuntime, StopOrphansDeletesJobsTheStoreDoesNotKnow) {
  Harness h;
  h.server.put(jobPath(41), *runJobManifest(h.request(41), {}, {}));
  h.server.put(jobPath(42), *runJobManifest(h.request(42), {}, {}));
  const auto orphans = h.runtime->stopOrphans({41});
  EXPECT_EQ(orphans, std::vector<std::int64_t>{42});
  EXPECT_TRUE(h.server.object(jobPath(41)).has_value());
  EXPECT_FALSE(h.server.object(jobPath(42)).has_value());
}

TEST(KubernetesRuntime, CollectsCapturedOutputBeforeReportingTheExit) {
  Harness h;
  h.watch();
  auto handle = h.runtime->start(h.request(50, /*file_logs=*/false));
  ASSERT_TRUE(handle);
  EXPECT_TRUE(handle->captured_output);
  ASSERT_TRUE(h.runUntil([&] { return h.server.object(jobPath(50)).has_value(); }));
  h.server.put(podPath(50), podFor(50, {{"phase", "Running"}}));
  h.server.appendLog(kNs, "myjob-run50-x1", "hello", "2026-01-01T00:00:01.000001000Z");
  // (The loop must keep running meanwhile: the pod event reaches the runtime through it.)
  ASSERT_TRUE(h.runUntil([&] {
    for (const auto& r : h.server.requests()) {
      if (r.path.ends_with("/log")) return true;
    }
    return false;
  }));
  h.server.setStatus(jobPath(50), {{"conditions", {conditionTrue("Complete")}}});
  // The exit waits for the stream to drain: the last line arrives, then the log ends.
  h.io.run_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(h.exits.empty());
  h.server.appendLog(kNs, "myjob-run50-x1", "bye", "2026-01-01T00:00:02Z");
  h.server.closeLog(kNs, "myjob-run50-x1");
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].reason, "Completed");
  const auto text = testing::capturedText(*h.runtime, 50);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "1767225601000001 o hello\n1767225602000000 o bye\n");
}

TEST(KubernetesRuntime, WatchesAllNamespacesWhenNoneAreConfigured) {
  Harness h(std::vector<std::string>{});
  h.watch();
  ASSERT_TRUE(h.runtime->start(h.request(60)));
  ASSERT_TRUE(h.runUntil([&] { return h.server.object(jobPath(60)).has_value(); }));
  h.server.setStatus(jobPath(60), {{"conditions", {conditionTrue("Complete")}}});
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_TRUE(h.server.waitForRequest([](const RecordedRequest& r) {
    return r.path == "/apis/batch/v1/jobs" && r.query.count("watch");
  }));
}

TEST(KubernetesRuntime, APodHeldBackByAQuotaIsANoteUntilThePodAppears) {
  Harness h;
  h.watch();
  ASSERT_TRUE(h.runtime->start(h.request(5)));
  ASSERT_TRUE(h.runUntil([&] { return h.server.object(jobPath(5)).has_value(); }));
  // The Job controller cannot create the pod: upstream's status, once.
  const json refused = failedCreate(5, kPodsQuota, "2025-12-31T23:59:00Z");
  h.server.put(eventPath(refused), refused);
  ASSERT_TRUE(h.runUntil([&] { return !h.notes.empty(); }));
  using Note = std::pair<std::int64_t, std::string>;
  EXPECT_EQ(h.notes, (std::vector<Note>{{5, "Unable to start, out of quota for pods"}}));
  // The controller retries: the same Event counted again, and one for the next pod name.
  json again = refused;
  again["count"] = 2;
  again["lastTimestamp"] = "2025-12-31T23:59:10Z";
  h.server.put(eventPath(again), again);
  h.server.put(eventPath(failedCreate(5, kPodsQuota, "2025-12-31T23:59:20Z", 2)),
               failedCreate(5, kPodsQuota, "2025-12-31T23:59:20Z", 2));
  // Room: the pod is created (after the last refusal), and the note goes.
  h.server.put(podPath(5), podFor(5, {{"phase", "Pending"}}));
  ASSERT_TRUE(h.runUntil([&] { return h.notes.size() >= 2; }));
  h.io.run_for(std::chrono::milliseconds(200));
  EXPECT_EQ(h.notes, (std::vector<Note>{{5, "Unable to start, out of quota for pods"}, {5, ""}}));
  h.server.setStatus(jobPath(5), {{"conditions", {conditionTrue("Complete")}}});
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].reason, "Completed");
}

TEST(KubernetesRuntime, AQuotaRefusalOlderThanThePodIsNoNote) {
  Harness h;
  h.watch();
  ASSERT_TRUE(h.runtime->start(h.request(6, /*file_logs=*/false)));
  ASSERT_TRUE(h.runUntil([&] { return h.server.object(jobPath(6)).has_value(); }));
  // The pod came first here (the two watches keep no common order); the refusal before it is
  // about an attempt that has since run. (Its log being followed shows the pod was handled.)
  h.server.put(podPath(6), podFor(6, {{"phase", "Failed"}}));
  ASSERT_TRUE(h.runUntil([&] { return h.sawRequest("GET", podPath(6) + "/log"); }));
  const json stale = failedCreate(6, kPodsQuota, "2025-12-31T23:00:00Z");
  h.server.put(eventPath(stale), stale);
  // A marker: an Event about another run's Job after it; once that one's note is there, the
  // stale one has been handled (one watch, in order).
  ASSERT_TRUE(h.runtime->start(h.request(7)));
  const json marker = failedCreate(7, kPodsQuota, "2025-12-31T23:00:00Z");
  h.server.put(eventPath(marker), marker);
  ASSERT_TRUE(h.runUntil([&] {
    return std::any_of(h.notes.begin(), h.notes.end(), [](const auto& n) { return n.first == 7; });
  }));
  for (const auto& [id, note] : h.notes) EXPECT_NE(id, 6) << note;
}

TEST(KubernetesRuntime, APodRefusedByTheLimitRangeIsAStartErrorAndTheJobGoes) {
  Harness h;
  h.watch();
  ASSERT_TRUE(h.runtime->start(h.request(8)));
  ASSERT_TRUE(h.runUntil([&] { return h.server.object(jobPath(8)).has_value(); }));
  const json refused =
      failedCreate(8, "maximum memory usage per Container is 4Gi, but limit is 8Gi", "2025-12-31T23:59:00Z");
  h.server.put(eventPath(refused), refused);
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].reason, "StartError");
  EXPECT_EQ(h.exits[0].message,
            "pods \"myjob-run8-kvlz8\" is forbidden: maximum memory usage per Container is 4Gi, but limit is 8Gi");
  EXPECT_TRUE(h.notes.empty()) << "not a quota wait";
  ASSERT_TRUE(h.runUntil([&] { return !h.server.object(jobPath(8)); }));
}

TEST(KubernetesRuntime, WatchesOnlyTheFailedCreateEvents) {
  Harness h;
  h.watch();
  // Of Jobs (a refused pod) and of CronJobs (a refused Job): the kind is sorted out by the runtime.
  EXPECT_TRUE(h.server.waitForRequest([](const RecordedRequest& r) {
    return r.path == resourcePath("v1", "events", kNs) && r.query.count("watch") &&
           r.query.at("fieldSelector") == "reason=FailedCreate";
  }));
}

// --- Against a real cluster (tests/kubernetes/check-cluster.sh) ---------------------------------
// Skipped unless TJF_K8S_KUBECONFIG names a kubeconfig; TJF_K8S_NAMESPACE must be a namespace the
// credentials may create Jobs and read pods and logs in (tool-<tool> for tool <tool>), and
// TJF_K8S_IMAGE an image with /bin/sh (default busybox:1.36). Runs as uid TJF_K8S_UID (1000).
namespace real {

std::string env(const char* name, std::string fallback = {}) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

TEST(RealCluster, RunsExitsTimeoutsAndOutput) {
  const std::string kubeconfig = env("TJF_K8S_KUBECONFIG");
  const std::string ns = env("TJF_K8S_NAMESPACE");
  if (kubeconfig.empty() || ns.empty()) {
    GTEST_SKIP() << "set TJF_K8S_KUBECONFIG and TJF_K8S_NAMESPACE to run against a real cluster";
  }
  const std::string prefix = "tool-";
  ASSERT_TRUE(ns.rfind(prefix, 0) == 0) << "TJF_K8S_NAMESPACE must be tool-<tool>";
  const std::string tool = ns.substr(prefix.size());
  auto access = loadKubeconfig(kubeconfig);
  ASSERT_TRUE(access) << access.error().message;
  auto client = Client::create(*access);
  ASSERT_TRUE(client) << client.error().message;
  char tmpl[] = "/tmp/tjf-k8s-real-XXXXXX";
  const fs::path state = ::mkdtemp(tmpl);
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  KubernetesRuntimeOptions options;
  options.layout = model::StateLayout(state);
  options.namespaces = {ns};
  const auto uid = static_cast<uid_t>(std::stoul(env("TJF_K8S_UID", "1000")));
  options.runs.default_uid = uid;
  options.runs.default_gid = uid;
  KubernetesRuntime rt(io, **client, options);
  std::map<std::int64_t, runtime::RunExit> exits;
  rt.setExitCallback([&](const runtime::RunExit& e) { exits[e.run_id] = e; });
  rt.startWatching();
  const model::Image image{.shortname = "test", .url = env("TJF_K8S_IMAGE", "busybox:1.36")};
  // Run ids from the clock, so repeated runs never meet an old Job.
  const std::int64_t base = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count() % 100000000 * 10;
  auto request = [&](std::int64_t n, const std::string& command, std::int64_t timeout) {
    runtime::RunRequest r;
    r.run_id = base + n;
    r.tool = tool;
    r.job_name = "tjf-conformance";
    r.command = command;
    r.image = &image;
    r.workdir = "/tmp";
    r.timeout_seconds = timeout;
    r.memory_bytes = 64LL << 20;
    r.cpu_millis = 100;
    return r;
  };
  ASSERT_TRUE(rt.start(request(1, "echo hello; echo to-stderr >&2", 0)));
  ASSERT_TRUE(rt.start(request(2, "exit 3", 0)));
  ASSERT_TRUE(rt.start(request(3, "sleep 120", 5)));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(4);
  while (exits.size() < 3 && std::chrono::steady_clock::now() < deadline) {
    io.run_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(exits.size(), 3u) << "not every run ended within 4 minutes";
  EXPECT_EQ(exits[base + 1].reason, "Completed");
  EXPECT_EQ(exits[base + 2].reason, "Error");
  EXPECT_EQ(exits[base + 2].exit_code, 3);
  EXPECT_EQ(exits[base + 3].reason, "DeadlineExceeded");
  const auto text = testing::capturedText(rt, base + 1);
  ASSERT_TRUE(text);
  EXPECT_NE(text->find(" o hello\n"), std::string::npos) << *text;
  EXPECT_NE(text->find(" o to-stderr\n"), std::string::npos) << *text;
  fs::remove_all(state);
}

}  // namespace real
}  // namespace
}  // namespace tjf::kubernetes

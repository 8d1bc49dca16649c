// KubernetesRuntime across a daemon restart, against FakeApiServer (a contract fake of the
// apiserver on 127.0.0.1): the saved watch positions, the replay of what happened while no
// runtime watched, the fallback when that history is compacted, and the quota notes of a
// CronJob's runs. As in placement_test, the test plays the controllers and the engine's observer.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/executor_work_guard.hpp>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "fake_api_server.hpp"
#include "runtime_test_support.hpp"
#include "kubernetes/kubernetes_runtime.hpp"

namespace tjf::kubernetes {
namespace {

namespace fs = std::filesystem;
using testing::FakeApiServer;

const std::string kNs = "tool-tf-test";
using Note = std::pair<std::int64_t, std::string>;

std::string jobPath(const std::string& name) { return resourcePath("batch/v1", "jobs", kNs, name); }
std::string podPath(const std::string& name) { return resourcePath("v1", "pods", kNs, name); }

using testing::conditionTrue;

json cronLabels(bool filelog) {
  json labels = {{std::string(kLabelManagedBy), std::string(kManagedByValue)},
                 {std::string(kLabelComponent), "cronjobs"},
                 {std::string(kLabelName), "daily"},
                 {std::string(kLabelCreatedBy), "tf-test"},
                 {std::string(kLabelGeneration), "1"}};
  if (filelog) labels[std::string(kLabelFilelog)] = "yes";
  return labels;
}

// A Job as the CronJob controller makes it, and its pod as the Job controller does.
json cronMadeJob(const std::string& name, bool filelog) {
  return {{"kind", "Job"},
          {"metadata", {{"name", name}, {"labels", cronLabels(filelog)},
                        {"ownerReferences", {{{"kind", "CronJob"}, {"name", "daily"}, {"uid", "u1"}}}}}},
          {"spec", {{"backoffLimit", 0}}},
          {"status", {{"active", 1}, {"startTime", "2026-01-01T00:00:01Z"}}}};
}
json cronMadePod(const std::string& job, const std::string& name, const json& status, bool filelog) {
  return {{"kind", "Pod"},
          {"metadata", {{"name", name}, {"labels", cronLabels(filelog)},
                        {"ownerReferences", {{{"kind", "Job"}, {"name", job}, {"uid", "u2"}}}}}},
          {"status", status}};
}
json terminated(int code) {
  return {{"phase", code == 0 ? "Succeeded" : "Failed"},
          {"containerStatuses", {{{"name", "job"},
                                  {"state", {{"terminated", {{"exitCode", code}, {"reason", code ? "Error" : "Completed"}}}}}}}}};
}

// One fake API server and one state directory; runtimes come and go as tjfd restarts would.
class Harness {
 public:
  explicit Harness(std::chrono::milliseconds save_interval = std::chrono::milliseconds(10))
      : save_interval_(save_interval) {
    state_ = state_dir_.path();
    client = testing::testClient(server.url());
    start();
  }
  ~Harness() { runtime.reset(); }

  // A new runtime over the same state directory (the previous one stopped, as tjfd does).
  void start() {
    KubernetesRuntimeOptions options = testing::testRuntimeOptions(state_, {kNs});
    options.resume_replay_timeout_seconds = replay_timeout_seconds;
    options.resume_save_interval = save_interval_;
    runtime = std::make_unique<KubernetesRuntime>(io, *client, options);
    exits.clear();
    observed.clear();
    notes.clear();
    runtime->setExitCallback([this](const runtime::RunExit& e) { exits.push_back(e); });
    runtime->setNoteCallback([this](std::int64_t id, const std::string& note) { notes.emplace_back(id, note); });
    // The engine's part: each run once by external id (the ids survive the restart, as the
    // store's do), none for a run recorded as ended.
    runtime->setRunObserver([this](const runtime::ObservedRun& o) -> std::optional<std::int64_t> {
      observed.push_back(o);
      if (ended.count(o.external_id)) return std::nullopt;
      auto [it, added] = ids.emplace(o.external_id, next_id);
      if (added) ++next_id;
      return it->second;
    });
  }
  void stop() { runtime.reset(); }

  bool runUntil(const std::function<bool()>& done, std::chrono::seconds timeout = std::chrono::seconds(10)) {
    return testing::runLoopUntil(io, done, timeout);
  }
  void watch() {
    runtime->startWatching();
    ASSERT_TRUE(runUntil([&] { return runtime->synced() && server.openWatches() == 4; }));
  }

  fs::path pointFile() const { return resumePointPath(state_, kNs); }
  std::optional<ResumePoint> saved() const {
    auto point = readResumePoint(pointFile());
    return point && *point ? std::optional<ResumePoint>(**point) : std::nullopt;
  }
  // Until the saved Jobs position is at or past `version`.
  bool savedPast(const std::string& version) {
    return runUntil([&] {
      const auto point = saved();
      return point && versionAtOrPast(point->jobs, version) && versionAtOrPast(point->pods, version);
    });
  }

  FakeApiServer server;
  std::unique_ptr<Client> client;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<KubernetesRuntime> runtime;
  std::vector<runtime::RunExit> exits;
  std::vector<runtime::ObservedRun> observed;
  std::vector<Note> notes;
  std::map<std::string, std::int64_t> ids;
  std::set<std::string> ended;
  std::int64_t next_id = 100;
  int replay_timeout_seconds = 1;  // for the next start()
  std::chrono::milliseconds save_interval_;
  testing::TempStateDir state_dir_{"resume"};
  fs::path state_;
};

// What the cluster does while no tjfd watches: the CronJob fires, the run fails with exit code
// 3, the TTL controller removes the Job and its pod.
void fireAndVanish(FakeApiServer& server, const std::string& name, bool filelog) {
  server.put(jobPath(name), cronMadeJob(name, filelog));
  server.put(podPath(name + "-p"), cronMadePod(name, name + "-p", {{"phase", "Running"}}, filelog));
  server.put(podPath(name + "-p"), cronMadePod(name, name + "-p", terminated(3), filelog));
  server.setStatus(jobPath(name), {{"active", 0}, {"failed", 1},
                                   {"conditions", {conditionTrue("Failed", "BackoffLimitExceeded")}}});
  server.erase(podPath(name + "-p"));
  server.erase(jobPath(name));
}

// ---- replayHistory and bookmarks (reflector.hpp) ----------------------------------------------

json plainJob(const std::string& name) {
  return {{"kind", "Job"}, {"metadata", {{"name", name}, {"labels", cronLabels(true)}}}, {"spec", json::object()}};
}

TEST(ReplayHistory, ReturnsWhatHappenedBetweenASavedVersionAndAList) {
  FakeApiServer server;
  auto client = std::move(*Client::create(ClusterAccess{.server = server.url(), .token = "t"}));
  const std::string jobs = resourcePath("batch/v1", "jobs", kNs);
  server.put(jobPath("a"), plainJob("a"));
  const std::string saved = server.resourceVersion();
  server.put(jobPath("b"), plainJob("b"));
  server.setStatus(jobPath("a"), {{"succeeded", 1}});
  server.put(podPath("a-p"), {{"kind", "Pod"}, {"metadata", {{"labels", cronLabels(true)}}}});  // another collection
  server.erase(jobPath("a"));
  const std::string listed = server.resourceVersion();
  server.put(jobPath("c"), plainJob("c"));  // after the list: the watch from the list sees it

  const auto began = std::chrono::steady_clock::now();
  auto events = replayHistory(*client, jobs, {.from = saved, .until = listed, .timeout_seconds = 5});
  ASSERT_TRUE(events) << events.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(4)) << "ends at the list's version";
  std::vector<std::string> seen;
  for (const auto& e : *events) seen.push_back(e.type + " " + e.object["metadata"]["name"].get<std::string>());
  EXPECT_EQ(seen, (std::vector<std::string>{"ADDED b", "MODIFIED a", "DELETED a"}));
  EXPECT_EQ((*events)[2].object["status"]["succeeded"], 1) << "a DELETED event carries the last state";

  // Nothing happened since the saved version: no request at all.
  const auto before = server.requests().size();
  auto none = replayHistory(*client, jobs, {.from = listed, .until = listed});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(server.requests().size(), before);

  // The caller may have all it needs before the list's version.
  auto first = replayHistory(*client, jobs,
                             {.from = saved, .until = listed, .timeout_seconds = 5,
                              .enough = [](const WatchEvent& e) { return e.type == "ADDED"; }});
  ASSERT_TRUE(first);
  EXPECT_EQ(first->size(), 1u);

  server.compact();
  auto gone = replayHistory(*client, jobs, {.from = saved, .until = server.resourceVersion()});
  ASSERT_FALSE(gone);
  EXPECT_TRUE(gone.error().isGone()) << gone.error().message;
}

TEST(ReplayHistory, AReflectorPassesBookmarksOn) {
  FakeApiServer server;
  auto client = std::move(*Client::create(ClusterAccess{.server = server.url(), .token = "t"}));
  std::mutex mutex;
  std::vector<std::string> bookmarks;
  Reflector reflector(*client, resourcePath("batch/v1", "jobs", kNs), {},
                      ReflectorHandler{.on_bookmark = [&](const std::string& version) {
                        std::lock_guard lock(mutex);
                        bookmarks.push_back(version);
                      }});
  std::thread thread([&] { reflector.run(); });
  ASSERT_TRUE(server.waitFor([&] { return server.openWatches() == 1; }));
  server.bookmark();
  const std::string version = server.resourceVersion();
  EXPECT_TRUE(server.waitFor([&] {
    std::lock_guard lock(mutex);
    return !bookmarks.empty();
  }));
  reflector.stop();
  thread.join();
  ASSERT_EQ(bookmarks.size(), 1u);
  EXPECT_EQ(bookmarks[0], version);
}

// ---- KubernetesRuntime across restarts -------------------------------------------------------

TEST(KubernetesResume, SavesTheWatchPositionOnceBothListsAreHandled) {
  Harness h;
  EXPECT_FALSE(h.saved()) << "nothing before the first lists";
  h.watch();
  ASSERT_TRUE(h.savedPast(h.server.resourceVersion()));
  const auto point = h.saved();
  EXPECT_EQ(point->server, h.server.url());
  EXPECT_EQ(point->ns, kNs);
  ASSERT_EQ(h.runtime->resumeReports().size(), 1u);
  EXPECT_EQ(h.runtime->resumeReports()[0].outcome, ResumeOutcome::kNothingSaved);
  // A bookmark moves it on without any change to a Job or pod.
  h.server.bookmark();
  ASSERT_TRUE(h.savedPast(h.server.resourceVersion()));
}

TEST(KubernetesResume, SavesAtMostOncePerIntervalAndWhenItStops) {
  Harness h(std::chrono::hours(1));
  h.watch();
  ASSERT_TRUE(h.savedPast(h.server.resourceVersion()));  // the first save is at once
  const auto first = h.saved();
  h.server.put(jobPath("daily-29000000"), cronMadeJob("daily-29000000", true));
  ASSERT_TRUE(h.runUntil([&] { return h.observed.size() == 1; }));
  h.io.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(h.saved(), first) << "not on every event";
  const std::string after = h.server.resourceVersion();
  h.stop();
  const auto last = h.saved();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->jobs, after) << "the stopping runtime saves how far it got";
}

TEST(KubernetesResume, ACronJobsRunThatCameAndWentWhileTjfdWasAwayIsReportedWithItsExit) {
  Harness h;
  h.watch();
  ASSERT_TRUE(h.savedPast(h.server.resourceVersion()));
  h.stop();
  fireAndVanish(h.server, "daily-29000000", /*filelog=*/false);
  h.server.put(jobPath("daily-29000001"), cronMadeJob("daily-29000001", false));  // still there

  // The last change is to a Job here, so the replay reaches the list's version and ends then,
  // well before its timeout.
  h.replay_timeout_seconds = 5;
  h.start();
  const auto began = std::chrono::steady_clock::now();
  h.watch();
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(4));
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  ASSERT_EQ(h.observed.size(), 2u);
  std::set<std::string> offered;
  for (const auto& o : h.observed) offered.insert(o.external_id);
  EXPECT_TRUE(offered.count("daily-29000000"));
  EXPECT_EQ(h.exits[0].run_id, h.ids.at("daily-29000000"));
  EXPECT_EQ(h.exits[0].reason, "Error");
  EXPECT_EQ(h.exits[0].exit_code, 3) << "from the pod's last state, replayed too";
  EXPECT_EQ(h.exits[0].message, "output not collected: the pod was removed while tjfd was away");
  ASSERT_EQ(h.runtime->resumeReports().size(), 1u);
  EXPECT_EQ(h.runtime->resumeReports()[0].outcome, ResumeOutcome::kReplayed);
  EXPECT_EQ(h.runtime->resumeReports()[0].gone_jobs, 1u);
  h.io.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(h.exits.size(), 1u) << "the Job still there is running";
}

TEST(KubernetesResume, AnAdoptedRunWhoseJobFinishedAndWentIsNotLost) {
  Harness h;
  h.watch();
  h.server.put(jobPath("daily-29000002"), cronMadeJob("daily-29000002", true));
  ASSERT_TRUE(h.runUntil([&] { return h.observed.size() == 1; }));
  const std::int64_t id = h.ids.at("daily-29000002");
  h.stop();
  h.server.setStatus(jobPath("daily-29000002"),
                     {{"active", 0}, {"succeeded", 1}, {"completionTime", "2026-01-01T00:00:09Z"},
                      {"conditions", {conditionTrue("Complete")}}});
  h.server.erase(jobPath("daily-29000002"));

  h.start();
  h.runtime->adopt(runtime::RunHandle{.run_id = id, .external_id = "daily-29000002"});
  h.watch();
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  EXPECT_EQ(h.exits[0].run_id, id);
  EXPECT_EQ(h.exits[0].reason, "Completed");
  EXPECT_EQ(h.exits[0].exit_code, 0);
  EXPECT_EQ(h.exits[0].message, "") << "file logs: nothing was to be collected";
}

TEST(KubernetesResume, AnAdoptedRunJobThatFinishedAndWentEndsWithItsExit) {
  Harness h;
  h.watch();
  ASSERT_TRUE(h.savedPast(h.server.resourceVersion()));
  h.stop();
  // A per-run Job the engine started, finished and deleted (by someone) while tjfd was away.
  runtime::RunRequest request;
  request.run_id = 21;
  request.tool = "tf-test";
  request.job_name = "myjob";
  request.command = "./run.sh";
  static const auto catalogue = model::ImageCatalogue::defaults();
  request.image = catalogue.resolve("python3.11");
  request.workdir = "/data/project/tf-test";
  request.memory_bytes = 512LL << 20;
  request.cpu_millis = 500;
  request.uid = 52503;
  request.gid = 52503;
  json job = *runJobManifest(request, {}, {});
  job["status"] = {{"conditions", {conditionTrue("Complete")}}};
  const std::string path = jobPath(job["metadata"]["name"]);
  h.server.put(path, job);
  h.server.erase(path);

  h.start();
  h.runtime->adopt(runtime::RunHandle{.run_id = 21, .captured_output = true});
  h.runtime->adopt(runtime::RunHandle{.run_id = 22, .captured_output = true});  // never existed
  h.watch();
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 2; }));
  std::map<std::int64_t, runtime::RunExit> by_id;
  for (const auto& e : h.exits) by_id[e.run_id] = e;
  EXPECT_EQ(by_id[21].reason, "Completed");
  EXPECT_EQ(by_id[21].message, "output not collected: the pod was removed while tjfd was away");
  EXPECT_EQ(by_id[22].reason, "Lost");
}

TEST(KubernetesResume, ACompactedHistoryFallsBackToTheListAndSaysSo) {
  Harness h;
  h.watch();
  h.server.put(jobPath("daily-29000003"), cronMadeJob("daily-29000003", true));
  ASSERT_TRUE(h.runUntil([&] { return h.observed.size() == 1; }));
  const std::int64_t id = h.ids.at("daily-29000003");
  h.stop();
  fireAndVanish(h.server, "daily-29000004", true);
  h.server.setStatus(jobPath("daily-29000003"), {{"conditions", {conditionTrue("Complete")}}});
  h.server.erase(jobPath("daily-29000003"));
  h.server.compact();

  h.start();
  h.runtime->adopt(runtime::RunHandle{.run_id = id, .external_id = "daily-29000003"});
  h.watch();
  ASSERT_TRUE(h.runUntil([&] { return h.exits.size() == 1; }));
  // Today's behaviour without history: the adopted run is lost, the unseen one unknown.
  EXPECT_EQ(h.exits[0].reason, "Lost");
  EXPECT_EQ(h.exits[0].message, "the Kubernetes Job 'daily-29000003' was deleted while tjfd was away");
  EXPECT_TRUE(h.observed.empty());
  ASSERT_EQ(h.runtime->resumeReports().size(), 1u);
  EXPECT_EQ(h.runtime->resumeReports()[0].outcome, ResumeOutcome::kCompacted);
  EXPECT_FALSE(h.runtime->resumeReports()[0].from.empty());
}

TEST(KubernetesResume, APositionSavedForAnotherServerIsIgnored) {
  Harness h;
  h.stop();
  ASSERT_TRUE(writeResumePoint(h.pointFile(), {.server = "https://elsewhere:6443", .ns = kNs, .jobs = "5", .pods = "5"},
                               false));
  h.start();
  h.watch();
  ASSERT_EQ(h.runtime->resumeReports().size(), 1u);
  EXPECT_EQ(h.runtime->resumeReports()[0].outcome, ResumeOutcome::kNothingSaved);
  EXPECT_NE(h.runtime->resumeReports()[0].detail.find("elsewhere"), std::string::npos);
  ASSERT_TRUE(h.savedPast(h.server.resourceVersion()));
  EXPECT_EQ(h.saved()->server, h.server.url()) << "replaced by this server's position";
}

TEST(KubernetesResume, ACronJobsRunHeldBackByAQuotaHasANoteUntilItsPodAppears) {
  Harness h;
  h.watch();
  // The Event can come before the Job is seen (separate watches).
  const json refused = {
      {"kind", "Event"},
      {"metadata", {{"name", "daily-29000005.1"}}},
      {"involvedObject", {{"kind", "Job"}, {"name", "daily-29000005"}, {"namespace", kNs}}},
      {"reason", "FailedCreate"},
      {"message", "Error creating: pods \"daily-29000005-abcde\" is forbidden: exceeded quota: tool-tf-test, "
                  "requested: limits.memory=512Mi, used: limits.memory=8Gi, limited: limits.memory=8Gi"},
      {"lastTimestamp", "2025-12-31T23:59:00Z"}};
  h.server.put(resourcePath("v1", "events", kNs, "daily-29000005.1"), refused);
  json job = cronMadeJob("daily-29000005", true);
  job["status"] = json::object();  // no pod yet
  h.server.put(jobPath("daily-29000005"), job);
  // The watches keep no common order: if the Job arrives before its Event, the run is first
  // noted "" (nothing holds it back yet), then the quota note follows.
  const std::string quota_note = "Unable to start, out of quota for memory";
  ASSERT_TRUE(h.runUntil([&] { return !h.notes.empty() && h.notes.back().second == quota_note; }));
  const std::int64_t id = h.ids.at("daily-29000005");
  for (std::size_t i = 0; i + 1 < h.notes.size(); ++i) EXPECT_EQ(h.notes[i], (Note{id, ""}));
  EXPECT_EQ(h.notes.back().first, id);
  const std::size_t before_pod = h.notes.size();
  h.server.put(podPath("daily-29000005-p"), cronMadePod("daily-29000005", "daily-29000005-p", {{"phase", "Pending"}}, true));
  ASSERT_TRUE(h.runUntil([&] { return h.notes.size() == before_pod + 1; }));
  EXPECT_EQ(h.notes.back(), (Note{id, ""}));

  // After a restart, a run whose pod is there gets "" once: a note the store kept from before
  // the restart does not linger.
  h.stop();
  h.start();
  h.runtime->adopt(runtime::RunHandle{.run_id = id, .external_id = "daily-29000005"});
  h.watch();
  ASSERT_TRUE(h.runUntil([&] { return !h.notes.empty(); }));
  h.io.run_for(std::chrono::milliseconds(100));
  EXPECT_EQ(h.notes, (std::vector<Note>{{id, ""}}));
}

}  // namespace
}  // namespace tjf::kubernetes

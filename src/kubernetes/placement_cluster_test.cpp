// Placed jobs end to end on FakeCluster (tests/kubernetes/fake_cluster.hpp): a FAKE cluster whose
// CronJob, Job and Deployment controllers and kubelet really run the containers as local
// processes. Unlike placement_test.cpp, nothing here is played by the test: the runtime places a
// scheduled and a continuous job, the fake cluster fires, starts, restarts and deletes, and the
// runtime must report what happened as observed runs and exits.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/executor_work_guard.hpp>
#include <fstream>
#include <sstream>

#include "cron/schedule.hpp"
#include "fake_cluster.hpp"
#include "runtime_test_support.hpp"
#include "kubernetes/kubernetes_runtime.hpp"

namespace tjf::kubernetes {
namespace {

namespace fs = std::filesystem;

const std::string kNs = "tool-tf-test";

const model::Image& python() {
  static const auto catalogue = model::ImageCatalogue::defaults();
  return *catalogue.resolve("python3.11");
}

runtime::JobPlacement placementOf(model::JobSpec spec, std::int64_t generation) {
  runtime::JobPlacement p;
  p.tool = model::Tool{.name = "tf-test", .home = "/data/project/tf-test", .uid = 52503, .gid = 52503};
  spec.imagename = "python3.11";
  spec.filelog = false;  // captured: the pod's log is the output
  p.spec = spec;
  p.resolved = *model::resolveJob(spec, p.tool, python(), model::JobDefaults{});
  p.image = &python();
  if (spec.schedule) p.effective_schedule = cron::parseSchedule(*spec.schedule, "tf-test", spec.name, "UTC")->effective;
  p.generation = generation;
  p.env = {"JOB_NAME=" + spec.name, "TJF_RUN_ID=0"};
  p.uid = 52503;
  p.gid = 52503;
  return p;
}

class PlacementOnFakeCluster : public ::testing::Test {
 protected:
  PlacementOnFakeCluster() {
    client_ = testing::testClient(cluster.url());
    KubernetesRuntimeOptions options = testing::testRuntimeOptions(state_.path(), {kNs});
    runtime = std::make_unique<KubernetesRuntime>(io, *client_, options);
    runtime->setExitCallback([this](const runtime::RunExit& e) { exits.push_back(e); });
    // The engine's part: every run it is told of is new here.
    runtime->setRunObserver([this](const runtime::ObservedRun& o) -> std::optional<std::int64_t> {
      observed.push_back(o);
      return 100 + static_cast<std::int64_t>(observed.size());
    });
    runtime->startWatching();
  }
  ~PlacementOnFakeCluster() override {
    runtime.reset();
    cluster.shutdown();
  }

  bool runUntil(const std::function<bool()>& done) {
    return testing::runLoopUntil(io, done, std::chrono::seconds(20));
  }
  const runtime::RunExit* exitOf(std::int64_t run_id) const {
    for (const auto& e : exits) {
      if (e.run_id == run_id) return &e;
    }
    return nullptr;
  }

  testing::FakeCluster cluster;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<KubernetesRuntime> runtime;
  std::vector<runtime::RunExit> exits;
  std::vector<runtime::ObservedRun> observed;

 private:
  testing::TempStateDir state_{"place-e2e"};
  std::unique_ptr<Client> client_;
};

TEST_F(PlacementOnFakeCluster, ACronJobsRunAndACrashLoopingDeployment) {
  ASSERT_TRUE(runUntil([&] { return runtime->synced(); }));

  // A scheduled job: the CronJob fires (fake-only trigger), its Job's pod runs the command.
  model::JobSpec daily{.name = "daily", .cmd = "echo hello from $JOB_NAME", .type = model::JobType::kScheduled};
  daily.schedule = "@daily";
  ASSERT_TRUE(runtime->placeJob(placementOf(daily, 1)));
  const std::string cronjob = resourcePath("batch/v1", "cronjobs", kNs, "daily");
  ASSERT_TRUE(runUntil([&] { return cluster.server().object(cronjob).has_value(); }));
  auto fired = cluster.fireCronJob(kNs, "daily");
  ASSERT_TRUE(fired) << fired.error().message;
  ASSERT_TRUE(runUntil([&] { return exits.size() == 1; }));
  ASSERT_EQ(observed.size(), 1u);
  EXPECT_EQ(observed[0].job_name, "daily");
  EXPECT_EQ(observed[0].external_id, (*fired)["metadata"]["name"]);
  EXPECT_EQ(observed[0].generation, 1);
  EXPECT_TRUE(observed[0].scheduled_for.has_value());
  EXPECT_EQ(exits[0].run_id, 101);
  EXPECT_EQ(exits[0].reason, "Completed");
  const auto text = testing::capturedText(*runtime, 101);
  ASSERT_TRUE(text);
  EXPECT_NE(text->find(" o hello from daily\n"), std::string::npos) << *text;

  // A continuous job whose command fails: each container incarnation is a run with exit code 3.
  model::JobSpec web{.name = "web", .cmd = "exit 3", .type = model::JobType::kContinuous};
  ASSERT_TRUE(runtime->placeJob(placementOf(web, 1)));
  auto webExits = [&] {
    int n = 0;
    for (const auto& e : exits) n += e.run_id > 101;
    return n;
  };
  ASSERT_TRUE(runUntil([&] { return webExits() >= 2; }));
  for (const auto& e : exits) {
    if (e.run_id == 101) continue;
    EXPECT_EQ(e.reason, "Error");
    EXPECT_EQ(e.exit_code, 3);
  }
  ASSERT_GE(observed.size(), 3u);
  const auto first = parseIncarnationId(observed[1].external_id);
  const auto second = parseIncarnationId(observed[2].external_id);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->first, second->first);  // the same pod,
  EXPECT_EQ(second->second, first->second + 1);  // the next incarnation

  // Removing the job deletes the Deployment; its pods go with it.
  ASSERT_TRUE(runtime->removeJob("tf-test", "web"));
  ASSERT_TRUE(runUntil([&] {
    return !cluster.server().object(resourcePath("apps/v1", "deployments", kNs, "web")) &&
           cluster.server().objects(resourcePath("v1", "pods", kNs) + "/web-").empty();
  }));
}

TEST_F(PlacementOnFakeCluster, ARestartRollsTheDeploymentAndAStopReplacesThePod) {
  ASSERT_TRUE(runUntil([&] { return runtime->synced(); }));
  model::JobSpec web{.name = "web", .cmd = "exec sleep 300", .type = model::JobType::kContinuous};
  ASSERT_TRUE(runtime->placeJob(placementOf(web, 1)));
  ASSERT_TRUE(runUntil([&] { return observed.size() == 1; }));
  EXPECT_EQ(observed[0].generation, 1);

  // `restart`: generation 2. The rollout replaces the pod; the old run ends Stopped.
  ASSERT_TRUE(runtime->placeJob(placementOf(web, 2)));
  ASSERT_TRUE(runUntil([&] { return exitOf(101) && observed.size() == 2; }));
  EXPECT_EQ(exitOf(101)->reason, "Stopped");
  EXPECT_EQ(observed[1].generation, 2);
  EXPECT_NE(parseIncarnationId(observed[1].external_id)->first, parseIncarnationId(observed[0].external_id)->first);

  // stop() of the current run: its pod goes, the Deployment starts another (a new run).
  ASSERT_TRUE(runtime->stop(102));
  ASSERT_TRUE(runUntil([&] { return exitOf(102) && observed.size() == 3; }));
  EXPECT_EQ(exitOf(102)->reason, "Stopped");
  EXPECT_EQ(observed[2].generation, 2);
  EXPECT_EQ(exits.size(), 2u);
}

}  // namespace
}  // namespace tjf::kubernetes

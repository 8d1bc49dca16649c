// The engine's side of the job-level seam (runtime.hpp): jobs that the runtime keeps going by
// itself are placed once per generation, their observed runs are recorded once, superseded runs
// are stopped, a restart's manual run starts, deleted jobs are removed. The runtime here is a
// recording double of the seam; the real one is tested in src/kubernetes.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>

#include "base/test_dir.hpp"
#include "base/time_format.hpp"
#include "engine/engine.hpp"

namespace tjf::engine {
namespace {

using model::RunState;

class PlacingRuntime final : public runtime::Runtime {
 public:
  void setExitCallback(ExitCallback callback) override { on_exit = std::move(callback); }
  Result<runtime::RunHandle> start(const runtime::RunRequest& request) override {
    started.push_back(request.run_id);
    return runtime::RunHandle{.run_id = request.run_id};
  }
  Status stop(std::int64_t run_id) override {
    stopped.push_back(run_id);
    return {};
  }
  void adopt(const runtime::RunHandle& handle) override { adopted.push_back(handle); }
  std::optional<std::filesystem::path> capturedOutput(std::int64_t) const override {
    return std::nullopt;
  }
  std::vector<std::int64_t> stopOrphans(const std::vector<std::int64_t>&) override { return {}; }

  bool placesJobs(model::JobType type) const override { return type != model::JobType::kOneOff; }
  void setRunObserver(RunObserver observer) override { observe = std::move(observer); }
  void setNoteCallback(NoteCallback callback) override { note = std::move(callback); }
  void setJobNoteCallback(JobNoteCallback callback) override { job_note = std::move(callback); }
  Status placeJob(const runtime::JobPlacement& placement) override {
    placements.push_back(placement);
    return {};
  }
  Status removeJob(const std::string& tool, const std::string& job) override {
    removed.emplace_back(tool, job);
    return {};
  }
  void removeUnknownJobs(const std::vector<std::pair<std::string, std::string>>& known) override {
    known_at_start = known;
  }

  ExitCallback on_exit;
  RunObserver observe;
  NoteCallback note;
  JobNoteCallback job_note;
  std::vector<std::int64_t> started;
  std::vector<std::int64_t> stopped;
  std::vector<runtime::RunHandle> adopted;
  std::vector<runtime::JobPlacement> placements;
  std::vector<std::pair<std::string, std::string>> removed;
  std::vector<std::pair<std::string, std::string>> known_at_start;
};

class PlacedJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = freshTestDir("placed-test");
    auto store = store::Store::open(dir_ / "db.sqlite");
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    engine_ = std::make_unique<Engine>(io_, *store_, runtime_, clock_,
                                       EngineOptions{.images = &images_, .tools = &tools_});
  }
  void TearDown() override {
    engine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void settle() {
    io_.restart();
    io_.poll();
  }
  model::JobRecord addJob(const std::string& name, model::JobType type) {
    model::JobSpec spec;
    spec.name = name;
    spec.cmd = "./run.sh";
    spec.imagename = "bookworm";
    spec.type = type;
    if (type == model::JobType::kScheduled) spec.schedule = "@daily";
    auto job = store_->insertJob("tool", spec, clock_.now());
    EXPECT_TRUE(job) << job.error().message;
    engine_->nudge(job->id);
    settle();
    return *job;
  }
  std::optional<std::int64_t> observe(const std::string& job, const std::string& external_id,
                                      std::int64_t generation = 0) {
    return runtime_.observe(runtime::ObservedRun{.tool = "tool", .job_name = job,
                                                 .external_id = external_id,
                                                 .generation = generation,
                                                 .started_at = clock_.now(),
                                                 .captured_output = true});
  }
  model::RunRecord run(std::int64_t id) {
    auto found = store_->runById(id);
    EXPECT_TRUE(found && *found);
    return **found;
  }

  std::filesystem::path dir_;
  boost::asio::io_context io_;
  ManualClock clock_{fromUnixMillis(1'800'000'000'000)};
  model::ImageCatalogue images_ = model::ImageCatalogue::defaults();
  model::SingleToolDirectory tools_{model::Tool{.name = "tool", .home = "/srv/tool", .uid = 1000,
                                                .gid = 1000}};
  PlacingRuntime runtime_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(PlacedJobsTest, AScheduledJobIsPlacedOncePerGenerationWithItsEffectiveSchedule) {
  const auto job = addJob("daily", model::JobType::kScheduled);
  ASSERT_EQ(runtime_.placements.size(), 1u);
  const auto& placed = runtime_.placements[0];
  EXPECT_EQ(placed.spec.name, "daily");
  EXPECT_EQ(placed.generation, 1);
  EXPECT_EQ(placed.tool.uid, 1000u);
  // @daily is spread to a fixed minute and hour of the day for this tool and job.
  EXPECT_NE(placed.effective_schedule.find(" * * *"), std::string::npos) << placed.effective_schedule;
  EXPECT_NE(std::find(placed.env.begin(), placed.env.end(), "JOB_NAME=daily"), placed.env.end());
  EXPECT_TRUE(runtime_.started.empty()) << "the engine never fires a placed job";

  engine_->nudge(job.id);
  settle();
  EXPECT_EQ(runtime_.placements.size(), 1u) << "nothing changed: not placed again";

  ASSERT_TRUE(store_->bumpGeneration(job.id, clock_.now()));
  engine_->nudge(job.id);
  settle();
  ASSERT_EQ(runtime_.placements.size(), 2u);
  EXPECT_EQ(runtime_.placements[1].generation, 2);
}

TEST_F(PlacedJobsTest, ObservedRunsAreRecordedOnceAndEndThroughTheExitCallback) {
  addJob("web", model::JobType::kContinuous);
  const auto id = observe("web", "web-7d9f-abcde/0", 1);
  ASSERT_TRUE(id);
  auto recorded = run(*id);
  EXPECT_EQ(recorded.state, RunState::kRunning);
  EXPECT_EQ(recorded.external_id, "web-7d9f-abcde/0");
  EXPECT_TRUE(recorded.captured_output);
  EXPECT_EQ(observe("web", "web-7d9f-abcde/0", 1), id) << "seen again: the same run";

  runtime_.on_exit(runtime::RunExit{.run_id = *id, .finished_at = clock_.now(), .exit_code = 3,
                                    .reason = "error"});
  settle();
  EXPECT_EQ(run(*id).state, RunState::kFailed);
  EXPECT_EQ(run(*id).exit_code, 3);
  EXPECT_FALSE(observe("web", "web-7d9f-abcde/0", 1)) << "an ended run is not tracked again";
  EXPECT_TRUE(runtime_.stopped.empty());
  EXPECT_TRUE(runtime_.started.empty()) << "the runtime restarts the pod, not the engine";

  EXPECT_FALSE(observe("nosuchjob", "x-1")) << "runs of unknown jobs are not recorded";

  // Two live pods are two replicas; a later one takes the slot that an ended run left.
  const auto a = observe("web", "web-7d9f-aaaaa/0", 1);
  const auto b = observe("web", "web-7d9f-bbbbb/0", 1);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(run(*a).replica, 0);
  EXPECT_EQ(run(*b).replica, 1);
  runtime_.on_exit(runtime::RunExit{.run_id = *a, .finished_at = clock_.now(), .reason = "stopped"});
  settle();
  const auto c = observe("web", "web-7d9f-ccccc/0", 1);
  ASSERT_TRUE(c);
  EXPECT_EQ(run(*c).replica, 0);
}

TEST_F(PlacedJobsTest, OneOffJobsAreNotPlacedAndTheirRunsNotObserved) {
  addJob("once", model::JobType::kOneOff);
  EXPECT_TRUE(runtime_.placements.empty());
  EXPECT_EQ(runtime_.started.size(), 1u);
  EXPECT_FALSE(observe("once", "once-123"));
}

TEST_F(PlacedJobsTest, RestartStopsTheSupersededRunAndThenStartsTheManualRun) {
  const auto job = addJob("daily", model::JobType::kScheduled);
  const auto fired = observe("daily", "daily-29000000", 1);
  ASSERT_TRUE(fired);
  // What JobService::restartJob records: a new generation and a pending run without a fire time.
  ASSERT_TRUE(store_->bumpGeneration(job.id, clock_.now()));
  auto manual = store_->insertRun(model::RunRecord{.job_id = job.id, .tool = "tool",
                                                   .job_name = "daily", .generation = 2,
                                                   .created_at = clock_.now()});
  ASSERT_TRUE(manual);
  engine_->nudge(job.id);
  settle();
  EXPECT_EQ(runtime_.placements.back().generation, 2);
  EXPECT_EQ(runtime_.stopped, std::vector<std::int64_t>{*fired});
  EXPECT_TRUE(runtime_.started.empty()) << "waits for the superseded run to end";

  runtime_.on_exit(runtime::RunExit{.run_id = *fired, .finished_at = clock_.now(),
                                    .reason = "stopped"});
  settle();
  EXPECT_EQ(runtime_.started, std::vector<std::int64_t>{manual->id});
  EXPECT_EQ(run(manual->id).state, RunState::kRunning);
}

TEST_F(PlacedJobsTest, AnOldGenerationsRunObservedLateIsStopped) {
  const auto job = addJob("web", model::JobType::kContinuous);
  ASSERT_TRUE(store_->bumpGeneration(job.id, clock_.now()));
  engine_->nudge(job.id);
  settle();
  const auto old = observe("web", "web-old-abcde/0", 1);
  ASSERT_TRUE(old);
  EXPECT_EQ(run(*old).generation, 1);
  settle();
  EXPECT_EQ(runtime_.stopped, std::vector<std::int64_t>{*old});
}

TEST_F(PlacedJobsTest, DeletedJobsAreRemovedAndRecoveryNamesTheJobsToKeep) {
  const auto web = addJob("web", model::JobType::kContinuous);
  addJob("daily", model::JobType::kScheduled);
  addJob("once", model::JobType::kOneOff);
  const auto id = observe("web", "web-abc/0", 1);
  ASSERT_TRUE(id);

  // A new engine (a daemon restart) adopts the observed run by its external id and tells the
  // runtime which placed jobs still exist.
  engine_ = std::make_unique<Engine>(io_, *store_, runtime_, clock_,
                                     EngineOptions{.images = &images_, .tools = &tools_});
  runtime_.placements.clear();
  ASSERT_TRUE(engine_->recover());
  settle();
  ASSERT_FALSE(runtime_.adopted.empty());
  EXPECT_EQ(runtime_.adopted.back().external_id, "web-abc/0");
  const std::vector<std::pair<std::string, std::string>> expected = {{"tool", "web"},
                                                                      {"tool", "daily"}};
  EXPECT_EQ(runtime_.known_at_start, expected);
  EXPECT_EQ(runtime_.placements.size(), 2u) << "placed again after a restart (a no-op there)";

  ASSERT_TRUE(store_->deleteJob(web.id));
  engine_->nudge(web.id);
  settle();
  const std::vector<std::pair<std::string, std::string>> removed = {{"tool", "web"}};
  EXPECT_EQ(runtime_.removed, removed);
  EXPECT_EQ(runtime_.stopped, std::vector<std::int64_t>{*id});
}

TEST_F(PlacedJobsTest, ARuntimesNoteOnAPlacedJobHoldsUntilItClears) {
  const auto job = addJob("web", model::JobType::kContinuous);
  EXPECT_EQ(engine_->jobNote(job.id), "");
  ASSERT_TRUE(runtime_.job_note);
  runtime_.job_note("tool", "web", "Unable to start, out of quota for pods");
  EXPECT_EQ(engine_->jobNote(job.id), "Unable to start, out of quota for pods");
  auto events = store_->eventsOfJob("tool", "web", 10);
  ASSERT_TRUE(events && !events->empty());
  EXPECT_EQ(events->front().kind, "waiting");
  EXPECT_EQ(events->front().message, "Unable to start, out of quota for pods");
  runtime_.job_note("tool", "web", "");
  EXPECT_EQ(engine_->jobNote(job.id), "");
  runtime_.job_note("tool", "nosuchjob", "x");  // ignored
}

TEST_F(PlacedJobsTest, ARuntimesNoteOnALiveRunIsRecordedUntilItClears) {
  addJob("once", model::JobType::kOneOff);
  ASSERT_EQ(runtime_.started.size(), 1u);
  const auto id = runtime_.started[0];
  ASSERT_TRUE(runtime_.note);
  runtime_.note(id, "Unable to start, out of quota for pods");
  EXPECT_EQ(run(id).message, "Unable to start, out of quota for pods");
  EXPECT_TRUE(isQuotaWait(run(id).message)) << "status shows it as upstream does";
  auto events = store_->eventsOfJob("tool", "once", 10);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->front().kind, "waiting");
  runtime_.note(id, "");
  EXPECT_EQ(run(id).message, "");
  runtime_.on_exit(runtime::RunExit{.run_id = id, .finished_at = clock_.now(), .exit_code = 0,
                                    .reason = "completed"});
  settle();
  runtime_.note(id, "Unable to start, out of quota for pods");
  EXPECT_EQ(run(id).message, "") << "an ended run takes no notes";
}

}  // namespace
}  // namespace tjf::engine

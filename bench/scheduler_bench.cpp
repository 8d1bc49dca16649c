// Scheduler benchmark (issue 4): what 100,000 schedules cost, and how precisely jobs fire.
//
//   build/bin/scheduler_bench                       the Google Benchmark cases below
//   build/bin/scheduler_bench --fire-precision=N    N jobs `* * * * *` of `true` (real tjf-shim
//                                                   processes), one real minute boundary; prints
//                                                   lateness percentiles (waits up to ~2 min)
//   build/bin/scheduler_bench --fire-precision=N --null-runtime
//                                                   the same with a runtime that starts nothing:
//                                                   the scheduler's own lateness
//
// The Google Benchmark cases:
//   BM_ParseAndArm/N        parse N schedules (1,000 tools x N/1,000 jobs, macros spread), compute
//                           each next fire time and arm the fire queue: the scheduler's share of
//                           loading the definitions
//   BM_FireQueuePopRearm/N  one fire taken off a queue of N and re-armed: must not grow with N
//   BM_DecideScheduled      one fire decision (decideScheduled with a run history)
//   BM_EngineStartup        the real Engine over a real store of 100,000 scheduled jobs (1,000
//                           tools), with a runtime that starts nothing: recover() until every job
//                           is armed; counters give the process RSS and the CPU used while idle
//                           between fires
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "base/time_format.hpp"
#include "cron/schedule.hpp"
#include "engine/decide_scheduled.hpp"
#include "engine/engine.hpp"
#include "engine/fire_queue.hpp"
#include "model/images.hpp"
#include "model/tool.hpp"
#include "runtime/local_runtime.hpp"
#include "store/store.hpp"

namespace {

using namespace tjf;
namespace fs = std::filesystem;

// A realistic mix: most Toolforge cron jobs use a macro or a fixed time.
const char* const kExpressions[] = {"@hourly",      "@daily",        "@weekly",
                                    "@monthly",     "*/5 * * * *",   "0 * * * *",
                                    "30 2 * * *",   "15 */6 * * 1-5", "*/10 8-18 * * *",
                                    "0 0 1,15 * *"};
constexpr int kToolCount = 1000;

std::string toolName(int i) { return "tool" + std::to_string(i % kToolCount); }
std::string jobName(int i) { return "job" + std::to_string(i / kToolCount); }
const char* expression(int i) { return kExpressions[i % std::size(kExpressions)]; }

long rssKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

double cpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// ---- Pure parts -------------------------------------------------------------------------------

void BM_ParseAndArm(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const TimePoint now = std::chrono::system_clock::now();
  for (auto _ : state) {
    engine::FireQueue queue;
    queue.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      auto s = cron::parseSchedule(expression(i), toolName(i), jobName(i));
      if (!s) state.SkipWithError(s.error().message.c_str());
      if (auto next = cron::nextFireAfter(*s, now)) queue.arm(i, *next);
    }
    benchmark::DoNotOptimize(queue.nextDue());
  }
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_ParseAndArm)->Arg(1'000)->Arg(10'000)->Arg(100'000)->Unit(benchmark::kMillisecond);

void BM_FireQueuePopRearm(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::mt19937_64 rng(42);
  engine::FireQueue queue;
  const TimePoint start{};
  // Due times to the millisecond over a day, so a pop takes one key (per-fire cost).
  for (int i = 0; i < n; ++i) queue.arm(i, start + Millis(rng() % 86'400'000));
  std::int64_t fires = 0;
  for (auto _ : state) {
    const TimePoint due = *queue.nextDue();
    const auto keys = queue.popDue(due);
    for (const auto key : keys) queue.arm(key, due + std::chrono::hours(24));
    fires += static_cast<std::int64_t>(keys.size());
    benchmark::DoNotOptimize(keys.data());
  }
  state.SetItemsProcessed(fires);
}
BENCHMARK(BM_FireQueuePopRearm)->Arg(1'000)->Arg(10'000)->Arg(100'000)->Arg(1'000'000);

void BM_DecideScheduled(benchmark::State& state) {
  const auto schedule = cron::parseSchedule("*/5 * * * *", "tool", "job");
  const TimePoint fire = *parseIsoUtc("2024-05-01T10:00:00Z");
  engine::ScheduledInput input;
  input.generation_start = fire - std::chrono::hours(2);
  for (int k = 1; k <= 20; ++k) {  // the last 20 fires, all completed
    model::RunRecord r;
    r.id = k;
    r.scheduled_for = fire - std::chrono::minutes(5 * (21 - k));
    r.state = model::RunState::kSucceeded;
    r.reason = model::RunReason::kCompleted;
    r.finished_at = *r.scheduled_for + std::chrono::seconds(3);
    input.runs.push_back(r);
  }
  const model::ResolvedJob job;
  for (auto _ : state) {
    auto d = engine::decideScheduled(job, *schedule, input, fire + Millis(2), {});
    benchmark::DoNotOptimize(d.actions.data());
  }
}
BENCHMARK(BM_DecideScheduled);

void BM_ParseSchedule(benchmark::State& state) {
  const char* expr = state.range(0) == 0 ? "*/10 8-18 * * 1-5" : "@daily";
  int i = 0;
  for (auto _ : state) {
    auto s = cron::parseSchedule(expr, toolName(i), jobName(i));
    benchmark::DoNotOptimize(s);
    ++i;
  }
  state.SetLabel(expr);
}
BENCHMARK(BM_ParseSchedule)->Arg(0)->Arg(1);

// ---- The real engine over a real store ----------------------------------------------------------

// Every tool exists, with its home under one directory.
class AnyTool final : public model::ToolDirectory {
 public:
  explicit AnyTool(fs::path homes) : homes_(std::move(homes)) {}
  Result<model::Tool> find(const std::string& name) const override {
    return model::Tool{.name = name, .home = homes_, .uid = ::getuid(), .gid = ::getgid()};
  }

 private:
  fs::path homes_;
};

// Starts nothing: every run "exits" with success on the next turn of the loop.
class NullRuntime final : public runtime::Runtime {
 public:
  explicit NullRuntime(boost::asio::io_context& io) : io_(io) {}
  void setExitCallback(ExitCallback callback) override { on_exit_ = std::move(callback); }
  Result<runtime::RunHandle> start(const runtime::RunRequest& request) override {
    ++started;
    start_calls.push_back(std::chrono::system_clock::now());
    const auto id = request.run_id;
    boost::asio::post(io_, [this, id] {
      const auto now = std::chrono::system_clock::now();
      on_exit_(runtime::RunExit{.run_id = id, .started_at = now, .finished_at = now,
                                .exit_code = 0, .reason = "Completed"});
    });
    return runtime::RunHandle{.run_id = id, .pid = 0, .started_at = {}};
  }
  Status stop(std::int64_t) override { return {}; }
  void adopt(const runtime::RunHandle&) override {}
  std::optional<fs::path> capturedOutput(std::int64_t) const override { return std::nullopt; }
  std::vector<std::int64_t> stopOrphans(const std::vector<std::int64_t>&) override { return {}; }
  int started = 0;
  std::vector<TimePoint> start_calls;  // when the engine asked for each launch

 private:
  boost::asio::io_context& io_;
  ExitCallback on_exit_;
};

void BM_EngineStartup(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const fs::path dir =
      fs::temp_directory_path() / ("tjf-sched-bench-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const TimePoint now = std::chrono::system_clock::now();
  {
    // The definitions, written once (not timed), as 100,000 `run --schedule` calls would.
    auto store = store::Store::open(dir / "tjfd.sqlite");
    if (!store) return state.SkipWithError(store.error().message.c_str());
    auto done = (*store)->transaction([&]() -> Status {
      for (int i = 0; i < n; ++i) {
        model::JobSpec spec{.name = jobName(i), .cmd = "true", .imagename = "bookworm",
                            .type = model::JobType::kScheduled};
        spec.schedule = expression(i);
        if (auto job = (*store)->insertJob(toolName(i), spec, now); !job) {
          return tl::unexpected(job.error());
        }
      }
      return {};
    });
    if (!done) return state.SkipWithError(done.error().message.c_str());
  }
  const auto images = model::ImageCatalogue::defaults();
  const AnyTool tools(dir);
  const SystemClock clock;
  const long rss_before = rssKiB();
  for (auto _ : state) {
    boost::asio::io_context io(1);
    auto store = store::Store::open(dir / "tjfd.sqlite");
    NullRuntime runtime(io);
    engine::Engine engine(io, **store, runtime, clock,
                          {.images = &images, .tools = &tools, .defaults = {}});
    // Start-up as tjfd does it: recover() nudges every job; each reconcile arms its next fire.
    if (auto ok = engine.recover(); !ok) return state.SkipWithError(ok.error().message.c_str());
    while (io.poll() > 0) {
    }
    state.PauseTiming();
    state.counters["rss_MiB"] = static_cast<double>(rssKiB()) / 1024.0;
    state.counters["rss_growth_MiB"] = static_cast<double>(rssKiB() - rss_before) / 1024.0;
    // Idle between fires: the loop until shortly before the next minute boundary (fires are
    // on whole minutes), then the burst of fires on that boundary.
    const auto boundary = std::chrono::ceil<std::chrono::minutes>(clock.now() + Millis(1));
    const auto idle = std::chrono::duration<double>(boundary - clock.now() - Millis(500));
    double cpu0 = cpuSeconds();
    if (idle.count() > 0) {
      io.run_for(std::chrono::duration_cast<std::chrono::milliseconds>(idle));
      state.counters["idle_cpu_percent"] = 100.0 * (cpuSeconds() - cpu0) / idle.count();
      state.counters["idle_seconds"] = idle.count();
    }
    cpu0 = cpuSeconds();
    const int started0 = runtime.started;
    io.run_for(boundary + std::chrono::seconds(5) - clock.now());
    state.counters["burst_fires"] = runtime.started - started0;
    state.counters["burst_cpu_ms_per_fire"] =
        1000.0 * (cpuSeconds() - cpu0) / std::max(1, runtime.started - started0);
    state.ResumeTiming();
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_EngineStartup)->Arg(100'000)->Iterations(1)->Unit(benchmark::kSecond)->UseRealTime();

// ---- Fire precision with real processes ---------------------------------------------------------

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

int firePrecision(int n, bool null_runtime) {
  const fs::path dir = fs::temp_directory_path() / ("tjf-fire-bench-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "home");
  const model::StateLayout layout(dir / "state");
  fs::create_directories(layout.runsDir());
  auto store = store::Store::open(layout.database());
  if (!store) return std::fprintf(stderr, "%s\n", store.error().message.c_str()), 1;
  const SystemClock clock;
  const auto created = clock.now();
  auto done = (*store)->transaction([&]() -> Status {
    for (int i = 0; i < n; ++i) {
      model::JobSpec spec{.name = "j" + std::to_string(i), .cmd = "true", .imagename = "bookworm",
                          .type = model::JobType::kScheduled};
      spec.schedule = "* * * * *";
      spec.filelog = false;
      if (auto job = (*store)->insertJob("bench", spec, created); !job) {
        return tl::unexpected(job.error());
      }
    }
    return {};
  });
  if (!done) return std::fprintf(stderr, "%s\n", done.error().message.c_str()), 1;

  boost::asio::io_context io(1);
  const fs::path shim = fs::read_symlink("/proc/self/exe").parent_path() / "tjf-shim";
  runtime::LocalRuntime local(io, {.layout = layout, .shim_path = shim, .stop_grace_seconds = 5});
  NullRuntime null(io);
  runtime::Runtime& runtime = null_runtime ? static_cast<runtime::Runtime&>(null) : local;
  const auto images = model::ImageCatalogue::defaults();
  const model::SingleToolDirectory tools(
      model::Tool{.name = "bench", .home = dir / "home", .uid = ::getuid(), .gid = ::getgid()});
  engine::Engine engine(io, **store, runtime, clock, {.images = &images, .tools = &tools});
  if (auto ok = engine.recover(); !ok) {
    return std::fprintf(stderr, "%s\n", ok.error().message.c_str()), 1;
  }
  const auto fire = std::chrono::ceil<std::chrono::minutes>(created + Millis(1));
  std::printf("%d jobs armed; waiting for %s\n", n, formatIsoUtc(fire).c_str());
  std::fflush(stdout);
  // Until every run of that fire has ended (or 60 s after it).
  const auto give_up = fire + std::chrono::seconds(60);
  std::vector<model::RunRecord> runs;
  while (clock.now() < give_up) {
    io.run_for(std::chrono::milliseconds(500));
    if (clock.now() < fire) continue;
    runs.clear();
    bool ended = true;
    for (int i = 0; i < n && ended; ++i) {
      auto r = (*store)->runsByName("bench", "j" + std::to_string(i), 1);
      if (!r || r->empty() || !model::isFinal(r->front().state)) {
        ended = false;
      } else {
        runs.push_back(r->front());
      }
    }
    if (ended) break;
  }
  std::vector<double> start_ms;  // process (shim) start minus the fire time
  for (const auto& r : runs) {
    if (!r.scheduled_for || !r.started_at) continue;
    start_ms.push_back(
        std::chrono::duration<double, std::milli>(*r.started_at - *r.scheduled_for).count());
  }
  std::printf("fire %s: %zu of %d runs ended\n", formatIsoUtc(fire).c_str(), start_ms.size(), n);
  std::printf("lateness (process start - fire time), ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n",
              percentile(start_ms, 50), percentile(start_ms, 90), percentile(start_ms, 99),
              percentile(start_ms, 100));
  std::printf("per fire (max / n): %.2f ms\n", percentile(start_ms, 100) / std::max(1, n));
  if (null_runtime) {
    // With the null runtime, the run's start is when the engine asked for the launch: the
    // scheduler's own lateness, without any process start.
    std::vector<double> call_ms;
    for (const auto& t : null.start_calls) {
      call_ms.push_back(std::chrono::duration<double, std::milli>(t - fire).count());
    }
    std::printf("launch requested - fire time, ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n",
                percentile(call_ms, 50), percentile(call_ms, 90), percentile(call_ms, 99),
                percentile(call_ms, 100));
  }
  fs::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--fire-precision=", 17) == 0) {
      const bool null_runtime = i + 1 < argc && std::strcmp(argv[i + 1], "--null-runtime") == 0;
      return firePrecision(std::atoi(argv[i] + 17), null_runtime);
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

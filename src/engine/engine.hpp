// The engine: one control loop that makes the runtime match the store. Every change (API write,
// run exit, timer) nudges a job; reconcile(job) reads the desired state from the store and the
// observed runs, asks the pure decide step what to do, and carries it out. Runs only on the
// loop thread; nothing here blocks on a process.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "base/clock.hpp"
#include "engine/admission.hpp"
#include "engine/decide.hpp"
#include "engine/decide_continuous.hpp"
#include "engine/decide_scheduled.hpp"
#include "engine/fire_queue.hpp"
#include "model/images.hpp"
#include "model/resolve.hpp"
#include "model/tool.hpp"
#include "runtime/probe.hpp"
#include "runtime/runtime.hpp"
#include "store/store.hpp"

namespace tjf::engine {

struct EngineOptions {
  const model::ImageCatalogue* images = nullptr;
  const model::ToolDirectory* tools = nullptr;
  model::JobDefaults defaults;
  RetryPolicy retry;
  std::string path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  bool drop_privileges = false;  // platform mode: runs take the tool's uid and gid
  // Continuous jobs (decide_continuous.hpp): restart back-off and health-check timings, and who
  // runs the probes (null: a LocalProber of the engine's own, on the loop).
  SupervisionPolicy supervision;
  ProbePolicy probes;
  runtime::Prober* prober = nullptr;
  // Quotas (admission.hpp): the running quota of a tool; unset: no admission control.
  std::function<ToolQuota(const std::string& tool)> quota;
  // A tool's own variables (`toolforge envvars`, service/envvars.hpp), added to the environment
  // of each of its runs and probes; they replace PATH, LANG and SHELL but never the variables
  // that say who and where the run is. Unset: none. An error fails the run's start.
  std::function<Result<std::vector<std::pair<std::string, std::string>>>(const std::string& tool)>
      tool_env;
};

class Engine {
 public:
  Engine(boost::asio::io_context& io, store::Store& store, runtime::Runtime& runtime,
         const Clock& clock, EngineOptions options);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  ~Engine();  // cancels the health checks still running

  // Start-up: re-adopts running runs, stops orphans, and reconciles every job. Recovery is the
  // normal start path, not a special case.
  Status recover();
  // Asks for a reconcile of this job soon (coalesced); safe to call from the loop thread only.
  void nudge(std::int64_t job_id);
  // Reconciles all jobs now (tests, and after configuration changes).
  void nudgeAll();

  const EngineOptions& options() const { return options_; }

  // What the runtime says about a placed job as a whole, e.g. "Unable to start, out of quota for
  // pods" or why its definition could not be placed; "" when nothing. In memory only: the
  // runtime says it again after a restart.
  std::string jobNote(std::int64_t job_id) const;

  // Whether a running run of a health-checked continuous job has passed its startup check. Kept
  // in memory only: after a daemon restart, false until the run's first probe passes.
  bool healthCheckPassed(std::int64_t run_id) const;

  // What a tool's running runs use now (admission.hpp), from the store: each running run with
  // its job's CPU and memory.
  Result<RunningUsage> runningUsage(const std::string& tool);

 private:
  void reconcile(std::int64_t job_id);
  void apply(const model::JobRecord* job, const Action& action);
  void startRun(const model::JobRecord& job, model::RunRecord run);
  void failRunWithoutStart(model::RunRecord run, model::RunReason reason, const std::string& why);
  void onExit(const runtime::RunExit& exit);
  void onNote(std::int64_t run_id, const std::string& note);
  // Quota admission (engine.cpp, "Quota admission"): whether the run may start now; if not, it
  // stays pending with the reason and the job is reconciled again when a run of its tool ends.
  bool admitOrWait(const model::JobRecord& job, const runtime::RunRequest& request,
                   model::RunRecord& run);
  void wakeAt(std::int64_t job_id, TimePoint when);
  void event(const model::RunRecord& run, const std::string& kind, const std::string& message);
  void logError(const std::string& what, const Error& error);
  Result<runtime::RunRequest> buildRequest(const model::JobRecord& job,
                                           const model::RunRecord& run);

  // Continuous jobs: supervision and health checks (engine.cpp, "Continuous jobs"). A reconcile
  // of the job decides on runs and starts each run's probes; from then on, the run's own probe
  // timer keeps the rhythm (decideProbe) without reading the store, and only a failed health
  // check brings the job back to reconcile.
  struct ProbeSlot {
    std::int64_t job_id = 0;
    std::optional<runtime::ProbeSpec> spec;  // built once per run, from its run request
    std::optional<runtime::Prober::ProbeId> in_flight;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };
  void reconcileContinuous(const model::JobRecord& job,
                           const Result<model::ResolvedJob>& resolved,
                           std::vector<model::RunRecord> current,
                           const std::vector<model::RunRecord>& stale);
  void startProbe(const model::JobRecord& job, const ProbeRun& probe);
  void launchProbe(std::int64_t run_id, ProbeSlot& slot);
  void probeTick(std::int64_t run_id);
  void armProbeTimer(std::int64_t run_id, TimePoint at);
  void onProbeResult(std::int64_t run_id, const runtime::ProbeResult& result);
  void stopForHealthCheck(const HealthStop& stop);
  void forgetProbe(std::int64_t run_id);

  boost::asio::io_context& io_;
  store::Store& store_;
  runtime::Runtime& runtime_;
  const Clock& clock_;
  EngineOptions options_;
  std::set<std::int64_t> nudged_;
  // Jobs with a run waiting for quota, by tool: nudged when a run of that tool ends.
  std::map<std::string, std::set<std::int64_t>> quota_waiting_;
  std::map<std::int64_t, std::unique_ptr<boost::asio::steady_timer>> timers_;
  // Health checks of running continuous runs, by run id (in memory: see healthCheckPassed).
  std::map<std::int64_t, ProbeState> probe_states_;  // what the decide step reads
  std::map<std::int64_t, ProbeSlot> probe_slots_;
  // After the maps, so it is destroyed before them: no probe callback reaches a dead map.
  std::unique_ptr<runtime::Prober> own_prober_;
  runtime::Prober* prober_ = nullptr;

  // ---- Placed jobs (engine.cpp, "Placed jobs"; runtime.hpp, "the job-level seam") ----
  // Scheduled and continuous jobs that the runtime keeps going by itself: the engine places each
  // generation of the definition, records the runs the runtime reports, stops superseded runs and
  // starts manual runs (restart), but never fires or supervises.
  void reconcilePlaced(const model::JobRecord& job, const Result<model::ResolvedJob>& resolved,
                       const std::vector<model::RunRecord>& current,
                       const std::vector<model::RunRecord>& stale);
  Result<runtime::JobPlacement> buildPlacement(const model::JobRecord& job,
                                               const model::ResolvedJob& resolved);
  std::optional<std::int64_t> onObservedRun(const runtime::ObservedRun& observed);
  void unplace(std::int64_t job_id);
  struct Placed {
    std::string tool;
    std::string job_name;
    std::int64_t generation = 0;
  };
  // What has been placed, by job id (in memory: a restarted daemon places every job once more,
  // which the runtime makes a no-op when nothing changed).
  std::map<std::int64_t, Placed> placed_;
  std::map<std::int64_t, std::string> job_notes_;  // jobNote()
  void onJobNote(const std::string& tool, const std::string& job_name, const std::string& note);

  // ---- Scheduled jobs (engine.cpp, "Scheduled jobs"; decide_scheduled.hpp) ----
  // One timer for all schedules: it wakes at the earliest due time in fire_queue_, and only the
  // jobs due then are reconciled (never a sweep of every job).
  void reconcileScheduled(const model::JobRecord& job, const Result<model::ResolvedJob>& resolved,
                          const std::vector<model::RunRecord>& current,
                          const std::vector<model::RunRecord>& stale);
  void recordSkip(const model::JobRecord& job, const SkipFire& skip);
  void armFireTimer();
  void onFireTimer();
  // The runs of one burst of fires start in two store transactions instead of four commits per
  // run (startRun): one marks them all running, then the shims start, then one records them.
  struct DeferredStart {
    model::JobRecord job;
    model::RunRecord run;
    runtime::RunRequest request;
    bool ready = false;  // marked running: start its shim
  };
  bool deferStart(const model::JobRecord& job, const Action& action);
  void markStarting(std::vector<DeferredStart>& batch);
  void spawnStarting(std::vector<DeferredStart>& batch);
  FireQueue fire_queue_;
  std::unique_ptr<boost::asio::steady_timer> fire_timer_;
  bool fire_wait_pending_ = false;
  std::chrono::steady_clock::time_point fire_timer_expiry_{};
  std::vector<DeferredStart>* fire_batch_ = nullptr;  // set while onFireTimer collects a burst
};

}  // namespace tjf::engine

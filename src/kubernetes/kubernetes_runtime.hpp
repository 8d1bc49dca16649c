// KubernetesRuntime: runtime::Runtime on a Kubernetes cluster, so the engine cannot tell it from
// the local runtime.
//
// Runs the engine starts (one-off jobs, manual runs, and everything when place_jobs is off) each
// become one batch/v1 Job (run_mapping.hpp). Scheduled and continuous jobs are placed whole
// (placement.hpp): a CronJob, or a Deployment and its Service, which the cluster keeps firing and
// restarting while tjfd is down. The Jobs those CronJobs make and the container incarnations of
// those Deployments' pods are reported to the engine as observed runs (RunObserver); from the
// engine's answer on they are tracked like run Jobs: the same exit reports, stop(), captured
// output. Watches of every tjf-managed Job and pod turn cluster state into those reports.
//
// Threads. The interface methods, the exit callback, the run observer and all bookkeeping run on
// the loop thread (the io_context's). Blocking API calls never do: creates, updates and deletes
// go to one worker thread, in order; each watched scope (a namespace, or the whole cluster) has a
// Jobs reflector and a Pods reflector on threads of their own; each run whose output is captured
// has a log-collector thread. They all hand results back with asio::post.
//
// Restart. Runs live in the cluster, not in tjfd, so a restarted daemon adopts them: adopt() is
// answered once the first lists of every scope have arrived (finished -> its exit; missing ->
// Lost; running -> watched on). The exit of a run is reported once; a run Job is deleted
// afterwards (its ttlSecondsAfterFinished keeps the result for a daemon that is away meanwhile);
// a CronJob's Jobs are left to the CronJob's history limits and TTL.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kubernetes/client.hpp"
#include "kubernetes/manifests.hpp"
#include "kubernetes/placement.hpp"
#include "kubernetes/reflector.hpp"
#include "kubernetes/run_mapping.hpp"
#include "model/state_paths.hpp"
#include "runtime/runtime.hpp"

namespace tjf::kubernetes {

struct KubernetesRuntimeOptions {
  ManifestOptions manifests;
  RunJobOptions runs;
  model::StateLayout layout{"/nonexistent"};  // captured output goes to runs/<id>/output.log
  // The namespaces to watch ("tool-<tool>" of each tool); empty: all namespaces, which needs
  // cluster-wide list/watch rights on jobs and pods.
  std::vector<std::string> namespaces;
  int watch_timeout_seconds = 300;
  std::chrono::milliseconds error_backoff{1000};
  // How long an exit report waits for the run's log stream to drain.
  std::chrono::milliseconds log_drain_timeout{10'000};
  // Scheduled and continuous jobs become CronJobs and Deployments (placeJob); false: the engine
  // fires and supervises them, each run a per-run Job (config key `place_jobs`).
  bool place_jobs = true;
};

class KubernetesRuntime final : public runtime::Runtime {
 public:
  KubernetesRuntime(boost::asio::io_context& io, Client& client, KubernetesRuntimeOptions options);
  ~KubernetesRuntime() override;
  KubernetesRuntime(const KubernetesRuntime&) = delete;
  KubernetesRuntime& operator=(const KubernetesRuntime&) = delete;

  // Starts the watches. Call once on the loop thread after setExitCallback (i.e. after the
  // engine exists) and before the engine's recover().
  void startWatching();
  // Loop thread: whether every scope has been listed once (adoptions are answered after that).
  bool synced() const { return synced_; }

  void setExitCallback(ExitCallback callback) override { on_exit_ = std::move(callback); }
  Result<runtime::RunHandle> start(const runtime::RunRequest& request) override;
  // A run Job or a CronJob's Job: deleted (Foreground), Stopped once its pods are gone. A
  // Deployment pod's incarnation: its pod is deleted and the Deployment replaces it (a new run),
  // except for an incarnation of an older generation than the one placed: the rollout replaces
  // that one (gradually, with RollingUpdate), and it is reported Stopped when its pod goes.
  Status stop(std::int64_t run_id) override;
  void adopt(const runtime::RunHandle& handle) override;
  std::optional<std::filesystem::path> capturedOutput(std::int64_t run_id) const override;
  std::vector<std::int64_t> stopOrphans(const std::vector<std::int64_t>& known) override;

  // -- the job-level seam --
  // Scheduled and continuous jobs when options.place_jobs; one-off jobs never.
  bool placesJobs(model::JobType type) const override;
  void setRunObserver(RunObserver observer) override { observer_ = std::move(observer); }
  // Builds the objects now (a manifest error is returned) and writes them on the worker: each
  // object is read, then created if missing or replaced (PUT with its resourceVersion; once more
  // on a 409 Conflict) if its placement digest differs, so an unchanged definition costs reads
  // only. A continuous job without a port loses its Service; a job whose type changed loses the
  // other kind's workload. The same generation placed again issues no request at all. A failed
  // write is logged and marked, so the engine's next placement writes again.
  Status placeJob(const runtime::JobPlacement& placement) override;
  // Deletes the job's CronJob, Deployment and Service (Foreground) and forgets its placement; its
  // runs end Stopped as their Jobs and pods go.
  Status removeJob(const std::string& tool, const std::string& job_name) override;
  // On the worker: lists the managed CronJobs, Deployments and Services of every scope and deletes
  // those whose job is not in `known` (or whose type is not placed any more).
  void removeUnknownJobs(const std::vector<std::pair<std::string, std::string>>& known) override;

 private:
  // What a tracked run is: a per-run Job the runtime created, a Job a placed CronJob made, or one
  // container incarnation of a placed Deployment's pod.
  enum class RunKind { kRunJob, kCronJobRun, kIncarnation };
  struct Run;
  struct Scope;
  struct CronJobRun;
  struct DeploymentPod;
  struct Placed {
    std::int64_t generation = 0;
    model::JobType type = model::JobType::kScheduled;
    bool has_port = false;
    model::ConcurrencyPolicy concurrency = model::ConcurrencyPolicy::kForbid;
    bool failed = false;  // the write failed: the next placement writes again
  };
  class Worker;
  class LogCollector;

  // All on the loop thread.
  void onJobsListed(std::size_t scope, const std::vector<json>& jobs, const std::map<std::string, std::vector<json>>& pods);
  void onPodsListed(std::size_t scope, const std::vector<json>& pods);
  void checkSynced();
  void onJob(const std::string& type, const json& job, const std::vector<json>& pods);
  void onRunJob(const std::string& type, const json& job, const std::vector<json>& pods);
  void onCronJobRun(const json& job);
  void onCronJobRunGone(const std::string& key, const json& last_job, const std::vector<json>& pods);
  void onPod(const std::string& type, const json& pod);
  void onDeploymentPod(const json& pod);
  void onDeploymentPodGone(const std::string& key, const json& last_pod);
  std::optional<std::int64_t> observe(const runtime::ObservedRun& observed);
  void track(std::int64_t run_id, const runtime::ObservedRun& observed, RunKind kind, const json& object);
  void endIncarnation(std::int64_t run_id, runtime::RunExit exit, const json& pod);
  bool endsStopped(std::int64_t run_id) const;
  bool superseded(const Run& run) const;
  void resolveAdopted(std::int64_t run_id);
  void resolveAdoptedExternal(std::int64_t run_id);
  void consider(std::int64_t run_id);
  void report(std::int64_t run_id, runtime::RunExit exit, bool check_liveness = false);
  void finish(std::int64_t run_id);
  void deliver(std::int64_t run_id);
  void examinePod(std::int64_t run_id, const json& pod);
  void cleanup(std::int64_t run_id);
  bool inScope(const Scope& scope, const std::string& ns) const;
  template <typename F>
  void toLoop(F&& f);

  boost::asio::io_context& io_;
  Client& client_;
  KubernetesRuntimeOptions options_;
  ExitCallback on_exit_;
  // Posted handlers check `alive_weak_`; the destructor resets `alive_`. Other threads only copy
  // the never-modified weak_ptr, so they do not race with the reset.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  const std::weak_ptr<int> alive_weak_ = alive_;
  std::unique_ptr<Worker> worker_;
  std::vector<std::unique_ptr<Scope>> scopes_;
  std::map<std::int64_t, Run> runs_;
  std::map<std::int64_t, json> observed_;  // every run Job seen in the watched scopes
  std::map<std::int64_t, std::map<std::string, json>> observed_pods_;  // their pods, by name
  std::map<std::string, CronJobRun> cron_runs_;           // CronJob-made Jobs, by "<ns>/<name>"
  std::map<std::string, DeploymentPod> deployment_pods_;  // by "<ns>/<name>"
  std::map<JobKey, Placed> placed_;  // the last placement written (or being written) per job
  RunObserver observer_;
  bool in_observer_ = false;
  std::vector<std::int64_t> early_stops_;  // stop() of a run id while the observer answers
  bool synced_ = false;
};

}  // namespace tjf::kubernetes

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
// a CronJob's Jobs are left to the CronJob's history limits and TTL. What was deleted while tjfd
// was away is replayed: each scope's watch position is saved (resume_point.hpp), and the first
// list is followed by a short watch from the saved version, so a Job that finished and went
// meanwhile is still reported with its exit (a 410 falls back to the list alone).
//
// Notes. A third reflector per scope watches the Jobs' FailedCreate Events (job_events.hpp): a
// run whose pod a ResourceQuota holds back gets the note "Unable to start, out of quota for
// <types>" until its pod appears; a pod a LimitRange refuses ends the run as a StartError.
//
// Job notes (runtime.hpp, JobNoteCallback): why a placed job does not run. The same Events
// reflector sees CronJobs' FailedCreate (a refused Job); a fourth reflector per scope watches the
// managed Deployments (their ReplicaFailure condition); the pods reflector shows containers that
// cannot start (ErrImagePull, ...); a refused placement write is the worker's. The note of a job
// is the first of: the refused placement, the Deployment's ReplicaFailure, a container that
// cannot start (while none of the job runs), the CronJob's refused Job (until a newer Job of it
// exists). It is given once per change, and only once its scope's four first lists are in.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kubernetes/client.hpp"
#include "kubernetes/job_events.hpp"
#include "kubernetes/manifests.hpp"
#include "kubernetes/placement.hpp"
#include "kubernetes/reflector.hpp"
#include "kubernetes/resume_point.hpp"
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
  // Resuming after a restart (resume_point.hpp): how long the replay watch after the first list
  // may take (server-side timeoutSeconds), and how often the watch positions are saved at most.
  int resume_replay_timeout_seconds = 2;
  std::chrono::milliseconds resume_save_interval{1000};
  // A refused placement write is tried again after this, doubling up to the maximum, until it
  // succeeds or the job is placed anew or removed (the engine places a job only once per
  // generation, so without this a quota raised later would not be noticed).
  std::chrono::milliseconds placement_retry{5000};
  std::chrono::milliseconds max_placement_retry{std::chrono::minutes(5)};
};

// What the first list of a scope found of the history since the saved watch position.
enum class ResumeOutcome {
  kNothingSaved,  // no position saved (a first start), or saved for another API server
  kReplayed,      // replayed up to the list: what was deleted meanwhile was reported
  kCompacted,     // 410 Gone: the API server no longer has that history; the list alone counts
  kFailed,        // the replay failed otherwise (or the saved file is unreadable); the list alone
};
std::string_view toString(ResumeOutcome outcome);

struct ResumeReport {
  std::string ns;  // the scope; empty: cluster-wide
  ResumeOutcome outcome = ResumeOutcome::kNothingSaved;
  std::string from;            // the saved Jobs version
  std::size_t gone_jobs = 0;   // Jobs deleted while tjfd was away, offered or reported now
  std::string detail;          // why, for kFailed and kNothingSaved
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
  // Loop thread: one report per scope, once its first Jobs list has been handled.
  const std::vector<ResumeReport>& resumeReports() const { return resume_reports_; }

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
  // Notes come once per change, on the loop thread: "Unable to start, out of quota for <types>"
  // while the run's pod is refused for quota, "" once a pod of the run exists (and once for a
  // run this process did not start, so a note saved before a restart does not linger).
  void setNoteCallback(NoteCallback callback) override { on_note_ = std::move(callback); }
  // Job notes of placed jobs (see the file comment), on the loop thread, once per change; after a
  // restart each current note is given once the job's scope has been listed.
  void setJobNoteCallback(JobNoteCallback callback) override { on_job_note_ = std::move(callback); }

  // -- the job-level seam --
  // Scheduled and continuous jobs when options.place_jobs; one-off jobs never.
  bool placesJobs(model::JobType type) const override;
  void setRunObserver(RunObserver observer) override { observer_ = std::move(observer); }
  // Builds the objects now (a manifest error is returned) and writes them on the worker: each
  // object is read, then created if missing or replaced (PUT with its resourceVersion; once more
  // on a 409 Conflict) if its placement digest differs, so an unchanged definition costs reads
  // only. A continuous job without a port loses its Service; a job whose type changed loses the
  // other kind's workload. The same generation placed again issues no request at all. A failed
  // write is logged and marked, so the engine's next placement writes again; it is also retried
  // (options.placement_retry) and gives the job note "Unable to start: ..." until a write succeeds.
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
    std::chrono::milliseconds retry_in{0};  // the next retry's delay after a failure (0: none yet)
  };
  // A placement write: the objects to apply, then what to remove.
  struct Removal {
    std::string path;
    bool read_first = false;
  };
  // What a placed job's note is made of (see the file comment).
  struct JobNoteSources {
    std::string placement;   // the refused placement write's note
    std::map<std::string, std::string> deployments;  // by "<ns>/<name>": ReplicaFailure's note
    struct PodView {
      std::string waiting;  // containerWaitNote()
      bool running = false;
    };
    std::map<std::string, PodView> pods;  // Deployment pods by "<ns>/<name>"
    std::optional<json> cron_refusal;     // the newest FailedCreate Event of the CronJob
    std::optional<TimePoint> cron_newest_job;  // creation of the newest Job the CronJob made
    bool empty() const {
      return placement.empty() && deployments.empty() && pods.empty() && !cron_refusal && !cron_newest_job;
    }
  };
  class Worker;
  class LogCollector;
  // Found by the replay after a scope's first Jobs list (on the Jobs reflector's thread).
  struct Replay {
    ResumeOutcome outcome = ResumeOutcome::kNothingSaved;
    std::string from;
    std::string detail;
    std::vector<json> gone_jobs;                           // last states, in deletion order
    std::map<std::string, std::vector<json>> pods;         // by "<ns>/<job>": last states
  };
  struct GoneRunJob {
    json job;
    std::vector<json> pods;
  };

  // All on the loop thread.
  void onJobsListed(std::size_t scope, const std::vector<json>& jobs, const std::map<std::string, std::vector<json>>& pods,
                    const std::string& version, const Replay& replay);
  void applyReplay(std::size_t scope, const Replay& replay);
  // Watch positions: what the loop has handled, saved at most once per resume_save_interval.
  void advance(std::size_t scope, bool jobs, const std::string& version);
  void saveResumePoints(bool now);
  // FailedCreate Events of Jobs, and the note or StartError they mean for a run.
  void onEventsListed(std::size_t scope, const std::vector<json>& events);
  void onFailedCreate(const std::string& type, const json& event);
  // Job notes.
  void writePlacement(const JobKey& key, const std::string& what, std::int64_t generation, std::vector<json> objects,
                      std::vector<Removal> removals);
  void onPlacementWritten(const JobKey& key, const std::string& what, std::int64_t generation,
                          std::vector<json> objects, std::vector<Removal> removals, const std::string& refusal,
                          bool ok);
  void onDeploymentsListed(std::size_t scope, const std::vector<json>& deployments);
  void onDeployment(const std::string& type, const json& deployment);
  void onCronJobRefusal(const std::string& type, const json& event);
  void notePod(const json& pod, bool gone);
  std::string jobNoteOf(const JobKey& key) const;
  void updateJobNote(const JobKey& key, bool force = false);
  void refreshJobNotes(std::size_t scope);
  bool jobNotesReady(const std::string& ns) const;
  std::optional<std::int64_t> runOfJob(const std::string& key) const;
  void evaluateStart(std::int64_t run_id);
  const Scope* scopeOf(const std::string& ns) const;
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
  // A scope's Jobs reflector thread, once, after its first list: blocking watches from the saved
  // position (at most resume_replay_timeout_seconds each, ended early by the destructor).
  Replay replayGone(const Scope& scope, const std::vector<json>& listed, const std::string& version);

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
  std::map<JobKey, std::unique_ptr<boost::asio::steady_timer>> placement_retries_;
  JobNoteCallback on_job_note_;
  std::map<JobKey, JobNoteSources> job_note_sources_;
  std::map<JobKey, std::string> job_notes_;  // the last note given per job (absent: "")
  std::set<JobKey> job_notes_forced_;        // to give again once ready, even if unchanged
  RunObserver observer_;
  bool in_observer_ = false;
  std::vector<std::int64_t> early_stops_;  // stop() of a run id while the observer answers
  bool synced_ = false;
  NoteCallback on_note_;
  // The newest FailedCreate Event of each Job, by "<ns>/<name>" (also of Jobs not tracked yet).
  std::map<std::string, json> failed_creates_;
  // Run Jobs deleted while tjfd was away (the replay), for adopted runs: by run id.
  std::map<std::int64_t, GoneRunJob> gone_run_jobs_;
  bool replaying_ = false;  // applying a replay: the runs tracked now lost their pods (output)
  std::vector<ResumeReport> resume_reports_;
  std::unique_ptr<boost::asio::steady_timer> save_timer_;
  std::chrono::steady_clock::time_point last_save_{};
  // Set by the destructor first: ends a replay that is still waiting for its timeout.
  std::atomic<bool> stopping_{false};
};

}  // namespace tjf::kubernetes

#include "kubernetes/kubernetes_runtime.hpp"

#include <boost/asio/post.hpp>
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <set>

#include "base/time_format.hpp"
#include "model/records.hpp"

namespace tjf::kubernetes {
namespace {

namespace asio = boost::asio;

TimePoint wallNow() { return std::chrono::system_clock::now(); }

// Everything tjf manages: what the watches follow.
const std::string kManagedSelector = std::string(kLabelManagedBy) + "=" + std::string(kManagedByValue);
// The per-run Jobs (and their pods).
const std::string kRunSelector = std::string(kLabelRunId) + "," + kManagedSelector;
// Placed objects: CronJobs, Deployments, Services (no run id).
const std::string kPlacedSelector = kManagedSelector + ",!" + std::string(kLabelRunId);

std::string nameOf(const json& object) { return object.value("/metadata/name"_json_pointer, std::string()); }
std::string namespaceOf(const json& object) {
  return object.value("/metadata/namespace"_json_pointer, std::string());
}
// "<namespace>/<name>": how Jobs and pods of placed jobs are keyed.
std::string keyOf(const json& object) { return namespaceOf(object) + "/" + nameOf(object); }
std::string keyOf(const std::string& ns, const std::string& name) { return ns + "/" + name; }
bool beingDeleted(const json& object) { return object.contains("/metadata/deletionTimestamp"_json_pointer); }
std::string annotationOf(const json& object, std::string_view key) {
  const auto annotations = object.value("/metadata/annotations"_json_pointer, json::object());
  const std::string k(key);
  return annotations.is_object() && annotations.contains(k) && annotations[k].is_string()
             ? annotations[k].get<std::string>()
             : std::string();
}
std::string reasonText(model::RunReason reason) { return std::string(model::toString(reason)); }

// A Job's pods oldest first, so that the newest one (the last retry) decides its exit.
std::vector<json> oldestFirst(std::vector<json> pods) {
  std::stable_sort(pods.begin(), pods.end(), [](const json& a, const json& b) {
    const auto at = a.value("/metadata/creationTimestamp"_json_pointer, std::string());
    const auto bt = b.value("/metadata/creationTimestamp"_json_pointer, std::string());
    return at < bt;
  });
  return pods;
}
std::vector<json> valuesOf(const std::map<std::string, json>& objects) {
  std::vector<json> out;
  for (const auto& [name, object] : objects) out.push_back(object);
  return out;
}

// The last record's timestamp in a captured-output file, so a resumed stream skips what is there.
std::int64_t lastRecordMicros(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  const auto space = last.find(' ');
  if (space == std::string::npos) return 0;
  try {
    return std::stoll(last.substr(0, space));
  } catch (...) {
    return 0;
  }
}

void logWarning(const std::string& what) { std::fprintf(stderr, "tjfd: kubernetes: %s\n", what.c_str()); }

}  // namespace

// One thread that runs blocking API calls in order. Tasks still queued at destruction are dropped:
// the daemon is stopping, and the cluster keeps (or the next start re-reads) the truth.
class KubernetesRuntime::Worker {
 public:
  Worker() : thread_([this] { loop(); }) {}
  ~Worker() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  void post(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    wake_.notify_all();
  }

 private:
  void loop() {
    while (true) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
        if (stopping_) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members it uses exist
};

// Follows one pod's log into the run's captured-output file until the container ends.
class KubernetesRuntime::LogCollector {
 public:
  LogCollector(Client& client, std::string ns, std::string pod, std::filesystem::path file,
               std::function<void()> on_done)
      : client_(client), ns_(std::move(ns)), pod_(std::move(pod)), file_(std::move(file)),
        on_done_(std::move(on_done)), thread_([this] { run(); }) {}
  ~LogCollector() {
    cancel_ = true;
    thread_.join();
  }

 private:
  void run() {
    const std::int64_t resume_after = lastRecordMicros(file_);
    std::ofstream out(file_, std::ios::app);
    LogOptions options{.follow = true, .timestamps = true};
    if (resume_after > 0) {
      // sinceTime has whole seconds; the records already written are skipped below.
      options.since_time = formatIsoUtc(TimePoint{} + std::chrono::microseconds(resume_after));
    }
    auto streamed = client_.streamLog(ns_, pod_, options, [&](std::string_view line) {
      const auto record = capturedRecord(line);
      if (!record) return true;
      if (resume_after > 0 && std::stoll(record->substr(0, record->find(' '))) <= resume_after) return true;
      out << *record << '\n';
      out.flush();
      return true;
    }, &cancel_);
    if (!streamed) logWarning("cannot follow the log of pod '" + pod_ + "': " + streamed.error().message);
    if (!cancel_) on_done_();
  }

  Client& client_;
  std::string ns_;
  std::string pod_;
  std::filesystem::path file_;
  std::function<void()> on_done_;
  std::atomic<bool> cancel_{false};
  std::thread thread_;
};

struct KubernetesRuntime::Run {
  RunKind kind = RunKind::kRunJob;
  std::string ns;
  std::string name;  // the Job's (run Jobs, CronJob-made Jobs), or the pod's (incarnations)
  // Observed runs: their job, the runtime's name for them, and what the cluster said of them.
  std::string tool;
  std::string job_name;
  std::string external_id;
  int incarnation = 0;        // the pod's restart count when this container started
  std::string container_id;   // of that container, once seen running
  std::int64_t generation = 0;
  std::optional<TimePoint> started_at;
  bool adopted = false;  // waiting for the first lists to say what became of it
  bool seen = false;     // its Job has been observed at least once
  bool stop_requested = false;
  bool job_removed = false;  // removeJob() of its job: its end is Stopped
  bool delete_job = false;   // a CronJob-made Job that could not start: deleted after its report
  bool captured = false;
  // Its pods went while tjfd was away (the replay): no log to follow, and its exit says so.
  bool output_lost = false;
  bool checking = false;  // its exit waits for the liveness-probe look-up (report())
  std::optional<std::string> note;  // the last note given (evaluateStart); nullopt: none yet
  std::optional<runtime::RunExit> exit;  // decided
  bool delivered = false;
  std::unique_ptr<LogCollector> collector;
  bool collector_done = false;
  std::unique_ptr<asio::steady_timer> drain_timer;
};

// A Job that a placed CronJob made, as the watches saw it.
struct KubernetesRuntime::CronJobRun {
  json job;  // null until the Job itself has been seen (its pods may come first)
  std::map<std::string, json> pods;  // by name; a deleted pod keeps its last state
  bool asked = false;                // offered to the observer (once per daemon lifetime)
  std::optional<std::int64_t> run_id;
};

// A pod of a placed Deployment: one observed run per container incarnation.
struct KubernetesRuntime::DeploymentPod {
  json pod;
  int offered = -1;                    // the highest incarnation offered to the observer
  std::optional<std::int64_t> run_id;  // the incarnation being tracked, until its end is seen
};

struct KubernetesRuntime::Scope {
  std::string ns;  // empty: cluster-wide
  bool jobs_listed = false;
  bool pods_listed = false;
  bool events_listed = false;
  bool deployments_listed = false;
  std::unique_ptr<Reflector> jobs;
  std::unique_ptr<Reflector> pods;
  std::unique_ptr<Reflector> events;  // FailedCreate Events of Jobs and CronJobs
  std::unique_ptr<Reflector> deployments;  // managed Deployments (job notes)
  std::thread jobs_thread;
  std::thread pods_thread;
  std::thread events_thread;
  std::thread deployments_thread;
  // Set before the threads start, then the Jobs reflector thread's: the saved position (or why
  // none is used) and whether the first list's replay has happened.
  std::optional<ResumePoint> resume;
  ResumeOutcome resume_outcome = ResumeOutcome::kNothingSaved;
  std::string resume_detail;
  bool replayed = false;
  // Loop thread: how far the handled events go, and what was last saved.
  std::string jobs_version;
  std::string pods_version;
  ResumePoint saved;
};

template <typename F>
void KubernetesRuntime::toLoop(F&& f) {
  asio::post(io_, [alive = alive_weak_, f = std::forward<F>(f)]() mutable {
    if (alive.lock()) f();
  });
}

KubernetesRuntime::KubernetesRuntime(asio::io_context& io, Client& client, KubernetesRuntimeOptions options)
    : io_(io), client_(client), options_(std::move(options)), worker_(std::make_unique<Worker>()) {}

KubernetesRuntime::~KubernetesRuntime() {
  stopping_ = true;  // a replay waiting for its timeout ends now
  alive_.reset();    // handlers already posted become no-ops
  for (auto& scope : scopes_) {
    scope->jobs->stop();
    scope->pods->stop();
    scope->events->stop();
    scope->deployments->stop();
  }
  for (auto& scope : scopes_) {
    scope->jobs_thread.join();
    scope->pods_thread.join();
    scope->events_thread.join();
    scope->deployments_thread.join();
  }
  worker_.reset();
  // The last positions, written here (the worker is gone): a daemon that stops saves how far it
  // got, so its successor replays from there.
  saveResumePoints(true);
  runs_.clear();  // joins the log collectors
}

bool KubernetesRuntime::inScope(const Scope& scope, const std::string& ns) const {
  return scope.ns.empty() || scope.ns == ns;
}

void KubernetesRuntime::startWatching() {
  std::vector<std::string> namespaces = options_.namespaces;
  if (namespaces.empty()) namespaces.push_back("");
  for (std::size_t i = 0; i < namespaces.size(); ++i) {
    auto scope = std::make_unique<Scope>();
    scope->ns = namespaces[i];
    Scope* s = scope.get();
    // Where an earlier tjfd got to (a small local file, read once at start-up).
    if (auto point = readResumePoint(resumePointPath(options_.layout.root(), s->ns)); !point) {
      s->resume_outcome = ResumeOutcome::kFailed;
      s->resume_detail = point.error().message;
    } else if (*point && ((*point)->server != client_.access().server || (*point)->ns != s->ns)) {
      s->resume_detail = "the saved position is for API server '" + (*point)->server + "'";
    } else if (*point) {
      s->resume = **point;
    }
    const ReflectorOptions reflector_options{.label_selector = kManagedSelector,
                                             .watch_timeout_seconds = options_.watch_timeout_seconds,
                                             .error_backoff = options_.error_backoff};
    // Runs on the reflector's thread: the pods of a finished Job, read now, so its exit can name
    // the container's exit code even if the pods are garbage-collected soon after.
    auto podsOf = [this](const json& job) {
      std::vector<json> pods;
      ListOptions list;
      const WatchedRole role = roleOf(job);
      if (role == WatchedRole::kRunJob) {
        list.label_selector = std::string(kLabelRunId) + "=" + std::to_string(*runIdOf(job));
      } else if (role == WatchedRole::kCronJobRun) {
        const auto key = jobKeyOf(job, options_.manifests.namespace_prefix);
        if (!key) return pods;
        list.label_selector = kManagedSelector + "," + std::string(kLabelComponent) + "=" +
                              std::string(componentFor(model::JobType::kScheduled)) + "," +
                              std::string(kLabelName) + "=" + key->second;
      } else {
        return pods;
      }
      auto listed = client_.list(resourcePath("v1", "pods", namespaceOf(job)), list);
      if (listed && listed->contains("items")) {
        for (auto& p : (*listed)["items"]) {
          if (role == WatchedRole::kCronJobRun && ownerJobName(p) != nameOf(job)) continue;
          pods.push_back(std::move(p));
        }
      }
      return pods;
    };
    const auto versionOf = [](const json& object) {
      return object.value("/metadata/resourceVersion"_json_pointer, std::string());
    };
    scope->jobs = std::make_unique<Reflector>(
        client_, resourcePath("batch/v1", "jobs", scope->ns), reflector_options,
        ReflectorHandler{
            .on_list = [this, i, s, podsOf](const std::vector<json>& items, const std::string& version) {
              std::map<std::string, std::vector<json>> pods;
              for (const auto& job : items) {
                if (jobFinished(job)) pods[keyOf(job)] = podsOf(job);
              }
              // Only the first list follows a restart; a relist after 410 has no history to go by.
              Replay replay;
              if (!s->replayed) {
                s->replayed = true;
                replay = replayGone(*s, items, version);
              }
              toLoop([this, i, items, pods, version, replay = std::move(replay)] {
                onJobsListed(i, items, pods, version, replay);
              });
            },
            .on_event = [this, i, podsOf, versionOf](const WatchEvent& e) {
              std::vector<json> pods = jobFinished(e.object) ? podsOf(e.object) : std::vector<json>{};
              toLoop([this, i, e, pods, version = versionOf(e.object)] {
                onJob(e.type, e.object, pods);
                advance(i, true, version);
              });
            },
            .on_error = [](const ApiError& error) { logWarning("watching jobs: " + error.message); },
            .on_bookmark = [this, i](const std::string& version) {
              toLoop([this, i, version] { advance(i, true, version); });
            }});
    scope->pods = std::make_unique<Reflector>(
        client_, resourcePath("v1", "pods", scope->ns), reflector_options,
        ReflectorHandler{
            .on_list = [this, i](const std::vector<json>& items, const std::string& version) {
              toLoop([this, i, items, version] {
                onPodsListed(i, items);
                advance(i, false, version);
              });
            },
            .on_event = [this, i, versionOf](const WatchEvent& e) {
              toLoop([this, i, e, version = versionOf(e.object)] {
                onPod(e.type, e.object);
                advance(i, false, version);
              });
            },
            .on_error = [](const ApiError& error) { logWarning("watching pods: " + error.message); },
            .on_bookmark = [this, i](const std::string& version) {
              toLoop([this, i, version] { advance(i, false, version); });
            }});
    // Events carry no labels of the Job they are about, so these are selected by field.
    scope->events = std::make_unique<Reflector>(
        client_, resourcePath("v1", "events", scope->ns),
        ReflectorOptions{.field_selector = std::string(kFailedCreateSelector),
                         .watch_timeout_seconds = options_.watch_timeout_seconds,
                         .error_backoff = options_.error_backoff},
        ReflectorHandler{
            .on_list = [this, i](const std::vector<json>& items, const std::string&) {
              toLoop([this, i, items] { onEventsListed(i, items); });
            },
            .on_event = [this](const WatchEvent& e) { toLoop([this, e] { onFailedCreate(e.type, e.object); }); },
            .on_error = [](const ApiError& error) { logWarning("watching the Events of Jobs: " + error.message); }});
    // The placed Deployments, for their ReplicaFailure condition (job notes).
    scope->deployments = std::make_unique<Reflector>(
        client_, resourcePath("apps/v1", "deployments", scope->ns), reflector_options,
        ReflectorHandler{
            .on_list = [this, i](const std::vector<json>& items, const std::string&) {
              toLoop([this, i, items] { onDeploymentsListed(i, items); });
            },
            .on_event = [this](const WatchEvent& e) { toLoop([this, e] { onDeployment(e.type, e.object); }); },
            .on_error = [](const ApiError& error) { logWarning("watching deployments: " + error.message); }});
    scope->jobs_thread = std::thread([s] { s->jobs->run(); });
    scope->pods_thread = std::thread([s] { s->pods->run(); });
    scope->events_thread = std::thread([s] { s->events->run(); });
    scope->deployments_thread = std::thread([s] { s->deployments->run(); });
    scopes_.push_back(std::move(scope));
  }
}

Result<runtime::RunHandle> KubernetesRuntime::start(const runtime::RunRequest& request) {
  auto manifest = runJobManifest(request, options_.manifests, options_.runs);
  if (!manifest) return tl::unexpected(manifest.error());
  Run& run = runs_[request.run_id];
  run.ns = namespaceOf(*manifest);
  run.name = nameOf(*manifest);
  run.captured = !request.stdout_path || !request.stderr_path;
  run.note = "";  // a new run: no note to clear
  const std::int64_t id = request.run_id;
  // A manual run (`restart`) of a placed scheduled job is made as upstream makes it (and as
  // `kubectl create job --from=cronjob/...` does): from the CronJob's jobTemplate, with its
  // retries, deadline and TTL, owned by the CronJob. The run Job's name and run-id label stay,
  // so it is tracked and stopped like any run.
  auto placed = placed_.find(JobKey{request.tool, request.job_name});
  const bool from_cronjob = placed != placed_.end() && !placed->second.failed &&
                            placed->second.type == model::JobType::kScheduled;
  const std::string cronjob_path =
      from_cronjob ? resourcePath("batch/v1", "cronjobs", run.ns, request.job_name) : std::string();
  worker_->post([this, id, ns = run.ns, cronjob_path, manifest = std::move(*manifest)]() mutable {
    if (!cronjob_path.empty()) {
      auto cronjob = client_.get(cronjob_path);
      // Without its CronJob (a placement still being written), the run's own Job does as well.
      if (cronjob) {
        if (auto manual = manualRunFromCronJob(*cronjob, manifest, wallNow())) manifest = std::move(*manual);
      }
    }
    auto created = client_.create(resourcePath("batch/v1", "jobs", ns), manifest);
    // AlreadyExists: a retried start of the same run (the name is the run's), so it runs once.
    if (created || created.error().isAlreadyExists()) return;
    const std::string why = created.error().message;
    toLoop([this, id, why] {
      runtime::RunExit exit{.run_id = id, .finished_at = wallNow(),
                            .reason = reasonText(model::RunReason::kStartError),
                            .message = why};
      report(id, std::move(exit));
    });
  });
  return runtime::RunHandle{.run_id = id, .started_at = wallNow(), .captured_output = run.captured};
}

Status KubernetesRuntime::stop(std::int64_t run_id) {
  auto it = runs_.find(run_id);
  if (it == runs_.end()) {
    // The engine may stop a run from inside the observer, before the run is tracked here.
    if (in_observer_) early_stops_.push_back(run_id);
    return {};  // gone: its exit is reported
  }
  if (it->second.exit) return {};  // decided: its exit is reported
  Run& run = it->second;
  run.stop_requested = true;
  if (run.ns.empty()) return {};  // adopted, not resolved yet: resolved after the first lists
  if (run.kind == RunKind::kIncarnation) {
    // Superseded by a newer placement: the Deployment's rollout replaces it. Deleting it here
    // would only make its old ReplicaSet start another (and break a rolling update).
    if (superseded(run)) return {};
    // The Deployment replaces the pod: a new incarnation, a new run.
    worker_->post([this, run_id, path = resourcePath("v1", "pods", run.ns, run.name)] {
      auto removed = client_.remove(path, Propagation::kBackground);
      if (removed) return;
      if (removed.error().isNotFound()) {
        toLoop([this, run_id] {
          auto r = runs_.find(run_id);
          if (r == runs_.end()) return;
          report(run_id, runtime::RunExit{.run_id = run_id, .started_at = r->second.started_at,
                                          .finished_at = wallNow(),
                                          .reason = reasonText(model::RunReason::kStopped)});
        });
      } else {
        logWarning("cannot stop run " + std::to_string(run_id) + ": " + removed.error().message);
      }
    });
    return {};
  }
  // Foreground: the Job stays (with a deletionTimestamp) until its pods are gone, so the exit is
  // reported when the process has really ended, after the pod's termination grace period.
  worker_->post([this, run_id, path = resourcePath("batch/v1", "jobs", run.ns, run.name)] {
    auto removed = client_.remove(path, Propagation::kForeground);
    if (removed) return;
    if (removed.error().isNotFound()) {
      toLoop([this, run_id] {
        auto r = runs_.find(run_id);
        if (r == runs_.end()) return;
        std::optional<json> last;
        std::vector<json> pods;
        if (r->second.kind == RunKind::kRunJob) {
          if (auto found = observed_.find(run_id); found != observed_.end()) last = found->second;
        } else if (auto found = cron_runs_.find(keyOf(r->second.ns, r->second.name));
                   found != cron_runs_.end() && !found->second.job.is_null()) {
          last = found->second.job;
          pods = oldestFirst(valuesOf(found->second.pods));
        }
        report(run_id, exitOfDeletedJob(run_id, last, pods, true, wallNow()));
      });
    } else {
      logWarning("cannot stop run " + std::to_string(run_id) + ": " + removed.error().message);
    }
  });
  return {};
}

void KubernetesRuntime::adopt(const runtime::RunHandle& handle) {
  auto found = runs_.find(handle.run_id);
  // Already tracked: an observed run that the observer answered before the engine adopted it.
  if (found != runs_.end() && !found->second.adopted) return;
  Run& run = runs_[handle.run_id];
  run.adopted = true;
  run.captured = handle.captured_output;
  run.external_id = handle.external_id;
  if (!handle.external_id.empty()) {
    run.kind = parseIncarnationId(handle.external_id) ? RunKind::kIncarnation : RunKind::kCronJobRun;
    run.started_at = handle.started_at;
  }
  if (synced_) toLoop([this, id = handle.run_id] { resolveAdopted(id); });
}

void KubernetesRuntime::resolveAdopted(std::int64_t run_id) {
  auto it = runs_.find(run_id);
  if (it == runs_.end() || !it->second.adopted) return;
  if (!it->second.external_id.empty()) return resolveAdoptedExternal(run_id);
  Run& run = it->second;
  run.adopted = false;
  auto found = observed_.find(run_id);
  if (found == observed_.end()) {
    if (auto gone = gone_run_jobs_.find(run_id); gone != gone_run_jobs_.end()) {
      // Deleted while tjfd was away, and replayed: its last state says how it ended.
      run.ns = namespaceOf(gone->second.job);
      run.name = nameOf(gone->second.job);
      run.output_lost = true;
      const GoneRunJob last = std::move(gone->second);
      gone_run_jobs_.erase(gone);
      report(run_id, exitOfDeletedJob(run_id, last.job, oldestFirst(last.pods), run.stop_requested, wallNow()));
      return;
    }
    report(run_id, exitOfDeletedJob(run_id, std::nullopt, {}, run.stop_requested, wallNow()));
    return;
  }
  run.ns = namespaceOf(found->second);
  run.name = nameOf(found->second);
  run.seen = true;
  if (run.stop_requested) {
    run.stop_requested = false;
    (void)stop(run_id);
  }
  const auto pods = observed_pods_[run_id];
  for (const auto& [name, pod] : pods) examinePod(run_id, pod);
  consider(run_id);
  evaluateStart(run_id);
}

// An adopted observed run that no observer answer has linked to an object by the time every
// scope was listed. (The engine answers an observed run it has recorded as running with that
// run's id, so every CronJob-made Job and running incarnation that still exists is linked.)
void KubernetesRuntime::resolveAdoptedExternal(std::int64_t run_id) {
  Run& run = runs_.at(run_id);
  run.adopted = false;
  const std::string external_id = run.external_id;
  runtime::RunExit gone{.run_id = run_id, .started_at = run.started_at, .finished_at = wallNow(),
                        .reason = reasonText(model::RunReason::kStopped)};
  if (run.kind == RunKind::kCronJobRun) {
    if (!run.stop_requested) {
      gone.reason = reasonText(model::RunReason::kLost);
      gone.message = "the Kubernetes Job '" + external_id + "' was deleted while tjfd was away";
    }
    report(run_id, std::move(gone));
    return;
  }
  const auto incarnation = parseIncarnationId(external_id);
  auto pod = deployment_pods_.end();
  for (auto it = deployment_pods_.begin(); incarnation && it != deployment_pods_.end(); ++it) {
    if (nameOf(it->second.pod) == incarnation->first) pod = it;
  }
  if (pod == deployment_pods_.end()) {
    if (!run.stop_requested) {
      gone.reason = reasonText(model::RunReason::kLost);
      gone.message = "the Kubernetes pod '" + (incarnation ? incarnation->first : external_id) +
                     "' was deleted while tjfd was away";
    }
    report(run_id, std::move(gone));
    return;
  }
  const json object = pod->second.pod;
  run.ns = namespaceOf(object);
  run.name = nameOf(object);
  run.incarnation = incarnation->second;
  run.generation = generationOf(object);
  if (const auto key = jobKeyOf(object, options_.manifests.namespace_prefix)) {
    run.tool = key->first;
    run.job_name = key->second;
  }
  if (auto ended = incarnationExit(run_id, object, run.incarnation, "")) {
    endIncarnation(run_id, std::move(*ended), object);
    return;
  }
  // Still running but not offered (or not claimed): tracked again all the same.
  run.seen = true;
  pod->second.offered = std::max(pod->second.offered, run.incarnation);
  if (!pod->second.run_id) pod->second.run_id = run_id;
  if (run.stop_requested) {
    run.stop_requested = false;
    (void)stop(run_id);
  }
  examinePod(run_id, object);
}

void KubernetesRuntime::onJobsListed(std::size_t scope_index, const std::vector<json>& jobs,
                                     const std::map<std::string, std::vector<json>>& pods,
                                     const std::string& version, const Replay& replay) {
  Scope& scope = *scopes_[scope_index];
  std::map<std::int64_t, json> listed;
  std::map<std::string, json> cron_listed;
  for (const auto& job : jobs) {
    const WatchedRole role = roleOf(job);
    if (role == WatchedRole::kRunJob) listed[*runIdOf(job)] = job;
    if (role == WatchedRole::kCronJobRun) cron_listed[keyOf(job)] = job;
  }
  // Forget Jobs of this scope that are gone, and end the runs whose Job vanished unseen.
  for (auto it = observed_.begin(); it != observed_.end();) {
    const bool in_scope = inScope(scope, namespaceOf(it->second));
    if (in_scope && !listed.count(it->first)) {
      const auto id = it->first;
      const json last = it->second;
      it = observed_.erase(it);
      observed_pods_.erase(id);
      auto run = runs_.find(id);
      if (run != runs_.end() && run->second.seen && !run->second.exit) {
        report(id, exitOfDeletedJob(id, last, {}, run->second.stop_requested, wallNow()));
      }
    } else {
      ++it;
    }
  }
  std::vector<std::pair<std::string, json>> cron_gone;
  for (const auto& [key, cron] : cron_runs_) {
    if (!cron.job.is_null() && inScope(scope, namespaceOf(cron.job)) && !cron_listed.count(key)) {
      cron_gone.emplace_back(key, cron.job);
    }
  }
  for (const auto& [key, last] : cron_gone) onCronJobRunGone(key, last, {});
  for (const auto& [id, job] : listed) {
    observed_[id] = job;
    if (auto p = pods.find(keyOf(job)); p != pods.end()) {
      for (const auto& pod : p->second) onPod("MODIFIED", pod);
    }
    if (auto run = runs_.find(id); run != runs_.end() && !run->second.adopted) {
      run->second.seen = true;
      consider(id);
    }
  }
  for (const auto& [key, job] : cron_listed) {
    if (auto p = pods.find(key); p != pods.end()) {
      for (const auto& pod : p->second) onPod("MODIFIED", pod);
    }
    onCronJobRun(job);
  }
  if (!scope.jobs_listed) {
    // What went while tjfd was away, before adopted runs are resolved: a run whose Job finished
    // and was deleted meanwhile ends with its exit, not as Lost.
    applyReplay(scope_index, replay);
    scope.jobs_listed = true;
    checkSynced();
    refreshJobNotes(scope_index);
  }
  advance(scope_index, true, version);
}

// Jobs reflector thread, after the scope's first list: the history since the saved position up
// to the list, for the Jobs it no longer shows. Their last state is their DELETED event's; their
// pods' last states come from a replay of the pods from the older of the two saved versions.
KubernetesRuntime::Replay KubernetesRuntime::replayGone(const Scope& scope, const std::vector<json>& listed,
                                                        const std::string& version) {
  Replay replay{.outcome = scope.resume_outcome, .detail = scope.resume_detail};
  if (!scope.resume) return replay;
  const ResumePoint& point = *scope.resume;
  replay.from = point.jobs;
  const ReplayOptions options{.label_selector = kManagedSelector,
                              .from = point.jobs,
                              .until = version,
                              .timeout_seconds = options_.resume_replay_timeout_seconds};
  auto history = replayHistory(client_, resourcePath("batch/v1", "jobs", scope.ns), options, &stopping_);
  if (!history) {
    replay.outcome = history.error().isGone() ? ResumeOutcome::kCompacted : ResumeOutcome::kFailed;
    replay.detail = history.error().message;
    return replay;
  }
  replay.outcome = ResumeOutcome::kReplayed;
  std::set<std::string> present;
  for (const auto& job : listed) present.insert(keyOf(job));
  // The last event of each Job: those whose last word is DELETED went meanwhile.
  std::map<std::string, const WatchEvent*> last;
  std::vector<std::string> order;
  for (const auto& event : *history) {
    const std::string key = keyOf(event.object);
    if (event.type == "DELETED") order.push_back(key);
    last[key] = &event;
  }
  std::set<std::string> gone;
  for (const auto& key : order) {
    const WatchEvent& event = *last[key];
    if (event.type != "DELETED" || present.count(key) || gone.count(key)) continue;
    const WatchedRole role = roleOf(event.object);
    if (role != WatchedRole::kRunJob && role != WatchedRole::kCronJobRun) continue;
    gone.insert(key);
    replay.gone_jobs.push_back(event.object);
  }
  if (gone.empty()) return replay;
  ReplayOptions pod_options = options;
  pod_options.from = point.pods.empty() ? point.jobs : olderVersion(point.jobs, point.pods);
  // A Job's pods may be deleted after it (Background propagation), so the pods' history has no
  // natural end before the list. It is complete once every gone Job has as many deleted pods as
  // its status counts (succeeded + failed + active); else the timeout ends it.
  std::map<std::string, std::int64_t> expected;
  for (const auto& job : replay.gone_jobs) {
    std::int64_t count = 0;
    for (const char* field : {"succeeded", "failed", "active"}) {
      const json value = job.value("status", json::object()).value(field, json());
      if (value.is_number_integer()) count += value.get<std::int64_t>();
    }
    expected[keyOf(job)] = count;
  }
  std::map<std::string, std::set<std::string>> deleted;
  pod_options.enough = [&](const WatchEvent& event) {
    if (event.type != "DELETED") return false;
    const std::string key = keyOf(namespaceOf(event.object), ownerJobName(event.object));
    if (!expected.count(key)) return false;
    deleted[key].insert(nameOf(event.object));
    return std::all_of(expected.begin(), expected.end(), [&](const auto& want) {
      const auto have = deleted.find(want.first);
      return static_cast<std::int64_t>(have == deleted.end() ? 0 : have->second.size()) >= want.second;
    });
  };
  auto pods = replayHistory(client_, resourcePath("v1", "pods", scope.ns), pod_options, &stopping_);
  if (!pods) {
    // The Jobs' own status still gives the exit (without a failed container's exit code).
    logWarning("cannot replay the pods of " + std::string(scope.ns.empty() ? "all namespaces" : "'" + scope.ns + "'") +
               " since version " + pod_options.from + ": " + pods.error().message);
    return replay;
  }
  std::map<std::string, std::map<std::string, json>> by_job;  // job key -> pod name -> last state
  for (const auto& event : *pods) {
    const std::string key = keyOf(namespaceOf(event.object), ownerJobName(event.object));
    if (gone.count(key)) by_job[key][nameOf(event.object)] = event.object;
  }
  for (const auto& [key, named] : by_job) replay.pods[key] = oldestFirst(valuesOf(named));
  return replay;
}

void KubernetesRuntime::applyReplay(std::size_t scope_index, const Replay& replay) {
  const std::string& ns = scopes_[scope_index]->ns;
  const std::string where = ns.empty() ? "all namespaces" : "namespace '" + ns + "'";
  resume_reports_.push_back(ResumeReport{.ns = ns, .outcome = replay.outcome, .from = replay.from,
                                         .gone_jobs = replay.gone_jobs.size(), .detail = replay.detail});
  switch (replay.outcome) {
    case ResumeOutcome::kNothingSaved:
      if (!replay.detail.empty()) logWarning("not replaying " + where + ": " + replay.detail);
      return;
    case ResumeOutcome::kCompacted:
      logWarning("cannot replay what happened in " + where + " while tjfd was away: the API server no longer has " +
                 "the history since version " + replay.from + " (410 Gone); Jobs that finished and were deleted " +
                 "meanwhile are not recorded");
      return;
    case ResumeOutcome::kFailed:
      logWarning("cannot replay what happened in " + where + " while tjfd was away: " + replay.detail);
      return;
    case ResumeOutcome::kReplayed:
      break;
  }
  if (replay.gone_jobs.empty()) return;
  logWarning("replayed " + std::to_string(replay.gone_jobs.size()) + " Job(s) of " + where +
             " deleted while tjfd was away, since version " + replay.from);
  replaying_ = true;
  for (const auto& job : replay.gone_jobs) {
    const std::string key = keyOf(job);
    const auto found = replay.pods.find(key);
    const std::vector<json> pods = found == replay.pods.end() ? std::vector<json>{} : found->second;
    if (roleOf(job) == WatchedRole::kRunJob) {
      // Only an adopted run can be waiting for it (resolveAdopted, once every scope is listed).
      gone_run_jobs_[*runIdOf(job)] = GoneRunJob{.job = job, .pods = pods};
      continue;
    }
    // As the watch would have shown it: the Job with its last status (offered to the observer,
    // its exit reported), then its deletion (an unfinished Job's end).
    onJob("MODIFIED", job, pods);
    onJob("DELETED", job, pods);
  }
  replaying_ = false;
}

void KubernetesRuntime::onPodsListed(std::size_t scope_index, const std::vector<json>& pods) {
  Scope& scope = *scopes_[scope_index];
  std::set<std::string> present;
  for (const auto& pod : pods) {
    if (roleOf(pod) == WatchedRole::kDeploymentPod) present.insert(keyOf(pod));
  }
  // A relist (after 410 Gone) may find pods gone whose DELETED event was never seen.
  std::vector<std::pair<std::string, json>> gone;
  for (const auto& [key, d] : deployment_pods_) {
    if (inScope(scope, namespaceOf(d.pod)) && !present.count(key)) gone.emplace_back(key, d.pod);
  }
  for (const auto& [key, last] : gone) onDeploymentPodGone(key, last);
  for (const auto& pod : pods) onPod("MODIFIED", pod);
  if (!scope.pods_listed) {
    scope.pods_listed = true;
    checkSynced();
    refreshJobNotes(scope_index);
  }
}

void KubernetesRuntime::checkSynced() {
  if (synced_) return;
  for (const auto& scope : scopes_) {
    if (!scope->jobs_listed || !scope->pods_listed) return;
  }
  synced_ = true;
  std::vector<std::int64_t> adopted;
  for (const auto& [id, run] : runs_) {
    if (run.adopted) adopted.push_back(id);
  }
  for (const auto id : adopted) resolveAdopted(id);
}

void KubernetesRuntime::onJob(const std::string& type, const json& job, const std::vector<json>& pods) {
  switch (roleOf(job)) {
    case WatchedRole::kRunJob:
      return onRunJob(type, job, pods);
    case WatchedRole::kCronJobRun:
      for (const auto& pod : pods) onPod("MODIFIED", pod);
      if (type == "DELETED") return onCronJobRunGone(keyOf(job), job, pods);
      return onCronJobRun(job);
    default:
      return;
  }
}

void KubernetesRuntime::onRunJob(const std::string& type, const json& job, const std::vector<json>& pods) {
  const auto id = runIdOf(job);
  if (!id) return;
  for (const auto& pod : pods) onPod("MODIFIED", pod);
  auto run = runs_.find(*id);
  if (type == "DELETED") {
    observed_.erase(*id);
    failed_creates_.erase(keyOf(job));
    if (run != runs_.end() && !run->second.adopted && !run->second.exit) {
      std::vector<json> known = pods;
      if (known.empty()) {
        for (const auto& [name, pod] : observed_pods_[*id]) known.push_back(pod);
      }
      report(*id, exitOfDeletedJob(*id, job, known, run->second.stop_requested, wallNow()));
    }
    observed_pods_.erase(*id);
    return;
  }
  observed_[*id] = job;
  if (run == runs_.end() || run->second.adopted) return;
  run->second.seen = true;
  consider(*id);
}

std::optional<std::int64_t> KubernetesRuntime::observe(const runtime::ObservedRun& observed) {
  if (!observer_ || observed.tool.empty() || observed.job_name.empty() || observed.external_id.empty()) {
    return std::nullopt;
  }
  early_stops_.clear();
  in_observer_ = true;
  const auto answer = observer_(observed);
  in_observer_ = false;
  return answer;
}

void KubernetesRuntime::track(std::int64_t run_id, const runtime::ObservedRun& observed, RunKind kind,
                              const json& object) {
  const bool stopped_early =
      std::find(early_stops_.begin(), early_stops_.end(), run_id) != early_stops_.end();
  early_stops_.clear();
  auto existing = runs_.find(run_id);
  if (existing != runs_.end() && !existing->second.adopted) return;  // tracked already
  Run& run = runs_[run_id];
  run.kind = kind;
  run.ns = namespaceOf(object);
  run.name = nameOf(object);
  run.tool = observed.tool;
  run.job_name = observed.job_name;
  run.external_id = observed.external_id;
  run.generation = observed.generation;
  run.started_at = observed.started_at;
  run.captured = observed.captured_output;
  run.output_lost = replaying_;
  run.adopted = false;
  run.seen = true;
  if (kind == RunKind::kIncarnation) {
    if (const auto incarnation = parseIncarnationId(observed.external_id)) run.incarnation = incarnation->second;
    if (const auto container = jobContainer(object);
        container && container->restart_count == run.incarnation && container->state.contains("running")) {
      run.container_id = container->container_id;
    }
  }
  // A stop asked for while it was adopted and unresolved, or from inside the observer.
  if (run.stop_requested || stopped_early) {
    run.stop_requested = false;
    (void)stop(run_id);
  }
}

void KubernetesRuntime::onCronJobRun(const json& job) {
  // A Job the CronJob made: a refusal before it is over (job notes).
  if (const auto job_key = jobKeyOf(job, options_.manifests.namespace_prefix)) {
    const auto created = parseKubernetesTime(job.value("/metadata/creationTimestamp"_json_pointer, std::string()));
    auto& newest = job_note_sources_[*job_key].cron_newest_job;
    if (created && (!newest || *created > *newest)) {
      newest = created;
      updateJobNote(*job_key);
    }
  }
  const std::string key = keyOf(job);
  CronJobRun& cron = cron_runs_[key];
  cron.job = job;
  if (!cron.asked) {
    cron.asked = true;
    const auto observed = observedCronJobRun(job, options_.manifests.namespace_prefix);
    if (const auto id = observe(observed)) {
      cron_runs_[key].run_id = *id;
      track(*id, observed, RunKind::kCronJobRun, job);
    }
  }
  auto it = cron_runs_.find(key);
  if (it == cron_runs_.end() || !it->second.run_id) return;
  const std::int64_t id = *it->second.run_id;
  auto run = runs_.find(id);
  if (run == runs_.end() || run->second.adopted || run->second.exit) return;
  const auto pods = valuesOf(it->second.pods);
  for (const auto& pod : pods) examinePod(id, pod);
  consider(id);
  evaluateStart(id);
}

void KubernetesRuntime::onCronJobRunGone(const std::string& key, const json& last_job,
                                         const std::vector<json>& pods) {
  auto it = cron_runs_.find(key);
  if (it == cron_runs_.end()) return;
  std::vector<json> known = pods.empty() ? valuesOf(it->second.pods) : pods;
  const auto run_id = it->second.run_id;
  cron_runs_.erase(it);
  failed_creates_.erase(key);
  if (!run_id) return;
  auto run = runs_.find(*run_id);
  if (run == runs_.end() || run->second.adopted || run->second.exit) return;
  const bool stopped = endsStopped(*run_id);
  // concurrencyPolicy Replace: the CronJob controller deletes the running Job for the next one.
  bool replaced = false;
  if (!stopped && !jobFinished(last_job)) {
    auto placed = placed_.find(JobKey{run->second.tool, run->second.job_name});
    replaced = placed != placed_.end() && placed->second.concurrency == model::ConcurrencyPolicy::kReplace;
  }
  auto exit = exitOfDeletedJob(*run_id, last_job, oldestFirst(std::move(known)), stopped || replaced, wallNow());
  if (replaced && exit.reason == reasonText(model::RunReason::kStopped)) {
    exit.message = "replaced by the next scheduled run (concurrency policy Replace)";
  }
  report(*run_id, std::move(exit));
}

void KubernetesRuntime::onPod(const std::string& type, const json& pod) {
  switch (roleOf(pod)) {
    case WatchedRole::kRunJob: {
      const auto id = runIdOf(pod);
      // A deleted pod keeps its last state here: a finished run's exit may still need it.
      if (type != "DELETED") observed_pods_[*id][nameOf(pod)] = pod;
      examinePod(*id, pod);
      evaluateStart(*id);
      return;
    }
    case WatchedRole::kCronJobRun: {
      const std::string owner = ownerJobName(pod);
      if (owner.empty()) return;
      const std::string key = keyOf(namespaceOf(pod), owner);
      auto it = cron_runs_.find(key);
      if (type == "DELETED") {
        // Kept while its Job is known (for the Job's exit); else nothing will ask for it.
        if (it != cron_runs_.end() && it->second.job.is_null()) {
          it->second.pods.erase(nameOf(pod));
          if (it->second.pods.empty() && !it->second.run_id) cron_runs_.erase(it);
          return;
        }
      } else {
        if (it == cron_runs_.end()) it = cron_runs_.emplace(key, CronJobRun{}).first;
        it->second.pods[nameOf(pod)] = pod;
      }
      if (it != cron_runs_.end() && it->second.run_id) {
        const std::int64_t id = *it->second.run_id;
        examinePod(id, pod);
        evaluateStart(id);
      }
      return;
    }
    case WatchedRole::kDeploymentPod:
      if (type == "DELETED") return onDeploymentPodGone(keyOf(pod), pod);
      return onDeploymentPod(pod);
    default:
      return;
  }
}

void KubernetesRuntime::onDeploymentPod(const json& pod) {
  notePod(pod, false);
  const std::string key = keyOf(pod);
  deployment_pods_[key].pod = pod;
  // The incarnation being tracked: has it ended?
  if (const auto tracked = deployment_pods_[key].run_id) {
    auto run = runs_.find(*tracked);
    if (run == runs_.end() || run->second.exit) {
      deployment_pods_[key].run_id.reset();
    } else if (!run->second.adopted) {
      const auto container = jobContainer(pod);
      if (container && container->restart_count == run->second.incarnation &&
          container->state.contains("running") && !container->container_id.empty()) {
        run->second.container_id = container->container_id;
      }
      if (auto ended = incarnationExit(*tracked, pod, run->second.incarnation, run->second.container_id)) {
        deployment_pods_[key].run_id.reset();
        endIncarnation(*tracked, std::move(*ended), pod);
      } else {
        examinePod(*tracked, pod);
      }
    }
  }
  // The current incarnation, once its container has started: a run of its own.
  int incarnation = 0;
  const auto observed = observedIncarnation(pod, options_.manifests.namespace_prefix, &incarnation);
  auto it = deployment_pods_.find(key);
  if (!observed || it == deployment_pods_.end() || incarnation <= it->second.offered || it->second.run_id) return;
  it->second.offered = incarnation;
  const auto id = observe(*observed);
  if (!id) return;
  deployment_pods_[key].run_id = *id;
  track(*id, *observed, RunKind::kIncarnation, pod);
  auto run = runs_.find(*id);
  if (run == runs_.end() || run->second.adopted || run->second.exit) return;
  // First seen already ended (a quick crash, or a daemon that was away).
  if (auto ended = incarnationExit(*id, pod, run->second.incarnation, run->second.container_id)) {
    deployment_pods_[key].run_id.reset();
    endIncarnation(*id, std::move(*ended), pod);
  } else {
    examinePod(*id, pod);
  }
}

void KubernetesRuntime::onDeploymentPodGone(const std::string& key, const json& last_pod) {
  notePod(last_pod, true);
  auto it = deployment_pods_.find(key);
  if (it == deployment_pods_.end()) return;
  const auto run_id = it->second.run_id;
  deployment_pods_.erase(it);
  if (!run_id) return;
  auto run = runs_.find(*run_id);
  if (run == runs_.end() || run->second.adopted || run->second.exit) return;
  runtime::RunExit exit{.run_id = *run_id, .started_at = run->second.started_at, .finished_at = wallNow(),
                        .reason = reasonText(model::RunReason::kStopped)};
  if (!endsStopped(*run_id)) {
    exit.reason = reasonText(model::RunReason::kLost);
    exit.message = "the Kubernetes pod '" + nameOf(last_pod) + "' was deleted before its container ended";
  }
  report(*run_id, std::move(exit));
}

bool KubernetesRuntime::endsStopped(std::int64_t run_id) const {
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return false;
  const Run& run = it->second;
  return run.stop_requested || run.job_removed || superseded(run);
}

// A newer generation was placed (an update or `restart`), which replaces the run.
bool KubernetesRuntime::superseded(const Run& run) const {
  auto placed = placed_.find(JobKey{run.tool, run.job_name});
  return run.generation > 0 && placed != placed_.end() && placed->second.generation > run.generation;
}

void KubernetesRuntime::endIncarnation(std::int64_t run_id, runtime::RunExit exit, const json& pod) {
  auto it = runs_.find(run_id);
  if (it == runs_.end() || it->second.exit) return;
  if (exit.finished_at == TimePoint{}) exit.finished_at = wallNow();
  if (!exit.started_at) exit.started_at = it->second.started_at;
  if (endsStopped(run_id)) {
    exit.reason = reasonText(model::RunReason::kStopped);
    exit.message.clear();
  } else if (beingDeleted(pod)) {
    // Someone deleted the pod (not tjf, not a rollout): the container's exit is the kill's.
    exit.reason = reasonText(model::RunReason::kLost);
    exit.message = "the Kubernetes pod '" + nameOf(pod) + "' was deleted before its container ended";
  }
  const bool check = (exit.reason == reasonText(model::RunReason::kError) ||
                      exit.reason == reasonText(model::RunReason::kSignal)) &&
                     hasLivenessProbe(pod);
  report(run_id, std::move(exit), check);
}

void KubernetesRuntime::examinePod(std::int64_t run_id, const json& pod) {
  auto run = runs_.find(run_id);
  if (run == runs_.end() || run->second.adopted || run->second.exit) return;
  if (run->second.kind == RunKind::kIncarnation) {
    // Only this incarnation's container: a later one is a run of its own.
    const auto container = jobContainer(pod);
    if (!container || container->restart_count != run->second.incarnation ||
        !(container->state.contains("running") || container->state.contains("terminated"))) {
      return;
    }
  } else {
    // Only the pod's own state matters here: a start failure, or a container to follow.
    if (auto failure = startFailure(run_id, {pod}, wallNow())) {
      // A CronJob's Job stuck on its image would hold back every later fire (Forbid): it goes.
      if (run->second.kind == RunKind::kCronJobRun) run->second.delete_job = true;
      report(run_id, std::move(*failure));
      return;
    }
    const std::string phase = pod.value("/status/phase"_json_pointer, std::string());
    if (!(phase == "Running" || phase == "Succeeded" || phase == "Failed")) return;
  }
  if (!run->second.captured || run->second.collector || run->second.output_lost) return;
  const auto dir = options_.layout.runDir(run_id);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  run->second.collector = std::make_unique<LogCollector>(
      client_, namespaceOf(pod), nameOf(pod), model::StateLayout::output(dir), [this, run_id] {
        toLoop([this, run_id] {
          auto r = runs_.find(run_id);
          if (r == runs_.end()) return;
          r->second.collector_done = true;
          if (r->second.exit) deliver(run_id);
        });
      });
}

void KubernetesRuntime::consider(std::int64_t run_id) {
  auto run = runs_.find(run_id);
  if (run == runs_.end() || run->second.exit) return;
  if (run->second.kind == RunKind::kCronJobRun) {
    auto cron = cron_runs_.find(keyOf(run->second.ns, run->second.name));
    if (cron == cron_runs_.end() || cron->second.job.is_null() || !jobFinished(cron->second.job)) return;
    // backoffLimit is the job's --retry here: a Failed Job is the run's final result.
    if (auto exit = exitOfFinishedJob(run_id, cron->second.job, oldestFirst(valuesOf(cron->second.pods)))) {
      report(run_id, std::move(*exit));
    }
    return;
  }
  if (run->second.kind != RunKind::kRunJob) return;
  auto job = observed_.find(run_id);
  if (job == observed_.end()) return;
  if (!jobFinished(job->second)) return;
  std::vector<json> pods;
  for (const auto& [name, pod] : observed_pods_[run_id]) pods.push_back(pod);
  if (auto exit = exitOfFinishedJob(run_id, job->second, pods)) report(run_id, std::move(*exit));
}

void KubernetesRuntime::report(std::int64_t run_id, runtime::RunExit exit, bool check_liveness) {
  auto it = runs_.find(run_id);
  if (it == runs_.end() || it->second.exit) return;
  Run& run = it->second;
  if (run.output_lost && run.captured) {
    // Kubernetes keeps a container's log only as long as its pod.
    std::error_code ec;
    const bool some = std::filesystem::file_size(model::StateLayout::output(options_.layout.runDir(run_id)), ec) > 0 && !ec;
    const std::string why = std::string(some ? "output incomplete" : "output not collected") +
                            ": the pod was removed while tjfd was away";
    exit.message = exit.message.empty() ? why : exit.message + "; " + why;
  }
  run.exit = std::move(exit);
  if (!check_liveness) return finish(run_id);
  // Whether the kubelet killed the container for failing its liveness probe shows only in the
  // pod's Events: look them up before the exit is reported.
  run.checking = true;
  worker_->post([this, run_id, ns = run.ns, pod = run.name] {
    std::vector<json> events;
    auto listed = client_.list(resourcePath("v1", "events", ns), {.field_selector = "involvedObject.name=" + pod});
    if (listed && listed->contains("items")) {
      for (auto& e : (*listed)["items"]) events.push_back(std::move(e));
    } else if (!listed) {
      logWarning("cannot read the events of pod '" + pod + "': " + listed.error().message);
    }
    toLoop([this, run_id, events = std::move(events)] {
      auto r = runs_.find(run_id);
      if (r == runs_.end() || !r->second.exit) return;
      r->second.checking = false;
      if (auto why = livenessKill(events, r->second.exit->started_at, r->second.exit->finished_at)) {
        r->second.exit->reason = reasonText(model::RunReason::kHealthCheckFailed);
        r->second.exit->message = *why;
      }
      finish(run_id);
    });
  });
}

void KubernetesRuntime::finish(std::int64_t run_id) {
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return;
  Run& run = it->second;
  if (run.collector && !run.collector_done) {
    // Let the log stream drain first, so `logs` has the run's last lines once it shows as ended.
    run.drain_timer = std::make_unique<asio::steady_timer>(io_, options_.log_drain_timeout);
    run.drain_timer->async_wait([this, run_id, alive = alive_weak_](const boost::system::error_code& ec) {
      if (!ec && alive.lock()) deliver(run_id);
    });
    return;
  }
  deliver(run_id);
}

void KubernetesRuntime::deliver(std::int64_t run_id) {
  auto it = runs_.find(run_id);
  if (it == runs_.end() || !it->second.exit || it->second.delivered || it->second.checking) return;
  it->second.delivered = true;
  if (it->second.drain_timer) it->second.drain_timer->cancel();
  const runtime::RunExit exit = *it->second.exit;
  if (on_exit_) on_exit_(exit);
  cleanup(run_id);
}

void KubernetesRuntime::cleanup(std::int64_t run_id) {
  auto it = runs_.find(run_id);
  if (it == runs_.end()) return;
  const std::string ns = it->second.ns;
  const std::string name = it->second.name;
  // A run Job's result is in the store now, so the Job and its pods can go (Background: nobody
  // waits). A CronJob's Jobs are its history: its limits and TTL remove them.
  const bool delete_job = it->second.kind == RunKind::kRunJob || it->second.delete_job;
  if (delete_job && !ns.empty() && !name.empty()) {
    worker_->post([this, path = resourcePath("batch/v1", "jobs", ns, name)] {
      auto removed = client_.remove(path, Propagation::kBackground);
      if (!removed && !removed.error().isNotFound()) {
        logWarning("cannot delete the finished Job '" + path + "': " + removed.error().message);
      }
    });
  }
  runs_.erase(it);
}

std::optional<std::filesystem::path> KubernetesRuntime::capturedOutput(std::int64_t run_id) const {
  auto path = model::StateLayout::output(options_.layout.runDir(run_id));
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  return path;
}

std::vector<std::int64_t> KubernetesRuntime::stopOrphans(const std::vector<std::int64_t>& known) {
  std::vector<std::int64_t> orphans;
  std::vector<std::string> namespaces = options_.namespaces;
  if (namespaces.empty()) namespaces.push_back("");
  for (const auto& ns : namespaces) {
    auto listed = client_.list(resourcePath("batch/v1", "jobs", ns), {.label_selector = kRunSelector});
    if (!listed) {
      logWarning("cannot look for orphaned runs: " + listed.error().message);
      continue;
    }
    for (const auto& job : (*listed)["items"]) {
      const auto id = runIdOf(job);
      if (!id || std::find(known.begin(), known.end(), *id) != known.end()) continue;
      auto removed = client_.remove(resourcePath("batch/v1", "jobs", namespaceOf(job), nameOf(job)),
                                    Propagation::kBackground);
      if (removed || removed.error().isNotFound()) orphans.push_back(*id);
    }
  }
  return orphans;
}

// ---- Watch positions (resume_point.hpp) ---------------------------------------------------------

std::string_view toString(ResumeOutcome outcome) {
  switch (outcome) {
    case ResumeOutcome::kNothingSaved: return "nothing saved";
    case ResumeOutcome::kReplayed: return "replayed";
    case ResumeOutcome::kCompacted: return "compacted";
    case ResumeOutcome::kFailed: return "failed";
  }
  return "unknown";
}

// Loop thread: everything up to `version` of the scope's Jobs (or pods) has been handled here.
// Saving is throttled: the first change after a quiet second is saved at once, later ones once
// the interval has passed since the last save.
void KubernetesRuntime::advance(std::size_t scope_index, bool jobs, const std::string& version) {
  if (version.empty()) return;
  Scope& scope = *scopes_[scope_index];
  (jobs ? scope.jobs_version : scope.pods_version) = version;
  if (save_timer_) return;  // a save is due already
  const auto now = std::chrono::steady_clock::now();
  const auto due = last_save_ + options_.resume_save_interval;
  save_timer_ = std::make_unique<asio::steady_timer>(io_, due > now ? due - now : std::chrono::steady_clock::duration::zero());
  save_timer_->async_wait([this, alive = alive_weak_](const boost::system::error_code& ec) {
    if (ec || !alive.lock()) return;
    save_timer_.reset();
    saveResumePoints(false);
  });
}

// `now`: write here and wait for the disk (the destructor); else hand the writes to the worker.
void KubernetesRuntime::saveResumePoints(bool now) {
  for (auto& scope : scopes_) {
    // A scope's position counts once both of its first lists (and the replay) have been handled:
    // before that, a successor would miss what the unlisted kind did.
    if (!scope->jobs_listed || !scope->pods_listed || scope->jobs_version.empty() || scope->pods_version.empty()) {
      continue;
    }
    const ResumePoint point{.server = client_.access().server, .ns = scope->ns,
                            .jobs = scope->jobs_version, .pods = scope->pods_version};
    // The destructor writes even an unchanged point: a write handed to the worker may have been
    // dropped with the worker's queue.
    if (!now && point == scope->saved) continue;
    scope->saved = point;
    last_save_ = std::chrono::steady_clock::now();  // only a write counts against the interval
    const auto file = resumePointPath(options_.layout.root(), scope->ns);
    auto write = [file, point, now] {
      if (auto written = writeResumePoint(file, point, now); !written) {
        logWarning("cannot save the watch position: " + written.error().message);
      }
    };
    if (now) {
      write();
    } else {
      worker_->post(write);
    }
  }
}

// ---- FailedCreate Events: quota notes and LimitRange refusals (job_events.hpp) ---------------------

const KubernetesRuntime::Scope* KubernetesRuntime::scopeOf(const std::string& ns) const {
  for (const auto& scope : scopes_) {
    if (inScope(*scope, ns)) return scope.get();
  }
  return nullptr;
}

void KubernetesRuntime::onEventsListed(std::size_t scope_index, const std::vector<json>& events) {
  Scope& scope = *scopes_[scope_index];
  // The list is the whole truth for the scope: what it lacks has expired.
  for (auto it = failed_creates_.begin(); it != failed_creates_.end();) {
    const std::string ns = it->first.substr(0, it->first.find('/'));
    it = inScope(scope, ns) ? failed_creates_.erase(it) : std::next(it);
  }
  scope.events_listed = true;
  for (const auto& event : events) onFailedCreate("ADDED", event);
  refreshJobNotes(scope_index);
  // Runs of the scope that no event is about: their note is "" (which clears a note saved
  // before a restart).
  std::vector<std::int64_t> ids;
  for (const auto& [id, run] : runs_) {
    if (!run.ns.empty() && inScope(scope, run.ns)) ids.push_back(id);
  }
  for (const auto id : ids) evaluateStart(id);
}

void KubernetesRuntime::onFailedCreate(const std::string& type, const json& event) {
  if (!involvedCronJobKey(event).empty()) return onCronJobRefusal(type, event);
  const std::string key = involvedJobKey(event);
  if (key.empty() || event.value("reason", "") != "FailedCreate") return;
  auto found = failed_creates_.find(key);
  if (type == "DELETED") {
    // Expired (after about an hour): a note already given stays until the pod appears.
    if (found != failed_creates_.end() && nameOf(found->second) == nameOf(event)) failed_creates_.erase(found);
    return;
  }
  if (found != failed_creates_.end()) {
    // Several refusals of one Job (a new pod name per attempt): the newest one counts.
    const auto known = eventLastSeen(found->second);
    const auto seen = eventLastSeen(event);
    if (known && seen && *seen < *known) return;
  }
  failed_creates_[key] = event;
  if (const auto id = runOfJob(key)) evaluateStart(*id);
}

std::optional<std::int64_t> KubernetesRuntime::runOfJob(const std::string& key) const {
  if (auto cron = cron_runs_.find(key); cron != cron_runs_.end()) return cron->second.run_id;
  for (const auto& [id, run] : runs_) {
    if (run.kind == RunKind::kRunJob && !run.ns.empty() && keyOf(run.ns, run.name) == key) return id;
  }
  return std::nullopt;
}

// Whether the cluster refuses the run's pod: a quota refusal newer than the run's newest pod,
// while no pod of it is live, is a note; a LimitRange refusal ends the run (every retry gets the
// same answer). Otherwise the note is "". Called whenever the run's Events or pods change.
void KubernetesRuntime::evaluateStart(std::int64_t run_id) {
  auto it = runs_.find(run_id);
  if (it == runs_.end() || it->second.adopted || it->second.exit || it->second.kind == RunKind::kIncarnation ||
      it->second.ns.empty()) {
    return;
  }
  Run& run = it->second;
  const Scope* scope = scopeOf(run.ns);
  if (!scope || !scope->events_listed) return;  // not known yet: say nothing
  const std::string key = keyOf(run.ns, run.name);
  std::vector<json> pods;
  if (run.kind == RunKind::kRunJob) {
    if (auto found = observed_pods_.find(run_id); found != observed_pods_.end()) pods = valuesOf(found->second);
  } else if (auto found = cron_runs_.find(key); found != cron_runs_.end()) {
    pods = valuesOf(found->second.pods);
  }
  bool live = false;
  std::optional<TimePoint> newest_pod;
  for (const auto& pod : pods) {
    const std::string phase = pod.value("/status/phase"_json_pointer, std::string());
    if (phase != "Succeeded" && phase != "Failed") live = true;
    const auto created = parseKubernetesTime(pod.value("/metadata/creationTimestamp"_json_pointer, std::string()));
    if (created && (!newest_pod || *created > *newest_pod)) newest_pod = created;
  }
  std::string note;
  const auto event = failed_creates_.find(key);
  if (!live && event != failed_creates_.end()) {
    // An Event from before the newest pod was created is about an attempt that has since
    // succeeded (the two watches do not keep each other's order).
    const auto seen = eventLastSeen(event->second);
    const bool current = pods.empty() || !newest_pod || (seen && *seen > *newest_pod);
    const auto refusal = current ? failedCreateOf(event->second) : std::nullopt;
    if (refusal && refusal->kind == PodRefusal::kQuota) note = refusal->text;
    if (refusal && refusal->kind == PodRefusal::kLimitRange) {
      // A Job that can never start goes (for a CronJob's Job: it would hold back later fires).
      if (run.kind == RunKind::kCronJobRun) run.delete_job = true;
      report(run_id, runtime::RunExit{.run_id = run_id, .started_at = run.started_at, .finished_at = wallNow(),
                                      .reason = reasonText(model::RunReason::kStartError),
                                      .message = refusal->text});
      return;
    }
  }
  if (run.note && *run.note == note) return;
  run.note = note;
  if (on_note_) on_note_(run_id, note);
}

// ---- Job notes: why a placed job does not run ----------------------------------------------------

void KubernetesRuntime::onDeploymentsListed(std::size_t scope_index, const std::vector<json>& deployments) {
  Scope& scope = *scopes_[scope_index];
  std::set<std::string> present;
  for (const auto& deployment : deployments) present.insert(keyOf(deployment));
  // A relist: Deployments of the scope it lacks are gone.
  std::vector<std::pair<JobKey, std::string>> gone;
  for (const auto& [key, sources] : job_note_sources_) {
    for (const auto& [name, note] : sources.deployments) {
      if (inScope(scope, name.substr(0, name.find('/'))) && !present.count(name)) gone.emplace_back(key, name);
    }
  }
  for (const auto& [key, name] : gone) job_note_sources_[key].deployments.erase(name);
  for (const auto& deployment : deployments) onDeployment("MODIFIED", deployment);
  scope.deployments_listed = true;
  refreshJobNotes(scope_index);
}

void KubernetesRuntime::onDeployment(const std::string& type, const json& deployment) {
  const auto key = jobKeyOf(deployment, options_.manifests.namespace_prefix);
  if (!key) return;
  const std::string note = type == "DELETED" ? std::string() : deploymentNote(deployment);
  auto& notes = job_note_sources_[*key].deployments;
  if (note.empty()) {
    notes.erase(keyOf(deployment));
  } else {
    notes[keyOf(deployment)] = note;
  }
  updateJobNote(*key);
}

void KubernetesRuntime::onCronJobRefusal(const std::string& type, const json& event) {
  // Expired (after about an hour): the note stays until the CronJob makes a Job.
  if (type == "DELETED") return;
  const std::string involved = involvedCronJobKey(event);
  const auto slash = involved.find('/');
  const json cronjob = {{"metadata", {{"namespace", involved.substr(0, slash)}, {"name", involved.substr(slash + 1)}}}};
  const auto key = jobKeyOf(cronjob, options_.manifests.namespace_prefix);
  if (!key) return;
  auto& refusal = job_note_sources_[*key].cron_refusal;
  if (refusal) {
    // Several refusals (one Event per message; a repeat updates its lastTimestamp): the newest.
    const auto known = eventLastSeen(*refusal);
    const auto seen = eventLastSeen(event);
    if (known && seen && *seen < *known) return;
  }
  refusal = event;
  updateJobNote(*key);
}

void KubernetesRuntime::notePod(const json& pod, bool gone) {
  const auto key = jobKeyOf(pod, options_.manifests.namespace_prefix);
  if (!key) return;
  auto& pods = job_note_sources_[*key].pods;
  if (gone) {
    pods.erase(keyOf(pod));
  } else {
    pods[keyOf(pod)] = JobNoteSources::PodView{.waiting = containerWaitNote(pod), .running = containerRunning(pod)};
  }
  updateJobNote(*key);
}

std::string KubernetesRuntime::jobNoteOf(const JobKey& key) const {
  auto found = job_note_sources_.find(key);
  if (found == job_note_sources_.end()) return {};
  const JobNoteSources& sources = found->second;
  if (!sources.placement.empty()) return sources.placement;
  if (!sources.deployments.empty()) return sources.deployments.begin()->second;
  const bool running = std::any_of(sources.pods.begin(), sources.pods.end(),
                                   [](const auto& pod) { return pod.second.running; });
  if (!running) {
    for (const auto& [name, pod] : sources.pods) {
      if (!pod.waiting.empty()) return pod.waiting;
    }
  }
  if (sources.cron_refusal) {
    // Over once the CronJob has made a Job since (at the same second: the Job is the newer).
    const auto seen = eventLastSeen(*sources.cron_refusal);
    if (!sources.cron_newest_job || (seen && *seen > *sources.cron_newest_job)) {
      if (auto note = cronJobRefusalNote(*sources.cron_refusal)) return *note;
    }
  }
  return {};
}

// Whether the watches of the job's namespace have all listed once: before that a note would be
// a guess (a restarted daemon would clear and set notes as the lists come in, one by one).
bool KubernetesRuntime::jobNotesReady(const std::string& ns) const {
  const Scope* scope = scopeOf(ns);
  if (!scope) return true;  // not watched: only placement refusals can be known
  return scope->jobs_listed && scope->pods_listed && scope->events_listed && scope->deployments_listed;
}

void KubernetesRuntime::updateJobNote(const JobKey& key, bool force) {
  if (!jobNotesReady(namespaceFor(key.first, options_.manifests))) {
    if (force) job_notes_forced_.insert(key);
    return;
  }
  force = job_notes_forced_.erase(key) > 0 || force;
  const std::string note = jobNoteOf(key);
  auto last = job_notes_.find(key);
  const bool changed = last == job_notes_.end() ? !note.empty() : last->second != note;
  if (note.empty()) {
    if (last != job_notes_.end()) job_notes_.erase(last);
  } else {
    job_notes_[key] = note;
  }
  if (auto sources = job_note_sources_.find(key); sources != job_note_sources_.end() && sources->second.empty()) {
    job_note_sources_.erase(sources);
  }
  if ((changed || force) && on_job_note_) on_job_note_(key.first, key.second, note);
}

void KubernetesRuntime::refreshJobNotes(std::size_t scope_index) {
  const Scope& scope = *scopes_[scope_index];
  std::set<JobKey> keys(job_notes_forced_.begin(), job_notes_forced_.end());
  for (const auto& [key, sources] : job_note_sources_) keys.insert(key);
  for (const auto& [key, note] : job_notes_) keys.insert(key);
  for (const auto& key : keys) {
    if (inScope(scope, namespaceFor(key.first, options_.manifests))) updateJobNote(key);
  }
}

// ---- The job-level seam ------------------------------------------------------------------------

namespace {

// Worker thread: makes the object at its path what `object` says, writing only when its
// placement digest differs. Create when missing; else PUT with the current resourceVersion. A
// concurrent create (409 AlreadyExists) or change (409 Conflict) reads again, twice at most.
ApiResult<void> applyObject(Client& client, const json& object) {
  const std::string collection = collectionOf(object);
  const std::string path = collection + "/" + nameOf(object);
  const std::string digest = annotationOf(object, kAnnotationPlacementDigest);
  ApiError last;
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto current = client.get(path);
    if (!current) {
      if (!current.error().isNotFound()) return tl::unexpected(current.error());
      auto created = client.create(collection, object);
      if (created) return {};
      if (!created.error().isAlreadyExists()) return tl::unexpected(created.error());
      last = created.error();
      continue;
    }
    if (!digest.empty() && annotationOf(*current, kAnnotationPlacementDigest) == digest) return {};
    json replacement = object;
    replacement["metadata"]["resourceVersion"] = current->value("/metadata/resourceVersion"_json_pointer, std::string());
    if (object.value("kind", "") == "Service") {
      // Allocated by the apiserver and immutable: an update must carry them as they are.
      for (const char* field : {"clusterIP", "clusterIPs"}) {
        if (current->contains("spec") && (*current)["spec"].contains(field)) {
          replacement["spec"][field] = (*current)["spec"][field];
        }
      }
    }
    auto replaced = client.replace(path, replacement);
    if (replaced) return {};
    if (replaced.error().http_status != 409) return tl::unexpected(replaced.error());
    last = replaced.error();
  }
  return tl::unexpected(last);
}

std::string kindPath(std::string_view kind, const std::string& ns, const std::string& name) {
  if (kind == "CronJob") return resourcePath("batch/v1", "cronjobs", ns, name);
  if (kind == "Deployment") return resourcePath("apps/v1", "deployments", ns, name);
  return resourcePath("v1", "services", ns, name);
}

}  // namespace

bool KubernetesRuntime::placesJobs(model::JobType type) const {
  return options_.place_jobs && (type == model::JobType::kScheduled || type == model::JobType::kContinuous);
}

Status KubernetesRuntime::placeJob(const runtime::JobPlacement& placement) {
  const model::JobType type = placement.spec.type;
  const std::string what = "job '" + placement.spec.name + "' of tool '" + placement.tool.name + "'";
  if (!placesJobs(type)) return invalidArgument("Cannot place " + what + ": this runtime does not place its type");
  const JobKey key{placement.tool.name, placement.spec.name};
  auto found = placed_.find(key);
  if (found != placed_.end() && found->second.generation == placement.generation &&
      found->second.type == type && !found->second.failed) {
    return {};  // placed already (or being placed): nothing to write
  }
  auto objects = placementManifests(placement, options_.manifests, options_.runs);
  if (!objects) return tl::unexpected(objects.error());
  // After a failed write the previous state in the cluster is unknown: read before removing.
  const bool first = found == placed_.end() || found->second.failed;
  const Placed previous = found == placed_.end() ? Placed{} : found->second;
  const Placed now{.generation = placement.generation,
                   .type = type,
                   .has_port = type == model::JobType::kContinuous && placement.spec.port.has_value(),
                   .concurrency = placement.resolved.concurrency_policy};
  placed_[key] = now;
  placement_retries_.erase(key);  // this placement replaces the one a retry would write
  // What must not exist beside the new objects: the other type's workload (a job whose type
  // changed) and a Service whose port went away. Known from memory after the first placement;
  // before it (a daemon start) read first, so an unchanged job costs no write.
  std::vector<Removal> removals;
  const std::string ns = namespaceFor(placement.tool.name, options_.manifests);
  const std::string& name = placement.spec.name;
  if (type == model::JobType::kScheduled) {
    if (first || previous.type != type) removals.push_back({kindPath("Deployment", ns, name), first});
    if (first || previous.type != type || previous.has_port) removals.push_back({kindPath("Service", ns, name), first});
  } else {
    if (first || previous.type != type) removals.push_back({kindPath("CronJob", ns, name), first});
    if (!now.has_port && (first || previous.type != type || previous.has_port)) {
      removals.push_back({kindPath("Service", ns, name), first});
    }
  }
  writePlacement(key, what, placement.generation, std::move(*objects), std::move(removals));
  return {};
}

// On the worker: applies the objects, then removes what must go. The outcome comes back to the
// loop (onPlacementWritten) with the API server's refusal, when it refused an object.
void KubernetesRuntime::writePlacement(const JobKey& key, const std::string& what, std::int64_t generation,
                                       std::vector<json> objects, std::vector<Removal> removals) {
  worker_->post([this, key, what, generation, objects = std::move(objects), removals = std::move(removals)] {
    std::string failure;
    std::string refusal;  // the API server's words about an object it refused
    for (const auto& object : objects) {
      if (auto applied = applyObject(client_, object); !applied) {
        failure = object.value("kind", "") + " '" + nameOf(object) + "': " + applied.error().message;
        refusal = applied.error().message;
        break;
      }
    }
    for (std::size_t i = 0; failure.empty() && i < removals.size(); ++i) {
      if (removals[i].read_first) {
        auto current = client_.get(removals[i].path);
        if (!current && current.error().isNotFound()) continue;
      }
      auto removed = client_.remove(removals[i].path, Propagation::kForeground);
      if (!removed && !removed.error().isNotFound()) failure = "'" + removals[i].path + "': " + removed.error().message;
    }
    const bool ok = failure.empty();
    if (!ok) logWarning("cannot place " + what + " (generation " + std::to_string(generation) + "): " + failure);
    toLoop([this, key, what, generation, objects, removals, refusal, ok]() mutable {
      onPlacementWritten(key, what, generation, std::move(objects), std::move(removals), refusal, ok);
    });
  });
}

void KubernetesRuntime::onPlacementWritten(const JobKey& key, const std::string& what, std::int64_t generation,
                                           std::vector<json> objects, std::vector<Removal> removals,
                                           const std::string& refusal, bool ok) {
  auto placed = placed_.find(key);
  // Placed anew (a later generation, or the same one again after a failure) or removed since:
  // that write's outcome counts, not this one's.
  if (placed == placed_.end() || placed->second.generation != generation) return;
  if (ok) {
    if (placed->second.failed) return;  // an older write of this generation; a newer one is pending
    placed->second.retry_in = std::chrono::milliseconds(0);
    job_note_sources_[key].placement.clear();
    // Given even when unchanged: the engine keeps a note of its own when it could not build the
    // placement at all, and only the runtime's word clears it once the job is placed.
    updateJobNote(key, /*force=*/true);
    return;
  }
  // Marked, so the engine's next placement writes again. The generation stays known: runs of
  // older ones are still superseded (the engine stops them; see stop()).
  placed->second.failed = true;
  if (!refusal.empty()) {
    job_note_sources_[key].placement = unableToStartNote(refusal);
    updateJobNote(key);
  }
  // Retried by itself, as the engine places a job once per generation. After a failure the
  // cluster's state is unknown: the retry reads before it removes.
  auto& delay = placed->second.retry_in;
  delay = delay.count() == 0 ? options_.placement_retry : std::min(delay * 2, options_.max_placement_retry);
  for (auto& removal : removals) removal.read_first = true;
  auto timer = std::make_unique<asio::steady_timer>(io_, delay);
  timer->async_wait([this, alive = alive_weak_, key, what, generation, objects = std::move(objects),
                     removals = std::move(removals)](const boost::system::error_code& ec) mutable {
    if (ec || !alive.lock()) return;
    auto again = placed_.find(key);
    if (again == placed_.end() || again->second.generation != generation || !again->second.failed) return;
    again->second.failed = false;
    writePlacement(key, what, generation, std::move(objects), std::move(removals));
  });
  placement_retries_[key] = std::move(timer);
}

Status KubernetesRuntime::removeJob(const std::string& tool, const std::string& job_name) {
  placed_.erase(JobKey{tool, job_name});
  placement_retries_.erase(JobKey{tool, job_name});
  // The engine forgets the job's note itself; what the watches still see of it goes with it.
  job_note_sources_.erase(JobKey{tool, job_name});
  job_notes_.erase(JobKey{tool, job_name});
  job_notes_forced_.erase(JobKey{tool, job_name});
  for (auto& [id, run] : runs_) {
    if (run.kind != RunKind::kRunJob && run.tool == tool && run.job_name == job_name) run.job_removed = true;
  }
  const std::string ns = namespaceFor(tool, options_.manifests);
  worker_->post([this, ns, tool, job_name] {
    for (const auto kind : {"CronJob", "Deployment", "Service"}) {
      // Foreground: a CronJob's Jobs and a Deployment's pods go first, so their runs end.
      auto removed = client_.remove(kindPath(kind, ns, job_name), Propagation::kForeground);
      if (!removed && !removed.error().isNotFound()) {
        logWarning("cannot remove the " + std::string(kind) + " of job '" + job_name + "' of tool '" + tool +
                   "': " + removed.error().message);
      }
    }
  });
  return {};
}

void KubernetesRuntime::removeUnknownJobs(const std::vector<std::pair<std::string, std::string>>& known) {
  std::set<JobKey> known_jobs(known.begin(), known.end());
  std::vector<std::string> namespaces = options_.namespaces;
  if (namespaces.empty()) namespaces.push_back("");
  const bool scheduled = placesJobs(model::JobType::kScheduled);
  const bool continuous = placesJobs(model::JobType::kContinuous);
  worker_->post([this, known_jobs = std::move(known_jobs), namespaces, scheduled, continuous] {
    struct Kind {
      const char* kind;
      const char* group_version;
      const char* resource;
      bool placed;
    };
    const Kind kinds[] = {{"CronJob", "batch/v1", "cronjobs", scheduled},
                          {"Deployment", "apps/v1", "deployments", continuous},
                          {"Service", "v1", "services", continuous}};
    for (const auto& ns : namespaces) {
      for (const auto& kind : kinds) {
        auto listed = client_.list(resourcePath(kind.group_version, kind.resource, ns),
                                   {.label_selector = kPlacedSelector});
        if (!listed) {
          logWarning(std::string("cannot look for placed jobs that no longer exist (") + kind.resource +
                     "): " + listed.error().message);
          continue;
        }
        for (const auto& object : listed->value("items", json::array())) {
          const auto key = jobKeyOf(object, options_.manifests.namespace_prefix);
          if (key && kind.placed && known_jobs.count(*key)) continue;
          auto removed = client_.remove(
              resourcePath(kind.group_version, kind.resource, namespaceOf(object), nameOf(object)),
              Propagation::kForeground);
          if (!removed && !removed.error().isNotFound()) {
            logWarning(std::string("cannot remove the ") + kind.kind + " '" + nameOf(object) + "' in '" +
                       namespaceOf(object) + "': " + removed.error().message);
          } else {
            logWarning(std::string("removed the ") + kind.kind + " '" + nameOf(object) + "' in '" +
                       namespaceOf(object) + "': " +
                       (kind.placed ? "its job no longer exists" : "its job type is not placed (place_jobs)"));
          }
        }
      }
    }
  });
}

}  // namespace tjf::kubernetes

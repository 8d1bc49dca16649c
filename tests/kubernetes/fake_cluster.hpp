// FakeCluster: a FAKE Kubernetes cluster, for tests only. It is not Kubernetes and must never be
// mistaken for it. It owns a FakeApiServer (the contract fake of the API server, on
// 127.0.0.1:<port>) and plays, on a thread of its own, what a real cluster runs behind the API
// server, as far as tjf uses it:
//
//   - a Job controller: pods `<job>-<5 chars>` with job-name/controller-uid labels and an
//     ownerReference; status active/ready/succeeded/failed/startTime; conditions Complete
//     (completionTime) or Failed (BackoffLimitExceeded, DeadlineExceeded, after FailureTarget);
//     backoffLimit (a new pod per retry, after a short back-off); activeDeadlineSeconds;
//     ttlSecondsAfterFinished (deleted with Foreground propagation, as the TTL controller does);
//   - a CronJob controller: fires on spec.schedule (5 fields, macros, timeZone) as
//     `<cronjob>-<scheduled minutes since the epoch>`; concurrencyPolicy Allow/Forbid/Replace;
//     startingDeadlineSeconds; history limits; status active/lastScheduleTime/lastSuccessfulTime;
//     plus a fake-only trigger, fireCronJob() and POST /fake/v1/namespaces/<ns>/cronjobs/<n>/fire;
//   - a Deployment controller with the ReplicaSets collapsed: pods `<deployment>-<10>-<5>` with
//     pod-template-hash; keeps `replicas` pods; a template change replaces them (Recreate, for
//     both strategies); status and conditions Available/Progressing/ReplicaFailure;
//   - a kubelet: every pod's first container runs as a local process (command + args, env from
//     `env` values, cwd = workingDir if it exists, else a temporary directory; images,
//     securityContext, resources limits and volumes are NOT applied), in its own process group.
//     Its stdout+stderr become the pod log (pods/log) with real timestamps. Pod status as a
//     kubelet writes it (Pending -> Running -> Succeeded/Failed, containerStatuses with
//     containerID "fake-process://<pid>"). restartPolicy Always/OnFailure restarts in place with
//     CrashLoopBackOff (100 ms doubling to 2 s here; Kubernetes: 10 s to 5 min). Probes: exec,
//     httpGet and tcpSocket against 127.0.0.1, as startup, liveness and readiness probes. A
//     deleted pod gets SIGTERM on its process group, SIGKILL after its grace period, and is
//     removed once the process is gone;
//   - a garbage collector (ownerReferences; Background, Foreground and Orphan propagation; a
//     batch/v1 Job deleted without a policy orphans its pods, as the real API server does);
//   - admission as the ResourceQuota and LimitRanger plugins do it, with the real messages
//     (kubernetes-notes.md): object-count quotas refuse a client's POST with 403; pod quotas and
//     LimitRange maximums refuse a controller's pod with a FailedCreate Event (retried when
//     usage drops) and a client's pod with 403; LimitRange defaults are injected; the quota
//     controller keeps ResourceQuota status.hard/status.used current;
//   - API defaulting and a little validation (Job restartPolicy, CronJob schedule and name
//     length, Deployment selector), so a manifest Kubernetes would refuse is refused here too.
//
// Not played: the scheduler and nodes (every pod runs here), images, Services' networking,
// resource enforcement (no cgroups: no OOMKilled), init and sidecar containers (only the first
// container runs), Indexed jobs, pod failure policies, rolling updates (played as Recreate),
// progressDeadlineSeconds, HPA, RBAC, namespaces as objects, processes that leave their process
// group (setsid) when a container stops.
//
// Threads: one controller thread runs every controller and the kubelet's decisions and is the
// only writer of objects; each running container has one supervisor thread (output, exit,
// probes) that reports to the controller thread. Public methods may be called from any thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "fake_api_server.hpp"

namespace tjf::kubernetes::testing {

struct FakeClusterOptions {
  int port = 0;       // the API server's port on 127.0.0.1 (0: ephemeral)
  std::string token;  // when set, every request needs `Authorization: Bearer <token>`
  // Container restart back-off (CrashLoopBackOff): first delay, doubled per restart up to the
  // maximum, reset after a container ran for 10 s. Kubernetes: 10 s doubling to 5 min.
  std::chrono::milliseconds restart_backoff{100};
  std::chrono::milliseconds max_restart_backoff{2000};
  // A Job's delay before a replacement pod after a failure, doubled per failure. Kubernetes:
  // 10 s doubling to 6 min.
  std::chrono::milliseconds job_backoff{100};
  std::chrono::milliseconds max_job_backoff{2000};
  // A refused pod or Job creation (quota, LimitRange) is retried after this.
  std::chrono::milliseconds create_retry{300};
  // BOOKMARK events to watches that allow them, this often; 0: never (the real API server sends
  // them about once a minute).
  std::chrono::milliseconds bookmark_period{0};
  // One line per controller action and per API event; empty: no log.
  std::filesystem::path state_log;
};

class FakeCluster {
 public:
  explicit FakeCluster(FakeClusterOptions options = {});
  // shutdown(), then stops the API server.
  ~FakeCluster();
  FakeCluster(const FakeCluster&) = delete;
  FakeCluster& operator=(const FakeCluster&) = delete;

  FakeApiServer& server() { return server_; }
  std::string url() const { return server_.url(); }

  // FAKE-ONLY: fires the CronJob as if its schedule came due now, with its concurrencyPolicy.
  // The scheduled time is this minute, or the minute after the last scheduled time when that is
  // later (two fires in one minute get distinct Job names). Returns the Job created; errors:
  // kNotFound (no such CronJob), kFailedPrecondition (Forbid and a Job is active), or the
  // admission's refusal (kForbidden). Waits for the controller thread.
  Result<json> fireCronJob(const std::string& ns, const std::string& name);

  // FAKE-ONLY: moves the controllers' clock (cron schedules, deadlines, TTLs, timestamps)
  // forward. Grace periods and back-offs keep running on real time too.
  void advanceClock(std::chrono::seconds by);
  TimePoint now() const;

  // The main processes of the containers running now (for tests that check cleanup).
  std::vector<pid_t> processIds() const;

  // Stops the controllers and every container: SIGTERM to each process group, SIGKILL to what
  // is left after `grace`, then reaps. Idempotent; objects stay as they are.
  void shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(1000));

 private:
  struct PodState;
  class Container;
  struct ContainerReport;

  // Controller thread.
  void run();
  void reconcile();
  void syncPods(const std::vector<json>& pods);
  void syncPod(const json& pod);
  void startContainer(const std::string& path, const json& pod, PodState& state);
  void onContainerReport(const std::string& path, long long instance, const ContainerReport& report);
  void terminateContainer(PodState& state, long long grace_seconds);
  void writePodStatus(const std::string& path, PodState& state);
  void syncJob(const json& job, const std::vector<json>& pods);
  void syncCronJob(const json& cronjob, const std::vector<json>& jobs);
  Result<json> fire(const json& cronjob, TimePoint scheduled, const std::vector<json>& jobs);
  void syncDeployment(const json& deployment, const std::vector<json>& pods);
  void collectGarbage(const std::vector<json>& pods, const std::vector<json>& jobs,
                      const std::vector<json>& cronjobs, const std::vector<json>& deployments);
  void syncQuotas(const std::vector<json>& quotas);
  bool finishDeletion(const std::string& path, const json& object, const std::vector<json>& dependents,
                      const std::string& dependent_propagation);
  void deletePod(const json& pod);
  void deleteObject(const std::string& path, const json& object, const std::string& propagation);
  std::optional<Refusal> createPod(const json& pod);
  void recordEvent(const json& involved, const std::string& type, const std::string& reason,
                   const std::string& message, const std::string& component);
  void wakeAt(TimePoint when);
  void log(const std::string& line);

  // Any thread.
  void post(std::function<void()> task);
  void markDirty();
  std::optional<Refusal> admit(const std::string& path, json& object, const json& existing);

  FakeClusterOptions options_;
  std::atomic<long long> clock_offset_ms_{0};

  // The controller thread's work: tasks posted from other threads, and a dirty flag set by every
  // change the API server makes (level-triggered: a pass reconciles everything).
  std::mutex queue_mutex_;
  std::condition_variable queue_changed_;
  std::deque<std::function<void()>> tasks_;
  bool dirty_ = true;
  bool stopping_ = false;
  std::thread controller_;
  std::atomic<bool> shut_down_{false};

  // Controller-thread state.
  std::map<std::string, std::unique_ptr<PodState>> pods_;  // by pod path
  std::map<std::string, std::map<std::string, std::string>> job_outcomes_;  // job uid -> pod -> phase
  std::map<std::string, TimePoint> create_retry_at_;       // owner uid -> next creation attempt
  std::map<std::string, TimePoint> finished_at_;           // job uid -> when it finished (precise)
  std::map<std::string, std::pair<long long, TimePoint>> job_failures_;  // job uid -> failures, noticed
  std::map<std::string, std::string> replica_failures_;    // deployment uid -> refusal message
  std::set<std::string> noted_;                            // one-time events already recorded
  std::map<std::string, std::pair<std::string, int>> events_;  // dedupe key -> event path, count
  std::optional<TimePoint> next_wake_;
  std::chrono::steady_clock::time_point next_bookmark_;
  long long instances_ = 0;

  // The running main processes, for processIds() and shutdown().
  mutable std::mutex pids_mutex_;
  std::condition_variable pids_changed_;
  std::set<pid_t> pids_;

  std::mutex log_mutex_;
  std::ofstream state_log_;

  // Last: destroyed first, so no request thread calls a hook into members already gone.
  FakeApiServer server_;
};

}  // namespace tjf::kubernetes::testing

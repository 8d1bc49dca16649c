// The KubernetesRuntime's pure half for placed jobs (runtime.hpp, "the job-level seam"): what a
// scheduled or continuous job becomes when the cluster keeps it going by itself (a CronJob, or a
// Deployment and its Service), and how the Jobs and pods the cluster makes from those become the
// engine's observed runs and exits. No I/O and no clock reads: everything is a function of the
// placement and of the objects.
//
// Which watched object is what (all carry app.kubernetes.io/managed-by=toolforge-jobs-framework):
//
//   Job with jobs.toolforge.org/run-id        a per-run Job the runtime created (run_mapping.hpp)
//   Job with component=cronjobs, no run-id    made by a placed CronJob: one observed run
//   pod with component=deployments            of a placed Deployment: one observed run per
//                                             container incarnation ("<pod>/<restartCount>")
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "kubernetes/manifests.hpp"
#include "kubernetes/run_mapping.hpp"
#include "runtime/runtime.hpp"

namespace tjf::kubernetes {

using nlohmann::json;

// tjf's own: the generation of the placement that made a pod template (JobPlacement::generation).
// It is on the pod templates only, never on a Deployment's selector (which is immutable), so a
// new generation rolls the Deployment's pods.
inline constexpr std::string_view kLabelGeneration = "jobs.toolforge.org/generation";
// tjf's own: a digest of the object as tjf last wrote it, so placing an unchanged definition
// again (e.g. after a daemon restart) reads the object and writes nothing.
inline constexpr std::string_view kAnnotationPlacementDigest = "jobs.toolforge.org/placement-digest";

// (tool, job name)
using JobKey = std::pair<std::string, std::string>;

// Whether an environment variable of a placement stays out of its pods: the per-run ones (the
// cluster starts a placed job's runs, so there is no run id or attempt to give them) and the
// host's PATH and SHELL, which mean nothing inside the image.
bool isHostOrRunVariable(std::string_view key);

// The objects of a placed job, in creation order: manifestsFor() of the placement, plus
//   - the generation label on every pod template (and on a CronJob's jobTemplate, whose labels
//     the Jobs it makes carry: without them a CronJob's Jobs would carry no tjf label at all);
//   - the placement's environment in the container (isHostOrRunVariable() ones dropped; what the
//     manifest already sets, such as PORT, NO_HOME or HOME, kept);
//   - the identity: the placement's uid/gid, else the operator's run_as_uid/gid, as run Jobs do;
//   - the placement-digest annotation on each object.
// Errors: a one-off job (the engine runs those), no image, and manifestsFor()'s errors.
Result<std::vector<json>> placementManifests(const runtime::JobPlacement& placement,
                                             const ManifestOptions& options,
                                             const RunJobOptions& run_options);

// The REST collection of an object by its kind and namespace (CronJob, Deployment, Service,
// Job, Pod), e.g. "/apis/batch/v1/namespaces/tool-x/cronjobs"; empty for another kind.
std::string collectionOf(const json& object);

// 64-bit FNV-1a of the object's JSON text, as 16 hex digits (the placement digest).
std::string digestOf(const json& object);

// What a watched Job or pod is, by its labels (the caller knows which of the two it has).
enum class WatchedRole {
  kOther,          // not managed by tjf, or nothing the runtime follows (e.g. a one-off Job)
  kRunJob,         // a per-run Job, or a pod of one
  kCronJobRun,     // a Job made by a placed CronJob, or a pod of one
  kDeploymentPod,  // a pod of a placed Deployment
};
WatchedRole roleOf(const json& job_or_pod);

// The job a managed object belongs to: the tool from app.kubernetes.io/created-by, else the
// namespace minus `namespace_prefix`; the job from app.kubernetes.io/name, else the object's name.
std::optional<JobKey> jobKeyOf(const json& object, std::string_view namespace_prefix);

// The generation label of an object (0 when it has none, or not a number).
std::int64_t generationOf(const json& object);

// Whether the runtime captures the output of runs of this object: no file-log label.
bool capturesOutput(const json& object);

// A Job made by a CronJob as an observed run: external id = the Job's name; started at
// status.startTime, else its creationTimestamp; scheduled for the time in the controller's
// batch.kubernetes.io/cronjob-scheduled-timestamp annotation, else the one in its name
// ("<cronjob>-<minutes since the epoch>"), unset for a manual run (instantiate: manual).
runtime::ObservedRun observedCronJobRun(const json& job, std::string_view namespace_prefix);

// The Job a pod belongs to: its ownerReference of kind Job, else the batch.kubernetes.io/job-name
// or job-name label the Job controller sets; empty when none.
std::string ownerJobName(const json& pod);

// ---- Deployment pods: one run per container incarnation ----
// The container status of the pod's job container (named "job", else the first).
struct ContainerView {
  int restart_count = 0;
  json state = json::object();       // {running|waiting|terminated: {...}}
  json last_state = json::object();  // {terminated: {...}} of the previous incarnation
  std::string container_id;          // of the current container
};
std::optional<ContainerView> jobContainer(const json& pod);

// "<pod>/<restart count>" and back.
std::string incarnationId(std::string_view pod, int restart_count);
std::optional<std::pair<std::string, int>> parseIncarnationId(std::string_view id);

// The pod's current incarnation as an observed run once its container has started (it is
// running, or has already terminated); nullopt while it waits (creating, pulling, crash-loop
// back-off) or has no status. `incarnation` gets the restart count.
std::optional<runtime::ObservedRun> observedIncarnation(const json& pod, std::string_view namespace_prefix,
                                                        int* incarnation = nullptr);

// The exit of incarnation `incarnation` of `pod` when the pod shows it ended:
//   - its container terminated (state.terminated at the same restart count, or lastState after
//     the next restart, or lastState with the incarnation's `container_id` during a crash-loop
//     back-off): the container exit (exitOfContainer);
//   - the container restarted more than once since: Lost, as which exit it was is unknown;
//   - the pod failed (e.g. evicted) with no container result: Error with the pod's reason.
// nullopt while it runs. Deletion is the caller's (it knows whether a stop was asked for).
std::optional<runtime::RunExit> incarnationExit(std::int64_t run_id, const json& pod, int incarnation,
                                                const std::string& container_id);

// Whether the pod's job container has a liveness probe.
bool hasLivenessProbe(const json& pod);

// A liveness-probe kill among a pod's Events: the kubelet's "Killing" event ("Container job
// failed liveness probe, will be restarted") last seen within [started - 1 s, finished + 1 s].
// Returns the message for the exit report (the last "Liveness probe failed: ..." event's text
// when there is one), or nullopt.
std::optional<std::string> livenessKill(const std::vector<json>& events, std::optional<TimePoint> started,
                                        TimePoint finished);

// ---- Job notes: why a placed job does not run (runtime.hpp, JobNoteCallback) ----
// What a person sees as the job's status while it does not run. Quota refusals read as
// upstream's "Unable to start, out of quota for <types>" (namespace_quota.hpp, outOfQuotaMessage);
// anything else as "Unable to start: <the cluster's words>".

// The note for an API server's refusal of a placement write (`message` as in its Status body,
// e.g. `deployments.apps "web" is forbidden: exceeded quota: ..., requested:
// count/deployments.apps=1, ...` -> "Unable to start, out of quota for deployments").
std::string unableToStartNote(std::string_view message);

// The note a Deployment's status gives: its ReplicaFailure condition (status True), i.e. the
// ReplicaSet cannot create pods (a ResourceQuota, a LimitRange, a webhook). "" when there is none.
std::string deploymentNote(const json& deployment);

// The note a pod's job container gives while it cannot start at all (waiting for ErrImagePull,
// ImagePullBackOff, InvalidImageName, CreateContainerConfigError or CreateContainerError):
// "Unable to start: <reason>: <message>". "" otherwise (also for a pod being deleted: it goes).
std::string containerWaitNote(const json& pod);

// Whether the pod's job container runs now.
bool containerRunning(const json& pod);

}  // namespace tjf::kubernetes

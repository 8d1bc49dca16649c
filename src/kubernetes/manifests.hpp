// Kubernetes manifests for tjf jobs, as pure functions of the job definition (upstream-behaviour.md
// §10, with the choices of decisions.md). Nothing here does I/O or reads a clock: the same input
// always gives the same JSON, which is what the golden-manifest tests pin down.
//
//   one-off     -> batch/v1 Job
//   scheduled   -> batch/v1 CronJob (a manual run is a Job copied from its jobTemplate)
//   continuous  -> apps/v1 Deployment, plus a v1 Service when the job has a port
//
// Every object lives in namespace "<namespace_prefix><tool>" and is named after the job.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "model/images.hpp"
#include "model/job.hpp"
#include "model/resolve.hpp"
#include "model/tool.hpp"

namespace tjf::kubernetes {

using nlohmann::json;

// Where one operator-configured volume comes from. Exactly one source is set.
struct HostPathSource {
  std::string path;
  std::string type = "Directory";  // hostPath.type; "" leaves it unset
};
struct NfsSource {
  std::string server;
  std::string path;
};

// A volume mounted into every pod of a `--mount all` job. Upstream leaves this to an admission
// webhook (§10.6); a self-contained backend emits the volumes itself.
struct VolumeConfig {
  std::string name;        // the pod volume name (DNS-1123 label)
  std::string mount_path;  // where it appears in the container
  bool read_only = false;
  std::optional<HostPathSource> host_path;
  std::optional<NfsSource> nfs;
};

// Operator settings that shape every manifest. Defaults are upstream's production values.
struct ManifestOptions {
  std::string namespace_prefix = "tool-";
  // CPU limit of a job that sets no --cpu (upstream DEFAULT_CPU_LIMIT, production 1000m).
  std::string default_cpu_limit = "1";
  // Memory request == limit up to this many bytes; above it the request is half the limit.
  std::int64_t memory_request_equals_limit_up_to = 512LL * 1024 * 1024;
  std::int64_t ttl_seconds_after_finished = 30;
  int successful_jobs_history_limit = 1;
  int failed_jobs_history_limit = 1;
  std::int64_t progress_deadline_seconds = 600;
  std::int64_t termination_grace_period_seconds = 15;
  // Volumes for `--mount all`. When any are configured, pods of `--mount all` jobs also get the
  // environment the volume-admission webhook would inject (HOME, TOOL_DATA_DIR).
  std::vector<VolumeConfig> volumes;
};

// Everything a manifest is made from. `effective_schedule` is the 5-field schedule that the cron
// module computed (macros spread for tool and job); required for scheduled jobs.
struct ManifestInput {
  const model::JobSpec& spec;
  const model::ResolvedJob& resolved;
  const model::Tool& tool;
  const model::Image& image;
  std::string effective_schedule;
};

// Label keys and fixed values (§10.1).
inline constexpr std::string_view kLabelToolforge = "toolforge";
inline constexpr std::string_view kLabelManagedBy = "app.kubernetes.io/managed-by";
inline constexpr std::string_view kLabelCreatedBy = "app.kubernetes.io/created-by";
inline constexpr std::string_view kLabelVersion = "app.kubernetes.io/version";
inline constexpr std::string_view kLabelComponent = "app.kubernetes.io/component";
inline constexpr std::string_view kLabelName = "app.kubernetes.io/name";
inline constexpr std::string_view kLabelFilelog = "jobs.toolforge.org/filelog";
inline constexpr std::string_view kLabelEmails = "jobs.toolforge.org/emails";
inline constexpr std::string_view kLabelMountStorage = "toolforge.org/mount-storage";
// tjf's own: the run id of a Job that the KubernetesRuntime created for one engine run.
inline constexpr std::string_view kLabelRunId = "jobs.toolforge.org/run-id";
inline constexpr std::string_view kAnnotationCronExpression = "jobs.toolforge.org/cron-expression";
inline constexpr std::string_view kAnnotationInstantiate = "cronjob.kubernetes.io/instantiate";
inline constexpr std::string_view kManagedByValue = "toolforge-jobs-framework";
inline constexpr std::string_view kContainerName = "job";

// "jobs", "cronjobs" or "deployments".
std::string_view componentFor(model::JobType type);
std::string namespaceFor(std::string_view tool, const ManifestOptions& options);

// The full label set of a job's objects and pod templates.
json jobLabels(const ManifestInput& in);
// The labels that find a job's objects (lookups and deletes): the first three + component + name.
json lookupLabels(std::string_view tool, std::string_view job, model::JobType type);
// `k=v,k=v` for a labelSelector query parameter, in key order.
std::string labelSelector(const json& labels);

// A build-service image (Harbor project `tool-<x>/<name>:<tag>`): runs through `launcher`, with
// no working directory and NO_HOME. Everything else is a prebuilt image.
bool isBuildServiceImage(const model::Image& image);

// The container command (§10.4): build-service commands get `launcher ` prepended; with file
// logs, or a prebuilt image, the command runs under `/bin/sh -c --` with `exec 1>>'<stdout>';`
// and `exec 2>>'<stderr>';` in front. Unlike upstream, the paths are shell-quoted, so a path with
// spaces or `;` works. Without file logs, a build-service command is split like shlex.split.
Result<std::vector<std::string>> containerCommand(const ManifestInput& in);

// POSIX shell word splitting as Python's shlex.split: quotes and backslashes, no expansions.
// Unbalanced quotes are an error that names the command.
Result<std::vector<std::string>> shellSplit(std::string_view text);

// A Kubernetes quantity for a byte count: the largest exact binary (Ki..Ei) or decimal (k..E)
// suffix, else the plain number ("512Mi", "500M", "1234").
std::string bytesQuantity(std::int64_t bytes);
// The user's quantity as typed when Kubernetes accepts it verbatim, else `fallback`.
std::string quantityAsTyped(std::string_view typed, std::string_view fallback);

// The manifests. Errors (kInvalidArgument) for what Kubernetes would refuse anyway: a tool that
// would run as root (runAsNonRoot), a scheduled job without an effective schedule, a command
// that cannot be split, a volume with no or two sources.
Result<json> jobManifest(const ManifestInput& in, const ManifestOptions& options);
Result<json> cronJobManifest(const ManifestInput& in, const ManifestOptions& options);
Result<json> deploymentManifest(const ManifestInput& in, const ManifestOptions& options);
// The Service of a continuous job with a port; nullopt without one.
std::optional<json> serviceManifest(const ManifestInput& in, const ManifestOptions& options);

// All objects of a job, in creation order (the workload first, then its Service).
Result<std::vector<json>> manifestsFor(const ManifestInput& in, const ManifestOptions& options);

// A manual run of a CronJob (`toolforge jobs restart`): a Job named `<cronjob>-<unix seconds>`
// with the annotation cronjob.kubernetes.io/instantiate=manual, an ownerReference to the CronJob
// (which must carry metadata.uid, i.e. come from the API server) and a copy of its jobTemplate.
Result<json> manualJobFromCronJob(const json& cronjob, TimePoint now);

// The pod template for a single container: the shared part of every workload, also used by the
// KubernetesRuntime for the per-run Jobs it creates.
struct PodTemplateInput {
  std::string tool;
  model::JobType type = model::JobType::kOneOff;
  json labels;
  std::string image;                  // full reference
  std::vector<std::string> command;
  std::optional<std::string> working_dir;
  std::vector<std::pair<std::string, std::string>> env;
  json resources;
  uid_t uid = 0;
  gid_t gid = 0;
  bool mount_all = true;
  json probes = json::object();       // startupProbe/livenessProbe, continuous only
  json ports = json::array();         // container ports, continuous only
};
Result<json> podTemplate(const PodTemplateInput& in, const ManifestOptions& options);

// Container resources (§2.3, from the user's quantities as typed): memory limit = the memory,
// request = limit up to the threshold, else half of it; CPU request = the CPU, limit = the CPU
// when the user set one, else the operator's default limit.
json containerResources(const model::JobSpec& spec, const model::ResolvedJob& resolved,
                        const ManifestOptions& options);

}  // namespace tjf::kubernetes

// Quotas as the operator configures them and as the API reports them (decisions.md, "Quotas";
// upstream §5): the default quota and per-tool overrides, the creation-time refusals (per-job
// minimum and maximum, definition counts, images that cannot run here), and GET /quotas with
// upstream's three categories and live usage. The running quota itself is admitted by the engine
// (engine/admission.hpp). Runs on the loop thread.
//
// On a cluster (docs/kubernetes-quota.md) the figures come instead from the tool namespace's
// ResourceQuota and LimitRange (ResourceOptions::cluster_quota): the cluster admits running
// work itself, and the engine's admission is off.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/result.hpp"
#include "engine/admission.hpp"
#include "engine/engine.hpp"
#include "model/images.hpp"
#include "model/records.hpp"
#include "model/resolve.hpp"
#include "service/log_retention.hpp"
#include "store/store.hpp"

namespace tjf::service {

struct QuotaConfig {
  engine::ToolQuota defaults;
  std::map<std::string, engine::ToolQuota> per_tool;  // complete quotas (overrides merged in)

  const engine::ToolQuota& forTool(const std::string& tool) const;
};

// One configuration item, e.g. ("cpu", "4") or ("job_max_memory", "6Gi"). Keys: running_jobs,
// running_oneoff_cron, cron_jobs, continuous_jobs (counts); cpu, job_max_cpu, job_min_cpu
// (quantities of CPU); memory, job_max_memory, job_min_memory (quantities of memory). 0 means
// no limit. Errors name the key and the value.
Status applyQuotaSetting(engine::ToolQuota& quota, const std::string& key,
                         const std::string& value);

// Builds the configuration from the `quota:` mapping and the `tool_quotas:` mapping of mappings
// (each tool's items override the defaults). Errors name the tool and the key.
Result<QuotaConfig> quotaConfigFrom(
    const std::map<std::string, std::string>& defaults,
    const std::map<std::string, std::map<std::string, std::string>>& per_tool);

// A quantity as an operator would write it: "4Gi", "512Mi", "1", "500m".
std::string displayMemory(std::int64_t bytes);
std::string displayCpu(std::int64_t millis);

// Upstream's LimitRange messages (400), e.g. "Requested memory 5Gi is over maximum allowed per
// container (4Gi)"; the requested value as the user wrote it.
Status checkJobLimits(const engine::ToolQuota& quota, const model::ResolvedJob& job);

// Refuses a new cron or continuous definition beyond the tool's count (400). `tool_jobs`: the
// tool's jobs now; a job of the same name is being replaced or updated and does not count.
Status checkDefinitionCount(const engine::ToolQuota& quota, const model::JobSpec& spec,
                            const std::vector<model::JobRecord>& tool_jobs);

// The `quota` object of GET /quotas: upstream's categories, item names and number formats.
nlohmann::ordered_json quotaReport(const engine::ToolQuota& quota,
                                   const engine::RunningUsage& usage, int cron_definitions,
                                   int continuous_definitions);

// A tool's quota as its cluster states it: the ResourceQuota and the LimitRange of its namespace
// (upstream §5), in service terms. The daemon adapts the Kubernetes objects
// (kubernetes/namespace_quota.hpp); nothing here knows Kubernetes.
struct ClusterQuota {
  // One ResourceQuota item: a count, millicores or bytes. A hard 0 means "none allowed".
  struct Count {
    std::int64_t hard = 0;
    std::int64_t used = 0;
  };
  // One LimitRange bound: the quantity as the cluster writes it ("100Mi"), and its value.
  struct Bound {
    std::string text;
    std::int64_t value = 0;
  };
  // nullopt items: the quota does not limit them.
  struct Quota {
    std::optional<Count> pods;             // pods: every running run
    std::optional<Count> jobs;             // count/jobs.batch: running one-off and cron runs
    std::optional<Count> cron_jobs;        // count/cronjobs.batch
    std::optional<Count> continuous_jobs;  // count/deployments.apps
    std::optional<Count> cpu_millis;       // limits.cpu
    std::optional<Count> memory_bytes;     // limits.memory
  };
  // The LimitRange's Container item; nullopt bounds: not bounded.
  struct Limits {
    std::optional<Bound> min_cpu_millis;
    std::optional<Bound> max_cpu_millis;
    std::optional<Bound> min_memory_bytes;
    std::optional<Bound> max_memory_bytes;
  };
  std::optional<Quota> quota;    // nullopt: the namespace has no ResourceQuota 'tool-<tool>'
  std::optional<Limits> limits;  // nullopt: no LimitRange 'tool-<tool>' with a Container item
};

// The `quota` object of GET /quotas from the cluster's figures: upstream's categories, item
// names and number formats ("4.0", "8.0Gi"). Items the quota does not limit say "unlimited"; their
// use is tjf's own count (`usage`, `cron_definitions`, `continuous_definitions`). A definition
// count is never shown below the definitions tjf holds: scheduled and continuous jobs that run as
// per-run Jobs are no CronJobs or Deployments the cluster could count. Without a ResourceQuota or
// a LimitRange: upstream's 500 "Unable to load quota information for this tool".
Result<nlohmann::ordered_json> clusterQuotaReport(const ClusterQuota& cluster,
                                                  const engine::RunningUsage& usage,
                                                  int cron_definitions,
                                                  int continuous_definitions);

// Upstream's four LimitRange messages (400), against the Container min and max; the requested
// value as the user wrote it, the bound as the cluster writes it: "Requested memory 5Gi is over
// maximum allowed per container (4Gi)".
Status checkClusterJobLimits(const ClusterQuota::Limits& limits, const model::ResolvedJob& job);

// Refuses a new cron or continuous definition when the ResourceQuota's count/cronjobs.batch or
// count/deployments.apps has no room (400, the message of checkDefinitionCount). Counted: the
// larger of what the cluster counts and the tool's other definitions of that type in tjf, so it
// holds whether the runtime places definitions as CronJobs and Deployments or runs them itself.
// Replacing or updating a definition of the same name and type never adds an object and is never
// refused.
Status checkClusterDefinitionCount(const ClusterQuota::Quota& quota, const model::JobSpec& spec,
                                   const std::vector<model::JobRecord>& tool_jobs);

struct ResourceOptions {
  QuotaConfig quotas;
  bool oci_runtime = false;          // crun or runc is there to run images with a root filesystem
  std::string limits_not_enforced;  // empty, or why limits are not enforced (cgroups.hpp)
  // The log store's usage and limits, reported as a fourth category "Logs" (docs/logs.md);
  // null: not reported.
  LogRetention* logs = nullptr;
  // Set on a cluster (runtime: kubernetes): the tool's quota as its namespace states it. Then
  // `quotas` is not used, GET /quotas and the creation-time checks use these figures, and the
  // engine admits nothing itself (EngineOptions::quota unset). Called on the loop thread; must not
  // block (the daemon reads a cache). Errors pass through to the caller (e.g. 503 while the
  // figures are not loaded yet).
  std::function<Result<ClusterQuota>(const std::string& tool)> cluster_quota;
};

class QuotaService {
 public:
  QuotaService(store::Store& store, engine::Engine& engine, ResourceOptions options);

  const ResourceOptions& options() const { return options_; }
  // The quota JSON for GET /v1/tool/{tool}/quotas (with cluster_quota: clusterQuotaReport).
  Result<nlohmann::ordered_json> report(const std::string& tool);
  // Every creation-time check of this file, plus whether the image can run here
  // (runtime/oci.hpp: its root filesystem exists, an OCI runtime is installed). With
  // cluster_quota: the checks against the LimitRange and the ResourceQuota's definition counts,
  // each skipped when the namespace has no such object (nothing to enforce, and the cluster
  // enforces nothing either).
  Status checkDefinition(const std::string& tool, const model::JobSpec& spec,
                         const model::Image& image, const model::ResolvedJob& resolved);
  // A sentence for hints and `run` when limits are not enforced, else "".
  std::string limitsNote() const;

 private:
  store::Store& store_;
  engine::Engine& engine_;
  ResourceOptions options_;
};

}  // namespace tjf::service

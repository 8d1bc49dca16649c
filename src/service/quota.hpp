// Quotas as the operator configures them and as the API reports them (decisions.md, "Quotas";
// upstream §5): the default quota and per-tool overrides, the creation-time refusals (per-job
// minimum and maximum, definition counts, images that cannot run here), and GET /quotas with
// upstream's three categories and live usage. The running quota itself is admitted by the engine
// (engine/admission.hpp). Runs on the loop thread.
#pragma once

#include <map>
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

struct ResourceOptions {
  QuotaConfig quotas;
  bool oci_runtime = false;          // crun or runc is there to run images with a root filesystem
  std::string limits_not_enforced;  // empty, or why limits are not enforced (cgroups.hpp)
  // The log store's usage and limits, reported as a fourth category "Logs" (docs/logs.md);
  // null: not reported.
  LogRetention* logs = nullptr;
};

class QuotaService {
 public:
  QuotaService(store::Store& store, engine::Engine& engine, ResourceOptions options);

  const ResourceOptions& options() const { return options_; }
  // The quota JSON for GET /v1/tool/{tool}/quotas.
  Result<nlohmann::ordered_json> report(const std::string& tool);
  // Every creation-time check of this file, plus whether the image can run here
  // (runtime/oci.hpp: its root filesystem exists, an OCI runtime is installed).
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

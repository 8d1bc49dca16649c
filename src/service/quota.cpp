#include "service/quota.hpp"

#include <algorithm>

#include "model/quantity.hpp"
#include "runtime/oci.hpp"

namespace tjf::service {
namespace {

using nlohmann::ordered_json;

constexpr std::int64_t kKi = 1024;
constexpr std::int64_t kMi = kKi * 1024;
constexpr std::int64_t kGi = kMi * 1024;

std::string limitText(std::int64_t limit, const std::string& formatted) {
  return limit > 0 ? formatted : "unlimited";
}

ordered_json item(const std::string& name, const std::string& limit,
                  const std::optional<std::string>& used) {
  return ordered_json{{"name", name},
                      {"limit", limit},
                      {"used", used ? ordered_json(*used) : ordered_json(nullptr)}};
}

tl::unexpected<Error> outOfDefinitions(const std::string& kind, std::int64_t have,
                                       std::int64_t limit, const std::string& job) {
  return makeError(ErrorCode::kFailedPrecondition,
                   "Out of quota for this kind of job: the tool already has " +
                       std::to_string(have) + " " + kind + " and may have at most " +
                       std::to_string(limit) + ", so job '" + job +
                       "' cannot be created. Please see https://w.wiki/6YLP for details.");
}

}  // namespace

const engine::ToolQuota& QuotaConfig::forTool(const std::string& tool) const {
  const auto it = per_tool.find(tool);
  return it == per_tool.end() ? defaults : it->second;
}

Status applyQuotaSetting(engine::ToolQuota& q, const std::string& key, const std::string& value) {
  const std::string what = "quota '" + key + "'";
  int* count = key == "running_jobs"          ? &q.running_jobs
               : key == "running_oneoff_cron" ? &q.running_oneoff_cron
               : key == "cron_jobs"           ? &q.cron_jobs
               : key == "continuous_jobs"     ? &q.continuous_jobs
                                              : nullptr;
  if (count) {
    std::size_t used = 0;
    int n = -1;
    try {
      n = std::stoi(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != value.size() || n < 0) {
      return invalidArgument(what + ": '" + value + "' is not a count (0 for no limit)");
    }
    *count = n;
    return {};
  }
  std::int64_t* cpu = key == "cpu"           ? &q.cpu_millis
                      : key == "job_max_cpu" ? &q.job_max_cpu_millis
                      : key == "job_min_cpu" ? &q.job_min_cpu_millis
                                             : nullptr;
  std::int64_t* memory = key == "memory"           ? &q.memory_bytes
                         : key == "job_max_memory" ? &q.job_max_memory_bytes
                         : key == "job_min_memory" ? &q.job_min_memory_bytes
                                                   : nullptr;
  if (!cpu && !memory) return invalidArgument("unknown quota item '" + key + "'");
  auto parsed = model::parseQuantity(value);
  if (!parsed) return invalidArgument(what + ": " + parsed.error().message);
  if (cpu) *cpu = model::cpuMillis(*parsed);
  if (memory) *memory = model::memoryBytes(*parsed);
  return {};
}

Result<QuotaConfig> quotaConfigFrom(
    const std::map<std::string, std::string>& defaults,
    const std::map<std::string, std::map<std::string, std::string>>& per_tool) {
  QuotaConfig config;
  for (const auto& [key, value] : defaults) {
    if (auto ok = applyQuotaSetting(config.defaults, key, value); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  for (const auto& [tool, settings] : per_tool) {
    engine::ToolQuota quota = config.defaults;
    for (const auto& [key, value] : settings) {
      if (auto ok = applyQuotaSetting(quota, key, value); !ok) {
        return invalidArgument("tool '" + tool + "': " + ok.error().message);
      }
    }
    config.per_tool[tool] = quota;
  }
  return config;
}

std::string displayMemory(std::int64_t bytes) {
  if (bytes > 0 && bytes % kGi == 0) return std::to_string(bytes / kGi) + "Gi";
  if (bytes > 0 && bytes % kMi == 0) return std::to_string(bytes / kMi) + "Mi";
  if (bytes > 0 && bytes % kKi == 0) return std::to_string(bytes / kKi) + "Ki";
  return std::to_string(bytes);
}

std::string displayCpu(std::int64_t millis) {
  if (millis % 1000 == 0) return std::to_string(millis / 1000);
  return std::to_string(millis) + "m";
}

Status checkJobLimits(const engine::ToolQuota& q, const model::ResolvedJob& job) {
  if (q.job_min_cpu_millis > 0 && job.cpu_millis < q.job_min_cpu_millis) {
    return invalidArgument("Requested CPU " + job.cpu + " is less than minimum required per "
                           "container (" + displayCpu(q.job_min_cpu_millis) + ")");
  }
  if (q.job_max_cpu_millis > 0 && job.cpu_millis > q.job_max_cpu_millis) {
    return invalidArgument("Requested CPU " + job.cpu + " is over maximum allowed per container (" +
                           displayCpu(q.job_max_cpu_millis) + ")");
  }
  if (q.job_min_memory_bytes > 0 && job.memory_bytes < q.job_min_memory_bytes) {
    return invalidArgument("Requested memory " + job.memory + " is less than minimum required "
                           "per container (" + displayMemory(q.job_min_memory_bytes) + ")");
  }
  if (q.job_max_memory_bytes > 0 && job.memory_bytes > q.job_max_memory_bytes) {
    return invalidArgument("Requested memory " + job.memory + " is over maximum allowed per "
                           "container (" + displayMemory(q.job_max_memory_bytes) + ")");
  }
  return {};
}

Status checkDefinitionCount(const engine::ToolQuota& q, const model::JobSpec& spec,
                            const std::vector<model::JobRecord>& tool_jobs) {
  int limit = 0;
  std::string kind;
  if (spec.type == model::JobType::kScheduled) {
    limit = q.cron_jobs;
    kind = "cron jobs";
  } else if (spec.type == model::JobType::kContinuous) {
    limit = q.continuous_jobs;
    kind = "continuous jobs";
  }
  if (limit <= 0) return {};
  int others = 0;
  for (const auto& job : tool_jobs) {
    if (job.spec.type == spec.type && job.spec.name != spec.name) ++others;
  }
  if (others < limit) return {};
  return outOfDefinitions(kind, others, limit, spec.name);
}

ordered_json quotaReport(const engine::ToolQuota& q, const engine::RunningUsage& usage,
                         int cron_definitions, int continuous_definitions) {
  const auto count = [](int n) { return n > 0 ? std::to_string(n) : std::string("unlimited"); };
  ordered_json categories = ordered_json::array();
  categories.push_back(ordered_json{
      {"name", "Running jobs"},
      {"items",
       ordered_json::array(
           {item("Total running jobs at once (Kubernetes pods)", count(q.running_jobs),
                 std::to_string(usage.runs)),
            item("Running one-off and cron jobs", count(q.running_oneoff_cron),
                 std::to_string(usage.oneoff_cron_runs)),
            item("CPU", limitText(q.cpu_millis, model::formatCpu(q.cpu_millis)),
                 model::formatCpu(usage.cpu_millis)),
            item("Memory", limitText(q.memory_bytes, model::formatMemoryGi(q.memory_bytes)),
                 model::formatMemoryGi(usage.memory_bytes))})}});
  categories.push_back(ordered_json{
      {"name", "Per-job limits"},
      {"items",
       ordered_json::array(
           {item("CPU", limitText(q.job_max_cpu_millis, model::formatCpu(q.job_max_cpu_millis)),
                 std::nullopt),
            item("Memory",
                 limitText(q.job_max_memory_bytes, model::formatMemoryGi(q.job_max_memory_bytes)),
                 std::nullopt)})}});
  categories.push_back(ordered_json{
      {"name", "Job definitions"},
      {"items", ordered_json::array({item("Cron jobs", count(q.cron_jobs),
                                          std::to_string(cron_definitions)),
                                     item("Continuous jobs (including web services)",
                                          count(q.continuous_jobs),
                                          std::to_string(continuous_definitions))})}});
  return ordered_json{{"categories", categories}};
}

Result<ordered_json> clusterQuotaReport(const ClusterQuota& cluster,
                                        const engine::RunningUsage& usage, int cron_definitions,
                                        int continuous_definitions) {
  if (!cluster.quota || !cluster.limits) {
    return internalError("Unable to load quota information for this tool");
  }
  const ClusterQuota::Quota& q = *cluster.quota;
  const ClusterQuota::Limits& l = *cluster.limits;
  using Format = std::string (*)(std::int64_t);
  const Format count = [](std::int64_t n) { return std::to_string(n); };
  const Format cpu = [](std::int64_t millis) { return model::formatCpu(millis); };
  const Format memory = [](std::int64_t bytes) { return model::formatMemoryGi(bytes); };
  // What the cluster counts; an item it does not limit shows tjf's own count.
  const auto running = [](const std::string& name, const std::optional<ClusterQuota::Count>& c,
                          Format format, std::int64_t own) {
    return c ? item(name, format(c->hard), format(c->used)) : item(name, "unlimited", format(own));
  };
  const auto definitions = [&](const std::string& name,
                               const std::optional<ClusterQuota::Count>& c, int own) {
    return c ? item(name, count(c->hard), count(std::max<std::int64_t>(c->used, own)))
             : item(name, "unlimited", count(own));
  };
  const auto bound = [](const std::optional<ClusterQuota::Bound>& b, Format format) {
    return b ? format(b->value) : std::string("unlimited");
  };
  ordered_json categories = ordered_json::array();
  categories.push_back(ordered_json{
      {"name", "Running jobs"},
      {"items", ordered_json::array(
                    {running("Total running jobs at once (Kubernetes pods)", q.pods, count,
                             usage.runs),
                     running("Running one-off and cron jobs", q.jobs, count,
                             usage.oneoff_cron_runs),
                     running("CPU", q.cpu_millis, cpu, usage.cpu_millis),
                     running("Memory", q.memory_bytes, memory, usage.memory_bytes)})}});
  categories.push_back(ordered_json{
      {"name", "Per-job limits"},
      {"items", ordered_json::array({item("CPU", bound(l.max_cpu_millis, cpu), std::nullopt),
                                     item("Memory", bound(l.max_memory_bytes, memory),
                                          std::nullopt)})}});
  categories.push_back(ordered_json{
      {"name", "Job definitions"},
      {"items", ordered_json::array(
                    {definitions("Cron jobs", q.cron_jobs, cron_definitions),
                     definitions("Continuous jobs (including web services)", q.continuous_jobs,
                                 continuous_definitions)})}});
  return ordered_json{{"categories", categories}};
}

Status checkClusterJobLimits(const ClusterQuota::Limits& l, const model::ResolvedJob& job) {
  if (l.min_cpu_millis && job.cpu_millis < l.min_cpu_millis->value) {
    return invalidArgument("Requested CPU " + job.cpu + " is less than minimum required per "
                           "container (" + l.min_cpu_millis->text + ")");
  }
  if (l.max_cpu_millis && job.cpu_millis > l.max_cpu_millis->value) {
    return invalidArgument("Requested CPU " + job.cpu + " is over maximum allowed per container (" +
                           l.max_cpu_millis->text + ")");
  }
  if (l.min_memory_bytes && job.memory_bytes < l.min_memory_bytes->value) {
    return invalidArgument("Requested memory " + job.memory + " is less than minimum required "
                           "per container (" + l.min_memory_bytes->text + ")");
  }
  if (l.max_memory_bytes && job.memory_bytes > l.max_memory_bytes->value) {
    return invalidArgument("Requested memory " + job.memory + " is over maximum allowed per "
                           "container (" + l.max_memory_bytes->text + ")");
  }
  return {};
}

Status checkClusterDefinitionCount(const ClusterQuota::Quota& q, const model::JobSpec& spec,
                                   const std::vector<model::JobRecord>& tool_jobs) {
  const std::optional<ClusterQuota::Count>* limit = nullptr;
  std::string kind;
  if (spec.type == model::JobType::kScheduled) {
    limit = &q.cron_jobs;
    kind = "cron jobs";
  } else if (spec.type == model::JobType::kContinuous) {
    limit = &q.continuous_jobs;
    kind = "continuous jobs";
  }
  if (!limit || !*limit) return {};
  std::int64_t others = 0;
  for (const auto& job : tool_jobs) {
    if (job.spec.type != spec.type) continue;
    if (job.spec.name == spec.name) return {};  // an update: the object exists already
    ++others;
  }
  const std::int64_t have = std::max((*limit)->used, others);
  if (have < (*limit)->hard) return {};
  return outOfDefinitions(kind, have, (*limit)->hard, spec.name);
}

QuotaService::QuotaService(store::Store& store, engine::Engine& engine, ResourceOptions options)
    : store_(store), engine_(engine), options_(std::move(options)) {}

Result<ordered_json> QuotaService::report(const std::string& tool) {
  auto usage = engine_.runningUsage(tool);
  if (!usage) return tl::unexpected(usage.error());
  auto jobs = store_.jobsOfTool(tool);
  if (!jobs) return tl::unexpected(jobs.error());
  int cron = 0, continuous = 0;
  for (const auto& job : *jobs) {
    if (job.spec.type == model::JobType::kScheduled) ++cron;
    if (job.spec.type == model::JobType::kContinuous) ++continuous;
  }
  ordered_json report;
  if (options_.cluster_quota) {
    auto cluster = options_.cluster_quota(tool);
    if (!cluster) return tl::unexpected(cluster.error());
    auto made = clusterQuotaReport(*cluster, *usage, cron, continuous);
    if (!made) return tl::unexpected(made.error());
    report = std::move(*made);
  } else {
    report = quotaReport(options_.quotas.forTool(tool), *usage, cron, continuous);
  }
  if (options_.logs) report["categories"].push_back(options_.logs->quotaCategory(tool));
  return report;
}

Status QuotaService::checkDefinition(const std::string& tool, const model::JobSpec& spec,
                                     const model::Image& image,
                                     const model::ResolvedJob& resolved) {
  if (options_.cluster_quota) {
    auto cluster = options_.cluster_quota(tool);
    if (!cluster) return tl::unexpected(cluster.error());
    if (cluster->limits) {
      if (auto ok = checkClusterJobLimits(*cluster->limits, resolved); !ok) return ok;
    }
    if (cluster->quota && spec.type != model::JobType::kOneOff) {
      auto jobs = store_.jobsOfTool(tool);
      if (!jobs) return tl::unexpected(jobs.error());
      if (auto ok = checkClusterDefinitionCount(*cluster->quota, spec, *jobs); !ok) return ok;
    }
    return runtime::checkImageRunnable(image, options_.oci_runtime);
  }
  const engine::ToolQuota& quota = options_.quotas.forTool(tool);
  if (auto ok = checkJobLimits(quota, resolved); !ok) return ok;
  if (spec.type != model::JobType::kOneOff) {
    auto jobs = store_.jobsOfTool(tool);
    if (!jobs) return tl::unexpected(jobs.error());
    if (auto ok = checkDefinitionCount(quota, spec, *jobs); !ok) return ok;
  }
  return runtime::checkImageRunnable(image, options_.oci_runtime);
}

std::string QuotaService::limitsNote() const {
  if (options_.limits_not_enforced.empty()) return {};
  return "Memory and CPU limits are not enforced on this machine: " +
         options_.limits_not_enforced + ".";
}

}  // namespace tjf::service

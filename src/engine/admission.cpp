#include "engine/admission.hpp"

#include <algorithm>

namespace tjf::engine {
namespace {

constexpr std::string_view kQuotaWait = "Unable to start, out of quota for ";

bool counted(model::JobType type) {
  return type == model::JobType::kOneOff || type == model::JobType::kScheduled;
}

// Whether `used + extra` goes over `limit` (0: no limit).
bool over(std::int64_t limit, std::int64_t used, std::int64_t extra) {
  return limit > 0 && used + extra > limit;
}

}  // namespace

void RunningUsage::add(const RunDemand& run) {
  ++runs;
  if (counted(run.type)) ++oneoff_cron_runs;
  cpu_millis += run.cpu_millis;
  memory_bytes += run.memory_bytes;
}

std::string Admission::message() const {
  if (admitted) return {};
  std::string text(kQuotaWait);
  for (std::size_t i = 0; i < short_of.size(); ++i) text += (i ? ", " : "") + short_of[i];
  return text;
}

Admission admit(const ToolQuota& quota, const RunningUsage& usage, const RunDemand& run) {
  Admission a;
  if (over(quota.cpu_millis, usage.cpu_millis, run.cpu_millis)) a.short_of.push_back("cpu");
  if (counted(run.type) && over(quota.running_oneoff_cron, usage.oneoff_cron_runs, 1)) {
    a.short_of.push_back("jobs");
  }
  if (over(quota.memory_bytes, usage.memory_bytes, run.memory_bytes)) {
    a.short_of.push_back("memory");
  }
  if (over(quota.running_jobs, usage.runs, 1)) a.short_of.push_back("pods");
  std::sort(a.short_of.begin(), a.short_of.end());
  a.admitted = a.short_of.empty();
  return a;
}

bool isQuotaWait(const std::string& message) { return message.rfind(kQuotaWait, 0) == 0; }

}  // namespace tjf::engine

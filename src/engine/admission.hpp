// Quota as data, and the pure admission decision: may this run start now, given what the tool's
// runs already use? (decisions.md, "Quotas"; upstream §5.) No I/O and no clock, so the Kubernetes
// backend can reuse it, and tests are tables of cases.
//
// The running quota mirrors upstream's ResourceQuota (pods, count/jobs.batch, limits.cpu,
// limits.memory), the per-job limits its LimitRange (min and max per container), the definition
// counts its object-count quotas (count/cronjobs.batch, count/deployments.apps). A run over the
// running quota does not fail: it waits as pending, with a hint naming what is short
// ("Unable to start, out of quota for cpu"), and starts by itself when room frees up.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/job.hpp"

namespace tjf::engine {

// One tool's limits. A value of 0 means "no limit" for that item.
struct ToolQuota {
  // Running jobs
  int running_jobs = 10;           // every running run (upstream: pods)
  int running_oneoff_cron = 15;    // running runs of one-off and scheduled jobs (jobs.batch)
  std::int64_t cpu_millis = 2000;  // sum of the running runs' CPU limits
  std::int64_t memory_bytes = std::int64_t{8} << 30;
  // Per-job limits
  std::int64_t job_max_cpu_millis = 1000;
  std::int64_t job_max_memory_bytes = std::int64_t{4} << 30;
  // Below these a job cannot do anything useful (and the kernel's CPU quota floor is 10m).
  std::int64_t job_min_cpu_millis = 10;
  std::int64_t job_min_memory_bytes = std::int64_t{32} << 20;
  // Job definitions
  int cron_jobs = 50;
  int continuous_jobs = 3;

  bool operator==(const ToolQuota&) const = default;
};

// What one run asks for.
struct RunDemand {
  model::JobType type = model::JobType::kOneOff;
  std::int64_t cpu_millis = 0;
  std::int64_t memory_bytes = 0;
};

// What a tool's running runs use now.
struct RunningUsage {
  int runs = 0;
  int oneoff_cron_runs = 0;
  std::int64_t cpu_millis = 0;
  std::int64_t memory_bytes = 0;

  void add(const RunDemand& run);
  bool operator==(const RunningUsage&) const = default;
};

struct Admission {
  bool admitted = true;
  // What is short, sorted and without repeats: "cpu", "jobs" (one-off and cron runs), "memory",
  // "pods" (all runs).
  std::vector<std::string> short_of;

  // "Unable to start, out of quota for cpu, memory" (upstream's status wording), or "" when
  // admitted.
  std::string message() const;
};

// Whether `run` may start next to `usage` under `quota`.
Admission admit(const ToolQuota& quota, const RunningUsage& usage, const RunDemand& run);

// Whether a status message is a quota wait written by the engine (see Admission::message).
bool isQuotaWait(const std::string& message);

}  // namespace tjf::engine

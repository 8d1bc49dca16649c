// The KubernetesRuntime's pure half: how one engine run becomes a batch/v1 Job, and how the Job's
// and its pods' status become the exit report the engine expects (runtime::RunExit with a
// model::RunReason string). No I/O and no clock reads: everything is a function of the objects.
//
// The engine owns retries, schedules and supervision, so a run's Job never retries by itself
// (backoffLimit 0); Kubernetes concepts stop here and never reach the engine.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "kubernetes/manifests.hpp"
#include "runtime/runtime.hpp"

namespace tjf::kubernetes {

using nlohmann::json;

struct RunJobOptions {
  // Used when the request carries no identity (personal mode): pods never run as root.
  uid_t default_uid = 0;
  gid_t default_gid = 0;
  // A finished run's Job is deleted by tjfd once its result and output are collected; the TTL is
  // the safety net for a daemon that is down meanwhile (long enough to re-adopt the result).
  std::int64_t ttl_seconds_after_finished = 86'400;
};

// "<job>-run<id>", the job part shortened so the whole stays a 63-character label value.
std::string runJobName(const std::string& job_name, std::int64_t run_id);

// The Job for one run: the job's labels plus jobs.toolforge.org/run-id, the command wrapped for
// file logs (quoted paths) or run by /bin/sh, the run's environment without the host's PATH and
// SHELL, resources from the run's limits, activeDeadlineSeconds from its timeout.
Result<json> runJobManifest(const runtime::RunRequest& request, const ManifestOptions& options,
                            const RunJobOptions& run_options);

// A manual run of a placed CronJob (`restart`): manualJobFromCronJob() of `cronjob`, renamed
// and labelled as the run's own Job `run_job` (runJobManifest) is, on the Job and on its pods, so
// the runtime tracks it as that run. nullopt when the CronJob cannot be copied.
std::optional<json> manualRunFromCronJob(const json& cronjob, const json& run_job, TimePoint now);

// The run id a Job or pod carries in its labels.
std::optional<std::int64_t> runIdOf(const json& object);

// Whether a Job has finished (condition Complete or Failed is True).
bool jobFinished(const json& job);

// The exit of a finished Job, from its conditions and its pods' container states: Completed
// (exit 0); Timeout (DeadlineExceeded); OomKilled; Signal; Error with the exit code. nullopt while
// the Job has not finished.
std::optional<runtime::RunExit> exitOfFinishedJob(std::int64_t run_id, const json& job,
                                                  const std::vector<json>& pods);

// The exit of one container from its `terminated` state (a containerStatus's state.terminated
// or lastState.terminated): OOMKilled -> OomKilled; a signal -> Signal; exit 0 -> Completed;
// else Error with the exit code; times from startedAt/finishedAt.
runtime::RunExit exitOfContainer(std::int64_t run_id, const json& terminated);

// A start failure visible only in the pods (the Job stays active): an image that cannot be
// pulled, a container that cannot be created. StartError with Kubernetes' reason and message.
std::optional<runtime::RunExit> startFailure(std::int64_t run_id, const std::vector<json>& pods,
                                             TimePoint now);

// The exit of a run whose Job disappeared: its last known state if it had finished, else Stopped
// (tjf asked for the deletion) or Lost (someone else deleted it, or the TTL did while tjfd was
// away).
runtime::RunExit exitOfDeletedJob(std::int64_t run_id, const std::optional<json>& last_job,
                                  const std::vector<json>& pods, bool stop_requested, TimePoint now);

// A timestamp as Kubernetes writes it ("2026-01-01T00:00:01Z", fractions up to nanoseconds).
std::optional<TimePoint> parseKubernetesTime(std::string_view text);

// One line of `pods/log?timestamps=true` as a captured-output record for the log store:
// "<unix-micros> o <text>" (Kubernetes merges stdout and stderr, so every line is 'o').
// nullopt for a line without a timestamp.
std::optional<std::string> capturedRecord(std::string_view log_line);

}  // namespace tjf::kubernetes

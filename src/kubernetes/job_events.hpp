// What a Job's FailedCreate Event says about its run (upstream-behaviour.md §4): the Job
// controller tried to create the run's pod and the API server refused it. Pure functions; the
// KubernetesRuntime watches these Events (one reflector per scope, kJobFailedCreateSelector) and
// turns them into a note on the run or into its StartError.
//
//   "Error creating: pods \"x-kvlz8\" is forbidden: exceeded quota: tool-demo, requested: pods=1,
//    used: pods=4, limited: pods=4"
//       a quota wait: the controller retries, and the pod starts once the tool's other runs make
//       room. Upstream's status: "Unable to start, out of quota for pods".
//   "Error creating: pods \"x-kvlz8\" is forbidden: maximum memory usage per Container is 4Gi,
//    but limit is 8Gi"
//       a LimitRange refusal: the same pod is refused on every retry, so the run never starts.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/clock.hpp"

namespace tjf::kubernetes {

using nlohmann::json;

// The Events a runtime watches for refused pods of Jobs. A real API server supports both fields
// in an Event field selector; the runtime still checks the kind itself.
inline constexpr std::string_view kJobFailedCreateSelector = "involvedObject.kind=Job,reason=FailedCreate";
// Every FailedCreate Event: those of Jobs (a refused pod) and of CronJobs (a refused Job, e.g.
// over `count/jobs.batch`). The KubernetesRuntime watches this one and sorts by kind itself (a
// field selector cannot say "Job or CronJob").
inline constexpr std::string_view kFailedCreateSelector = "reason=FailedCreate";

enum class PodRefusal {
  kQuota,       // over the namespace's ResourceQuota: waits for room
  kLimitRange,  // outside the namespace's LimitRange: never starts
  kOther,       // anything else (a webhook, a terminating namespace, ...): retried by the controller
};

struct FailedCreate {
  PodRefusal kind = PodRefusal::kOther;
  // kQuota: the status upstream shows ("Unable to start, out of quota for cpu, memory");
  // otherwise the API server's message without the controller's "Error creating: ".
  std::string text;
};

// The refusal a FailedCreate Event about a Job reports; nullopt for every other Event.
std::optional<FailedCreate> failedCreateOf(const json& event);

// "<namespace>/<name>" of the Job an Event is about; empty when it is not about a Job.
std::string involvedJobKey(const json& event);

// "<namespace>/<name>" of the CronJob a FailedCreate Event is about; empty for any other Event.
std::string involvedCronJobKey(const json& event);

// What a CronJob's FailedCreate Event ("Error creating job: jobs.batch \"x\" is forbidden:
// exceeded quota: ...") means for the placed job: the quota note ("Unable to start, out of quota
// for jobs"), else "Unable to start: <the message without the controller's prefix>". nullopt for
// every other Event.
std::optional<std::string> cronJobRefusalNote(const json& event);

// When an Event last happened: series.lastObservedTime (events.k8s.io writers), lastTimestamp,
// eventTime, else its creationTimestamp; nullopt when it carries none.
std::optional<TimePoint> eventLastSeen(const json& event);

}  // namespace tjf::kubernetes

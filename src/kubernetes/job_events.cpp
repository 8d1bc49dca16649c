#include "kubernetes/job_events.hpp"

#include "kubernetes/namespace_quota.hpp"
#include "kubernetes/run_mapping.hpp"

namespace tjf::kubernetes {
namespace {

std::string stringAt(const json& object, const json::json_pointer& at) {
  if (!object.contains(at)) return {};
  const json& value = object.at(at);
  return value.is_string() ? value.get<std::string>() : std::string();
}

// The LimitRanger admission plugin's refusals (k8s plugin/pkg/admission/limitranger):
// "minimum|maximum <resource> usage per Container|Pod is ..." and "<resource> max limit to
// request ratio per Container|Pod is ...". They name no quota, and a retry gets the same answer.
bool isLimitRangeRefusal(std::string_view message) {
  constexpr std::string_view kForbidden = "is forbidden: ";
  const auto at = message.find(kForbidden);
  if (at == std::string_view::npos) return false;
  const std::string_view why = message.substr(at + kForbidden.size());
  return why.find(" usage per Container is ") != std::string_view::npos ||
         why.find(" usage per Pod is ") != std::string_view::npos ||
         why.find(" limit to request ratio per Container is ") != std::string_view::npos ||
         why.find(" limit to request ratio per Pod is ") != std::string_view::npos;
}

}  // namespace

std::string involvedJobKey(const json& event) {
  if (!event.is_object() || stringAt(event, "/involvedObject/kind"_json_pointer) != "Job") return {};
  const std::string name = stringAt(event, "/involvedObject/name"_json_pointer);
  std::string ns = stringAt(event, "/involvedObject/namespace"_json_pointer);
  if (ns.empty()) ns = stringAt(event, "/metadata/namespace"_json_pointer);
  if (name.empty() || ns.empty()) return {};
  return ns + "/" + name;
}

std::optional<FailedCreate> failedCreateOf(const json& event) {
  if (involvedJobKey(event).empty() || stringAt(event, "/reason"_json_pointer) != "FailedCreate") {
    return std::nullopt;
  }
  if (auto quota = outOfQuotaStatus(event)) return FailedCreate{.kind = PodRefusal::kQuota, .text = *quota};
  std::string message = stringAt(event, "/message"_json_pointer);
  constexpr std::string_view kPrefix = "Error creating: ";
  if (message.starts_with(kPrefix)) message.erase(0, kPrefix.size());
  return FailedCreate{.kind = isLimitRangeRefusal(message) ? PodRefusal::kLimitRange : PodRefusal::kOther,
                      .text = message};
}

std::string involvedCronJobKey(const json& event) {
  if (!event.is_object() || stringAt(event, "/involvedObject/kind"_json_pointer) != "CronJob" ||
      stringAt(event, "/reason"_json_pointer) != "FailedCreate") {
    return {};
  }
  const std::string name = stringAt(event, "/involvedObject/name"_json_pointer);
  std::string ns = stringAt(event, "/involvedObject/namespace"_json_pointer);
  if (ns.empty()) ns = stringAt(event, "/metadata/namespace"_json_pointer);
  if (name.empty() || ns.empty()) return {};
  return ns + "/" + name;
}

std::optional<std::string> cronJobRefusalNote(const json& event) {
  if (involvedCronJobKey(event).empty()) return std::nullopt;
  if (auto quota = outOfQuotaStatus(event)) return *quota;
  std::string message = stringAt(event, "/message"_json_pointer);
  // The CronJob controller's words: "Error creating job: <the API server's message>".
  for (std::string_view prefix : {"Error creating job: ", "Error creating: "}) {
    if (message.starts_with(prefix)) {
      message.erase(0, prefix.size());
      break;
    }
  }
  return "Unable to start: " + message;
}

std::optional<TimePoint> eventLastSeen(const json& event) {
  for (const auto* at : {"/series/lastObservedTime", "/lastTimestamp", "/eventTime", "/metadata/creationTimestamp"}) {
    const std::string text = event.is_object() ? stringAt(event, json::json_pointer(at)) : std::string();
    if (text.empty()) continue;
    if (auto time = parseKubernetesTime(text)) return time;
  }
  return std::nullopt;
}

}  // namespace tjf::kubernetes

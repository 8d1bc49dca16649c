#include "kubernetes/placement.hpp"

#include <algorithm>
#include <cstdio>

#include "kubernetes/client.hpp"
#include "kubernetes/namespace_quota.hpp"
#include "model/records.hpp"

namespace tjf::kubernetes {
namespace {

using model::RunReason;

std::string reasonText(RunReason r) { return std::string(model::toString(r)); }

std::string labelOf(const json& object, std::string_view key) {
  const auto labels = object.value("/metadata/labels"_json_pointer, json::object());
  const std::string k(key);
  if (!labels.is_object() || !labels.contains(k) || !labels[k].is_string()) return {};
  return labels[k].get<std::string>();
}

std::string annotationOf(const json& object, std::string_view key) {
  const auto annotations = object.value("/metadata/annotations"_json_pointer, json::object());
  const std::string k(key);
  if (!annotations.is_object() || !annotations.contains(k) || !annotations[k].is_string()) return {};
  return annotations[k].get<std::string>();
}

std::optional<TimePoint> timeAt(const json& object, const json::json_pointer& pointer) {
  if (!object.contains(pointer) || !object[pointer].is_string()) return std::nullopt;
  return parseKubernetesTime(object[pointer].get<std::string>());
}

// Adds the generation label and the placement's environment to one pod template.
void completePodTemplate(json& pod_template, const runtime::JobPlacement& placement) {
  pod_template["metadata"]["labels"][std::string(kLabelGeneration)] = std::to_string(placement.generation);
  auto& containers = pod_template["spec"]["containers"];
  if (!containers.is_array() || containers.empty()) return;
  json& env = containers[0]["env"];
  if (!env.is_array()) env = json::array();
  std::vector<std::string> present;
  for (const auto& e : env) present.push_back(e.value("name", ""));
  for (const auto& kv : placement.env) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = kv.substr(0, eq);
    if (isHostOrRunVariable(key) || std::find(present.begin(), present.end(), key) != present.end()) {
      continue;
    }
    present.push_back(key);
    env.push_back({{"name", key}, {"value", kv.substr(eq + 1)}});
  }
}

}  // namespace

bool isHostOrRunVariable(std::string_view key) {
  return key == "PATH" || key == "SHELL" || key == "TJF_RUN_ID" || key == "TJF_ATTEMPT";
}

Result<std::vector<json>> placementManifests(const runtime::JobPlacement& placement,
                                             const ManifestOptions& options,
                                             const RunJobOptions& run_options) {
  const std::string what = "job '" + placement.spec.name + "' of tool '" + placement.tool.name + "'";
  if (placement.spec.type == model::JobType::kOneOff) {
    return invalidArgument("Cannot place one-off " + what + ": the engine runs one-off jobs");
  }
  if (!placement.image) return invalidArgument("Cannot place " + what + ": it has no image");
  // The identity every run gets, as runJobManifest chooses it for a run.
  model::Tool tool = placement.tool;
  tool.uid = placement.uid.value_or(run_options.default_uid);
  tool.gid = placement.gid.value_or(placement.uid ? *placement.uid : run_options.default_gid);
  auto objects = manifestsFor(
      ManifestInput{placement.spec, placement.resolved, tool, *placement.image, placement.effective_schedule},
      options);
  if (!objects) return tl::unexpected(objects.error());
  for (auto& object : *objects) {
    const std::string kind = object.value("kind", "");
    if (kind == "CronJob") {
      json& job_template = object["spec"]["jobTemplate"];
      // The Jobs a CronJob makes carry its jobTemplate's labels: they are how the runtime finds
      // and attributes them.
      json labels = object["metadata"]["labels"];
      labels[std::string(kLabelGeneration)] = std::to_string(placement.generation);
      job_template["metadata"]["labels"] = std::move(labels);
      completePodTemplate(job_template["spec"]["template"], placement);
    } else if (kind == "Deployment") {
      completePodTemplate(object["spec"]["template"], placement);
    }
    object["metadata"]["annotations"][std::string(kAnnotationPlacementDigest)] = digestOf(object);
  }
  return objects;
}

std::string collectionOf(const json& object) {
  const std::string kind = object.value("kind", "");
  const std::string ns = object.value("/metadata/namespace"_json_pointer, std::string());
  if (kind == "CronJob") return resourcePath("batch/v1", "cronjobs", ns);
  if (kind == "Job") return resourcePath("batch/v1", "jobs", ns);
  if (kind == "Deployment") return resourcePath("apps/v1", "deployments", ns);
  if (kind == "Service") return resourcePath("v1", "services", ns);
  if (kind == "Pod") return resourcePath("v1", "pods", ns);
  return {};
}

std::string digestOf(const json& object) {
  std::uint64_t hash = 14695981039346656037ULL;
  for (const unsigned char c : object.dump()) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

WatchedRole roleOf(const json& object) {
  if (labelOf(object, kLabelManagedBy) != kManagedByValue) return WatchedRole::kOther;
  if (runIdOf(object)) return WatchedRole::kRunJob;
  // By labels only: the items of a real List carry no `kind`.
  const std::string component = labelOf(object, kLabelComponent);
  if (component == componentFor(model::JobType::kScheduled)) return WatchedRole::kCronJobRun;
  if (component == componentFor(model::JobType::kContinuous)) return WatchedRole::kDeploymentPod;
  return WatchedRole::kOther;
}

std::optional<JobKey> jobKeyOf(const json& object, std::string_view namespace_prefix) {
  std::string tool = labelOf(object, kLabelCreatedBy);
  if (tool.empty()) {
    const std::string ns = object.value("/metadata/namespace"_json_pointer, std::string());
    if (ns.size() <= namespace_prefix.size() || ns.compare(0, namespace_prefix.size(), namespace_prefix) != 0) {
      return std::nullopt;
    }
    tool = ns.substr(namespace_prefix.size());
  }
  std::string name = labelOf(object, kLabelName);
  if (name.empty()) name = object.value("/metadata/name"_json_pointer, std::string());
  if (name.empty()) return std::nullopt;
  return JobKey{std::move(tool), std::move(name)};
}

std::int64_t generationOf(const json& object) {
  const std::string text = labelOf(object, kLabelGeneration);
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) return 0;
  return std::stoll(text);
}

bool capturesOutput(const json& object) { return labelOf(object, kLabelFilelog) != "yes"; }

runtime::ObservedRun observedCronJobRun(const json& job, std::string_view namespace_prefix) {
  runtime::ObservedRun observed;
  if (auto key = jobKeyOf(job, namespace_prefix)) {
    observed.tool = key->first;
    observed.job_name = key->second;
  }
  observed.external_id = job.value("/metadata/name"_json_pointer, std::string());
  observed.generation = generationOf(job);
  observed.started_at = timeAt(job, "/status/startTime"_json_pointer);
  if (!observed.started_at) observed.started_at = timeAt(job, "/metadata/creationTimestamp"_json_pointer);
  observed.captured_output = capturesOutput(job);
  // The schedule time: the CronJob controller's annotation (Kubernetes 1.28+), else the name it
  // gives its Jobs, "<cronjob>-<minutes since the epoch>". A manual run has neither.
  if (annotationOf(job, kAnnotationInstantiate) != "manual") {
    if (const std::string stamp = annotationOf(job, "batch.kubernetes.io/cronjob-scheduled-timestamp");
        !stamp.empty()) {
      observed.scheduled_for = parseKubernetesTime(stamp);
    }
    const std::string prefix = observed.job_name + "-";
    const std::string& name = observed.external_id;
    if (!observed.scheduled_for && !observed.job_name.empty() && name.size() > prefix.size() &&
        name.size() - prefix.size() <= 12 && name.compare(0, prefix.size(), prefix) == 0 &&
        name.find_first_not_of("0123456789", prefix.size()) == std::string::npos) {
      observed.scheduled_for = TimePoint{} + std::chrono::minutes(std::stoll(name.substr(prefix.size())));
    }
  }
  return observed;
}

std::string ownerJobName(const json& pod) {
  const auto owners = pod.value("/metadata/ownerReferences"_json_pointer, json::array());
  for (const auto& owner : owners) {
    if (owner.value("kind", "") == "Job" && owner.contains("name")) return owner["name"].get<std::string>();
  }
  if (auto name = labelOf(pod, "batch.kubernetes.io/job-name"); !name.empty()) return name;
  return labelOf(pod, "job-name");
}

std::optional<ContainerView> jobContainer(const json& pod) {
  const auto statuses = pod.value("/status/containerStatuses"_json_pointer, json::array());
  if (!statuses.is_array() || statuses.empty()) return std::nullopt;
  const json* chosen = &statuses[0];
  for (const auto& s : statuses) {
    if (s.value("name", "") == kContainerName) {
      chosen = &s;
      break;
    }
  }
  ContainerView view;
  view.restart_count = chosen->value("restartCount", 0);
  if (chosen->contains("state") && (*chosen)["state"].is_object()) view.state = (*chosen)["state"];
  if (chosen->contains("lastState") && (*chosen)["lastState"].is_object()) view.last_state = (*chosen)["lastState"];
  view.container_id = chosen->value("containerID", "");
  return view;
}

std::string incarnationId(std::string_view pod, int restart_count) {
  return std::string(pod) + "/" + std::to_string(restart_count);
}

std::optional<std::pair<std::string, int>> parseIncarnationId(std::string_view id) {
  const auto slash = id.rfind('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == id.size()) return std::nullopt;
  const std::string count(id.substr(slash + 1));
  if (count.size() > 9 || count.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::make_pair(std::string(id.substr(0, slash)), std::stoi(count));
}

std::optional<runtime::ObservedRun> observedIncarnation(const json& pod, std::string_view namespace_prefix,
                                                        int* incarnation) {
  const auto container = jobContainer(pod);
  if (!container) return std::nullopt;
  std::optional<TimePoint> started;
  if (container->state.contains("running")) {
    started = timeAt(container->state, "/running/startedAt"_json_pointer);
  } else if (container->state.contains("terminated")) {
    started = timeAt(container->state, "/terminated/startedAt"_json_pointer);
  } else {
    return std::nullopt;
  }
  runtime::ObservedRun observed;
  if (auto key = jobKeyOf(pod, namespace_prefix)) {
    observed.tool = key->first;
    observed.job_name = key->second;
  }
  observed.external_id =
      incarnationId(pod.value("/metadata/name"_json_pointer, std::string()), container->restart_count);
  observed.generation = generationOf(pod);
  observed.started_at = started;
  observed.captured_output = capturesOutput(pod);
  observed.attempt = container->restart_count + 1;
  if (incarnation) *incarnation = container->restart_count;
  return observed;
}

std::optional<runtime::RunExit> incarnationExit(std::int64_t run_id, const json& pod, int incarnation,
                                                const std::string& container_id) {
  const std::string pod_name = pod.value("/metadata/name"_json_pointer, std::string());
  if (const auto container = jobContainer(pod)) {
    const int count = container->restart_count;
    if (count == incarnation && container->state.contains("terminated")) {
      return exitOfContainer(run_id, container->state["terminated"]);
    }
    const bool last_is_ours =
        container->last_state.contains("terminated") &&
        (count == incarnation + 1 ||
         (count == incarnation && !container_id.empty() &&
          container->last_state["terminated"].value("containerID", "") == container_id));
    if (last_is_ours) return exitOfContainer(run_id, container->last_state["terminated"]);
    if (count > incarnation) {
      runtime::RunExit exit{.run_id = run_id,
                            .reason = reasonText(RunReason::kLost),
                            .message = "the container of pod '" + pod_name + "' restarted " +
                                       std::to_string(count - incarnation) +
                                       " times before this run's end was seen"};
      return exit;
    }
  }
  const std::string phase = pod.value("/status/phase"_json_pointer, std::string());
  if (phase == "Failed" || phase == "Succeeded") {
    // With restartPolicy Always only the node ends a pod (eviction, shutdown).
    const std::string why = pod.value("/status/reason"_json_pointer, std::string());
    const std::string detail = pod.value("/status/message"_json_pointer, std::string());
    runtime::RunExit exit{.run_id = run_id, .reason = reasonText(RunReason::kError)};
    exit.message = "the pod '" + pod_name + "' " + (phase == "Failed" ? "failed" : "ended") +
                   (why.empty() ? "" : ": " + why) + (detail.empty() ? "" : ": " + detail);
    return exit;
  }
  return std::nullopt;
}

bool hasLivenessProbe(const json& pod) {
  const auto containers = pod.value("/spec/containers"_json_pointer, json::array());
  for (const auto& c : containers) {
    if (c.value("name", "") == kContainerName || containers.size() == 1) return c.contains("livenessProbe");
  }
  return false;
}

std::optional<std::string> livenessKill(const std::vector<json>& events, std::optional<TimePoint> started,
                                        TimePoint finished) {
  auto when = [](const json& event) -> std::optional<TimePoint> {
    for (const char* key : {"lastTimestamp", "eventTime", "firstTimestamp"}) {
      if (event.contains(key) && event[key].is_string()) {
        // eventTime is a MicroTime ("...T10:00:00.123456Z"), parsed the same way.
        if (auto t = parseKubernetesTime(event[key].get<std::string>())) return t;
      }
    }
    return std::nullopt;
  };
  const auto slack = std::chrono::seconds(1);
  auto within = [&](const json& event) {
    const auto t = when(event);
    if (!t) return false;
    if (started && *t < *started - slack) return false;
    return *t <= finished + slack;
  };
  bool killed = false;
  std::string probe_message;
  for (const auto& event : events) {
    if (!within(event)) continue;
    const std::string reason = event.value("reason", "");
    const std::string message = event.value("message", "");
    if (reason == "Killing" && message.find("failed liveness probe") != std::string::npos) killed = true;
    if (reason == "Unhealthy" && message.rfind("Liveness probe failed", 0) == 0) probe_message = message;
  }
  if (!killed) return std::nullopt;
  return probe_message.empty() ? std::string("the liveness probe failed") : probe_message;
}

// ---- Job notes ----------------------------------------------------------------------------

std::string unableToStartNote(std::string_view message) {
  if (auto quota = outOfQuotaMessage(message)) return *quota;
  return "Unable to start: " + std::string(message);
}

std::string deploymentNote(const json& deployment) {
  const auto conditions = deployment.value("/status/conditions"_json_pointer, json::array());
  if (!conditions.is_array()) return {};
  for (const auto& condition : conditions) {
    if (!condition.is_object() || condition.value("type", "") != "ReplicaFailure" ||
        condition.value("status", "") != "True") {
      continue;
    }
    if (auto quota = outOfQuotaStatus(condition)) return *quota;
    const std::string message = condition.value("message", "");
    const std::string reason = condition.value("reason", "");
    return "Unable to start: " + (message.empty() ? reason : message);
  }
  return {};
}

std::string containerWaitNote(const json& pod) {
  if (pod.contains("/metadata/deletionTimestamp"_json_pointer)) return {};
  const auto container = jobContainer(pod);
  if (!container || !container->state.contains("waiting") || !container->state["waiting"].is_object()) return {};
  // The reasons after which a container never starts by itself (run_mapping.cpp's startFailure
  // names the same ones for a run's pod); CrashLoopBackOff is a container that did start.
  static constexpr std::string_view kNeverStarts[] = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                                                      "CreateContainerConfigError", "CreateContainerError"};
  const json& waiting = container->state["waiting"];
  const std::string reason = waiting.value("reason", "");
  if (std::find(std::begin(kNeverStarts), std::end(kNeverStarts), reason) == std::end(kNeverStarts)) return {};
  const std::string message = waiting.value("message", "");
  return "Unable to start: " + reason + (message.empty() ? "" : ": " + message);
}

bool containerRunning(const json& pod) {
  const auto container = jobContainer(pod);
  return container && container->state.contains("running");
}

}  // namespace tjf::kubernetes

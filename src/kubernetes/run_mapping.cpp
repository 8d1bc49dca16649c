#include "kubernetes/run_mapping.hpp"

#include <ctime>

#include "base/strings.hpp"
#include "model/records.hpp"

namespace tjf::kubernetes {
namespace {

using model::RunReason;

std::string reasonText(RunReason r) { return std::string(model::toString(r)); }

// The condition of `type` whose status is "True", if any.
const json* trueCondition(const json& job, std::string_view type) {
  const json* conditions = job.contains("status") ? &job["status"] : nullptr;
  if (!conditions || !conditions->contains("conditions")) return nullptr;
  for (const auto& c : (*conditions)["conditions"]) {
    if (c.value("type", "") == type && c.value("status", "") == "True") return &c;
  }
  return nullptr;
}

std::optional<TimePoint> timeAt(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) return std::nullopt;
  return parseKubernetesTime(object[key].get<std::string>());
}

// The first container's terminated state among the pods, newest pod last (the one that decided).
const json* terminatedState(const std::vector<json>& pods) {
  const json* found = nullptr;
  for (const auto& pod : pods) {
    if (!pod.contains("status") || !pod["status"].contains("containerStatuses")) continue;
    for (const auto& s : pod["status"]["containerStatuses"]) {
      if (s.contains("state") && s["state"].contains("terminated")) {
        found = &s["state"]["terminated"];
        break;
      }
    }
  }
  return found;
}

}  // namespace

std::optional<TimePoint> parseKubernetesTime(std::string_view text) {
  if (text.size() < 20 || text.back() != 'Z') return std::nullopt;
  std::tm tm{};
  const std::string head(text.substr(0, 19));
  if (std::sscanf(head.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const std::time_t seconds = ::timegm(&tm);
  std::int64_t micros = 0;
  if (text[19] == '.') {
    std::string_view frac = text.substr(20, text.size() - 21);
    int digits = 0;
    for (const char c : frac) {
      if (c < '0' || c > '9') return std::nullopt;
      if (digits < 6) micros = micros * 10 + (c - '0');
      ++digits;
    }
    for (; digits < 6; ++digits) micros *= 10;
  } else if (text.size() != 20) {
    return std::nullopt;
  }
  return TimePoint{} + std::chrono::seconds(seconds) + std::chrono::microseconds(micros);
}

std::string runJobName(const std::string& job_name, std::int64_t run_id) {
  const std::string suffix = "-run" + std::to_string(run_id);
  std::string base = job_name.substr(0, 63 - std::min<std::size_t>(suffix.size(), 62));
  // A cut may leave a '-' or '.' at the end, which a DNS-1123 name may not have before our '-'.
  while (!base.empty() && (base.back() == '-' || base.back() == '.')) base.pop_back();
  return base + suffix;
}

Result<json> runJobManifest(const runtime::RunRequest& request, const ManifestOptions& options,
                            const RunJobOptions& run_options) {
  if (!request.image) return invalidArgument("Run " + std::to_string(request.run_id) + " has no image");
  PodTemplateInput pod;
  pod.tool = request.tool;
  pod.type = model::JobType::kOneOff;
  pod.labels = lookupLabels(request.tool, request.job_name, model::JobType::kOneOff);
  pod.labels[kLabelVersion] = "2";
  if (request.stdout_path && request.stderr_path) pod.labels[kLabelFilelog] = "yes";
  pod.labels[kLabelMountStorage] = model::toString(request.mount);
  pod.labels[kLabelRunId] = std::to_string(request.run_id);
  pod.image = request.image->url;
  std::string script;
  if (request.stdout_path) script += "exec 1>>" + shellQuote(request.stdout_path->string()) + ";";
  if (request.stderr_path) script += "exec 2>>" + shellQuote(request.stderr_path->string()) + ";";
  script += request.command;
  pod.command = {"/bin/sh", "-c", "--", script};
  if (!request.workdir.empty()) pod.working_dir = request.workdir.string();
  for (const auto& kv : request.env) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = kv.substr(0, eq);
    // The host's PATH and SHELL mean nothing inside the image, which brings its own.
    if (key == "PATH" || key == "SHELL") continue;
    pod.env.emplace_back(key, kv.substr(eq + 1));
  }
  const std::string memory = bytesQuantity(request.memory_bytes);
  const std::string memory_request =
      request.memory_bytes <= options.memory_request_equals_limit_up_to
          ? memory
          : bytesQuantity((request.memory_bytes + 1) / 2);
  const std::string cpu = request.cpu_millis % 1000 == 0 ? std::to_string(request.cpu_millis / 1000)
                                                         : std::to_string(request.cpu_millis) + "m";
  pod.resources = {{"limits", {{"cpu", cpu}, {"memory", memory}}},
                   {"requests", {{"cpu", cpu}, {"memory", memory_request}}}};
  pod.uid = request.uid.value_or(run_options.default_uid);
  pod.gid = request.gid.value_or(request.uid ? *request.uid : run_options.default_gid);
  pod.mount_all = request.mount == model::MountPolicy::kAll;
  auto tmpl = podTemplate(pod, options);
  if (!tmpl) return tl::unexpected(tmpl.error());
  json spec = {{"template", std::move(*tmpl)},
               {"backoffLimit", 0},
               {"ttlSecondsAfterFinished", run_options.ttl_seconds_after_finished}};
  if (request.timeout_seconds > 0) spec["activeDeadlineSeconds"] = request.timeout_seconds;
  return json{{"apiVersion", "batch/v1"},
              {"kind", "Job"},
              {"metadata",
               {{"name", runJobName(request.job_name, request.run_id)},
                {"namespace", namespaceFor(request.tool, options)},
                {"labels", pod.labels}}},
              {"spec", std::move(spec)}};
}

std::optional<std::int64_t> runIdOf(const json& object) {
  const auto labels = object.value("/metadata/labels"_json_pointer, json::object());
  const std::string key(kLabelRunId);
  if (!labels.contains(key) || !labels[key].is_string()) return std::nullopt;
  const std::string text = labels[key].get<std::string>();
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 18) {
    return std::nullopt;
  }
  return std::stoll(text);
}

bool jobFinished(const json& job) {
  return trueCondition(job, "Complete") != nullptr || trueCondition(job, "Failed") != nullptr;
}

std::optional<runtime::RunExit> exitOfFinishedJob(std::int64_t run_id, const json& job,
                                                  const std::vector<json>& pods) {
  const json* complete = trueCondition(job, "Complete");
  const json* failed = trueCondition(job, "Failed");
  if (!complete && !failed) return std::nullopt;
  runtime::RunExit exit;
  exit.run_id = run_id;
  const json status = job.value("status", json::object());
  exit.started_at = timeAt(status, "startTime");
  const json* terminated = terminatedState(pods);
  if (complete) {
    exit.reason = reasonText(RunReason::kCompleted);
    exit.exit_code = 0;
    exit.finished_at = timeAt(status, "completionTime")
                           .value_or(timeAt(*complete, "lastTransitionTime").value_or(TimePoint{}));
    return exit;
  }
  exit.finished_at = timeAt(*failed, "lastTransitionTime").value_or(TimePoint{});
  const std::string why = failed->value("reason", "");
  if (why == "DeadlineExceeded") {
    exit.reason = reasonText(RunReason::kTimeout);
    const auto deadline = job.value("/spec/activeDeadlineSeconds"_json_pointer, 0LL);
    exit.message = deadline > 0 ? "the run did not finish within its timeout of " +
                                      std::to_string(deadline) + " seconds"
                                : failed->value("message", "");
    return exit;
  }
  if (terminated) {
    const std::string reason = terminated->value("reason", "");
    if (terminated->contains("exitCode")) exit.exit_code = (*terminated)["exitCode"].get<int>();
    if (terminated->contains("signal") && (*terminated)["signal"].get<int>() != 0) {
      exit.signal = (*terminated)["signal"].get<int>();
    }
    exit.message = terminated->value("message", "");
    if (reason == "OOMKilled") {
      exit.reason = reasonText(RunReason::kOomKilled);
      if (exit.message.empty()) exit.message = "killed by the memory limit";
    } else if (exit.signal) {
      exit.reason = reasonText(RunReason::kSignal);
    } else {
      exit.reason = reasonText(RunReason::kError);
    }
    if (const auto at = timeAt(*terminated, "finishedAt")) exit.finished_at = *at;
    if (const auto at = timeAt(*terminated, "startedAt")) exit.started_at = *at;
    return exit;
  }
  // Failed without a container that ran (e.g. evicted, or the pod was deleted).
  exit.reason = reasonText(RunReason::kError);
  exit.message = why.empty() ? failed->value("message", "") : why + ": " + failed->value("message", "");
  return exit;
}

runtime::RunExit exitOfContainer(std::int64_t run_id, const json& terminated) {
  runtime::RunExit exit;
  exit.run_id = run_id;
  exit.started_at = timeAt(terminated, "startedAt");
  exit.finished_at = timeAt(terminated, "finishedAt").value_or(TimePoint{});
  if (terminated.contains("exitCode") && terminated["exitCode"].is_number_integer()) {
    exit.exit_code = terminated["exitCode"].get<int>();
  }
  if (terminated.contains("signal") && terminated["signal"].is_number_integer() &&
      terminated["signal"].get<int>() != 0) {
    exit.signal = terminated["signal"].get<int>();
  }
  exit.message = terminated.value("message", "");
  if (terminated.value("reason", "") == "OOMKilled") {
    exit.reason = reasonText(RunReason::kOomKilled);
    if (exit.message.empty()) exit.message = "killed by the memory limit";
  } else if (exit.signal) {
    exit.reason = reasonText(RunReason::kSignal);
  } else if (exit.exit_code == 0) {
    exit.reason = reasonText(RunReason::kCompleted);
  } else {
    exit.reason = reasonText(RunReason::kError);
  }
  return exit;
}

std::optional<runtime::RunExit> startFailure(std::int64_t run_id, const std::vector<json>& pods,
                                             TimePoint now) {
  static constexpr std::string_view kFatal[] = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                                                "CreateContainerConfigError", "CreateContainerError"};
  for (const auto& pod : pods) {
    const auto statuses = pod.value("/status/containerStatuses"_json_pointer, json::array());
    for (const auto& s : statuses) {
      const auto waiting = s.value("/state/waiting"_json_pointer, json::object());
      const std::string reason = waiting.value("reason", "");
      for (const auto fatal : kFatal) {
        if (reason != fatal) continue;
        runtime::RunExit exit;
        exit.run_id = run_id;
        exit.finished_at = now;
        exit.reason = reasonText(RunReason::kStartError);
        const std::string detail = waiting.value("message", "");
        exit.message = reason + (detail.empty() ? "" : ": " + detail);
        return exit;
      }
    }
  }
  return std::nullopt;
}

runtime::RunExit exitOfDeletedJob(std::int64_t run_id, const std::optional<json>& last_job,
                                  const std::vector<json>& pods, bool stop_requested, TimePoint now) {
  if (last_job) {
    if (auto exit = exitOfFinishedJob(run_id, *last_job, pods)) return *exit;
  }
  runtime::RunExit exit;
  exit.run_id = run_id;
  exit.finished_at = now;
  if (last_job) exit.started_at = timeAt(last_job->value("status", json::object()), "startTime");
  if (stop_requested) {
    exit.reason = reasonText(RunReason::kStopped);
    return exit;
  }
  exit.reason = reasonText(RunReason::kLost);
  exit.message = last_job ? "the Kubernetes Job '" + last_job->value("/metadata/name"_json_pointer, std::string()) +
                                "' was deleted before it finished"
                          : "the Kubernetes Job of this run no longer exists";
  return exit;
}

std::optional<std::string> capturedRecord(std::string_view log_line) {
  const auto space = log_line.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto at = parseKubernetesTime(log_line.substr(0, space));
  if (!at) return std::nullopt;
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(at->time_since_epoch()).count();
  return std::to_string(micros) + " o " + std::string(log_line.substr(space + 1));
}

std::optional<json> manualRunFromCronJob(const json& cronjob, const json& run_job, TimePoint now) {
  auto manual = manualJobFromCronJob(cronjob, now);
  if (!manual) return std::nullopt;
  const json run_labels = run_job.value("/metadata/labels"_json_pointer, json::object());
  (*manual)["metadata"]["name"] = run_job.value("/metadata/name"_json_pointer, std::string());
  json& labels = (*manual)["metadata"]["labels"];
  json& pod_labels = (*manual)["spec"]["template"]["metadata"]["labels"];
  for (const auto& [key, value] : run_labels.items()) {
    if (!labels.contains(key)) labels[key] = value;
    if (!pod_labels.contains(key)) pod_labels[key] = value;
  }
  labels[std::string(kLabelRunId)] = run_labels.value(std::string(kLabelRunId), std::string());
  pod_labels[std::string(kLabelRunId)] = labels[std::string(kLabelRunId)];
  return std::move(*manual);
}

}  // namespace tjf::kubernetes

#include "kubernetes/manifests.hpp"

#include <regex>

#include "base/strings.hpp"
#include "model/quantity.hpp"

namespace tjf::kubernetes {
namespace {

using model::JobType;

constexpr std::int64_t kStartupPeriod = 1, kStartupFailures = 120;
constexpr std::int64_t kLivenessPeriod = 10, kLivenessFailures = 3;
constexpr std::int64_t kProbeTimeout = 5;

std::string cpuFromMillis(std::int64_t millis) {
  return millis % 1000 == 0 ? std::to_string(millis / 1000) : std::to_string(millis) + "m";
}

Status checkVolume(const VolumeConfig& v) {
  const std::string what = "Kubernetes volume '" + v.name + "'";
  if (v.name.empty()) return invalidArgument("A Kubernetes volume needs a name");
  if (v.mount_path.empty() || v.mount_path.front() != '/') {
    return invalidArgument(what + " needs an absolute mount path, not '" + v.mount_path + "'");
  }
  if (v.host_path.has_value() == v.nfs.has_value()) {
    return invalidArgument(what + " needs exactly one of 'host_path' and 'nfs'");
  }
  return {};
}

json probe(const json& check, std::int64_t period, std::int64_t failures) {
  json p = check;
  p["initialDelaySeconds"] = 0;
  p["periodSeconds"] = period;
  p["failureThreshold"] = failures;
  p["timeoutSeconds"] = kProbeTimeout;
  return p;
}

// §6: the same check for the startup and the liveness probe; none without a check or a TCP port.
Result<json> probesFor(const ManifestInput& in) {
  const auto& spec = in.spec;
  const bool tcp = spec.port && spec.port_protocol.value_or(model::PortProtocol::kTcp) ==
                                    model::PortProtocol::kTcp;
  json check;
  if (spec.health_check && spec.health_check->type == model::HealthCheckType::kScript) {
    json command = json::array();
    if (isBuildServiceImage(in.image)) {
      auto words = shellSplit(spec.health_check->value);
      if (!words) return tl::unexpected(words.error());
      command.push_back("launcher");
      for (auto& w : *words) command.push_back(std::move(w));
    } else {
      command = {"/bin/sh", "-c", spec.health_check->value};
    }
    check = {{"exec", {{"command", command}}}};
  } else if (spec.health_check && spec.health_check->type == model::HealthCheckType::kHttp) {
    if (!tcp) return json::object();  // upstream: no probe at all without a TCP port
    check = {{"httpGet", {{"path", spec.health_check->value}, {"port", *spec.port}}}};
  } else if (tcp) {
    check = {{"tcpSocket", {{"port", *spec.port}}}};
  } else {
    return json::object();
  }
  return json{{"startupProbe", probe(check, kStartupPeriod, kStartupFailures)},
              {"livenessProbe", probe(check, kLivenessPeriod, kLivenessFailures)}};
}

std::string_view protocolName(const model::JobSpec& spec) {
  return spec.port_protocol.value_or(model::PortProtocol::kTcp) == model::PortProtocol::kUdp
             ? "UDP"
             : "TCP";
}

Result<PodTemplateInput> podInputFor(const ManifestInput& in, const ManifestOptions& options) {
  PodTemplateInput p;
  p.tool = in.tool.name;
  p.type = in.spec.type;
  p.labels = jobLabels(in);
  p.image = in.image.url;
  auto command = containerCommand(in);
  if (!command) return tl::unexpected(command.error());
  p.command = std::move(*command);
  const bool buildservice = isBuildServiceImage(in.image);
  p.mount_all = in.resolved.mount == model::MountPolicy::kAll;
  if (!buildservice) p.working_dir = in.tool.home.string();
  if (buildservice) p.env.emplace_back("NO_HOME", "a buildservice pod does not need a home env");
  if (p.mount_all && !options.volumes.empty()) {
    // What volume-admission would inject (§10.6), since tjf mounts the storage itself.
    if (!buildservice) p.env.emplace_back("HOME", in.tool.home.string());
    p.env.emplace_back("TOOL_DATA_DIR", in.tool.home.string());
  }
  if (in.spec.type == JobType::kContinuous && in.spec.port) {
    p.env.emplace_back("PORT", std::to_string(*in.spec.port));
  }
  p.resources = containerResources(in.spec, in.resolved, options);
  p.uid = in.tool.uid;
  p.gid = in.tool.gid;
  if (in.spec.type == JobType::kContinuous) {
    auto probes = probesFor(in);
    if (!probes) return tl::unexpected(probes.error());
    p.probes = std::move(*probes);
    if (in.spec.port) {
      p.ports.push_back({{"containerPort", *in.spec.port}, {"protocol", protocolName(in.spec)}});
    }
  }
  return p;
}

json metadata(const ManifestInput& in, const ManifestOptions& options) {
  return {{"name", in.spec.name},
          {"namespace", namespaceFor(in.tool.name, options)},
          {"labels", jobLabels(in)}};
}

// The spec of a Job, shared by one-off jobs and a CronJob's jobTemplate.
json jobSpec(const ManifestInput& in, const ManifestOptions& options, json pod_template) {
  json spec = {{"template", std::move(pod_template)},
               {"ttlSecondsAfterFinished", options.ttl_seconds_after_finished},
               {"backoffLimit", in.resolved.retry}};
  if (in.resolved.timeout_seconds > 0) spec["activeDeadlineSeconds"] = in.resolved.timeout_seconds;
  return spec;
}

Result<json> templateFor(const ManifestInput& in, const ManifestOptions& options) {
  auto pod = podInputFor(in, options);
  if (!pod) return tl::unexpected(pod.error());
  return podTemplate(*pod, options);
}

}  // namespace

std::string_view componentFor(JobType type) {
  switch (type) {
    case JobType::kOneOff: return "jobs";
    case JobType::kScheduled: return "cronjobs";
    case JobType::kContinuous: return "deployments";
  }
  return "jobs";
}

std::string namespaceFor(std::string_view tool, const ManifestOptions& options) {
  return options.namespace_prefix + std::string(tool);
}

json lookupLabels(std::string_view tool, std::string_view job, JobType type) {
  return {{kLabelToolforge, "tool"},
          {kLabelManagedBy, kManagedByValue},
          {kLabelCreatedBy, tool},
          {kLabelComponent, componentFor(type)},
          {kLabelName, job}};
}

json jobLabels(const ManifestInput& in) {
  json labels = lookupLabels(in.tool.name, in.spec.name, in.spec.type);
  labels[kLabelVersion] = "2";
  if (in.resolved.filelog) labels[kLabelFilelog] = "yes";
  labels[kLabelEmails] = model::toString(in.resolved.emails);
  labels[kLabelMountStorage] = model::toString(in.resolved.mount);
  return labels;
}

std::string labelSelector(const json& labels) {
  std::vector<std::string> parts;
  for (const auto& [key, value] : labels.items()) parts.push_back(key + "=" + value.get<std::string>());
  return join(parts, ",");
}

bool isBuildServiceImage(const model::Image& image) {
  const std::string_view name = image.shortname;
  return name.rfind("tool-", 0) == 0 && name.find('/') != std::string_view::npos;
}

Result<std::vector<std::string>> shellSplit(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) words.push_back(std::exchange(word, {}));
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\\') {
      if (++i == text.size()) return invalidArgument("No escaped character in command '" + std::string(text) + "'");
      word += text[i];
    } else if (c == '\'') {
      const auto end = text.find('\'', i + 1);
      if (end == std::string_view::npos) {
        return invalidArgument("No closing quotation in command '" + std::string(text) + "'");
      }
      word += text.substr(i + 1, end - i - 1);
      i = end;
    } else if (c == '"') {
      std::size_t j = i + 1;
      for (; j < text.size() && text[j] != '"'; ++j) {
        // Inside double quotes a backslash escapes only '"' and '\' (shlex's posix rules).
        if (text[j] == '\\' && j + 1 < text.size() && (text[j + 1] == '"' || text[j + 1] == '\\')) ++j;
        word += text[j];
      }
      if (j >= text.size()) {
        return invalidArgument("No closing quotation in command '" + std::string(text) + "'");
      }
      i = j;
    } else {
      word += c;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

Result<std::vector<std::string>> containerCommand(const ManifestInput& in) {
  std::string cmd = in.spec.cmd;
  const bool buildservice = isBuildServiceImage(in.image);
  if (buildservice && cmd.rfind("launcher ", 0) != 0) cmd = "launcher " + cmd;
  if (buildservice && !in.resolved.filelog) return shellSplit(cmd);
  std::string script;
  if (in.resolved.filelog) {
    if (!in.resolved.stdout_path.empty()) {
      script += "exec 1>>" + shellQuote(in.resolved.stdout_path.string()) + ";";
    }
    if (!in.resolved.stderr_path.empty()) {
      script += "exec 2>>" + shellQuote(in.resolved.stderr_path.string()) + ";";
    }
  }
  script += cmd;
  return std::vector<std::string>{"/bin/sh", "-c", "--", script};
}

std::string bytesQuantity(std::int64_t bytes) {
  static constexpr std::string_view kBinary[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  static constexpr std::string_view kDecimal[] = {"k", "M", "G", "T", "P", "E"};
  if (bytes <= 0) return "0";
  for (int power = 6; power >= 1; --power) {
    std::int64_t unit = 1;
    for (int i = 0; i < power; ++i) unit *= 1024;
    if (bytes % unit == 0) return std::to_string(bytes / unit) + std::string(kBinary[power - 1]);
  }
  for (int power = 6; power >= 1; --power) {
    std::int64_t unit = 1;
    for (int i = 0; i < power; ++i) unit *= 1000;
    if (bytes % unit == 0) return std::to_string(bytes / unit) + std::string(kDecimal[power - 1]);
  }
  return std::to_string(bytes);
}

std::string quantityAsTyped(std::string_view typed, std::string_view fallback) {
  // A conservative subset of the apiserver's quantity grammar: what matches is accepted verbatim
  // by every Kubernetes version; anything else (exponents, a leading '.', a sign) is normalised.
  static const std::regex kPlain(R"(^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$)");
  const std::string text(typed);
  return std::regex_match(text, kPlain) ? text : std::string(fallback);
}

json containerResources(const model::JobSpec& spec, const model::ResolvedJob& resolved,
                        const ManifestOptions& options) {
  const std::string memory_limit = quantityAsTyped(resolved.memory, bytesQuantity(resolved.memory_bytes));
  const std::string memory_request =
      resolved.memory_bytes <= options.memory_request_equals_limit_up_to
          ? memory_limit
          : bytesQuantity((resolved.memory_bytes + 1) / 2);
  const std::string cpu_request = quantityAsTyped(resolved.cpu, cpuFromMillis(resolved.cpu_millis));
  const std::string cpu_limit = spec.cpu ? cpu_request : options.default_cpu_limit;
  return {{"limits", {{"cpu", cpu_limit}, {"memory", memory_limit}}},
          {"requests", {{"cpu", cpu_request}, {"memory", memory_request}}}};
}

Result<json> podTemplate(const PodTemplateInput& in, const ManifestOptions& options) {
  if (in.uid == 0) {
    return invalidArgument("Cannot run jobs of tool '" + in.tool +
                           "' on Kubernetes: the tool's uid is 0, and pods run as non-root");
  }
  json env = json::array();
  for (const auto& [name, value] : in.env) env.push_back({{"name", name}, {"value", value}});
  json container = {
      {"name", kContainerName},
      {"image", in.image},
      {"command", in.command},
      {"env", env},
      {"resources", in.resources},
      {"securityContext",
       {{"allowPrivilegeEscalation", false},
        {"capabilities", {{"drop", {"ALL"}}}},
        {"privileged", false},
        {"readOnlyRootFilesystem", false},
        {"runAsUser", in.uid},
        {"runAsGroup", in.gid},
        {"runAsNonRoot", true}}},
  };
  if (in.working_dir) container["workingDir"] = *in.working_dir;
  for (const auto& [key, value] : in.probes.items()) container[key] = value;
  if (!in.ports.empty()) container["ports"] = in.ports;

  json spread_labels = json::object();
  for (const auto key : {kLabelToolforge, kLabelManagedBy, kLabelCreatedBy, kLabelName}) {
    if (in.labels.contains(key)) spread_labels[key] = in.labels.at(key);
  }
  json pod_spec = {
      {"restartPolicy", in.type == model::JobType::kContinuous ? "Always" : "Never"},
      {"terminationGracePeriodSeconds", options.termination_grace_period_seconds},
      {"securityContext",
       {{"runAsUser", in.uid},
        {"runAsGroup", in.gid},
        {"fsGroup", in.gid},
        {"runAsNonRoot", true},
        {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
      {"topologySpreadConstraints",
       {{{"maxSkew", 1},
         {"topologyKey", "kubernetes.io/hostname"},
         {"whenUnsatisfiable", "ScheduleAnyway"},
         {"labelSelector", {{"matchLabels", spread_labels}}}}}},
  };
  if (in.mount_all && !options.volumes.empty()) {
    json volumes = json::array();
    json mounts = json::array();
    for (const auto& v : options.volumes) {
      if (auto ok = checkVolume(v); !ok) return tl::unexpected(ok.error());
      json volume = {{"name", v.name}};
      if (v.host_path) {
        volume["hostPath"] = {{"path", v.host_path->path}};
        if (!v.host_path->type.empty()) volume["hostPath"]["type"] = v.host_path->type;
      } else {
        volume["nfs"] = {{"server", v.nfs->server}, {"path", v.nfs->path}};
        if (v.read_only) volume["nfs"]["readOnly"] = true;
      }
      volumes.push_back(std::move(volume));
      mounts.push_back({{"name", v.name}, {"mountPath", v.mount_path}, {"readOnly", v.read_only}});
    }
    pod_spec["volumes"] = std::move(volumes);
    container["volumeMounts"] = std::move(mounts);
  }
  pod_spec["containers"] = json::array({std::move(container)});
  return json{{"metadata", {{"labels", in.labels}}}, {"spec", std::move(pod_spec)}};
}

Result<json> jobManifest(const ManifestInput& in, const ManifestOptions& options) {
  auto pod = templateFor(in, options);
  if (!pod) return tl::unexpected(pod.error());
  return json{{"apiVersion", "batch/v1"},
              {"kind", "Job"},
              {"metadata", metadata(in, options)},
              {"spec", jobSpec(in, options, std::move(*pod))}};
}

Result<json> cronJobManifest(const ManifestInput& in, const ManifestOptions& options) {
  if (in.effective_schedule.empty()) {
    return invalidArgument("Scheduled job '" + in.spec.name + "' has no effective schedule");
  }
  auto pod = templateFor(in, options);
  if (!pod) return tl::unexpected(pod.error());
  json meta = metadata(in, options);
  meta["annotations"] = {{kAnnotationCronExpression, in.spec.schedule.value_or(in.effective_schedule)}};
  json spec = {{"schedule", in.effective_schedule},
               {"successfulJobsHistoryLimit", options.successful_jobs_history_limit},
               {"failedJobsHistoryLimit", options.failed_jobs_history_limit},
               {"concurrencyPolicy", model::toString(in.resolved.concurrency_policy)},
               {"startingDeadlineSeconds", in.resolved.starting_deadline_seconds},
               {"jobTemplate", {{"spec", jobSpec(in, options, std::move(*pod))}}}};
  // Only a zone the user chose: without one the controller's default (UTC here) applies.
  if (in.spec.time_zone) spec["timeZone"] = *in.spec.time_zone;
  return json{{"apiVersion", "batch/v1"},
              {"kind", "CronJob"},
              {"metadata", std::move(meta)},
              {"spec", std::move(spec)}};
}

Result<json> deploymentManifest(const ManifestInput& in, const ManifestOptions& options) {
  auto pod = templateFor(in, options);
  if (!pod) return tl::unexpected(pod.error());
  const int replicas = in.resolved.replicas;
  const json labels = jobLabels(in);
  json match = json::object();
  for (const auto key : {kLabelToolforge, kLabelManagedBy, kLabelCreatedBy, kLabelName}) {
    match[key] = labels.at(key);
  }
  // One replica: stop the old pod before the new one starts (T375366); more: roll.
  json strategy = {{"type", replicas == 1 ? "Recreate" : "RollingUpdate"}};
  return json{{"apiVersion", "apps/v1"},
              {"kind", "Deployment"},
              {"metadata", metadata(in, options)},
              {"spec",
               {{"replicas", replicas},
                {"progressDeadlineSeconds", options.progress_deadline_seconds},
                {"selector", {{"matchLabels", match}}},
                {"strategy", strategy},
                {"template", std::move(*pod)}}}};
}

std::optional<json> serviceManifest(const ManifestInput& in, const ManifestOptions& options) {
  if (in.spec.type != JobType::kContinuous || !in.spec.port) return std::nullopt;
  json labels = lookupLabels(in.tool.name, in.spec.name, in.spec.type);
  labels[kLabelVersion] = "2";
  return json{{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata",
               {{"name", in.spec.name},
                {"namespace", namespaceFor(in.tool.name, options)},
                {"labels", labels}}},
              {"spec",
               {{"type", "ClusterIP"},
                {"selector", labels},
                {"ports",
                 {{{"protocol", protocolName(in.spec)},
                   {"port", *in.spec.port},
                   {"targetPort", *in.spec.port}}}}}}};
}

Result<std::vector<json>> manifestsFor(const ManifestInput& in, const ManifestOptions& options) {
  std::vector<json> out;
  Result<json> workload = in.spec.type == JobType::kOneOff     ? jobManifest(in, options)
                          : in.spec.type == JobType::kScheduled ? cronJobManifest(in, options)
                                                                : deploymentManifest(in, options);
  if (!workload) return tl::unexpected(workload.error());
  out.push_back(std::move(*workload));
  if (auto service = serviceManifest(in, options)) out.push_back(std::move(*service));
  return out;
}

Result<json> manualJobFromCronJob(const json& cronjob, TimePoint now) {
  const auto meta = cronjob.value("metadata", json::object());
  const std::string name = meta.value("name", "");
  const std::string uid = meta.value("uid", "");
  if (name.empty() || uid.empty() || !cronjob.contains("spec") ||
      !cronjob["spec"].contains("jobTemplate")) {
    return invalidArgument("Cannot run CronJob '" + name +
                           "' by hand: it needs a name, a uid and a jobTemplate");
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  json job_meta = {{"name", name + "-" + std::to_string(seconds)},
                   {"annotations", {{kAnnotationInstantiate, "manual"}}},
                   {"ownerReferences",
                    {{{"apiVersion", "batch/v1"}, {"kind", "CronJob"}, {"name", name}, {"uid", uid}}}}};
  if (meta.contains("namespace")) job_meta["namespace"] = meta["namespace"];
  if (meta.contains("labels")) job_meta["labels"] = meta["labels"];
  return json{{"apiVersion", "batch/v1"},
              {"kind", "Job"},
              {"metadata", std::move(job_meta)},
              {"spec", cronjob["spec"]["jobTemplate"]["spec"]}};
}

}  // namespace tjf::kubernetes

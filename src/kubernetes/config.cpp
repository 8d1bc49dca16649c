#include "kubernetes/config.hpp"

#include <cstdlib>

#include "model/quantity.hpp"

namespace tjf::kubernetes {
namespace {

template <typename T>
Result<T> scalar(const YAML::Node& node, const std::string& where, const std::string& key) {
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    return invalidArgument(where + ": '" + key + "' has the wrong type");
  }
}

Result<VolumeConfig> volumeFromYaml(const YAML::Node& node, const std::string& where) {
  if (!node.IsMap()) return invalidArgument(where + ": each volume must be a mapping");
  VolumeConfig v;
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>();
    const YAML::Node& value = entry.second;
    if (key == "name") {
      v.name = value.as<std::string>();
    } else if (key == "mount_path") {
      v.mount_path = value.as<std::string>();
    } else if (key == "read_only") {
      auto b = scalar<bool>(value, where, key);
      if (!b) return tl::unexpected(b.error());
      v.read_only = *b;
    } else if (key == "host_path") {
      v.host_path = HostPathSource{.path = value.as<std::string>()};
    } else if (key == "host_path_type") {
      if (!v.host_path) v.host_path = HostPathSource{};
      v.host_path->type = value.as<std::string>();
    } else if (key == "nfs") {
      if (!value.IsMap() || !value["server"] || !value["path"]) {
        return invalidArgument(where + ": 'nfs' needs 'server' and 'path'");
      }
      v.nfs = NfsSource{.server = value["server"].as<std::string>(), .path = value["path"].as<std::string>()};
    } else {
      return invalidArgument(where + ": unknown volume key '" + key + "'");
    }
  }
  if (v.host_path && v.host_path->path.empty()) {
    return invalidArgument(where + ": volume '" + v.name + "' has 'host_path_type' but no 'host_path'");
  }
  if (v.name.empty() || v.mount_path.empty() || v.mount_path.front() != '/' ||
      v.host_path.has_value() == v.nfs.has_value()) {
    return invalidArgument(where + ": volume '" + v.name +
                           "' needs 'name', an absolute 'mount_path' and exactly one of 'host_path' and 'nfs'");
  }
  return v;
}

}  // namespace

Result<KubernetesConfig> kubernetesConfigFromYaml(const YAML::Node& node, const std::string& where_in) {
  const std::string where = where_in + ", section 'kubernetes'";
  KubernetesConfig c;
  if (!node || node.IsNull()) return c;
  if (!node.IsMap()) return invalidArgument(where + ": expected a mapping");
  try {
    for (const auto& entry : node) {
      const std::string key = entry.first.as<std::string>();
      const YAML::Node& value = entry.second;
      auto integer = [&](std::int64_t* out) -> Status {
        auto v = scalar<std::int64_t>(value, where, key);
        if (!v) return tl::unexpected(v.error());
        if (*v < 0) return invalidArgument(where + ": '" + key + "' must not be negative");
        *out = *v;
        return {};
      };
      Status ok;
      if (key == "access") {
        const std::string mode = value.as<std::string>();
        if (mode != "kubeconfig" && mode != "in_cluster") {
          return invalidArgument(where + ": 'access' must be 'kubeconfig' or 'in_cluster', not '" + mode + "'");
        }
        c.access = mode == "kubeconfig" ? AccessMode::kKubeconfig : AccessMode::kInCluster;
      } else if (key == "kubeconfig") {
        c.kubeconfig = value.as<std::string>();
      } else if (key == "context") {
        c.context = value.as<std::string>();
      } else if (key == "namespaces") {
        if (!value.IsSequence()) return invalidArgument(where + ": 'namespaces' must be a list");
        for (const auto& ns : value) c.namespaces.push_back(ns.as<std::string>());
      } else if (key == "watch_timeout_seconds") {
        std::int64_t v = 0;
        ok = integer(&v);
        c.watch_timeout_seconds = static_cast<int>(v);
      } else if (key == "place_jobs") {
        auto b = scalar<bool>(value, where, key);
        if (!b) return tl::unexpected(b.error());
        c.place_jobs = *b;
      } else if (key == "namespace_prefix") {
        c.manifests.namespace_prefix = value.as<std::string>();
      } else if (key == "default_cpu_limit") {
        c.manifests.default_cpu_limit = value.as<std::string>();
        if (auto q = model::parseQuantity(c.manifests.default_cpu_limit); !q) {
          return invalidArgument(where + ": 'default_cpu_limit': " + q.error().message);
        }
      } else if (key == "memory_request_equals_limit_up_to") {
        auto q = model::parseQuantity(value.as<std::string>());
        if (!q) return invalidArgument(where + ": '" + key + "': " + q.error().message);
        c.manifests.memory_request_equals_limit_up_to = model::memoryBytes(*q);
      } else if (key == "ttl_seconds_after_finished") {
        ok = integer(&c.manifests.ttl_seconds_after_finished);
      } else if (key == "run_ttl_seconds_after_finished") {
        ok = integer(&c.runs.ttl_seconds_after_finished);
      } else if (key == "jobs_history_limit") {
        std::int64_t v = 0;
        ok = integer(&v);
        c.manifests.successful_jobs_history_limit = c.manifests.failed_jobs_history_limit = static_cast<int>(v);
      } else if (key == "progress_deadline_seconds") {
        ok = integer(&c.manifests.progress_deadline_seconds);
      } else if (key == "termination_grace_period_seconds") {
        ok = integer(&c.manifests.termination_grace_period_seconds);
      } else if (key == "run_as_uid") {
        std::int64_t v = 0;
        ok = integer(&v);
        c.runs.default_uid = static_cast<uid_t>(v);
      } else if (key == "run_as_gid") {
        std::int64_t v = 0;
        ok = integer(&v);
        c.runs.default_gid = static_cast<gid_t>(v);
      } else if (key == "volumes") {
        if (!value.IsSequence()) return invalidArgument(where + ": 'volumes' must be a list");
        for (const auto& v : value) {
          auto volume = volumeFromYaml(v, where);
          if (!volume) return tl::unexpected(volume.error());
          c.manifests.volumes.push_back(std::move(*volume));
        }
      } else {
        return invalidArgument(where + ": unknown key '" + key + "'");
      }
      if (!ok) return tl::unexpected(ok.error());
    }
  } catch (const YAML::Exception& e) {
    return invalidArgument(where + ": " + e.what());
  }
  return c;
}

Result<ClusterAccess> clusterAccessFor(const KubernetesConfig& config) {
  if (config.access == AccessMode::kInCluster) return inClusterAccess();
  std::filesystem::path file = config.kubeconfig;
  if (file.empty()) {
    const char* env = std::getenv("KUBECONFIG");
    const char* home = std::getenv("HOME");
    // Like kubectl: the first file of a KUBECONFIG list.
    if (env && *env) {
      const std::string list = env;
      file = list.substr(0, list.find(':'));
    } else if (home && *home) {
      file = std::filesystem::path(home) / ".kube" / "config";
    }
  }
  if (file.empty()) return invalidArgument("No kubeconfig: set 'kubeconfig' in the 'kubernetes' section");
  return loadKubeconfig(file, config.context);
}

KubernetesRuntimeOptions runtimeOptionsFor(const KubernetesConfig& config,
                                           const std::filesystem::path& state_dir) {
  KubernetesRuntimeOptions options;
  options.manifests = config.manifests;
  options.runs = config.runs;
  options.layout = model::StateLayout(state_dir);
  options.namespaces = config.namespaces;
  options.watch_timeout_seconds = config.watch_timeout_seconds;
  options.place_jobs = config.place_jobs;
  return options;
}

}  // namespace tjf::kubernetes

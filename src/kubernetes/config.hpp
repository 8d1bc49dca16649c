// The operator's Kubernetes settings: how to reach the cluster, what to watch, and the knobs of
// the manifests (CPU limit default, TTLs, volumes for `--mount all`). Read from the `kubernetes:`
// mapping of tjfd's config file (docs/kubernetes.md documents every key).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "base/result.hpp"
#include "kubernetes/kubeconfig.hpp"
#include "kubernetes/kubernetes_runtime.hpp"
#include "kubernetes/manifests.hpp"
#include "kubernetes/run_mapping.hpp"

namespace tjf::kubernetes {

enum class AccessMode { kKubeconfig, kInCluster };

struct KubernetesConfig {
  AccessMode access = AccessMode::kKubeconfig;
  std::filesystem::path kubeconfig;  // empty: $KUBECONFIG, else ~/.kube/config
  std::string context;               // empty: the kubeconfig's current-context
  std::vector<std::string> namespaces;  // watched; empty: all namespaces
  int watch_timeout_seconds = 300;
  // Scheduled and continuous jobs become CronJobs and Deployments (docs/kubernetes.md).
  bool place_jobs = true;
  ManifestOptions manifests;
  RunJobOptions runs;
};

// Parses the `kubernetes:` mapping. Unknown keys, wrong types and bad quantities are errors that
// name `where` and the key (a typo must not silently fall back to a default).
Result<KubernetesConfig> kubernetesConfigFromYaml(const YAML::Node& node, const std::string& where);

// The credentials the configuration points at (kubeconfig file or service account).
Result<ClusterAccess> clusterAccessFor(const KubernetesConfig& config);

// The runtime options that follow from the configuration and the state directory.
KubernetesRuntimeOptions runtimeOptionsFor(const KubernetesConfig& config,
                                           const std::filesystem::path& state_dir);

}  // namespace tjf::kubernetes

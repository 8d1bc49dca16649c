#!/bin/sh
# Checks tjf's Kubernetes runtime against a real cluster: the runtime's own RealCluster test, then
# the conformance suite (tests/conformance/) with a real tjfd and the real CLI, pointed at the
# cluster that <kubeconfig> names. Nothing talks to a cluster unless you point it at one.
#
#   scripts/check-kubernetes.sh <kubeconfig> [tool] [image-catalogue.yaml]
#
# Needs: a namespace tool-<tool> (default tool: tf-test) where the credentials may create, get,
# list, watch and delete jobs, cronjobs, deployments and services, and get/list/watch pods,
# pods/log, events, resourcequotas and limitranges; an image catalogue (tjfd's `images:` format)
# whose `bookworm` image has /bin/sh and can be pulled by the cluster (default: tjf's catalogue);
# TJF_CONFORMANCE_UID/GID for the pods' identity (default 1000). Builds first when needed.
set -eu
if [ $# -lt 1 ]; then
  echo "usage: $0 <kubeconfig> [tool] [image-catalogue.yaml]" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")/.." && pwd)
build=${TJF_BUILD_DIR:-$here/build}
kubeconfig=$(realpath "$1")
tool=${2:-tf-test}
"$here/scripts/build.sh" Release "$build" >/dev/null
ninja -C "$build" conformance_integration_test tjf_kubernetes_test >/dev/null

export TJF_CONFORMANCE_KUBECONFIG="$kubeconfig" TJF_CONFORMANCE_TOOL="$tool"
if [ $# -ge 3 ]; then export TJF_CONFORMANCE_IMAGES=$(realpath "$3"); fi
echo "== the runtime against the cluster (RealCluster)"
TJF_K8S_KUBECONFIG="$kubeconfig" TJF_K8S_NAMESPACE="tool-$tool" \
  TJF_K8S_IMAGE=${TJF_K8S_IMAGE:-busybox:1.36} TJF_K8S_UID=${TJF_CONFORMANCE_UID:-1000} \
  "$build/bin/tjf_kubernetes_test" --gtest_filter='RealCluster.*'
echo "== the conformance suite against the cluster"
exec "$build/bin/conformance_integration_test" --gtest_filter='Runtimes/ConformanceTest.*/kubernetes'

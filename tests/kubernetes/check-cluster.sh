#!/bin/sh
# Runs tjf's Kubernetes runtime against a real cluster: a run that completes (and whose output is
# collected), one that exits 3, and one that hits its timeout. Nothing here talks to a cluster
# unless you point it at one.
#
#   tests/kubernetes/check-cluster.sh <build-dir> <kubeconfig> <namespace> [image] [uid]
#
# The credentials need create/get/list/watch/delete on jobs and get/list/watch on pods and
# pods/log in <namespace>, which must be tool-<tool>. The image needs /bin/sh (default
# busybox:1.36); pods run as <uid> (default 1000), never as root.
set -eu
if [ $# -lt 3 ]; then
  echo "usage: $0 <build-dir> <kubeconfig> <namespace> [image] [uid]" >&2
  exit 2
fi
build=$1
TJF_K8S_KUBECONFIG=$2 TJF_K8S_NAMESPACE=$3 TJF_K8S_IMAGE=${4:-busybox:1.36} TJF_K8S_UID=${5:-1000} \
  exec "$build/bin/tjf_kubernetes_test" --gtest_filter='RealCluster.*'

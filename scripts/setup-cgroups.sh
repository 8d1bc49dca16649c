#!/usr/bin/env bash
# Root only, once per boot: on hybrid cgroup machines crun refuses to run while `hugetlb` is the
# only controller left on the v2 hierarchy; binding it to a v1 hierarchy fixes that (see
# docs/machine-notes in the shared docs). Harmless elsewhere.
set -euo pipefail
[[ $(id -u) -eq 0 ]] || { echo "setup-cgroups: needs root; skipped"; exit 0; }
if [[ -f /sys/fs/cgroup/unified/cgroup.controllers ]] && grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers; then
  mkdir -p /sys/fs/cgroup/hugetlb
  mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb 2>/dev/null || true
fi

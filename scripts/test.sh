#!/usr/bin/env bash
# The one command for the whole test suite on a fresh Debian 12 machine: installs what is
# missing, builds a Debug build with AddressSanitizer and UBSan (build-test/), and runs every
# test with ctest: unit tests beside the code and the integration tests that start real tjfd
# daemons and drive them with the real CLI.
#
#   scripts/test.sh            everything
#   TJF_TEST_FILTER=regex scripts/test.sh   only tests whose name matches
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
if [[ $(id -u) -eq 0 ]]; then scripts/setup-cgroups.sh || true; fi
scripts/build.sh Sanitize build-test
# The Kubernetes manifests are checked against the official schemas from the npm registry; without
# npm (or the registry) that one test reports itself skipped.
if command -v npm >/dev/null; then
  ninja -C build-test kubernetes_schema_deps >/dev/null 2>&1 || echo "test: kubernetes-models not installed; the schema test will skip"
fi
args=(--output-on-failure --timeout 600 -j 2)
if [[ -n "${TJF_TEST_FILTER:-}" ]]; then args+=(-R "$TJF_TEST_FILTER"); fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --test-dir build-test "${args[@]}"

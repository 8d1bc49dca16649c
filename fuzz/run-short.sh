#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/CMakeLists.txt) with clang, AddressSanitizer and UBSan, and
# runs each for a few seconds on its seed corpus (fuzz/corpus/<target>/; the job-file target also
# reads the real job files in ../shared/data/real-jobs/ when they are there). A crash, a leak, an
# undefined behaviour or a broken invariant fails the run and leaves the input in
# <build>/fuzz-artifacts/. The seed corpora are never written to.
#
#   fuzz/run-short.sh [BUILD_DIR]        default BUILD_DIR: build-fuzz beside fuzz/
#   TJF_FUZZ_SECONDS=60 fuzz/run-short.sh   longer runs (default 10 s per target)
#   TJF_FUZZ_TARGETS="cron quantity"        only these targets
#
# Exit status 77 (ctest: skipped) when clang or libFuzzer's runtime is not installed:
#   apt-get install clang libclang-rt-14-dev
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="$(dirname "$here")"
build="${1:-$src/build-fuzz}"
seconds="${TJF_FUZZ_SECONDS:-10}"
targets=(${TJF_FUZZ_TARGETS:-http_request job_json jobfile cron quantity})

clangxx="${TJF_FUZZ_CXX:-$(command -v clang++ || true)}"
if [[ -z "$clangxx" ]]; then
  echo "fuzz: skipped: clang++ is not installed (apt-get install clang libclang-rt-14-dev)"
  exit 77
fi
probe="$(mktemp -d)"
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' \
  >"$probe/probe.cpp"
if ! "$clangxx" -fsanitize=fuzzer "$probe/probe.cpp" -o "$probe/probe" 2>"$probe/err"; then
  echo "fuzz: skipped: $clangxx cannot link libFuzzer (apt-get install libclang-rt-14-dev):"
  cat "$probe/err"
  exit 77
fi

echo "fuzz: building the targets in $build with $clangxx"
cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$clangxx" -DTJF_FUZZ=ON -DTJF_BUILD_TESTS=OFF -DTJF_BUILD_BENCH=OFF \
  >"$probe/cmake.log" 2>&1 || { cat "$probe/cmake.log"; exit 1; }
ninja -C "$build" -j "${TJF_FUZZ_JOBS:-2}" fuzz_targets >"$probe/ninja.log" 2>&1 ||
  { tail -50 "$probe/ninja.log"; exit 1; }

artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}:abort_on_error=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
passed=0
failed=0
for target in "${targets[@]}"; do
  binary="$build/bin/fuzz_$target"
  work="$probe/corpus-$target"  # new inputs go here, not into the seeds
  mkdir -p "$work"
  corpora=("$work" "$here/corpus/$target")
  if [[ "$target" == "jobfile" && -d "$src/../shared/data/real-jobs" ]]; then
    corpora+=("$src/../shared/data/real-jobs")
  fi
  log="$probe/$target.log"
  if "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
       -artifact_prefix="$artifacts/$target-" -print_final_stats=1 "${corpora[@]}" >"$log" 2>&1; then
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')"
    echo "fuzz: $target: ok, $runs inputs in ${seconds}s"
    passed=$((passed + 1))
  else
    echo "fuzz: $target: FAILED (input in $artifacts/$target-*)"
    grep -v -e '^#' -e 'NEW_FUNC' -e '^INFO:' "$log" | tail -40
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed passed, $failed failed"
[[ $failed -eq 0 ]]

#!/usr/bin/env bash
# Re-adoption benchmark (runs outlive the daemon).
#
#   bench/readopt.sh [N=1000] [build-dir=build]
#
# Starts a tjfd on a temporary state directory (quotas off), starts N one-off jobs of
# `sleep 600`, then reports:
#   * memory and process count per running job of the mechanism that keeps runs alive (the
#     tjf-shim processes: RSS and PSS from /proc/<pid>/smaps_rollup);
#   * the time for a SIGKILLed daemon to come back and re-adopt all N runs (start to the first
#     answer of `toolforge jobs list` with every job still "Running");
# and stops everything it started (flush, then the daemon by pid).
set -euo pipefail
n="${1:-1000}"
build="${2:-build}"
bin="$(cd "$(dirname "$0")/.." && pwd)/$build/bin"
root=$(mktemp -d /tmp/tjf-readopt-XXXXXX)
mkdir -p "$root/home"
cat >"$root/tjfd.yaml" <<YAML
state_dir: $root/state
tool: bench
tool_home: $root/home
quota: {running_jobs: "0", running_oneoff_cron: "0", cpu: "0", memory: "0"}
YAML
export TJF_STATE_DIR="$root/state"
start_daemon() { "$bin/tjfd" --config "$root/tjfd.yaml" >>"$root/tjfd.log" 2>&1 & echo $! >"$root/pid"; }
wait_up() { until "$bin/toolforge" jobs list >/dev/null 2>&1; do sleep 0.01; done; }
start_daemon
wait_up
sock="$root/state/tjfd.sock"
t0=$(date +%s.%N)
for i in $(seq 1 "$n"); do
  curl -s -o /dev/null --unix-socket "$sock" -X POST \
    -d "{\"name\":\"s$i\",\"cmd\":\"sleep 600\",\"imagename\":\"bookworm\",\"filelog\":false}" \
    http://localhost/v1/tool/bench/jobs
done
until [ "$("$bin/toolforge" jobs list | grep -c 'Running for')" -ge "$n" ]; do sleep 0.2; done
t1=$(date +%s.%N)
shims=$(pgrep -f "tjf-shim $root/state/runs/" | while read -r p; do [ "$(ps -o sid= -p "$p" | tr -d ' ')" = "$p" ] && echo "$p"; done)
count=$(echo "$shims" | wc -l)
rss=0; pss=0
for p in $shims; do
  r=$(awk '/^Rss:/{print $2}' "/proc/$p/smaps_rollup"); s=$(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup")
  rss=$((rss + r)); pss=$((pss + s))
done
kill -9 "$(cat "$root/pid")"
sleep 0.2
t2=$(date +%s.%N)
start_daemon
wait_up
until [ "$("$bin/toolforge" jobs list | grep -c 'Running for')" -ge "$n" ]; do sleep 0.01; done
t3=$(date +%s.%N)
daemon_rss=$(awk '/^Rss:/{print $2}' "/proc/$(cat "$root/pid")/smaps_rollup")
echo "| measurement | value |"
echo "|---|---|"
echo "| jobs started and running | $n in $(echo "$t1 - $t0" | bc) s |"
echo "| supervisor processes per running job | $(echo "scale=2; $count / $n" | bc) |"
echo "| supervisor RSS per running job | $((rss / count)) KiB (PSS $((pss / count)) KiB) |"
echo "| daemon RSS with $n running jobs | $daemon_rss KiB |"
echo "| SIGKILL to all $n runs re-adopted and listed | $(echo "$t3 - $t2" | bc) s |"
"$bin/toolforge" jobs flush
kill "$(cat "$root/pid")"
rm -rf "$root"

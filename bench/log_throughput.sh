#!/usr/bin/env bash
# bench/log_throughput.sh: what keeping a job's output in the log store costs (docs/logs.md).
#
# 1. Capture throughput. A one-off job (--no-filelog) writes SIZE MiB as fast as it can; its
#    output goes through the pipes of its tjf-shim into runs/<id>/output.log, one record
#    "<unix-micros> <o|e> <text>" per line. Three writers, because the cost is per line:
#      yes        `yes | head -c SIZE`                 2-byte lines (the worst case: 10x the bytes)
#      100-byte   `yes <99 zeros> | head -c SIZE`       100-byte lines (typical log lines)
#      64k-lines  `head -c SIZE /dev/zero | tr '\0' x`  no newline at all (cut every 64 KiB)
#    The physical limit is the same writer into `cat > file` on the same filesystem (the state
#    directory's), run by the same /bin/sh: one pipe hop and one file write, as in the shim. The
#    job's time is the shim's own record of it (exit.json: start to the job's exit); the ratio is
#    tjf MB/s / cat MB/s, in bytes of job output, each the median of REPS runs (cat and tjf
#    alternating). Also reported: the shim's CPU time (its own line in shim.log, getrusage; the
#    median run's) and tjfd's (utime + stime from /proc over the whole part).
# 2. `logs -f` latency. A continuous job prints its clock (`date +%s%N`) every 100 ms; a reader
#    runs `toolforge jobs logs -f --json` and takes the time each line arrives. Latency = arrival
#    - the time in the line: the shim, the file, inotify, tjfd, HTTP and the CLI. Median, p90, max
#    over SAMPLES lines.
# 3. `logs -l 100` on a job with HISTORY MiB of output (100-byte lines; default 1024 = 1 GiB):
#    wall time of the CLI (median of 5) and the bytes tjfd read to answer (rchar from
#    /proc/<pid>/io), which shows that the history is not read whole.
#
# Usage:
#   bench/log_throughput.sh [--build DIR] [--size MiB] [--reps N] [--history MiB] [--samples N]
#                           [--only 1|2|3]
#   --build DIR     build directory with bin/tjfd, bin/tjf-shim, bin/toolforge (default: build)
#   --size MiB      bytes per throughput run (default 200)
#   --reps N        throughput runs per writer and side (default 3)
#   --history MiB   history for part 3 (default 1024)
#   --samples N     lines measured in part 2 (default 100)
#   --only P        run part P alone
#   TJF_BENCH_DIR   where the temporary state directory goes (default: a new dir under /tmp);
#                   its filesystem is the one measured
#
# Needs bash, python3, coreutils. Everything lives in a temporary directory; the script stops
# only the processes it started (by pid) and removes the directory at the end. Use a Release
# build (scripts/build.sh) for figures worth recording.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
build="$here/../build"
size_mib=200
history_mib=1024
samples=100
reps=3
only=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --size) size_mib="$2"; shift 2 ;;
    --history) history_mib="$2"; shift 2 ;;
    --samples) samples="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
bin="$(cd "$build/bin" && pwd)"
for b in tjfd tjf-shim toolforge; do
  [[ -x "$bin/$b" ]] || { echo "no $b in $bin" >&2; exit 2; }
done

work="$(mktemp -d "${TJF_BENCH_DIR:-/tmp}/tjf-bench-logs-XXXXXX")"
tjfd_pid=""
follow_pid=""
cleanup() {
  [[ -n "$follow_pid" ]] && kill "$follow_pid" 2>/dev/null || true
  if [[ -n "$tjfd_pid" ]]; then
    TJF_STATE_DIR="$work/state" "$bin/toolforge" jobs flush >/dev/null 2>&1 || true
    kill "$tjfd_pid" 2>/dev/null || true
    wait "$tjfd_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/home"
cat > "$work/tjfd.yaml" <<EOF
state_dir: $work/state
tool: tf-bench
tool_home: $work/home
cgroups: false
restart_backoff_ms: 0
log_retention_bytes: 0
log_retention_days: 0
EOF
"$bin/tjfd" --config "$work/tjfd.yaml" >"$work/tjfd.log" 2>&1 &
tjfd_pid=$!
export TJF_STATE_DIR="$work/state"
for _ in $(seq 100); do
  [[ -S "$work/state/tjfd.sock" ]] && break
  sleep 0.05
done
tf() { (cd "$work/home" && "$bin/toolforge" jobs "$@"); }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rchar() { awk '/^rchar:/ {print $2}' "/proc/$1/io"; }
hz=$(getconf CLK_TCK)
# The newest run of a job: its directory.
run_dir() {
  local id
  id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["runs"][0]["id"])' \
    < <(curl -s --unix-socket "$work/state/tjfd.sock" "http://localhost/v1/tool/tf-bench/jobs/$1/runs"))
  echo "$work/state/runs/$id"
}

echo "tjf log store benchmark: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), state on $(df --output=source,fstype "$work" | tail -1)"
echo "build: $build"
echo

# ---- 1. throughput --------------------------------------------------------------------------
part1() {
size="${size_mib}M"
declare -A writer
writer[yes]="yes | head -c $size"
writer[100-byte]="yes $(printf '%099d' 0) | head -c $size"
writer[64k-lines]="head -c $size /dev/zero | tr '\\0' x"
echo "1. capture throughput, ${size_mib} MiB of job output per run, median of $reps"
printf '%-10s %12s %12s %7s %14s %12s\n' writer "cat MB/s" "tjf MB/s" ratio "shim CPU s" "records"
daemon_before=$(cpu_ticks "$tjfd_pid")
for w in yes 100-byte 64k-lines; do
  cmd="${writer[$w]}"
  cat_runs=() tjf_runs=()
  for r in $(seq "$reps"); do
    # The physical limit: the same writer into a file through one pipe hop.
    start=$EPOCHREALTIME
    sh -c "$cmd | cat > '$work/cat.out'"
    end=$EPOCHREALTIME
    rm -f "$work/cat.out"
    cat_runs+=("$(python3 -c "print($end - $start)")")
    tf run "tp-$w-$r" --command "$cmd" --image bookworm --no-filelog --wait >/dev/null
    dir=$(run_dir "tp-$w-$r")
    secs=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print((r["finished_at"]-r["started_at"])/1000)' "$dir/exit.json")
    cpu=$(sed -n 's/.*cpu user \([0-9.]*\)s system \([0-9.]*\)s.*/\1 \2/p' "$dir/shim.log" | awk '{printf "%.2f", $1 + $2}')
    records=$(sed -n 's/.*captured \([0-9]*\) lines.*/\1/p' "$dir/shim.log")
    tjf_runs+=("$secs:${cpu:--}:${records:--}")
    rm -f "$dir/output.log"
    tf delete "tp-$w-$r" >/dev/null
  done
  python3 - "$size_mib" "$w" "${cat_runs[*]}" "${tjf_runs[*]}" <<'PY'
import sys
mib, w = float(sys.argv[1]), sys.argv[2]
cat = sorted(float(x) for x in sys.argv[3].split())
tjf = sorted((float(x.split(":")[0]), x.split(":")[1], x.split(":")[2]) for x in sys.argv[4].split())
c, (t, cpu, rec) = cat[len(cat) // 2], tjf[len(tjf) // 2]
mb = mib * 1048576 / 1e6
print(f"{w:<10} {mb/c:12.0f} {mb/t:12.0f} {c/t:7.2f} {cpu:>14} {rec:>12}")
PY
done
daemon_after=$(cpu_ticks "$tjfd_pid")
echo "tjfd CPU during part 1: $(python3 -c "print(($daemon_after - $daemon_before) / $hz)") s"
echo
}
[[ -z "$only" || "$only" == 1 ]] && part1

# ---- 2. logs -f latency ---------------------------------------------------------------------
part2() {
echo "2. logs -f latency (job clock -> line printed by the CLI), $samples lines"
tf run ticker --command 'while true; do date +%s%N; sleep 0.1; done' --image bookworm \
  --no-filelog --continuous >/dev/null
python3 - "$bin/toolforge" "$samples" "$work/home" <<'PY'
import json, os, subprocess, sys, time
cli, n, home = sys.argv[1], int(sys.argv[2]), sys.argv[3]
p = subprocess.Popen([cli, "jobs", "logs", "ticker", "-f", "--json", "-l", "0"], cwd=home,
                     stdout=subprocess.PIPE)
lat = []
while len(lat) < n:
    line = p.stdout.readline()
    if not line:
        break
    now = time.time_ns()
    sent = int(json.loads(line)["message"])
    lat.append((now - sent) / 1e6)
p.terminate()
p.wait()
lat.sort()
if lat:
    print(f"median {lat[len(lat)//2]:.1f} ms, p90 {lat[int(len(lat)*0.9)]:.1f} ms, max {lat[-1]:.1f} ms")
else:
    print("no lines received")
PY
tf delete ticker >/dev/null
echo
}
[[ -z "$only" || "$only" == 2 ]] && part2

# ---- 3. logs -l 100 on a long history -------------------------------------------------------
part3() {
echo "3. logs -l 100 with ${history_mib} MiB of history (100-byte lines)"
tf run history --command "yes $(printf '%099d' 0) | head -c ${history_mib}M" --image bookworm \
  --no-filelog --wait >/dev/null
dir=$(run_dir history)
echo "output.log: $(du -h --apparent-size "$dir/output.log" | cut -f1)"
python3 - "$bin/toolforge" "$work/home" "$tjfd_pid" <<'PY'
import subprocess, sys, time
cli, home, pid = sys.argv[1], sys.argv[2], sys.argv[3]
def rchar():
    for line in open(f"/proc/{pid}/io"):
        if line.startswith("rchar:"):
            return int(line.split()[1])
times, reads = [], []
for _ in range(5):
    before = rchar()
    t0 = time.perf_counter()
    out = subprocess.run([cli, "jobs", "logs", "history", "-l", "100"], cwd=home,
                         capture_output=True, check=True).stdout
    times.append((time.perf_counter() - t0) * 1000)
    reads.append(rchar() - before)
    assert out.count(b"\n") == 100, out[:200]
times.sort()
print(f"logs -l 100: median {times[2]:.1f} ms (min {times[0]:.1f}, max {times[-1]:.1f}); "
      f"tjfd read {min(reads)/1024:.0f} KiB per request")
PY
}
[[ -z "$only" || "$only" == 3 ]] && part3
exit 0

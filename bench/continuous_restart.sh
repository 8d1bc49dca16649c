#!/usr/bin/env bash
# bench/continuous_restart.sh: what supervising continuous jobs costs, beside supervisord and pm2.
#
# 1. Crash-restart latency. One continuous job whose command (a bash script) appends the time it
#    starts and the time it exits ($EPOCHREALTIME) to a file and exits 1, over and over. tjfd runs
#    with `restart_backoff_ms: 0` (no back-off), so the figure is the machinery alone: the shim
#    noticing the exit and writing the exit record, tjfd seeing the shim go, recording the run,
#    deciding, and starting a new shim that starts the command. Latency = one run's exit -> the
#    next run's first line. The same script runs under supervisord (autorestart, startsecs=0) and
#    pm2 (restart_delay 0, no unstable-restart limit). Prints median, p90 and p99 in ms.
#
# 2. CPU cost of supervision. J continuous `sleep` jobs (default 1000) with a health check
#    (`health_check: script 'true'`, probed every 10 s after the startup probe), then the same
#    without a health check; beside supervisord and pm2 running the same J `sleep` programs (they
#    have no health checks). Once everything runs and has settled, it reads the supervisor's CPU
#    time (user + system from /proc/<pid>/stat, including the reaped children: the probes) over a
#    window of W seconds (default 60), and for tjf also the CPU of its J per-run shims. Prints CPU
#    seconds per window, percent of one core, and the ratios.
#
# Usage:
#   bench/continuous_restart.sh [--build DIR] [--restarts N] [--jobs J] [--window SECONDS]
#                               [--skip-latency] [--skip-cpu] [--skip-pm2] [--skip-supervisord]
#   --build DIR      build directory holding bin/tjfd and bin/tjf-shim (default: build)
#   --restarts N     restarts measured per supervisor (default 200)
#   --jobs J         jobs/programs for the CPU part (default 1000)
#   --window S       CPU measurement window in seconds (default 60)
#   TJF_BENCH_CONFIG extra lines for tjfd's YAML config (e.g. "cgroups: false"); the script
#                    already lifts the per-tool quota (`quota:` items set to 0, no limit)
#
# Needs bash, python3 and curl; supervisord (Debian package `supervisor`) and pm2 (npm package
# `pm2`) are measured when installed. Everything lives in a temporary directory; the script stops
# only the processes it started (by pid, or `pm2 kill` with its own PM2_HOME) and removes the
# directory at the end. It needs about 3 x J processes and J x 3 file descriptors at once.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
build="$here/../build"
restarts=200
jobs=1000
window=60
do_latency=1
do_cpu=1
do_pm2=1
do_supervisord=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --restarts) restarts="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --window) window="$2"; shift 2 ;;
    --skip-latency) do_latency=0; shift ;;
    --skip-cpu) do_cpu=0; shift ;;
    --skip-pm2) do_pm2=0; shift ;;
    --skip-supervisord) do_supervisord=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
tjfd="$build/bin/tjfd"
[[ -x "$tjfd" && -x "$build/bin/tjf-shim" ]] || { echo "no tjfd/tjf-shim in $build/bin" >&2; exit 2; }
command -v supervisord >/dev/null || do_supervisord=0
command -v pm2 >/dev/null || do_pm2=0

work="$(mktemp -d /tmp/tjf-bench-continuous-XXXXXX)"
started_pids=()
pm2_homes=()
tjfd_pid=""
sock=""
cleanup() {
  # A tjfd still up (the script failed half-way) stops its jobs first: runs outlive their daemon.
  if [[ -n "$tjfd_pid" ]] && kill -0 "$tjfd_pid" 2>/dev/null; then
    curl -s --max-time 120 --unix-socket "$sock" -X DELETE http://tjfd/v1/tool/bench/jobs \
      >/dev/null 2>&1 || true
  fi
  for home in "${pm2_homes[@]}"; do PM2_HOME="$home" pm2 kill >/dev/null 2>&1 || true; done
  for pid in "${started_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${started_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# ---- helpers ------------------------------------------------------------------------------------

# cpu_ticks PID: "<own> <children>" clock ticks of a process: utime + stime, and cutime + cstime
# (the children it has reaped: for tjfd, the health-check probes).
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13, $14 + $15 }' "/proc/$1/stat"; }
# shim_ticks RUNS_DIR: utime + stime of every live tjf-shim serving runs under RUNS_DIR.
shim_ticks() {
  python3 - "$1" <<'EOF'
import os, sys
prefix = sys.argv[1] + "/"
total = 0
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        args = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        if len(args) < 2 or not args[1].decode(errors="replace").startswith(prefix):
            continue
        stat = open(f"/proc/{pid}/stat").read()
        fields = stat[stat.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])
    except (OSError, ValueError):
        pass
print(total)
EOF
}
hz=$(getconf CLK_TCK)

# percentiles FILE: "median p90 p99" (ms) of the restart latencies in a start/exit times file.
percentiles() {
  python3 - "$1" <<'EOF'
import sys
starts, exits = [], []
for line in open(sys.argv[1]):
    kind, t = line.split()
    (starts if kind == "s" else exits).append(float(t))
gaps = sorted((s - e) * 1000 for e, s in zip(exits, starts[1:]))
pick = lambda q: gaps[min(len(gaps) - 1, int(q * len(gaps)))]
print(f"{pick(0.5):.1f} {pick(0.9):.1f} {pick(0.99):.1f} {len(gaps)}")
EOF
}

# wait_lines FILE KIND N: until FILE has N lines starting with KIND.
wait_lines() {
  local deadline=$((SECONDS + 600))
  until [[ -f "$1" ]] && [[ $(grep -c "^$2 " "$1" || true) -ge $3 ]]; do
    [[ $SECONDS -lt $deadline ]] || { echo "timed out waiting for $3 '$2' lines in $1" >&2; exit 1; }
    sleep 0.2
  done
}

# ---- tjfd -----------------------------------------------------------------------------------------

# start_tjfd NAME [BACKOFF_MS]: a tjfd with its own state dir and tool home under $work/NAME.
start_tjfd() {
  local dir="$work/$1"
  mkdir -p "$dir/home"
  cat > "$dir/tjfd.yaml" <<EOF
state_dir: $dir/state
tool: bench
tool_home: $dir/home
restart_backoff_ms: ${2:-10000}
stop_grace_seconds: 2
quota:  # 0: no limit; the default quota allows 3 continuous jobs per tool
  running_jobs: 0
  continuous_jobs: 0
  cpu: 0
  memory: 0
${TJF_BENCH_CONFIG:-}
EOF
  "$tjfd" --config "$dir/tjfd.yaml" > "$dir/tjfd.log" 2>&1 &
  tjfd_pid=$!
  started_pids+=("$tjfd_pid")
  sock="$dir/state/tjfd.sock"
  for _ in $(seq 100); do
    curl -sf --unix-socket "$sock" http://tjfd/v1/healthz >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "tjfd did not start: $(cat "$dir/tjfd.log")" >&2
  exit 1
}
stop_tjfd() {
  curl -s --max-time 120 --unix-socket "$sock" -X DELETE http://tjfd/v1/tool/bench/jobs >/dev/null
  kill "$tjfd_pid"
  wait "$tjfd_pid" 2>/dev/null || true
  tjfd_pid=""
}
api() {  # api METHOD PATH [BODY]
  curl -s --unix-socket "$sock" -X "$1" "http://tjfd/v1/tool/bench$2" ${3:+-d "$3"}
}

# create_jobs COUNT BODY-TEMPLATE: POSTs COUNT jobs (NAME in the template becomes job-<i>) over
# one Python process, which is much faster than a curl per job.
create_jobs() {
  python3 - "$sock" "$1" "$2" <<'EOF'
import http.client, json, socket, sys
class Unix(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("tjfd")
        self.path_ = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path_)
path, count, template = sys.argv[1], int(sys.argv[2]), sys.argv[3]
for i in range(count):
    c = Unix(path)
    c.request("POST", "/v1/tool/bench/jobs", template.replace("NAME", f"job-{i}"),
              {"Content-Type": "application/json"})
    r = c.getresponse()
    body = r.read()
    if r.status != 201:
        sys.exit(f"creating job-{i} failed: {r.status} {body[:300]!r}")
    c.close()
EOF
}
count_running() {
  api GET /jobs | python3 -c 'import json,sys; print(sum(j["status_short"] == "Running" for j in json.load(sys.stdin)["jobs"]))'
}

# ---- the crash script ---------------------------------------------------------------------------

write_crash_script() {  # write_crash_script DIR TIMES-FILE
  mkdir -p "$1"
  cat > "$1/crash.sh" <<EOF
#!/bin/bash
echo "s \$EPOCHREALTIME" >> $2
echo "e \$EPOCHREALTIME" >> $2
exit 1
EOF
  chmod +x "$1/crash.sh"
}

declare -A result

latency_tjfd() {
  start_tjfd latency 0
  local times="$work/latency/times.txt"
  write_crash_script "$work/latency/home" "$times"
  api POST /jobs '{"name":"crash","cmd":"./crash.sh","imagename":"bookworm","continuous":true,"filelog":false}' >/dev/null
  wait_lines "$times" s $((restarts + 1))
  api DELETE /jobs/crash >/dev/null
  result[latency_tjfd]="$(percentiles "$times")"
  stop_tjfd
}

supervisord_conf() {  # supervisord_conf DIR: the common header
  cat <<EOF
[unix_http_server]
file=$1/supervisor.sock
[supervisord]
logfile=$1/supervisord.log
pidfile=$1/supervisord.pid
childlogdir=$1/logs
nodaemon=true
minfds=$((jobs * 4 + 1024))
minprocs=$((jobs * 2 + 200))
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://$1/supervisor.sock
EOF
}

latency_supervisord() {
  local dir="$work/sv-latency" times="$work/sv-latency/times.txt"
  mkdir -p "$dir/logs"
  write_crash_script "$dir" "$times"
  { supervisord_conf "$dir"; cat <<EOF
[program:crash]
command=$dir/crash.sh
autorestart=true
startsecs=0
startretries=1000000
stdout_logfile=$dir/logs/crash.out
stderr_logfile=$dir/logs/crash.err
EOF
  } > "$dir/supervisord.conf"
  supervisord -c "$dir/supervisord.conf" > /dev/null 2>&1 &
  local pid=$!
  started_pids+=("$pid")
  wait_lines "$times" s $((restarts + 1))
  kill "$pid"; wait "$pid" 2>/dev/null || true
  result[latency_supervisord]="$(percentiles "$times")"
}

latency_pm2() {
  local dir="$work/pm2-latency" times="$work/pm2-latency/times.txt"
  export PM2_HOME="$dir/pm2"
  pm2_homes+=("$PM2_HOME")
  write_crash_script "$dir" "$times"
  cat > "$dir/eco.json" <<EOF
{"apps": [{"name": "crash", "script": "$dir/crash.sh", "interpreter": "none",
           "autorestart": true, "restart_delay": 0, "min_uptime": 0, "max_restarts": 1000000000,
           "out_file": "$dir/crash.out", "error_file": "$dir/crash.err"}]}
EOF
  pm2 start "$dir/eco.json" >/dev/null
  wait_lines "$times" s $((restarts + 1))
  pm2 kill >/dev/null
  unset PM2_HOME
  result[latency_pm2]="$(percentiles "$times")"
}

# cpu_window PID [RUNS-DIR]: "<supervisor ticks> <its reaped children's ticks> <shim ticks>"
# used over the window.
cpu_window() {
  local a1 a2 b1 b2 sa=0 sb=0
  read -r a1 a2 <<< "$(cpu_ticks "$1")"; [[ -n "${2:-}" ]] && sa=$(shim_ticks "$2")
  sleep "$window"
  read -r b1 b2 <<< "$(cpu_ticks "$1")"; [[ -n "${2:-}" ]] && sb=$(shim_ticks "$2")
  echo "$((b1 - a1)) $((b2 - a2)) $((sb - sa))"
}

cpu_tjfd() {  # cpu_tjfd KEY BODY-TEMPLATE
  start_tjfd "cpu-$1"
  local t0=$SECONDS
  create_jobs "$jobs" "$2"
  local deadline=$((SECONDS + 900))
  until [[ $(count_running) -ge $jobs ]]; do
    [[ $SECONDS -lt $deadline ]] || { echo "not all $jobs jobs came up" >&2; exit 1; }
    sleep 1
  done
  result["up_$1"]=$((SECONDS - t0))
  sleep 15  # let the startup probes finish and the liveness rhythm settle
  result["cpu_$1"]="$(cpu_window "$tjfd_pid" "$work/cpu-$1/state/runs")"
  stop_tjfd
}

cpu_supervisord() {
  local dir="$work/sv-cpu"
  mkdir -p "$dir/logs"
  { supervisord_conf "$dir"
    for i in $(seq 0 $((jobs - 1))); do
      printf '[program:job-%d]\ncommand=sleep 100000\nautorestart=true\nstdout_logfile=%s/logs/job-%d.out\nstderr_logfile=%s/logs/job-%d.err\n' \
        "$i" "$dir" "$i" "$dir" "$i"
    done
  } > "$dir/supervisord.conf"
  supervisord -c "$dir/supervisord.conf" > /dev/null 2>&1 &
  local pid=$!
  started_pids+=("$pid")
  local deadline=$((SECONDS + 900))
  until [[ $(pgrep -P "$pid" -c sleep || true) -ge $jobs ]]; do
    [[ $SECONDS -lt $deadline ]] || { echo "supervisord did not start $jobs programs" >&2; exit 1; }
    sleep 1
  done
  sleep 15
  result[cpu_supervisord]="$(cpu_window "$pid")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

cpu_pm2() {
  local dir="$work/pm2-cpu"
  export PM2_HOME="$dir/pm2"
  pm2_homes+=("$PM2_HOME")
  mkdir -p "$dir"
  python3 - "$jobs" "$dir" > "$dir/eco.json" <<'EOF'
import json, sys
n, d = int(sys.argv[1]), sys.argv[2]
print(json.dumps({"apps": [{"name": f"job-{i}", "script": "sleep", "args": "100000",
                            "interpreter": "none", "autorestart": True,
                            "out_file": f"{d}/job-{i}.out", "error_file": f"{d}/job-{i}.err"}
                           for i in range(n)]}))
EOF
  pm2 start "$dir/eco.json" >/dev/null
  local pid; pid=$(cat "$PM2_HOME/pm2.pid")
  local deadline=$((SECONDS + 900))
  until [[ $(pgrep -P "$pid" -c sleep || true) -ge $jobs ]]; do
    [[ $SECONDS -lt $deadline ]] || { echo "pm2 did not start $jobs programs" >&2; exit 1; }
    sleep 1
  done
  sleep 15
  result[cpu_pm2]="$(cpu_window "$pid")"
  pm2 kill >/dev/null
  unset PM2_HOME
}

# ---- run ------------------------------------------------------------------------------------------

echo "machine: $(nproc) cores, $(uname -r); tjfd: $tjfd"
if [[ $do_latency == 1 ]]; then
  echo "== crash-restart latency, $restarts restarts each (back-off disabled)"
  latency_tjfd
  [[ $do_supervisord == 1 ]] && latency_supervisord
  [[ $do_pm2 == 1 ]] && latency_pm2
  printf '%-12s %10s %10s %10s\n' supervisor "median ms" "p90 ms" "p99 ms"
  for who in tjfd supervisord pm2; do
    [[ -n "${result[latency_$who]:-}" ]] || continue
    read -r med p90 p99 _ <<< "${result[latency_$who]}"
    printf '%-12s %10s %10s %10s\n' "$who" "$med" "$p90" "$p99"
  done
  read -r tjf_med _ <<< "${result[latency_tjfd]}"
  for who in supervisord pm2; do
    [[ -n "${result[latency_$who]:-}" ]] || continue
    read -r med _ <<< "${result[latency_$who]}"
    python3 -c "print(f'median ratio tjfd/$who: {$tjf_med / $med:.2f}')"
  done
fi

if [[ $do_cpu == 1 ]]; then
  echo "== CPU over ${window}s with $jobs continuous sleep jobs"
  cpu_tjfd health '{"name":"NAME","cmd":"sleep 100000","imagename":"bookworm","continuous":true,"health_check":{"type":"script","script":"true"}}'
  cpu_tjfd plain '{"name":"NAME","cmd":"sleep 100000","imagename":"bookworm","continuous":true}'
  [[ $do_supervisord == 1 ]] && cpu_supervisord
  [[ $do_pm2 == 1 ]] && cpu_pm2
  printf '%-30s %12s %10s %12s %12s\n' supervisor "cpu s/window" "% core" "own cpu s" \
    "shims cpu s"
  for key in health plain supervisord pm2; do
    [[ -n "${result[cpu_$key]:-}" ]] || continue
    read -r own children shim <<< "${result[cpu_$key]}"
    ticks=$((own + children))
    case $key in
      health) label="tjfd (script health checks)" ;;
      plain) label="tjfd (no health checks)" ;;
      *) label="$key" ;;
    esac
    python3 -c "print(f'{\"$label\":30} {$ticks / $hz:12.2f} {100 * $ticks / $hz / $window:10.2f} {$own / $hz:12.2f} {$shim / $hz:12.2f}')"
  done
  [[ -n "${result[up_health]:-}" ]] && echo "tjfd: all $jobs jobs with health checks running after ${result[up_health]}s"
  [[ -n "${result[up_plain]:-}" ]] && echo "tjfd: all $jobs plain jobs running after ${result[up_plain]}s"
  for key in health plain; do
    read -r t1 t2 _ <<< "${result[cpu_$key]}"
    t=$((t1 + t2))
    for who in supervisord pm2; do
      [[ -n "${result[cpu_$who]:-}" ]] || continue
      read -r o1 o2 _ <<< "${result[cpu_$who]}"
      o=$((o1 + o2))
      python3 -c "print(f'CPU ratio tjfd ($key)/$who: ' + (f'{$t / $o:.2f}' if $o else 'n/a ($who used < 1 tick)'))"
    done
  done
fi

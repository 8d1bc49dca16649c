#!/usr/bin/env bash
# Container launch latency: a container job through tjfd beside bare `crun run` and `bwrap` of the
# same command in the same root filesystem, as ratios (docs/resources-and-images.md, "Benchmark").
#
#   bench/container_launch.sh [BUILD_DIR] [N]      as root; BUILD_DIR default build, N default 20
#
# What is timed, N times each, after one warm-up (medians and 90th percentiles are printed):
#   crun    `crun run --bundle B id` of the very config.json tjfd wrote for its first container
#           run (cgroupsPath dropped, so crun makes and removes its own cgroups), `/bin/sh -c true`
#           under tini in a busybox root filesystem built by scripts/build-rootfs.sh;
#   bwrap   `bwrap` with the same root filesystem, the same namespaces (pid, ipc, uts, mount; host
#           network), /proc, /dev and /tmp, running the same `/bin/sh -c true`;
#   tjfd    from the API request that creates a one-off job (POST /v1/tool/<tool>/jobs, over the
#           Unix socket) until GET shows it `Completed`, polling every millisecond: the whole path
#           of a job (API, store, engine, cgroups, shim, crun with --cgroup-manager=disabled, exit
#           record, store), for the container image and, as a reference, for a host image.
# Ratios are tjfd / crun and tjfd / bwrap. Nothing outside 127.0.0.1 or the Unix socket is used;
# the daemon and every run are stopped at the end (by pid).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
n=${2:-20}
[[ $(id -u) -eq 0 ]] || { echo "container_launch: needs root (crun, cgroups)" >&2; exit 1; }
for p in crun bwrap python3; do
  command -v $p >/dev/null || { echo "container_launch: needs $p" >&2; exit 1; }
done
[[ -x $build/bin/tjfd ]] || { echo "container_launch: build tjfd first ($build/bin/tjfd)" >&2; exit 1; }
scripts/setup-cgroups.sh >/dev/null

work=$(mktemp -d /tmp/tjf-bench-XXXXXX)
daemon_pid=""
cleanup() {
  if [[ -n "$daemon_pid" ]]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

scripts/build-rootfs.sh busybox "$work/rootfs" >/dev/null
mkdir -p "$work/home"
cat >"$work/images.yaml" <<EOF
bb:
  image: example.org/bench/busybox:1
  rootfs: $work/rootfs
EOF
cat >"$work/tjfd.yaml" <<EOF
state_dir: $work/state
tool: bench
tool_home: $work/home
images: $work/images.yaml
EOF
"$build/bin/tjfd" --config "$work/tjfd.yaml" >"$work/tjfd.log" 2>&1 &
daemon_pid=$!

python3 - "$work" "$n" <<'PY'
import http.client, json, os, socket, statistics, subprocess, sys, time

work, n = sys.argv[1], int(sys.argv[2])
sock_path = os.path.join(work, "state", "tjfd.sock")

class UnixHTTP(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(sock_path)

def call(method, path, body=None):
    c = UnixHTTP("localhost")
    c.request(method, path, body=json.dumps(body) if body is not None else None,
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, json.loads(data) if data else None

deadline = time.monotonic() + 20
while True:
    try:
        if call("GET", "/v1/healthz")[0] == 200: break
    except OSError:
        pass
    if time.monotonic() > deadline: sys.exit("tjfd did not start: " + open(os.path.join(work, "tjfd.log")).read())
    time.sleep(0.01)

def tjfd_job(name, image):
    t0 = time.perf_counter()
    st, body = call("POST", "/v1/tool/bench/jobs",
                    {"name": name, "cmd": "true", "imagename": image, "filelog": False})
    if st != 201: sys.exit(f"create failed: {st} {body}")
    while True:
        st, body = call("GET", "/v1/tool/bench/jobs/" + name)
        status = body["job"]["status_short"]
        if status == "Completed": return time.perf_counter() - t0
        if status == "Failed": sys.exit(f"job {name} failed: {body['job']['status_long']}")
        time.sleep(0.001)

def measure(fn):
    fn(-1)  # warm-up
    out = []
    for i in range(n):
        out.append(fn(i))
    return out

container = measure(lambda i: tjfd_job(f"ctr{i + 1}", "bb"))
host = measure(lambda i: tjfd_job(f"host{i + 1}", "bookworm"))

# The same config.json tjfd wrote for its first container run, for bare crun.
runs = os.path.join(work, "state", "runs")
first = min(int(d) for d in os.listdir(runs) if os.path.exists(os.path.join(runs, d, "bundle")))
config = json.load(open(os.path.join(runs, str(first), "bundle", "config.json")))
config["linux"].pop("cgroupsPath", None)
bundle = os.path.join(work, "bundle")
os.makedirs(bundle)
json.dump(config, open(os.path.join(bundle, "config.json"), "w"))

def run(argv):
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0

crun = measure(lambda i: run(["crun", "run", "--bundle", bundle, f"tjf-bench-{os.getpid()}-{i + 1}"]))
rootfs = os.path.join(work, "rootfs")
bwrap = measure(lambda i: run(["bwrap", "--ro-bind", rootfs, "/", "--proc", "/proc", "--dev", "/dev",
                               "--tmpfs", "/tmp", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                               "--die-with-parent", "/bin/sh", "-c", "true"]))

def p90(xs): return sorted(xs)[max(0, int(round(0.9 * len(xs))) - 1)]
ms = lambda s: f"{s * 1000:8.1f}"
print(f"container launch latency, {n} runs each (ms)")
print(f"{'':34}{'median':>8}  {'p90':>8}")
for label, xs in [("tjfd, container job (crun)", container), ("tjfd, host job (reference)", host),
                  ("bare crun run", crun), ("bwrap", bwrap)]:
    print(f"{label:34}{ms(statistics.median(xs))}  {ms(p90(xs))}")
c = statistics.median(container)
print(f"ratio tjfd container / bare crun: {c / statistics.median(crun):6.1f}")
print(f"ratio tjfd container / bwrap:     {c / statistics.median(bwrap):6.1f}")
print(f"ratio tjfd container / tjfd host: {c / statistics.median(host):6.1f}")
PY

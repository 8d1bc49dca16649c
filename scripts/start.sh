#!/usr/bin/env bash
# The one command to get going on a fresh Debian 12 machine: installs what is missing, builds
# (Release), and starts tjfd in personal mode in the background.
#
#   scripts/start.sh          then: build/bin/toolforge jobs run ... (or put build/bin on PATH)
#   scripts/stop.sh           stops the daemon (running jobs keep running; see README)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh Release build
state_dir="${TJF_STATE_DIR:-}"
if [[ -z "$state_dir" ]]; then
  if [[ $(id -u) -eq 0 ]]; then state_dir=/var/lib/tjf; else state_dir="${XDG_STATE_HOME:-$HOME/.local/state}/tjf"; fi
fi
mkdir -p "$state_dir"
if [[ -f "$state_dir/tjfd.pid" ]] && kill -0 "$(cat "$state_dir/tjfd.pid")" 2>/dev/null; then
  echo "tjfd is already running (pid $(cat "$state_dir/tjfd.pid")); restarting it with the new build"
  kill "$(cat "$state_dir/tjfd.pid")"
  for _ in $(seq 50); do kill -0 "$(cat "$state_dir/tjfd.pid" 2>/dev/null)" 2>/dev/null || break; sleep 0.1; done
fi
if [[ $(id -u) -eq 0 ]]; then scripts/setup-cgroups.sh || true; fi
TJF_STATE_DIR="$state_dir" nohup build/bin/tjfd >>"$state_dir/tjfd.log" 2>&1 &
for _ in $(seq 100); do
  [[ -S "$state_dir/tjfd.sock" ]] && break
  sleep 0.05
done
if ! TJF_STATE_DIR="$state_dir" build/bin/toolforge jobs list >/dev/null; then
  echo "tjfd did not start; see $state_dir/tjfd.log" >&2
  exit 1
fi
cat <<MSG
tjfd is running (pid $(cat "$state_dir/tjfd.pid")), state in $state_dir, log in $state_dir/tjfd.log.
Try:   export PATH="$PWD/build/bin:\$PATH"$( [[ -n "${TJF_STATE_DIR:-}" ]] && echo " TJF_STATE_DIR=$state_dir" )
       toolforge jobs run hello --command "echo hello" --image bookworm --wait && cat ~/hello.out
Stop:  scripts/stop.sh
MSG

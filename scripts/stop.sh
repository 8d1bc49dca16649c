#!/usr/bin/env bash
# Stops the tjfd started by scripts/start.sh. Jobs keep running and are re-adopted at the next
# start; run `toolforge jobs flush` first to stop them too.
set -euo pipefail
state_dir="${TJF_STATE_DIR:-}"
if [[ -z "$state_dir" ]]; then
  if [[ $(id -u) -eq 0 ]]; then state_dir=/var/lib/tjf; else state_dir="${XDG_STATE_HOME:-$HOME/.local/state}/tjf"; fi
fi
if [[ ! -f "$state_dir/tjfd.pid" ]]; then echo "tjfd is not running (no $state_dir/tjfd.pid)"; exit 0; fi
pid=$(cat "$state_dir/tjfd.pid")
kill "$pid" 2>/dev/null || { echo "tjfd (pid $pid) is not running"; exit 0; }
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || { echo "tjfd stopped"; exit 0; }; sleep 0.1; done
echo "tjfd (pid $pid) did not stop within 10 s" >&2
exit 1

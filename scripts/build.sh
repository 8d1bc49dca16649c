#!/usr/bin/env bash
# Configures and builds tjf. Usage: scripts/build.sh [Release|Debug|Sanitize] [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
type="${1:-Release}"
dir="${2:-build}"
extra=()
if [[ "$type" == "Sanitize" ]]; then
  type=Debug
  extra+=(-DTJF_SANITIZE=ON)
fi
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "${extra[@]}" >/dev/null
ninja -C "$dir" -j "$(nproc)"

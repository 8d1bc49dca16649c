#!/usr/bin/env bash
# Installs the Debian 12 packages tjf needs to build, run and test. Idempotent: installs only
# what is missing. Run as root (or through sudo).
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config git
  libboost1.81-dev libboost-json1.81-dev nlohmann-json3-dev libyaml-cpp-dev libsqlite3-dev
  libcurl4-openssl-dev libcli11-dev libexpected-dev libssl-dev libhowardhinnant-date-dev tzdata
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev sqlite3 curl python3
  # runtime: container images, cgroups, peers to benchmark against
  crun runc busybox-static bubblewrap
  # containers: a static init for PID 1, and root filesystems (docs/resources-and-images.md)
  tini debootstrap
  # email integration tests: a real SMTP server on loopback, and TLS certificates (docs/email.md)
  python3-aiosmtpd openssl
  # platform mode (docs/platform-mode.md): fuzzing with libFuzzer (fuzz/run-short.sh); the
  # integration tests create tool accounts (passwd) and run as them (util-linux's setpriv)
  clang libclang-rt-14-dev passwd util-linux
)
if [[ "${TJF_EXTRA_PACKAGES:-}" != "" ]]; then
  read -r -a extra <<<"$TJF_EXTRA_PACKAGES"
  packages+=("${extra[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

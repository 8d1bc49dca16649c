#!/usr/bin/env bash
# Builds a root filesystem for tjf's image catalogue (docs/resources-and-images.md). Root only.
#
#   scripts/build-rootfs.sh debian  DIR [--release bookworm] [--include python3,git,...]
#                                       [--mirror URL]
#       Debian minbase through debootstrap, from the Debian archive this machine uses (the first
#       `URIs:` of /etc/apt/sources.list.d/debian.sources, else deb.debian.org). About 25 s and
#       130 MB for bookworm; apt caches are removed afterwards.
#   scripts/build-rootfs.sh busybox DIR
#       A tiny image from busybox-static (2 MB, in well under a second), for tests and demos.
#
# Then add it to the catalogue file (the daemon's `images:` key), e.g.
#   bookworm-ctr:
#     image: docker-registry.tools.wmflabs.org/toolforge-bookworm-sssd:latest
#     state: stable
#     rootfs: /srv/tjf/rootfs/bookworm
#
# Every image gets the mount points tjf uses made in advance (the container's init at /.tjf-init,
# /data/project for tool homes), so the OCI runtime never has to create them in the image.
set -euo pipefail

usage() {
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}

[[ $# -ge 2 ]] || usage
kind=$1
dir=$2
shift 2
release=bookworm
include=""
mirror=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --release) release=$2; shift 2 ;;
    --include) include=$2; shift 2 ;;
    --mirror) mirror=$2; shift 2 ;;
    *) echo "build-rootfs: unknown option '$1'" >&2; usage ;;
  esac
done
[[ $(id -u) -eq 0 ]] || { echo "build-rootfs: needs root" >&2; exit 1; }

prepare_mount_points() {
  local root=$1
  mkdir -p "$root"/{proc,sys,dev,tmp,etc,root,data/project}
  chmod 1777 "$root/tmp"
  [[ -e "$root/.tjf-init" ]] || install -m 0755 /dev/null "$root/.tjf-init"
}

case $kind in
  busybox)
    # The image has no libc: the busybox must be the static one (Debian's busybox-static).
    bb=/bin/busybox
    if [[ ! -x "$bb" ]] || ldd "$bb" >/dev/null 2>&1; then
      echo "build-rootfs: install busybox-static first (a static /bin/busybox)" >&2
      exit 1
    fi
    mkdir -p "$dir/bin"
    cp "$bb" "$dir/bin/busybox"
    for applet in $("$dir/bin/busybox" --list); do
      [[ $applet == busybox ]] || ln -sf busybox "$dir/bin/$applet"
    done
    prepare_mount_points "$dir"
    echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/etc/passwd"
    echo 'root:x:0:' >"$dir/etc/group"
    ;;
  debian)
    command -v debootstrap >/dev/null || { echo "build-rootfs: install debootstrap first" >&2; exit 1; }
    if [[ -z "$mirror" ]]; then
      mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
      mirror=${mirror:-http://deb.debian.org/debian}
    fi
    args=(--variant=minbase)
    [[ -n "$include" ]] && args+=("--include=$include")
    debootstrap "${args[@]}" "$release" "$dir" "$mirror"
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
    prepare_mount_points "$dir"
    ;;
  *)
    usage
    ;;
esac
echo "build-rootfs: $kind root filesystem ready in $dir ($(du -sh "$dir" | cut -f1))"

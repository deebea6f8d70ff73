#!/usr/bin/env bash
# Build the systemd Debian base images the Molecule scenarios and the demo boot.
# No registry is reachable, so `FROM debian` is impossible: mmdebstrap builds a
# root filesystem from Debian's package mirror and `docker import` makes it an
# image. An image is rebuilt only when its recipe (this file) changes.
#
#   scripts/images.sh [bullseye|bookworm|trixie ...]   (default: all three)
set -euo pipefail
cd "$(dirname "$0")/.."

# What a fresh cloud instance of Debian has that matters to us: systemd as PID 1,
# python3 for Ansible, sudo, CA certificates, iproute2 (ss) and procps (ps).
packages=systemd,systemd-sysv,dbus,python3,ca-certificates,sudo,iproute2,procps,curl
recipe=$(sha256sum "$0" | cut -c1-12)
suites=("$@")
[ "${#suites[@]}" -gt 0 ] || suites=(bullseye bookworm trixie)

scripts/docker-engine.sh

for suite in "${suites[@]}"; do
  image="flaskops/debian-systemd:${suite}"
  have=$(docker image inspect -f '{{ index .Config.Labels "flaskops.recipe" }}' "$image" 2>/dev/null || true)
  if [ "$have" = "$recipe" ]; then
    echo "==> $image is up to date"
    continue
  fi
  echo "==> building $image with mmdebstrap (about a minute)"
  tarball=$(mktemp --suffix=.tar)
  # Debian's cloud images ship no machine-id; systemd generates one at boot.
  mmdebstrap --quiet --variant=apt --include="$packages" \
    --customize-hook='rm -f "$1/etc/machine-id"; touch "$1/etc/machine-id"' \
    --customize-hook='systemctl --root="$1" mask getty@tty1.service console-getty.service systemd-logind.service' \
    "$suite" "$tarball"
  docker import \
    -c 'CMD ["/lib/systemd/systemd"]' \
    -c 'ENV container=docker' \
    -c "LABEL flaskops.recipe=${recipe}" \
    "$tarball" "$image" >/dev/null
  rm -f "$tarball"
  echo "==> built $image"
done

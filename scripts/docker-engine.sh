#!/usr/bin/env bash
# Make sure a Docker engine answers. On this project's machines only the docker
# client is installed and there is no systemd: install Debian's engine and start
# dockerd in the background ourselves. Idempotent; prints what it does.
set -euo pipefail
cd "$(dirname "$0")/.."
log_dir=.cache/docker
mkdir -p "$log_dir"

if docker info >/dev/null 2>&1; then
  exit 0
fi

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
# The `ssh` scenario connects to its container the way users reach their hosts.
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
if [ "${#need[@]}" -gt 0 ]; then
  echo "==> installing ${need[*]} from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ -S /var/run/docker.sock ] && ! docker info >/dev/null 2>&1 && ! pgrep -x dockerd >/dev/null; then
  rm -f /var/run/docker.sock /var/run/docker.pid
fi
if ! pgrep -x dockerd >/dev/null; then
  echo "==> starting dockerd (log: $log_dir/dockerd.log)"
  nohup dockerd >"$log_dir/dockerd.log" 2>&1 &
fi
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "==> docker engine is up"
    exit 0
  fi
  sleep 1
done
echo "ERROR: dockerd did not answer within 60 s; see $log_dir/dockerd.log" >&2
tail -n 20 "$log_dir/dockerd.log" >&2 || true
exit 1

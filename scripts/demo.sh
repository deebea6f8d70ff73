#!/usr/bin/env bash
# make demo / make demo-down: deploy the sample app with the collection into a
# local systemd container named flaskops-demo, its nginx published on
# 127.0.0.1:8080, and show it answering. The container is left running.
set -euo pipefail
cd "$(dirname "$0")/.."
# One exec per module over the docker connection instead of three.
export ANSIBLE_PIPELINING=True

name=flaskops-demo
image=flaskops/debian-systemd:bookworm
port=8080

down() {
  if docker container inspect "$name" >/dev/null 2>&1; then
    docker rm -f "$name" >/dev/null
    echo "==> removed $name"
  fi
}

up() {
  if ! docker container inspect "$name" >/dev/null 2>&1; then
    echo "==> starting $name (Debian 12 with systemd) on 127.0.0.1:$port"
    # What systemd needs in a container here (README, "How it is tested"): host cgroup
    # namespace, writable cgroupfs, tmpfs /run, CAP_SYS_ADMIN; --privileged fails.
    # CAP_SYS_PTRACE, as a virtual machine's systemd has: the app's sandbox gets a
    # user namespace of its own (PrivateUsers=).
    docker run -d --name "$name" --hostname "$name" \
      --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
      --tmpfs /run --tmpfs /run/lock \
      --cap-add SYS_ADMIN --cap-add SYS_PTRACE --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
      -p "127.0.0.1:$port:80" "$image" /lib/systemd/systemd >/dev/null
  fi
  for _ in $(seq 1 30); do
    state=$(docker exec "$name" systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) break ;; esac
    sleep 1
  done

  echo "==> deploying the sample app with: ansible-playbook -i examples/demo/inventory.yml flaskops.deploy.site"
  ansible-playbook -i examples/demo/inventory.yml flaskops.deploy.site
  inventory="ansible-playbook -i examples/demo/inventory.yml"

  echo
  echo "==> GET http://localhost:$port/"
  curl -sS --max-time 10 "http://localhost:$port/"
  echo
  echo "==> GET http://localhost:$port/whoami  (what the app sees, through nginx and ProxyFix)"
  curl -sS --max-time 10 "http://localhost:$port/whoami"
  echo "==> GET http://localhost:$port/static/hello.txt  (served by nginx)"
  curl -sS --max-time 10 "http://localhost:$port/static/hello.txt"
  echo
  echo "==> GET http://127.0.0.1:$port/health  (the same site, by its alias 127.0.0.1)"
  curl -sS --max-time 10 "http://127.0.0.1:$port/health"
  echo
  echo
  echo "The demo is running: open http://localhost:$port/ or http://127.0.0.1:$port/ . What to run next:"
  echo "  $inventory flaskops.deploy.status        # what serves, its units, its health"
  echo "  $inventory flaskops.deploy.logs          # the app's last journal lines"
  echo "  $inventory flaskops.deploy.maintenance -e nginx_site_maintenance=on   # and =off"
  echo "  $inventory flaskops.deploy.rollback      # serve the release before (after a second deploy)"
  echo "(first: export PATH=\$PWD/.venv/bin:\$PATH ANSIBLE_COLLECTIONS_PATH=\$PWD/.cache/collections)"
  echo "Remove it with: make demo-down"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Runs Molecule scenarios in lanes at once, to keep `make test` short on a
# two-core machine: most of a scenario's time is spent waiting on containers,
# package downloads and Ansible's connections. Each scenario has containers of
# its own. A lane stops at its first failing scenario; the run fails if either
# lane did. Each scenario's output goes to .cache/test-logs/<scenario>.log and
# is printed whole when the scenario fails.
#
# A lane entry `ansible-core:VERSION` runs the controller matrix's scenario
# with that ansible-core instead (scripts/ansible-versions.sh).
#
# Usage: scripts/molecule-lanes.sh "default apps" "releases tls" "ansible-core:2.16.19"
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
logs=.cache/test-logs
mkdir -p "$logs"

lane() {
  local scenario start
  for scenario in $1; do
    start=$(date +%s)
    if [ "${scenario%%:*}" = ansible-core ]; then
      # Its own output names its log; it prints that log whole when it fails.
      scripts/ansible-versions.sh "${scenario#ansible-core:}" || return 1
      continue
    fi
    echo "==> molecule test -s $scenario (log: $logs/$scenario.log)"
    if molecule test -s "$scenario" >"$logs/$scenario.log" 2>&1; then
      echo "==> $scenario passed in $(( $(date +%s) - start )) s"
    else
      echo "==> $scenario FAILED after $(( $(date +%s) - start )) s; its output follows"
      cat "$logs/$scenario.log"
      return 1
    fi
  done
}

pids=()
for scenarios in "$@"; do
  lane "$scenarios" &
  pids+=("$!")
done
status=0
for pid in "${pids[@]}"; do
  wait "$pid" || status=1
done
exit "$status"

#!/usr/bin/env bash
# Runs Molecule scenarios in lanes at once, to keep `make test` short on a
# two-core machine: most of a scenario's time is spent waiting on containers,
# package downloads and Ansible's connections. Each scenario has containers of
# its own. A lane stops at its first failing scenario; the run fails if either
# lane did. Each scenario's output goes to .cache/test-logs/<scenario>.log and
# is printed whole when the scenario fails.
#
# A lane entry `ansible-core:VERSION` runs the controller matrix's scenario
# with that ansible-core instead (scripts/ansible-versions.sh); `make:TARGET`
# runs a make target (lint, unit, sanity: they need no container, and run while
# the other lanes wait on theirs); `quiet:SCENARIO` runs the scenario and fails
# it on any warning ansible-core printed while our playbooks ran
# (scripts/no-warnings.sh): the controller matrix's entry for the tool chain's
# own ansible-core.
#
# Usage: scripts/molecule-lanes.sh "default apps" "releases tls" "make:lint ansible-core:2.16.19"
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
logs=.cache/test-logs
mkdir -p "$logs"

# stamp: copies its input, Molecule's step lines (INFO ...) headed by the seconds
# since it started, which says in each log where a scenario's minutes go.
stamp() {
  python3 -u -c '
import sys, time
start = time.monotonic()
for line in sys.stdin:
    sys.stdout.write("[%5.0fs] %s" % (time.monotonic() - start, line) if line.startswith("INFO") else line)'
}

# run NAME LOG COMMAND...: COMMAND's output goes to LOG; prints how long it took,
# or, when it fails, its whole output.
run() {
  local name=$1 log=$2 start
  shift 2
  start=$(date +%s)
  echo "==> $name (log: $log)"
  if "$@" 2>&1 | stamp >"$log"; then
    echo "==> $name passed in $(( $(date +%s) - start )) s"
  else
    echo "==> $name FAILED after $(( $(date +%s) - start )) s; its output follows"
    cat "$log"
    return 1
  fi
}

lane() {
  local entry
  for entry in $1; do
    case $entry in
      # Its own output names its log; it prints that log whole when it fails.
      ansible-core:*) scripts/ansible-versions.sh "${entry#ansible-core:}" || return 1 ;;
      make:*) run "make ${entry#make:}" "$logs/${entry#make:}.log" make --no-print-directory "${entry#make:}" || return 1 ;;
      quiet:*)
        run "molecule test -s ${entry#quiet:}" "$logs/${entry#quiet:}.log" molecule test -s "${entry#quiet:}" \
          && scripts/no-warnings.sh "$logs/${entry#quiet:}.log" || return 1 ;;
      *) run "molecule test -s $entry" "$logs/$entry.log" molecule test -s "$entry" || return 1 ;;
    esac
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

#!/usr/bin/env bash
# Fails when our playbooks printed an ansible-core warning or deprecation in a
# Molecule log: looked for from converge up to verify (converge, idempotence,
# side_effect), not in Molecule's create and destroy playbooks, whose docker
# modules are the test tool chain's; verify's own runs are checked by its tests.
# Prints the lines it found.
#
# Usage: scripts/no-warnings.sh LOG
set -uo pipefail
log=$1
if ! grep -q '> converge\] Executing' "$log"; then
  echo "no converge in $log: nothing to look at" >&2
  exit 1
fi
found=$(awk '/> converge\] Executing/,/> verify\] Executing/' "$log" | grep -E '\[(WARNING|DEPRECATION WARNING)\]')
if [ -n "$found" ]; then
  echo "ansible-core printed warnings while our playbooks ran ($log):"
  echo "$found"
  exit 1
fi

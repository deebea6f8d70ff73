#!/usr/bin/env bash
# The controller matrix: the Molecule scenario `versions` once per supported
# ansible-core (the oldest, the tool chain's, the newest), each from a
# virtualenv of its own under .cache/ansible-core-<version>, one container per
# version. Each run converges a fresh Debian 12 host, converges again
# (changed=0), checks what every scenario promises, and fails on any warning or
# deprecation ansible-core prints while deploying.
#
# Usage: scripts/ansible-versions.sh [VERSION ...]   (default: the list below)
#        scripts/ansible-versions.sh --venv VERSION  (make that version's virtualenv; print its path)
set -euo pipefail
cd "$(dirname "$0")/.."
only_venv=
if [ "${1:-}" = --venv ]; then only_venv=$2; shift 2; fi
versions=("$@")
[ "${#versions[@]}" -gt 0 ] || versions=(2.16.19 2.19.14 2.21.5)
logs=.cache/test-logs
mkdir -p "$logs"
main_venv=$PWD/.venv
# community.docker and ansible.posix (Molecule's docker driver) come from the
# pinned `ansible` package of the main virtualenv; this collection from its link.
site_packages=$("$main_venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
collections=$PWD/.cache/collections:$site_packages

# A Python that ansible-core $1 runs its controller on: 2.16 on 3.10-3.12,
# 2.17-2.19 on 3.10-3.13, 2.20 and later on 3.12 and later.
python_for() {
  local minor=${1#2.}; minor=${minor%%.*} candidates=()
  if [ "$minor" -ge 20 ]; then candidates=(3.13 3.12); else candidates=(3.11 3.12 3.10); fi
  local version found
  for version in "${candidates[@]}"; do
    [ "$minor" -le 16 ] && [ "$version" = 3.13 ] && continue
    for found in "$(command -v "python$version" || true)" "$HOME"/.pyenv/versions/"$version".*/bin/python3; do
      # A pyenv shim is on PATH for versions it does not select: ask it to run.
      if [ -n "$found" ] && [ -x "$found" ] && "$found" -c 'import venv' >/dev/null 2>&1; then
        echo "$found"; return 0
      fi
    done
  done
  echo "no Python ${candidates[*]} for ansible-core $1: install one (e.g. pyenv, or Debian 13's python3)" >&2
  return 1
}

venv_for() {
  local version=$1 dir=$PWD/.cache/ansible-core-$1
  if [ "$("$main_venv/bin/python" -c 'import ansible; print(ansible.__version__)')" = "$version" ]; then
    echo "$main_venv"; return 0
  fi
  if [ ! -f "$dir/.installed" ]; then
    local python
    python=$(python_for "$version")
    rm -rf "$dir"
    # Only the virtualenv's path goes to standard output.
    "$python" -m venv "$dir" >&2
    "$dir/bin/pip" install --quiet --upgrade pip >&2
    "$dir/bin/pip" install --quiet "ansible-core==$version" -r tests/ansible-versions/requirements.txt >&2
    touch "$dir/.installed"
  fi
  echo "$dir"
}

if [ -n "$only_venv" ]; then venv_for "$only_venv"; exit 0; fi

status=0
for version in "${versions[@]}"; do
  start=$(date +%s)
  log=$logs/versions-$version.log
  echo "==> ansible-core $version: molecule test -s versions (log: $log)"
  if ! venv=$(venv_for "$version" 2>"$log.setup"); then
    echo "==> ansible-core $version FAILED to install"; cat "$log.setup"; status=1; continue
  fi
  # Warnings are looked for in what our playbooks print (scripts/no-warnings.sh).
  if PATH="$venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$collections" ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 \
       FLASKOPS_ANSIBLE_CORE="$version" FLASKOPS_ANSIBLE_TAG="${version//./-}" \
       "$venv/bin/molecule" test -s versions >"$log" 2>&1 \
     && scripts/no-warnings.sh "$log"; then
    echo "==> ansible-core $version passed in $(( $(date +%s) - start )) s"
  else
    echo "==> ansible-core $version FAILED after $(( $(date +%s) - start )) s; its output follows"
    cat "$log"
    status=1
  fi
done
exit "$status"

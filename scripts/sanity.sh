#!/usr/bin/env bash
# ansible-test sanity on what the collection ships: the tarball from
# `ansible-galaxy collection build`, installed into an ansible_collections/
# layout of its own under .cache/sanity (tests, Molecule and benchmarks are not
# shipped, so they are not part of it).
#
# ansible-test puts each test's tools (pylint, yamllint, ...) into a virtualenv
# it bootstraps with a get-pip script from ci-files.testing.ansible.com, which
# is not a package registry and not reachable here. Its documented way out is a
# script saved at ~/.ansible/test/cache/get_pip_<version>.py: ours, under a
# HOME of the run's own, makes pip with ensurepip and installs the pinned
# packages from the package index like any other pip install.
#
# Usage: scripts/sanity.sh [VENV]   (default .venv; the controller matrix's
# .cache/ansible-core-<version> runs the newest ansible-core's sanity rules)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(cd "${1:-.venv}" && pwd)
bin=$venv/bin
python_version=$("$bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
core_version=$("$bin/python" -c 'import ansible; print(ansible.__version__)')
work=$PWD/.cache/sanity/$core_version
rm -rf "$work/collections" "$work/dist"   # home/ keeps ansible-test's virtualenvs between runs
mkdir -p "$work/home" "$work/dist"

if ! command -v shellcheck >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing shellcheck from Debian's packages (the sanity test of the shipped shell scripts)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null
fi

echo "==> building the collection and installing it into $work/collections"
"$bin/ansible-galaxy" collection build --force --output-path "$work/dist" . >/dev/null
env -u ANSIBLE_COLLECTIONS_PATH "$bin/ansible-galaxy" collection install --force --no-deps \
  -p "$work/collections" "$work/dist"/flaskops-deploy-*.tar.gz >/dev/null

# The pip version ansible-test bootstraps its virtualenvs with (the name of the script it looks for).
pip_version=$("$bin/python" -c '
from ansible_test._internal.host_configs import NativePythonConfig
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(NativePythonConfig(version="'"$python_version"'", path="python'"$python_version"'"))["pip"])')
mkdir -p "$work/home/.ansible/test/cache"
cat >"$work/home/.ansible/test/cache/get_pip_${pip_version//./_}.py" <<'EOF'
"""Stand-in for get-pip.py (scripts/sanity.sh): pip from ensurepip, then pip
installs what ansible-test asked for from the configured package index."""
import subprocess
import sys

args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"],
                      stdout=subprocess.DEVNULL)
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", *args]))
EOF

echo "==> ansible-test sanity (ansible-core $core_version, Python $python_version)"
cd "$work/collections/ansible_collections/flaskops/deploy"
# ansible-test lists a collection's files with git; an installed one has none.
git init --quiet . && git add --all && git -c user.name=sanity -c user.email=sanity@localhost commit --quiet -m shipped
HOME="$work/home" PATH="$bin:$PATH" "$bin/ansible-test" sanity --python "$python_version" --color no 2>&1 \
  | grep -v "is ignored: it is neither a file nor a directory"

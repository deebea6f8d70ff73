#!/bin/sh
# Builds the bare git repository the releases scenario deploys from, inside the
# test container: one tagged commit per version of the sample app (in $1).
#   v1.0.0, v2.0.0  the sample app, its version changed
#   v3.0.0          starts, but its health check answers 500
#   v4.0.0          cannot be imported
#   v5.0.0          fine again (branch `stable`)
#   v6.0.0          no requirements.txt: dependencies come from pyproject.toml (branch `main`, HEAD)
set -eu
sample=$1
repo=/srv/git/hello.git
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rm -rf "$repo"
git init --quiet --bare --initial-branch=main "$repo"
git init --quiet --initial-branch=main "$work"
cd "$work"
git config user.name "flaskops tests"
git config user.email "tests@flaskops.invalid"

for major in 1 2 3 4 5 6; do
    version="$major.0.0"
    find . -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +
    cp -a "$sample"/. .
    find . -name __pycache__ -prune -exec rm -rf {} +
    sed -i "s/__version__ = \"1.0.0\"/__version__ = \"$version\"/" hello.py
    case $major in
        3) sed -i 's/return jsonify(status="ok", version=__version__)/return jsonify(status="broken", version=__version__), 500/' hello.py ;;
        4) sed -i 's/^def create_app():/raise RuntimeError("v4 cannot start")\n\n\ndef create_app():/' hello.py ;;
        6) rm requirements.txt ;;
    esac
    git add --all
    git commit --quiet -m "hello $version"
    git tag "v$version"
    [ "$major" = 5 ] && git branch stable
done
git push --quiet "$repo" main stable --tags
# Owned by the account the SSH clients log in as; root, which deploys from it by
# path too, is told to trust a repository another user owns.
chown -R git:git "$repo"
git config --system --replace-all safe.directory "$repo" "$repo"

"""Releases, in the order a user lives them: v1 serves, v2 is deployed under load,
v3 fails its health check, v4 fails to import, rollback, a release pip cannot
build, a failing hook, shared paths, pruning, re-runs.

The tests run in file order and build on each other, like the deploys they make.
Every version comes from the git repository that prepare.yml built in the container
(molecule/releases/make-repo.sh says what each version is); v5 and v6 are fetched
over SSH with a deploy key.
"""
import json
import os
import re
import time

import pytest

from flaskops_testlib import (app, assert_no_request_failed, http, recap_counts, run_playbook,  # noqa: F401 (fixtures)
                              start_wrk, stop_wrk, unit)

ROOT = "/srv/hello"
REPO = "/srv/git/hello.git"
SSH_REPO = f"ssh://git@127.0.0.1{REPO}"


def deploy(app, ref=None, **source):  # pylint: disable=redefined-outer-name
    definition = dict(app)
    if ref or source:
        definition["source"] = {**app["source"], "ref": ref or "HEAD", **source}
    return run_playbook("-e", json.dumps({"flaskops_app": definition}))


def over_ssh():
    key = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "deploy_key")
    return {"repo": SSH_REPO, "key_file": key, "accept_new_hostkey": True}


def served_version(host, app):  # pylint: disable=redefined-outer-name
    return http(host, "/version", host_header=app["domain"]).body.strip()


def current_release(host):
    return host.check_output(f"readlink {ROOT}/current")


def releases(host):
    return sorted(host.check_output(f"ls -1 {ROOT}/releases").split())


def commit_of(host, ref):
    return host.check_output(f"git -C {REPO} rev-parse {ref}^{{commit}}")


def test_v1_is_served_from_a_release_of_the_tagged_commit(host, app):
    assert served_version(host, app) == "1.0.0"
    current = current_release(host)
    assert current.startswith(f"{ROOT}/releases/git-")
    assert host.file(f"{current}/venv/bin/gunicorn").exists
    assert host.file(f"{current}/src/hello.py").exists
    # The commit's files, without the repository's history.
    assert not host.file(f"{current}/src/.git").exists
    marker = host.file(f"{current}/.flaskops-release").content_string
    assert f"source=git:{REPO}@{commit_of(host, 'v1.0.0')}" in marker


def test_before_switch_hook_ran_as_the_app_user_with_the_environment(host):
    # The hook wrote into instance/, a shared directory linked into the release.
    record = host.file(f"{ROOT}/shared/instance/switches.txt")
    assert record.exists and record.user == "hello"
    greeting, release_id = record.content_string.split()
    assert greeting == "Howdy"
    assert current_release(host).endswith(release_id)


def test_shared_paths_are_links_into_shared(host):
    current = current_release(host)
    assert host.file(f"{current}/src/instance").linked_to == f"{ROOT}/shared/instance"
    assert host.file(f"{current}/src/.env").linked_to == f"{ROOT}/shared/.env"
    env = host.file(f"{ROOT}/shared/.env")
    assert env.user == "hello" and env.mode == 0o600


def test_redeploying_the_same_ref_changes_nothing(host, app):
    before = current_release(host)
    result = deploy(app)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert recap_counts(output)["changed"] == 0, output
    assert current_release(host) == before


def test_v2_deployed_by_commit_under_load_loses_no_request(host, app):
    start_wrk(host, "-t2 -c16 -d300s")
    time.sleep(2)
    try:
        result = deploy(app, commit_of(host, "v2.0.0"))
    finally:
        time.sleep(3)  # keep the load on past the switch
        report = stop_wrk(host)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert_no_request_failed(report, more_than=1000)
    assert served_version(host, app) == "2.0.0"


def test_shared_files_outlive_the_release(host):
    # One line per switch, written through the link of each release in turn.
    lines = host.file(f"{ROOT}/shared/instance/switches.txt").content_string.splitlines()
    assert len(lines) == 2, lines
    assert current_release(host).endswith(lines[-1].split()[1])


@pytest.mark.parametrize("version, failure", [("3.0.0", "health check"), ("4.0.0", "import")])
def test_a_failing_release_leaves_the_previous_one_serving(host, app, version, failure):
    serving = current_release(host)
    result = deploy(app, f"v{version}")
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"{failure}: the deploy should have failed\n{output}"
    assert f"Switched back to release {os.path.basename(serving)}, which is serving" in output, output
    assert "/health" in output or "Status code was" in output, output
    # The run ends with what to do next: read the app's log, then deploy again or roll back.
    assert re.search(r"What to do next: read the app's log on the host "
                     r"\(`journalctl -u flaskops-\S+\.service -n 50`\)", output), output
    assert served_version(host, app) == "2.0.0"
    assert current_release(host) == serving
    # The failed release is left for inspection.
    failed = re.search(r"left in (\S+) for inspection", output).group(1)
    assert host.file(failed).is_directory
    assert failed != serving


def test_rollback_returns_to_the_release_before(host, app):
    result = run_playbook(playbook="flaskops.deploy.rollback")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert served_version(host, app) == "1.0.0"


def test_rollback_to_a_named_release_that_does_not_exist_fails_clearly(host, app):
    result = run_playbook("-e", "release_rollback_to=git-000000000000",
                          playbook="flaskops.deploy.rollback")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "release_rollback_to: no finished release git-000000000000" in output, output
    assert served_version(host, app) == "1.0.0"


def test_a_release_pip_cannot_build_is_never_switched_to_and_says_so(host, app):
    serving = current_release(host)
    # A package no index has: the release's one pip run fails while v1 serves.
    result = deploy({**app, "packages": ["flaskops-no-such-package==0.0.0"]})
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "in one pip run" in output and "flaskops-no-such-package" in output, output
    assert "What to do next: pip could not build the new release's virtualenv" in output, output
    assert current_release(host) == serving
    assert served_version(host, app) == "1.0.0"


def test_a_failing_before_switch_hook_stops_the_deploy_before_the_switch(host, app):
    serving = current_release(host)
    definition = {**app, "hooks": {"before_switch": ["echo migrating; exit 3"]}}
    result = deploy(definition, "stable", **over_ssh())
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Run hook `echo migrating; exit 3`" in output, output
    assert f"It was never switched to; release {os.path.basename(serving)} is still serving" in output, output
    assert "What to do next: " in output, output
    assert current_release(host) == serving
    assert served_version(host, app) == "1.0.0"


def test_branches_over_ssh_with_a_deploy_key_and_only_the_newest_releases_are_kept(host, app):
    # v5 is the branch `stable`; v6 is HEAD (main) and has no requirements.txt, so
    # Flask comes from its pyproject.toml.
    for ref, version in (("stable", "5.0.0"), ("HEAD", "6.0.0")):
        result = deploy(app, ref, **over_ssh())
        assert result.returncode == 0, result.stdout + result.stderr
        assert served_version(host, app) == version
    current = current_release(host)
    assert not host.file(f"{current}/src/requirements.txt").exists
    assert host.file(f"{current}/.flaskops-release").contains(f"@{commit_of(host, 'main')}")
    key = host.file("/etc/flaskops/hello/deploy_key")
    assert key.user == "root" and key.mode == 0o600
    kept = releases(host)
    assert len(kept) == 3, kept  # keep_releases: 3
    assert os.path.basename(current) in kept
    # Every release that served wrote its line through the shared link.
    lines = host.file(f"{ROOT}/shared/instance/switches.txt").content_string.splitlines()
    assert current.endswith(lines[-1].split()[1])


def test_redeploying_the_same_branch_over_ssh_changes_nothing(host, app):
    result = deploy(app, "HEAD", **over_ssh())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert recap_counts(output)["changed"] == 0, output

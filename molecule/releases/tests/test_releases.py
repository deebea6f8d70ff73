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
import shutil
import time

import pytest

from flaskops_testlib import (app, assert_no_request_failed, http, recap_counts, run_playbook,  # noqa: F401 (fixtures)
                              start_wrk, stop_wrk, unit, why, worst_latency)

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


# Eight connections, each waiting 10 ms between its requests (flaskops_testlib's
# start_wrk says why): what is measured is how the switch treats requests.
PACED_MS = 10
# wrk's timeout for the deploys under load: a request not answered within 2 s
# (a stall a user feels) counts as failed.
STALL = "2s"


def under_load(host, run, timeout="10s", paced=False):
    """run() while wrk loads the site from inside the container; (its result, wrk's report).
    A request not answered within `timeout` counts as failed."""
    start_wrk(host, "-t2 -c8 -d300s", timeout=timeout, paced=PACED_MS if paced else None)
    time.sleep(2)
    try:
        result = run()
    finally:
        time.sleep(3)  # keep the load on past the switch
        report = stop_wrk(host)
    return result, report


def assert_served_under_load(host, app, result, report, version):  # pylint: disable=redefined-outer-name
    """The run passed, no request under load failed, `version` serves; returns its release."""
    assert result.returncode == 0, why(result)
    assert_no_request_failed(report, more_than=1000)
    assert served_version(host, app) == version
    return current_release(host)


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


def status_says_serving(tmp_path):
    """The release flaskops.deploy.status says the app serves, from its JSON report."""
    result = run_playbook("-e", f"flaskops_status_dir={tmp_path}", playbook="flaskops.deploy.status")
    assert result.returncode == 0, why(result)
    (hello,) = json.loads((tmp_path / "flaskops-releases.json").read_text())["apps"]
    assert hello["health"]["status"] == 200, hello
    return hello["serving"]["id"]


def test_v2_deployed_by_commit_under_load_loses_no_request(host, app, tmp_path):
    assert status_says_serving(tmp_path) == os.path.basename(current_release(host))
    result, report = under_load(host, lambda: deploy(app, commit_of(host, "v2.0.0")), timeout=STALL, paced=True)
    assert_served_under_load(host, app, result, report, "2.0.0")
    # A healthy release takes over with no error and no stall.
    assert worst_latency(report) <= 1.0, report
    assert status_says_serving(tmp_path) == os.path.basename(current_release(host))


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
    # Checked on its own socket before it took any traffic: nothing to switch back.
    assert f"It never took traffic; release {os.path.basename(serving)} is still serving" in output, output
    if failure == "health check":
        assert "on its own socket, http://localhost/health answered 500" in output, output
    # The run ends with what to do next: read the app's log, then deploy again or roll back.
    assert re.search(r"What to do next: read the app's log on the host "
                     r"\(`journalctl -u 'flaskops-\S+@\*' -n 50`\)", output), output
    assert served_version(host, app) == "2.0.0"
    assert current_release(host) == serving
    # The message ends with what the app said in its journal; a release that
    # exits while it starts is given up on at once, not after every attempt.
    if failure == "import":
        assert "exited while it started (systemd restarted it)" in output, output
        assert "The app's last journal lines" in output and "v4 cannot start" in output, output
    # The failed release is left for inspection.
    failed = re.search(r"left in (\S+) for inspection", output).group(1)
    assert host.file(failed).is_directory
    assert failed != serving


def test_rollback_returns_to_the_release_before(host, app, tmp_path):
    result = run_playbook(playbook="flaskops.deploy.rollback")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert served_version(host, app) == "1.0.0"
    assert status_says_serving(tmp_path) == os.path.basename(current_release(host))


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
    assert f"It never took traffic; release {os.path.basename(serving)} is still serving" in output, output
    assert "What to do next: " in output, output
    assert current_release(host) == serving
    assert served_version(host, app) == "1.0.0"


def test_branches_over_ssh_with_a_deploy_key_and_only_the_newest_releases_are_kept(host, app):
    # v5 is the branch `stable`; v6 is HEAD (main) and has no requirements.txt, so
    # Flask comes from its pyproject.toml.
    for ref, version in (("stable", "5.0.0"), ("HEAD", "6.0.0")):
        result = deploy(app, ref, **over_ssh())
        assert result.returncode == 0, why(result)
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


# How the app runs is part of the release: a change of it is a new release,
# started with exactly that code and those settings, and a rollback brings back
# both. Nothing is rewritten under the release that serves.
def sample(tmp_path, version, module="hello", edit=lambda code: code):
    """The sample app on the controller as a local source: `version`, its module
    named `module`, its code passed through edit()."""
    source = tmp_path / f"{module}-{version}"
    shutil.copytree(os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "examples", "hello"), source,
                    ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    code = (source / "hello.py").read_text().replace('__version__ = "1.0.0"', f'__version__ = "{version}"')
    (source / "hello.py").unlink()
    (source / f"{module}.py").write_text(edit(code))
    return source


def inserted_after(line, addition):
    """An edit for sample(): `addition` after `line`, which the code must have."""
    def edit(code):
        assert line in code, f"the sample app no longer has {line!r}"
        return code.replace(line, line + addition, 1)
    return edit


FLASK_APP = '    application = Flask(__name__, instance_relative_config=True)\n'


def renamed_sample(tmp_path, version):
    """The sample app on the controller with its module renamed (hello.py -> greet.py)
    and a factory that takes the version /version reports: create_app(reported=...)."""
    return sample(tmp_path, version, module="greet", edit=lambda code: code.replace(
        "def create_app():", "def create_app(reported=__version__):").replace(
        'return __version__ + "\\n"', 'return reported + "\\n"'))


def stop_timeout(host, release):
    """How long systemd gives the service of `release` (a directory) to stop."""
    return host.check_output(f"systemctl show -P TimeoutStopUSec flaskops-hello@{os.path.basename(release)}.service")


def test_a_new_module_name_source_type_and_stop_timeout_in_one_run_under_load_lose_no_request(host, app, tmp_path):
    serving = current_release(host)
    before = host.file(f"{serving}/flaskops_wsgi.py").content_string
    assert "from hello import" in before
    assert stop_timeout(host, serving) == "35s"  # gunicorn_graceful_timeout 30, and 5 s
    # git -> local, hello:app -> a factory call with arguments in greet.py and a
    # service setting at once; the hook reads hello.py, so none here. The code
    # says 7.0.0-file: the 7.0.0 served comes from the factory's argument.
    definition = {**app, "source": {"type": "local", "path": str(renamed_sample(tmp_path, "7.0.0-file"))},
                  "wsgi": 'greet:create_app(reported="7.0.0")', "hooks": {}}
    extra = {"flaskops_app": definition, "gunicorn_graceful_timeout": 20}
    result, report = under_load(host, lambda: run_playbook("-e", json.dumps(extra)), timeout=STALL, paced=True)
    current = assert_served_under_load(host, app, result, report, "7.0.0")
    assert current.startswith(f"{ROOT}/releases/local-")
    assert "from greet import create_app" in host.file(f"{current}/flaskops_wsgi.py").content_string
    assert json.loads(http(host, "/health", host_header=app["domain"]).body)["version"] == "7.0.0-file"
    assert stop_timeout(host, current) == "25s"
    # The release that served before still has what it ran with.
    assert host.file(f"{serving}/flaskops_wsgi.py").content_string == before
    assert stop_timeout(host, serving) == "35s"


def test_rollback_under_load_brings_back_the_code_and_the_settings_it_ran_with(host, app):
    result, report = under_load(host, lambda: run_playbook(playbook="flaskops.deploy.rollback"),
                                timeout=STALL, paced=True)
    current = assert_served_under_load(host, app, result, report, "6.0.0")
    assert current.startswith(f"{ROOT}/releases/git-")
    assert "from hello import app" in host.file(f"{current}/flaskops_wsgi.py").content_string
    assert '"src"' in host.file(f"{current}/gunicorn.conf.py").content_string
    assert stop_timeout(host, current) == "35s"


def test_a_run_cut_off_after_the_switch_is_checked_again_by_the_next(host, app):
    serving = current_release(host)
    # v3 answers 500 on /health: its deploy fails and leaves it built, v6 serving.
    result = deploy(app, "v3.0.0")
    assert result.returncode != 0, result.stdout
    broken = re.search(r"left in (\S+) for inspection", result.stdout + result.stderr).group(1)
    assert current_release(host) == serving
    # What a run cut off between the switch and its check leaves: v3 serving, unchecked.
    release = os.path.basename(broken)
    host.run_expect([0], f"systemctl start flaskops-hello@{release}.socket flaskops-hello@{release}.service"
                         f" && ln -sfn {broken} {ROOT}/current.cut && mv -T {ROOT}/current.cut {ROOT}/current")
    assert http(host, "/health", host_header=app["domain"]).status == 500
    assert current_release(host) == broken
    result = deploy(app, "v3.0.0")
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"the unchecked release was taken as it was\n{output}"
    assert "Health check failed" in output, output
    assert f"Switched back to release {os.path.basename(serving)}, which is serving" in output, output
    assert current_release(host) == serving
    assert served_version(host, app) == "6.0.0"


def test_a_first_release_that_fails_says_truthfully_that_nothing_serves(host, app):
    other = {**app, "name": "second", "domain": "second.test", "port": 8001, "hooks": {},
             "shared_dirs": [], "shared_files": [],
             "source": {**app["source"], "ref": "v3.0.0"}}
    apps = [{**app, "source": {**app["source"], "ref": "HEAD", **over_ssh()}}, other]
    try:
        for attempt in (1, 2):  # a new run tries the failed release again, and checks it again
            result = run_playbook("-e", json.dumps({"flaskops_apps": apps}))
            output = result.stdout + result.stderr
            assert result.returncode != 0, output
            assert "It never took traffic; no release of second was serving before, and none is now" in output, \
                f"attempt {attempt}\n{output}"
            assert not host.run("systemctl list-units --state=active --plain --no-legend 'flaskops-second@*'").stdout.strip()
            assert not host.file("/srv/second/current").exists
            assert http(host, "/health", host_header="second.test").status == 502
            assert served_version(host, app) == "6.0.0"
    finally:
        gone = {**other, "state": "absent", "remove_data": True}
        result = run_playbook("-e", json.dumps({"flaskops_apps": [apps[0], gone]}))
        assert result.returncode == 0, why(result)


# Health-gated cutover, under load as a user feels it: wrk through nginx with a
# 2 s timeout (STALL: a stalled request counts as an error) during each deploy.


def local_release(app, source):  # pylint: disable=redefined-outer-name
    return {**app, "source": {"type": "local", "path": str(source)}}


def test_a_release_whose_every_route_fails_never_answers_a_user(host, app, tmp_path):
    serving = current_release(host)
    broken = sample(tmp_path, "9.0.0", edit=inserted_after(
        FLASK_APP, "    application.before_request(lambda: ('broken', 500))\n"))
    result, report = under_load(host, lambda: run_playbook(
        "-e", json.dumps({"flaskops_app": local_release(app, broken)})), timeout=STALL, paced=True)
    output = result.stdout + result.stderr
    assert_no_request_failed(report, more_than=1000)  # not one 500 reached the load
    assert result.returncode != 0, output
    assert f"It never took traffic; release {os.path.basename(serving)} is still serving" in output, output
    assert served_version(host, app) == "6.0.0"
    assert current_release(host) == serving


def test_a_release_that_imports_slowly_takes_over_with_no_stall(host, app, tmp_path):
    slow = sample(tmp_path, "10.0.0", edit=lambda code: "import time\n\ntime.sleep(8)\n" + code)
    # With the defaults: a worker replaced after gunicorn_max_requests would
    # import the app again while serving, and the workers of a release reach
    # their counts together (32 stalls in 195,000 requests when it was 1000).
    definition = local_release(app, slow)
    result, report = under_load(host, lambda: run_playbook("-e", json.dumps({"flaskops_app": definition})),
                                timeout=STALL, paced=True)
    assert_served_under_load(host, app, result, report, "10.0.0")
    assert worst_latency(report) <= 1.0, report

"""Releases, in the order a user lives them: v1 serves, v2 is deployed under load,
v3 fails its health check, v4 fails to import, rollback, pruning, re-runs.

The tests run in file order and build on each other, like the deploys they make.
Each version is the sample app with its version changed (and, for v3 and v4, broken).
"""
import json
import os
import re
import shutil
import time

import pytest

from flaskops_testlib import app, http, recap_counts, run_playbook, unit  # noqa: F401 (fixtures)

SAMPLE = os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."), "examples", "hello")
ROOT = "/srv/hello"


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """Source directories of each version, made from the sample app."""
    made = {}
    for version in ("2.0.0", "3.0.0", "4.0.0", "5.0.0", "6.0.0"):
        target = tmp_path_factory.mktemp(f"v{version}") / "hello"
        shutil.copytree(SAMPLE, target, ignore=shutil.ignore_patterns("__pycache__"))
        code = (target / "hello.py").read_text()
        code = code.replace('__version__ = "1.0.0"', f'__version__ = "{version}"')
        if version == "3.0.0":  # deploys and starts, but its health check fails
            code = code.replace('return jsonify(status="ok", version=__version__)',
                                'return jsonify(status="broken", version=__version__), 500')
        if version == "4.0.0":  # cannot even be imported
            code = code.replace("def create_app():", 'raise RuntimeError("v4 cannot start")\n\n\ndef create_app():')
        (target / "hello.py").write_text(code)
        made[version] = str(target)
    return made


def deploy(app, source=None):  # pylint: disable=redefined-outer-name
    definition = dict(app)
    if source:
        definition["source"] = {"type": "local", "path": source}
    return run_playbook("-e", json.dumps({"flaskops_app": definition}))


def served_version(host, app):  # pylint: disable=redefined-outer-name
    return http(host, "/version", host_header=app["domain"]).body.strip()


def current_release(host):
    return host.check_output(f"readlink {ROOT}/current")


def releases(host):
    return sorted(host.check_output(f"ls -1 {ROOT}/releases").split())


def test_v1_is_served_from_a_release_directory(host, app):
    assert served_version(host, app) == "1.0.0"
    current = current_release(host)
    assert current.startswith(f"{ROOT}/releases/local-")
    assert host.file(f"{current}/venv/bin/gunicorn").exists
    assert host.file(f"{current}/src/hello.py").exists


def test_before_switch_hook_ran_as_the_app_user_with_the_environment(host):
    record = host.file(f"{ROOT}/shared/before_switch.txt")
    assert record.exists and record.user == "hello"
    greeting, release_id = record.content_string.split()
    assert greeting == "Howdy"
    assert current_release(host).endswith(release_id)


def test_redeploying_the_same_source_changes_nothing(host, app):
    before = current_release(host)
    result = deploy(app)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert recap_counts(output)["changed"] == 0, output
    assert current_release(host) == before


def test_v2_deployed_under_load_loses_no_request(host, app, sources):
    host.run_expect([0], "rm -f /tmp/wrk.out")
    host.run_expect([0], (
        "nohup wrk -t2 -c16 -d300s --timeout 10s -H 'Host: example.test' "
        "http://127.0.0.1:80/version > /tmp/wrk.out 2>&1 &"
    ))
    time.sleep(2)
    try:
        result = deploy(app, sources["2.0.0"])
    finally:
        time.sleep(3)  # keep the load on past the switch
        host.run("pkill -INT -x wrk")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output

    report = ""
    for _ in range(20):
        report = host.file("/tmp/wrk.out").content_string
        if "Requests/sec" in report:
            break
        time.sleep(0.5)
    assert "Requests/sec" in report, report
    total = int(re.search(r"(\d+) requests in", report).group(1))
    assert total > 1000, report
    assert "Non-2xx or 3xx responses" not in report, report
    assert "Socket errors" not in report, report
    assert served_version(host, app) == "2.0.0"


@pytest.mark.parametrize("version, failure", [("3.0.0", "health check"), ("4.0.0", "import")])
def test_a_failing_release_leaves_the_previous_one_serving(host, app, sources, version, failure):
    serving = current_release(host)
    result = deploy(app, sources[version])
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"{failure}: the deploy should have failed\n{output}"
    assert f"Switched back to release {os.path.basename(serving)}, which is serving" in output, output
    assert "/health" in output or "Status code was" in output, output
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
    result = run_playbook("-e", "release_rollback_to=local-000000000000",
                          playbook="flaskops.deploy.rollback")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "release_rollback_to: no finished release local-000000000000" in output, output
    assert served_version(host, app) == "1.0.0"


def test_only_the_newest_releases_are_kept(host, app, sources):
    for version in ("5.0.0", "6.0.0"):
        result = deploy(app, sources[version])
        assert result.returncode == 0, result.stdout + result.stderr
        assert served_version(host, app) == version
    kept = releases(host)
    assert len(kept) == 3, kept  # keep_releases: 3
    assert os.path.basename(current_release(host)) in kept

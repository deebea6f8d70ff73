"""The controller's ansible-core is the version under test, and a normal run with it
(a new release, a rollback, a no-op) prints no warning and no deprecation.

scripts/ansible-versions.sh runs this scenario once per supported ansible-core,
each from a virtualenv of its own, and names the version in FLASKOPS_ANSIBLE_CORE.
"""
import json
import os
import re
import subprocess

import pytest

from flaskops_testlib import app, http, recap_counts, run_playbook  # noqa: F401  (app is a fixture)

WARNING = re.compile(r"^\[(WARNING|DEPRECATION WARNING)\]|^(WARNING|DEPRECATION WARNING): ", re.MULTILINE)


def quiet_run(*args, playbook=None):
    """Run a playbook against the scenario's host; it must pass and print no warning."""
    result = run_playbook(*args, playbook=playbook)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert not WARNING.search(output), output
    return output


def test_the_controller_runs_the_ansible_core_under_test():
    wanted = os.environ.get("FLASKOPS_ANSIBLE_CORE")
    if not wanted:
        pytest.skip("run by scripts/ansible-versions.sh, which names the version")
    shown = subprocess.run(["ansible-playbook", "--version"], capture_output=True, text=True, check=True).stdout
    assert re.search(rf"core {re.escape(wanted)}\]", shown), shown


def test_a_new_release_a_rollback_and_a_no_op_run_print_no_warning(host, app):
    greeting = (app.get("environment") or {}).get("HELLO_GREETING", "Hello")
    # One more package changes what goes into a release: a new one is built and switched to.
    changed = {**app, "packages": [*app.get("packages", []), "blinker"]}
    output = quiet_run("-e", json.dumps({"flaskops_app": changed}))
    assert recap_counts(output).get("changed", 0) > 0, output
    new = host.check_output(f"readlink /srv/{app['name']}/current")
    assert greeting in http(host, "/", host_header=app["domain"]).body

    quiet_run(playbook="flaskops.deploy.rollback")
    assert host.check_output(f"readlink /srv/{app['name']}/current") != new
    assert greeting in http(host, "/", host_header=app["domain"]).body

    # The inventory's app again is the release rolled back to: nothing to do.
    output = quiet_run()
    assert recap_counts(output).get("changed") == 0, output

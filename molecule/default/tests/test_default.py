"""Behaviour checked on Debian 12 only: reloads, outages, bad input, check mode."""
import json

import pytest

from flaskops_testlib import (
    app_definition, children, http, main_pid, recap_counts, run_playbook, unit_of, wait_for,
)


@pytest.fixture(scope="module")
def app(host):
    return app_definition(host)


@pytest.fixture(scope="module")
def unit(app):
    return unit_of(app)


def test_reload_keeps_the_master_and_replaces_the_workers(host, app, unit):
    master = main_pid(host, unit)
    before = children(host, master)
    assert before

    host.run_expect([0], f"systemctl reload {unit}")

    def replaced():
        now = children(host, master)
        return now if len(now) == len(before) and now.isdisjoint(before) else None

    after = wait_for(replaced, timeout=60)
    assert after, f"workers were not replaced: before {before}, now {children(host, master)}"
    assert main_pid(host, unit) == master
    pidfile = host.file(f"/run/flaskops-{app['name']}/gunicorn.pid").content_string
    assert int(pidfile) == master
    assert http(host, "/", host_header=app["domain"]).status == 200


def test_nginx_serves_static_files_without_the_app(host, app, unit):
    host.run_expect([0], f"systemctl stop {unit}")
    try:
        static = http(host, "/static/hello.txt", host_header=app["domain"])
        dynamic = http(host, "/", host_header=app["domain"])
    finally:
        host.run_expect([0], f"systemctl start {unit}")
    assert static.status == 200 and "static hello" in static.body
    assert dynamic.status == 502
    assert wait_for(lambda: http(host, "/", host_header=app["domain"]).status == 200)


BAD_INPUT = [
    ("missing name", {"name": None}, "name"),
    ("port out of range", {"port": 70000}, "flaskops_app.port"),
    ("domain with spaces", {"domain": "example test"}, "flaskops_app.domain"),
    ("domain with a scheme", {"domain": "http://example.test"}, "flaskops_app.domain"),
    ("public bind", {"address": "0.0.0.0"}, "flaskops_app.allow_public_bind"),
]


@pytest.mark.parametrize("changes, named", [case[1:] for case in BAD_INPUT],
                         ids=[case[0] for case in BAD_INPUT])
def test_bad_app_definition_fails_before_any_change(host, app, changes, named):
    bad = {key: value for key, value in {**app, **changes}.items() if value is not None}
    result = run_playbook("-e", json.dumps({"flaskops_app": bad}))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert named in output, output
    assert recap_counts(output).get("changed") == 0, output


def test_unknown_worker_class_fails_before_any_change(host):
    result = run_playbook("-e", json.dumps({"gunicorn_worker_class": "meinheld"}))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "gunicorn_worker_class" in output, output
    assert recap_counts(output).get("changed") == 0, output


def test_check_mode_on_the_converged_host_changes_nothing(host):
    result = run_playbook("--check", "--diff")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert recap_counts(output).get("changed") == 0, output

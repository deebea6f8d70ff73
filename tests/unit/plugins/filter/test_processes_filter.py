"""Unit tests for the app definition's processes, jobs and release command
(app_facts, app_problems, process_units_of, process_plan)."""
import pytest

from ansible_collections.flaskops.deploy.plugins.filter import app as app_filter

VALID = {
    "name": "shop",
    "domain": "shop.example.com",
    "source": {"type": "local", "path": "/tmp/shop"},
    "processes": [
        {"name": "worker", "command": "celery -A shop worker --concurrency=$WORKERS", "instances": 2},
        {"name": "beat", "command": ["celery", "-A", "shop", "beat"], "overlap": False, "settle": 5},
    ],
    "jobs": [
        {"name": "nightly", "command": "flask cleanup", "calendar": "*-*-* 03:00:00"},
        {"name": "poll", "command": ["flask", "poll"], "every": "5min", "hosts": "all"},
    ],
    "release_command": "flask db upgrade",
}


def with_(**changes):
    return {**VALID, **changes}


def test_units_are_named_so_no_two_apps_or_kinds_collide():
    facts = app_filter.app_facts(VALID)
    files = {entry["unit"]: entry for entry in facts["process_unit_files"]}
    assert sorted(files) == ["flaskops-shop.beat.1@.service", "flaskops-shop.nightly.service",
                             "flaskops-shop.nightly.timer", "flaskops-shop.poll.service", "flaskops-shop.poll.timer",
                             "flaskops-shop.worker.1@.service", "flaskops-shop.worker.2@.service"]
    # The web units are flaskops-shop@<id>: a dot never appears in an app name, so
    # flaskops-shop.* is this app's and no other's (flaskops-shop-admin.* is another app's).
    assert facts["process_unit_globs"] == ["flaskops-shop.*@*.service"]
    assert app_filter.app_problems(with_(name="shop.x"))


def test_commands_become_exec_lines_systemd_does_not_expand():
    facts = app_filter.app_facts(VALID)
    worker, beat = facts["process_units"]
    # A string is a bash command line: its variables are bash's, not systemd's ($$).
    assert worker["exec"] == '"/bin/bash" "-c" "celery -A shop worker --concurrency=$$WORKERS"'
    # A list runs as it is, through exec "$@".
    assert beat["exec"] == '"/bin/bash" "-c" "exec \\"$$@\\"" "beat" "celery" "-A" "shop" "beat"'
    assert app_filter.systemd_quote('50% "off"\\') == '"50%% \\"off\\"\\\\"'
    assert facts["release_argv"] == ["/bin/bash", "-c", "flask db upgrade"]


@pytest.mark.parametrize("changes, field", [
    ({"processes": [{"name": "Worker", "command": "x"}]}, "processes[0].name"),
    ({"processes": [{"name": "w", "command": "x", "instances": 0}]}, "processes[0].instances"),
    ({"processes": [{"name": "w", "command": 5}]}, "processes[0].command"),
    ({"processes": [{"name": "w", "command": []}]}, "processes[0].command"),
    ({"processes": [{"name": "w", "command": "a\nb"}]}, "processes[0].command"),
    ({"processes": [{"name": "w", "command": "x", "settings": {"bad key": 1}}]}, "processes[0].settings"),
    ({"processes": [{"name": "w", "command": "x", "settings": {"Nice": [1]}}]}, "processes[0].settings.Nice"),
    ({"jobs": [{"name": "j", "command": "x"}]}, "jobs[0]"),
    ({"jobs": [{"name": "j", "command": "x", "every": "5s", "calendar": "daily"}]}, "jobs[0]"),
    ({"jobs": [{"name": "worker", "command": "x", "every": "5s"}]}, "jobs[0].name"),
    ({"jobs": [{"name": "j", "command": "x", "every": "5s", "timeout": 0}]}, "jobs[0].timeout"),
    ({"release_command": {"run": "x"}}, "release_command"),
])
def test_bad_input_names_the_field(changes, field):
    problems = app_filter.app_problems(with_(**changes))
    assert any(problem.startswith(f"flaskops_app.{field}") for problem in problems), problems


def test_schedules_are_handed_to_systemd_analyze_by_field():
    facts = app_filter.app_facts(VALID)
    assert facts["schedule_checks"] == [
        "flaskops_app.jobs[0].calendar", "calendar", "*-*-* 03:00:00",
        "flaskops_app.jobs[0].randomized_delay", "timespan", "0",
        "flaskops_app.jobs[1].every", "timespan", "5min",
        "flaskops_app.jobs[1].randomized_delay", "timespan", "0",
    ]


def test_a_host_that_is_not_the_first_runs_only_the_jobs_for_every_host():
    facts = app_filter.app_facts(VALID)
    primary = app_filter.process_units_of(facts, True)
    other = app_filter.process_units_of(facts, False)
    assert primary["timers"] == ["flaskops-shop.nightly.timer", "flaskops-shop.poll.timer"]
    assert other["timers"] == ["flaskops-shop.poll.timer"]
    assert primary["instances"] == other["instances"] == [
        "flaskops-shop.worker.1@", "flaskops-shop.worker.2@", "flaskops-shop.beat.1@"]
    assert primary["stop_first"] == ["flaskops-shop.beat.1@"]
    assert primary["settle"] == 5
    assert not primary["stale"]
    # A unit file of a dropped process on the host makes it stale: the release role prunes.
    found = [entry["file"] for entry in facts["process_unit_files"]] + ["/etc/systemd/system/flaskops-shop.old.1@.service"]
    assert app_filter.process_units_of(facts, True, found=found)["stale"]


def test_the_plan_stops_the_old_singletons_first_and_starts_the_new_release():
    units = app_filter.process_units_of(app_filter.app_facts(VALID), True)
    plan = app_filter.process_plan(units, "r2", "r1")
    names = [(item["name"], item.get("state")) for item in plan]
    assert names[0] == ("flaskops-shop.beat.1@r1.service", "stopped")
    assert ("flaskops-shop.worker.1@r2.service", "started") in names
    assert ("flaskops-shop.beat.1@r2.service", "started") in names
    # The overlapping workers of r1 are not in the plan: the prune stops them, after the settle.
    assert not any(name.startswith("flaskops-shop.worker.1@r1") for name, _ in names)
    assert ("flaskops-shop.nightly.service", None) in names
    # Staying on a release whose templates changed: a restart, nothing stopped.
    changed = app_filter.process_units_of(app_filter.app_facts(VALID), True,
                                          changed=["/etc/systemd/system/flaskops-shop.worker.1@.service"])
    again = app_filter.process_plan(changed, "r2")
    assert {"name": "flaskops-shop.worker.1@r2.service", "state": "restarted", "enabled": True,
            "reset_failed": True} in again
    assert app_filter.process_plan(units, "") == []


def test_the_first_host_that_runs_the_app_runs_its_release_command():
    hostvars = {"a": {"flaskops_app": {"name": "other"}},
                "b": {"flaskops_apps": [{"name": "shop", "state": "absent"}]},
                "c": {"flaskops_apps": [{"name": "shop"}]},
                "d": {"flaskops_app": {"name": "shop"}},
                "lb": {}}
    assert app_filter.first_app_host(["lb", "a", "b", "c", "d"], hostvars, "shop") == "c"
    assert app_filter.first_app_host(["a"], hostvars, "shop") == ""

"""Processes beside the web process, as a user sees them: RQ workers taking jobs
enqueued through nginx, a job on a timer, a release command, the run playbook;
new code reaching the workers, a worker that does not start leaving the previous
release (web and workers) serving, a rollback moving them back, a dropped
process gone.

The tests run in file order: the later ones redeploy the app.
"""
import json
import os
import re
import shutil

from flaskops_testlib import app, http, recap_counts, run_playbook, wait_for, why  # noqa: F401 (fixtures)

ROOT = "/srv/jobs"
DOMAIN = "jobs.test"


def curl(host, method, path):
    result = host.run_expect([0], f"curl -sS --max-time 10 -X {method} -H 'Host: {DOMAIN}' 'http://127.0.0.1:80{path}'")
    return json.loads(result.stdout)


def run_job(host, x):
    """Enqueue square(x) through nginx, wait for a worker to run it, return its result."""
    job = curl(host, "POST", f"/jobs?x={x}")["id"]
    done = wait_for(lambda: (lambda answer: answer if answer["status"].endswith("FINISHED") else None)(
        curl(host, "GET", f"/jobs/{job}")), timeout=20)
    assert done, f"job {job} did not finish: {curl(host, 'GET', f'/jobs/{job}')}"
    return done["result"]


def current(host):
    return os.path.basename(host.check_output(f"readlink {ROOT}/current"))


def workers(host):
    """The worker units systemd has running: {unit: release id}."""
    out = host.check_output("systemctl list-units --plain --no-legend --state=active 'flaskops-jobs.worker.*' | awk '{print $1}'")
    return {unit: unit.split("@", 1)[1].removesuffix(".service") for unit in out.split()}


def copy_of_app(tmp_path, **files):
    """The scenario's app with some files changed, as a new commit would change them."""
    source = os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "app")
    target = tmp_path / "app"
    shutil.copytree(source, target)
    for name, content in files.items():
        (target / name).write_text(content)
    return str(target)


def deploy(definition):
    return run_playbook("-e", json.dumps({"flaskops_app": definition}))


def test_a_job_enqueued_through_nginx_is_run_by_a_worker_of_the_release_that_serves(host):
    result = run_job(host, 7)
    assert result["square"] == 49
    assert result["version"] == "v1"
    assert result["release"] == current(host)
    # Two instances, both on the release that serves, as the app user.
    assert sorted(workers(host).values()) == [current(host)] * 2
    for unit in workers(host):
        pid = host.check_output(f"systemctl show -p MainPID --value {unit}")
        assert host.check_output(f"ps -o user= -p {pid}") == "jobs"
        # The web process's sandbox.
        assert host.check_output(f"systemctl show -p ProtectSystem --value {unit}") == "strict"


def test_the_timer_job_runs_again_and_again_and_list_timers_shows_it(host):
    assert "flaskops-jobs.tick.timer" in host.check_output("systemctl list-timers --all --no-pager")
    before = int(host.check_output(f"wc -l < {ROOT}/shared/ticks"))
    assert wait_for(lambda: int(host.check_output(f"wc -l < {ROOT}/shared/ticks")) >= before + 2, timeout=15)
    assert host.check_output(f"tail -n 1 {ROOT}/shared/ticks") == "tick tick"


def tick_result(host):
    return host.check_output("systemctl show -P Result flaskops-jobs.tick.service")


def test_the_status_playbook_shows_the_workers_and_a_failed_run_of_the_job(host, tmp_path):
    # The job (every 2 s) fails while this file exists; its next runs succeed again.
    host.run_expect([0], f"touch {ROOT}/shared/stop-ticking")
    try:
        for _ in range(4):  # read again when it was read while the job ran
            assert wait_for(lambda: tick_result(host) == "exit-code", timeout=15)
            result = run_playbook("-e", f"flaskops_status_dir={tmp_path}", playbook="flaskops.deploy.status")
            assert result.returncode == 0, why(result)
            said = " ".join(result.stdout.split())  # the lines as printed, unwrapped
            if "flaskops-jobs.tick.timer: active (waiting)" in said:
                break
    finally:
        host.run_expect([0], f"rm -f {ROOT}/shared/stop-ticking")
    assert re.search(r"unit flaskops-jobs\.tick\.timer: active \(waiting\)[^']*, next run \w{3} [-0-9]+ [:0-9]+ UTC, "
                     r"last run [^']*, which FAILED \(exit-code, exit status 1\)", said), result.stdout
    (jobs,) = json.loads((tmp_path / "flaskops-processes.json").read_text())["apps"]
    units = {unit["unit"]: unit for unit in jobs["units"]}
    for number in (1, 2):
        worker = units[f"flaskops-jobs.worker.{number}@{current(host)}.service"]
        assert worker["active"] == "active" and worker["main_pid"] > 0, worker
    assert units["flaskops-jobs.tick.timer"]["last_result"] == {"result": "exit-code", "exit_status": 1}
    assert wait_for(lambda: tick_result(host) == "success", timeout=15)


def test_the_release_command_ran_once_for_the_release(host):
    assert http(host, "/schema", host_header=DOMAIN).body.strip() == "v1"
    migrations = host.check_output("redis-cli lrange jobsapp:migrations 0 -1").split("\n")
    # Converge, then the idempotence run: one migration for the release that serves.
    assert migrations.count(f"v1 {current(host)}") == 1, migrations


def test_the_run_playbook_prints_a_command_s_output_in_the_release_that_serves(host):  # pylint: disable=unused-argument
    result = run_playbook("-e", json.dumps({
        "flaskops_run_app": "jobs",
        "flaskops_run_command": 'python -c "import jobstasks; print(jobstasks.VERSION)"; echo $FLASKOPS_SHARED_DIR'}),
        playbook="flaskops.deploy.run")
    assert result.returncode == 0, why(result)
    assert "v1" in result.stdout and f"{ROOT}/shared" in result.stdout and "exit status 0" in result.stdout
    failed = run_playbook("-e", json.dumps({"flaskops_run_app": "jobs", "flaskops_run_command": "echo about to fail; exit 3"}),
                          playbook="flaskops.deploy.run")
    assert failed.returncode != 0
    assert "about to fail" in failed.stdout and "exit status 3" in failed.stdout + failed.stderr


def test_new_code_reaches_the_workers_and_the_release_command_runs_once(host, app, tmp_path):  # pylint: disable=redefined-outer-name
    before = current(host)
    migrations = int(host.check_output("redis-cli llen jobsapp:migrations"))
    path = copy_of_app(tmp_path, **{"jobstasks.py": open(os.path.join(
        os.environ["MOLECULE_SCENARIO_DIRECTORY"], "app", "jobstasks.py")).read().replace('"v1"', '"v2"'),
        "SCHEMA": "v2\n"})
    result = deploy({**app, "source": {"type": "local", "path": path}})
    assert result.returncode == 0, why(result)
    assert current(host) != before
    answer = run_job(host, 3)
    assert (answer["version"], answer["release"]) == ("v2", current(host))
    # The old release's workers are gone, the new ones run.
    assert sorted(workers(host).values()) == [current(host)] * 2
    assert http(host, "/schema", host_header=DOMAIN).body.strip() == "v2"
    assert host.check_output("redis-cli lrange jobsapp:migrations 0 -1").split("\n")[-1] == f"v2 {current(host)}"
    # Again: nothing changes, no migration runs again.
    again = deploy({**app, "source": {"type": "local", "path": path}})
    assert recap_counts(again.stdout)["changed"] == 0, again.stdout
    assert int(host.check_output("redis-cli llen jobsapp:migrations")) == migrations + 1


def test_a_worker_that_does_not_start_fails_the_deploy_and_the_previous_release_serves(host, app, tmp_path):  # pylint: disable=redefined-outer-name
    before = current(host)
    path = copy_of_app(tmp_path, **{"jobssettings.py": 'raise RuntimeError("this release\'s workers cannot start")\n'})
    result = deploy({**app, "source": {"type": "local", "path": path}})
    assert result.returncode != 0
    said = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr).split())
    assert "did not keep running" in said and "cannot start" in said, said
    assert f"Switched back to release {before}, which is serving" in said, said
    # Web and workers: the release that served before.
    assert current(host) == before
    assert sorted(workers(host).values()) == [before] * 2
    assert run_job(host, 4)["release"] == before


def test_a_rollback_moves_the_workers_back_with_the_web_process(host):
    before = current(host)
    result = run_playbook(playbook="flaskops.deploy.rollback")
    assert result.returncode == 0, why(result)
    assert current(host) != before
    assert sorted(workers(host).values()) == [current(host)] * 2
    assert run_job(host, 5)["version"] == "v1"


def test_a_process_dropped_from_the_definition_is_stopped_and_its_units_removed(host, app):  # pylint: disable=redefined-outer-name
    result = deploy({**app, "processes": []})
    assert result.returncode == 0, why(result)
    assert workers(host) == {}
    assert host.run("ls /etc/systemd/system/flaskops-jobs.worker.* /etc/systemd/system/*.wants/flaskops-jobs.worker.*").rc != 0
    assert host.run("pgrep -u jobs -f 'rq worker'").rc == 1
    # The job stays.
    assert "flaskops-jobs.tick.timer" in host.check_output("systemctl list-timers --no-pager")

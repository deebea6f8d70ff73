"""Scale-out: an nginx load balancer in front of two app hosts.

The tests run in file order and build on each other: the converged cluster
serves from both app hosts; only the balancer reaches Gunicorn; the app sees the
client; a new release rolls across the hosts under load without a failed
request; stopping one app host leaves the balancer answering.

Every request is made inside the scenario's containers (the balancer's own
loopback address, or the scenario's network).
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest
import testinfra

from flaskops_testlib import (assert_no_request_failed, children, http, main_pid, playbook_command, recap_counts,
                              run_playbook, start_wrk, stop_wrk, unit_of, why)

testinfra_hosts = ["ansible://flaskops-cluster-lb"]

LB, APP1, APP2 = "172.31.231.10", "172.31.231.11", "172.31.231.12"
APP_HOSTS = {"flaskops-cluster-app1": APP1, "flaskops-cluster-app2": APP2}


def other(name):
    return testinfra.get_host(f"ansible://{name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])


def workers(name):
    app_host = other(name)
    return children(app_host, main_pid(app_host, unit_of(app_host, {"name": "hello"})))


def served(host, path="/version"):
    return http(host, path, host_header="example.test")


def test_requests_are_spread_over_both_app_hosts(host):
    pids = {name: workers(name) for name in APP_HOSTS}
    seen = {served(host, "/whoami").json()["pid"] for _ in range(30)}
    for name, mine in pids.items():
        assert seen & mine, f"no answer came from {name} (its workers {mine}, seen {seen})"


def test_only_the_balancer_reaches_gunicorn(host):
    target = f"'http://{APP1}:8000/version' -H 'Host: example.test'"
    assert host.run(f"curl -sS --max-time 5 {target}").stdout.strip() == "1.0.0"
    # app2 is on the same network, but not in app1's allow_from: its packets are dropped.
    refused = other("flaskops-cluster-app2").run(f"curl -sS --max-time 3 {target}")
    assert refused.rc != 0, refused.stdout


def test_the_app_sees_the_client_not_the_balancer(host):
    # app2 as a client of the balancer, forging the address it comes from.
    client = other("flaskops-cluster-app2")
    out = client.check_output(
        f"curl -sS --max-time 5 -H 'Host: example.test' -H 'X-Forwarded-For: 203.0.113.9' http://{LB}/whoami"
    )
    seen = json.loads(out)
    assert seen["remote_addr"] == APP2, seen  # one hop trusted: the balancer's
    assert seen["scheme"] == "http" and seen["host"] == "example.test", seen
    raw = json.loads(client.check_output(
        f"curl -sS --max-time 5 -H 'Host: example.test' -H 'X-Forwarded-For: 203.0.113.9' http://{LB}/headers"))
    assert raw["HTTP_X_FORWARDED_FOR"] == APP2 and raw["HTTP_HOST"] == "example.test", raw


@pytest.fixture(scope="module")
def release():
    """release("2.0.0") is the converged app definition (the base config's, with
    this scenario's additions) from a copy of the sample app that says 2.0.0."""
    made = []

    def make(version, **changes):
        source = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "examples", "hello")
        target = os.path.join(tempfile.mkdtemp(prefix="flaskops-cluster-"), "hello")
        made.append(os.path.dirname(target))
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        path = os.path.join(target, "hello.py")
        with open(path, encoding="utf-8") as handle:
            code = handle.read()
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(code.replace('__version__ = "1.0.0"', f'__version__ = "{version}"'))
        return {
            "name": "hello",
            "domain": "example.test",
            "source": {"type": "local", "path": target},
            "wsgi": "hello:create_app()",
            "environment": {"HELLO_GREETING": "Howdy"},
            "address": "{{ cluster_private_address }}",
            "allow_from": [LB],
            **changes,
        }

    yield make
    for directory in made:
        shutil.rmtree(directory)


# Once per new release, on one host of the cluster (the first app host), before
# any host starts it: what a migration is. It says where it ran in the shared
# directory of that host.
MIGRATION = 'echo "$FLASKOPS_RELEASE_ID" >> "$FLASKOPS_SHARED_DIR/migrated"'
# A job of the cluster (one host) and one of every host.
JOBS = [{"name": "report", "every": "1h", "hosts": "one"}, {"name": "sweep", "every": "1h", "hosts": "all"}]


@pytest.fixture(scope="module")
def version_two(release):
    return release("2.0.0", release_command=MIGRATION,
                   jobs=[{**job, "command": f"echo {job['name']}"} for job in JOBS])


def _start_load(host):
    host.run_expect([0], "rm -f /tmp/versions.out")
    # A new connection per request: nginx closes idle keep-alive connections of
    # clients on every reload (a rolling deploy reloads the balancer twice per
    # host), which real clients retry but wrk would count as read errors. Each
    # connection pauses 5 ms between requests (up to 800 requests/s), which leaves
    # the two cores to the deploy.
    host.run_expect([0], "printf 'function delay()\\n  return 5\\nend\\n' > /tmp/paced.lua")
    start_wrk(host, "-t1 -c4 -d600s -s /tmp/paced.lua -H 'Connection: close'")
    # What the clients get, one line per request, to see both releases.
    host.run_expect([0], (
        "nohup sh -c 'while :; do curl -s --max-time 10 -H \"Host: example.test\" "
        "http://127.0.0.1/version || echo failed; sleep 0.05; done' > /tmp/versions.out 2>&1 &"
    ))


def _stop_load(host):
    host.run("pkill -f 'while :; do curl'")
    return stop_wrk(host), host.file("/tmp/versions.out").content_string.split()


def test_a_rolling_deploy_under_load_fails_no_request(host, version_two):
    _start_load(host)
    time.sleep(2)
    try:
        result = run_playbook("-e", json.dumps({"flaskops_app": version_two}))
    finally:
        time.sleep(2)
        report, versions = _stop_load(host)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Both app hosts built in one go (one include for both, task by task), before the roll.
    assert re.search(r"tasks/build\.yml for flaskops-cluster-app\d, flaskops-cluster-app\d", output), output
    # One host at a time: each left the balancer and came back.
    for name in APP_HOSTS:
        assert re.search(rf"Take out of the balancers the hosts about to switch - {name}\b", output), output
    assert_no_request_failed(report, more_than=300)
    assert "failed" not in versions, versions
    assert {"1.0.0", "2.0.0"} <= set(versions), set(versions)
    # Once the roll is over, only the new release answers, from both hosts.
    assert {served(host).body.strip() for _ in range(20)} == {"2.0.0"}
    assert "down" not in host.check_output("grep -v '^#' /etc/nginx/flaskops/hello.backends")


def timers(name):
    listed = other(name).check_output("systemctl list-timers --all --plain --no-legend 'flaskops-hello.*'")
    return set(re.findall(r"flaskops-hello\.(\w+)\.timer", listed))


def test_the_release_command_ran_once_on_one_host_and_jobs_run_where_asked(host):  # pylint: disable=unused-argument
    app1, app2 = other("flaskops-cluster-app1"), other("flaskops-cluster-app2")
    serving = os.path.basename(app1.check_output("readlink /srv/hello/current"))
    assert app1.file("/srv/hello/shared/migrated").content_string.split() == [serving]
    # app2's release has its own id (its own address is in its settings), and it
    # went on without running the command: the code is the same.
    assert not app2.file("/srv/hello/shared/migrated").exists
    assert os.path.basename(app2.check_output("readlink /srv/hello/current")) != serving
    assert timers("flaskops-cluster-app1") == {"report", "sweep"}
    assert timers("flaskops-cluster-app2") == {"sweep"}


def test_a_second_run_changes_nothing_and_drains_no_host(host, version_two):  # pylint: disable=unused-argument
    result = run_playbook("-e", json.dumps({"flaskops_app": version_two}))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert recap_counts(result.stdout).get("changed") == 0, output
    assert re.search(r"Take out of the balancers the hosts about to switch - flaskops", output) is None, output


def test_a_failed_host_stops_the_roll(host, release, version_two):
    """A release whose health check fails on the first host: it switches back and
    stays out of the balancers; the second host is never touched."""
    broken = release("3.0.0", health_check={"path": "/missing", "retries": 2})
    before = {name: other(name).check_output("readlink /srv/hello/current") for name in APP_HOSTS}
    result = run_playbook("-e", json.dumps({"flaskops_app": broken}))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Switched back to release" in output, output
    after = {name: other(name).check_output("readlink /srv/hello/current") for name in APP_HOSTS}
    assert after == before
    backends = host.check_output("grep -v '^#' /etc/nginx/flaskops/hello.backends")
    assert re.search(rf"{APP1}:8000 .* down;", backends), backends
    assert not re.search(rf"{APP2}:8000 .* down;", backends), backends
    # The roll stopped: app2 was never taken out or switched.
    assert "flaskops-cluster-app2" not in re.findall(r"the hosts about to switch - (\S+)", output)
    assert {served(host).body.strip() for _ in range(10)} == {"2.0.0"}
    # The next good run puts app1 back.
    result = run_playbook("-e", json.dumps({"flaskops_app": version_two}))
    assert result.returncode == 0, why(result)
    assert "down" not in host.check_output("grep -v '^#' /etc/nginx/flaskops/hello.backends")


def test_the_roll_switches_to_the_release_every_host_built_though_the_source_changed(host, release):
    """The source changes after every host built the release and before the roll
    switches them (here: the local tree is edited as the rolling play starts).
    The roll switches each host to what was built and migrated, never to a
    release no host built and no release command ran for."""
    new, edited = "4.0.0", "4.0.1"
    fresh = release(new, release_command=MIGRATION)
    source = os.path.join(fresh["source"]["path"], "hello.py")
    command = playbook_command("-e", json.dumps({"flaskops_app": fresh}))
    # Unbuffered: each task's header arrives as the task starts.
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"}) as run:
        output = []
        for line in run.stdout:
            output.append(line)
            if line.startswith("PLAY [Deploy the apps"):
                with open(source, encoding="utf-8") as handle:
                    code = handle.read()
                with open(source, "w", encoding="utf-8") as handle:
                    handle.write(code.replace(f'__version__ = "{new}"', f'__version__ = "{edited}"'))
        run.wait(timeout=600)
    output = "".join(output)
    # What failed (the lines from each "fatal:"), then the end.
    failures = re.findall(r"^fatal: .*(?:\n(?!TASK ).*)*", output, re.M)
    assert run.returncode == 0, "\n".join(failures) + "\n[...]\n" + output[-3000:]
    assert edited in open(source, encoding="utf-8").read(), "the source was never edited: " + output[-6000:]
    assert {served(host).body.strip() for _ in range(20)} == {new}, output[-6000:]
    for name in APP_HOSTS:
        built = other(name).run(f"grep -rl --include=hello.py {edited} /srv/hello/releases")
        assert built.stdout == "", f"{name} built the edited source: {built.stdout}"
    app1 = other("flaskops-cluster-app1")
    serving = os.path.basename(app1.check_output("readlink /srv/hello/current"))
    assert app1.file("/srv/hello/shared/migrated").content_string.split()[-1] == serving


def test_the_balancer_keeps_answering_when_an_app_host_stops(host):
    """The app2 host shuts down mid-load: nginx marks it failed (max_fails,
    fail_timeout) and retries what failed on app1 (proxy_next_upstream).

    It shuts down the way a host does: systemd's halt signal (what `docker
    stop` sends to a systemd image that sets STOPSIGNAL; ours does not, so
    `docker stop` would only SIGKILL it after its timeout). Gunicorn finishes
    the requests it has, then the socket refuses, then the address is gone. A
    SIGKILL can cut a response after its first bytes have reached the client,
    which no proxy can retry; that made this test fail once in many runs."""
    serving = {served(host).body.strip() for _ in range(10)}
    assert len(serving) == 1, serving
    _start_load(host)
    time.sleep(2)
    try:
        subprocess.run(["docker", "kill", "--signal", "SIGRTMIN+3", "flaskops-cluster-app2"],
                       check=True, capture_output=True)
        subprocess.run(["docker", "wait", "flaskops-cluster-app2"], check=True, capture_output=True, timeout=60)
        time.sleep(5)
    finally:
        report, versions = _stop_load(host)
    assert_no_request_failed(report, more_than=100)
    assert "failed" not in versions, versions
    assert {served(host).body.strip() for _ in range(10)} == serving

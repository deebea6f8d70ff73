"""Faults a host meets, injected while wrk loads the site through nginx.

Each test injects one fault, waits until the site serves again without any
converge, and adds a row to the table the README shows: the fault, the
requests wrk made, how many failed (an error status, a socket error, or no
answer within 2 s), whether the app's shared data and the environment files of
its releases are unchanged, and whether it recovered by itself. The table is
written to .cache/test-logs/faults.md (and printed in this scenario's log).

The tests run in file order; the disk-full test deploys a second app, on a
filesystem of its own.
"""
import json
import os
import pathlib
import re
import signal
import subprocess
import time

import pytest

from flaskops_testlib import (app, http, main_pid, playbook_command, run_playbook, socket_errors,  # noqa: F401 (fixtures)
                              start_wrk, stop_wrk, unit_of, wait_for, why)

ROOT = "/srv/hello"
CONTAINER = "flaskops-faults"
TABLE = pathlib.Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", ".")) / ".cache" / "test-logs" / "faults.md"
ROWS = []

def load(host, paced=True):
    """Eight connections, each (when paced) waiting 10 ms between requests:
    steady load that leaves the faults' recovery CPU to run on."""
    start_wrk(host, "-t2 -c8 -d900s", timeout="2s", paced=10 if paced else None)
    time.sleep(1)


def failures(report):
    """(requests, failed) from wrk's report: error statuses, socket errors, stalls."""
    total = int(re.search(r"(\d+) requests in", report).group(1))
    failed = 0
    match = re.search(r"Non-2xx or 3xx responses: (\d+)", report)
    if match:
        failed += int(match.group(1))
    failed += sum(socket_errors(report).values())
    return total, failed


def fingerprint(host):
    """What a fault must not change: every file under the app's shared directory,
    and the environment file of each release, by checksum."""
    out = host.check_output(
        f"cd {ROOT} && find shared releases/*/environment -type f -print0 | sort -z | xargs -0 sha256sum")
    return dict(line.split("  ", 1)[::-1] for line in out.splitlines())


def intact(before, after):
    """Unchanged: every file still there has its content (releases may be pruned
    or added by a deploy; shared files may not go)."""
    shared = {path for path in before if path.startswith("shared/")}
    return shared <= set(after) and all(after[path] == digest for path, digest in before.items() if path in after)


def greeting(host):
    response = http(host, "/whoami", host_header="example.test")
    return response.status, (response.json().get("greeting") if response.status == 200 else None)


def serves(host):
    return host.run("curl -fsS -o /dev/null --max-time 5 -H 'Host: example.test' http://127.0.0.1:80/health").rc == 0


def row(fault, requests, failed, data_intact, recovered, note=""):
    ROWS.append((fault, requests, failed, data_intact, recovered, note))
    write_table()


def write_table():
    lines = ["| Fault | Requests | Failed | Data intact | Recovered without a converge | Note |",
             "|---|---:|---:|---|---|---|"]
    lines += [f"| {fault} | {requests} | {failed} | {'yes' if ok else 'NO'} | {'yes' if rec else 'NO'} | {note} |"
              for fault, requests, failed, ok, rec, note in ROWS]
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    TABLE.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


@pytest.fixture(scope="module", autouse=True)
def shared_data(host):
    """Data the app keeps in its shared directory, which every fault must leave alone."""
    host.run_expect([0], f"head -c 65536 /dev/urandom > {ROOT}/shared/instance/data.bin && "
                         f"chown hello: {ROOT}/shared/instance/data.bin")


def test_kill_9_of_gunicorn_master(host, app):
    """Under unpaced load: no request gets an error status or a broken
    connection, and the site serves again within 5 s of the kill. The requests
    that arrive while systemd starts the master again wait in the socket's
    queue; on a quiet machine that is under a second, with the other lanes
    running it can pass wrk's 2 s, which the table counts as failed (wrk
    counts each connection stuck past 2 s once however long it waits, so
    the time to serving again is what bounds the wait)."""
    before = fingerprint(host)
    unit = unit_of(host, app)
    old = main_pid(host, unit)
    load(host, paced=False)
    host.run_expect([0], f"kill -9 {old}")
    killed = time.monotonic()
    restarted = wait_for(lambda: main_pid(host, unit) not in (0, old) and serves(host), timeout=20)
    recovery = time.monotonic() - killed
    time.sleep(3)
    report = stop_wrk(host)
    requests, failed = failures(report)
    errors = socket_errors(report)
    broken = failed - errors["timeout"]
    row("kill -9 of Gunicorn's master", requests, failed, intact(before, fingerprint(host)), bool(restarted),
        f"systemd starts it again 0.1 s after; connections wait in the socket's queue "
        f"(serving again {recovery:.1f} s after the kill; {broken} errors, {errors['timeout']} waits past 2 s)")
    assert restarted and recovery < 5 and broken == 0 and intact(before, fingerprint(host)), (ROWS[-1], report)


def test_kill_9_of_a_gunicorn_worker(host, app):
    """Five times, one worker each, under unpaced load: a request the killed
    worker had not begun to answer is sent again by nginx (the same socket,
    listed twice). What the worker was in the middle of cannot be: a response
    it was sending reaches the client cut (nginx has passed the status line
    on), and, on a starved CPU, a request nginx sends on a second pooled
    connection to the dead worker before it has seen the first one close gets
    a 502. So at most one request per kill may fail; none may wait past 2 s."""
    before = fingerprint(host)
    unit = unit_of(host, app)
    master = main_pid(host, unit)
    workers = int(host.check_output(f"pgrep -c -P {master}"))
    kills = 5
    load(host, paced=False)
    for _ in range(kills):
        victim = host.check_output(f"pgrep -P {master} | shuf -n 1")
        host.run_expect([0], f"kill -9 {victim}")
        time.sleep(1)
    back = wait_for(lambda: int(host.check_output(f"pgrep -c -P {master}")) == workers, timeout=20)
    time.sleep(2)
    report = stop_wrk(host)
    requests, failed = failures(report)
    stalls = socket_errors(report)["timeout"]
    row(f"kill -9 of a Gunicorn worker ({kills} times)", requests, failed, intact(before, fingerprint(host)), bool(back),
        "nginx sends again what the worker had not begun; what it was answering fails; "
        "the master starts a new worker")
    assert back and main_pid(host, unit) == master and intact(before, fingerprint(host)), ROWS[-1]
    assert stalls == 0 and failed <= kills, (ROWS[-1], report)


def test_kill_9_of_nginx_master(host):
    """nginx's master and its workers go at once (systemd kills what is left of
    the unit): requests fail until systemd has started nginx again
    (flaskops-restart.conf). Counted as a user feels it: one request every 10 ms
    for 5 s, the kill after the first second."""
    before = fingerprint(host)
    old = host.check_output("cat /run/nginx.pid")
    out = host.check_output(
        "ok=0; bad=0; end=$(( $(date +%s) + 5 )); (sleep 1; kill -9 " + old + ") & "
        "while [ $(date +%s) -lt $end ]; do "
        "if curl -fsS -o /dev/null --max-time 2 -H 'Host: example.test' http://127.0.0.1:80/health 2>/dev/null; "
        "then ok=$((ok + 1)); else bad=$((bad + 1)); fi; sleep 0.01; done; echo $ok $bad")
    ok, bad = (int(value) for value in out.split()[-2:])
    back = wait_for(lambda: serves(host), timeout=10) and host.check_output("cat /run/nginx.pid") != old
    row("kill -9 of nginx's master", ok + bad, bad, intact(before, fingerprint(host)), bool(back),
        "requests fail until systemd has started nginx again, 0.1 s after (nginx.service's flaskops-restart.conf)")
    assert back and bad < 50 and ok > 100 and intact(before, fingerprint(host)), ROWS[-1]


def test_reboot_serves_every_app_again_without_a_converge(host, app):
    """A clean reboot (systemd halts, the container starts again, /run is empty):
    nginx and the release that served come up by themselves."""
    before = fingerprint(host)
    release = host.check_output(f"readlink {ROOT}/current")
    subprocess.run(["docker", "exec", CONTAINER, "systemctl", "poweroff"], check=True, capture_output=True)
    subprocess.run(["timeout", "120", "docker", "wait", CONTAINER], check=True, capture_output=True)
    started = time.monotonic()
    subprocess.run(["docker", "start", CONTAINER], check=True, capture_output=True)
    back = wait_for(lambda: serves(host), timeout=90, interval=1)
    boot_s = time.monotonic() - started
    load(host)
    time.sleep(5)
    requests, failed = failures(stop_wrk(host))
    same = host.check_output(f"readlink {ROOT}/current") == release
    row("reboot (stop and start the container)", requests, failed, intact(before, fingerprint(host)),
        bool(back) and same, f"serving {boot_s:.0f} s after start; requests counted after boot")
    assert back and same and failed == 0 and intact(before, fingerprint(host)), ROWS[-1]


# Where a deploy of a new release is interrupted: the task (a part of its
# name, as the run prints it), how long after it starts, and with what: SIGINT
# (Ctrl-C) or SIGKILL (the terminal, or the machine, gone), each at three points.
POINTS = [
    ("venv build", r"Build the release's virtualenv", 0.5, signal.SIGKILL),
    ("shared paths linked", r"Link the shared paths into the release", 0.1, signal.SIGINT),
    ("new release starting", r"Bring a release's socket and service to started", 0.2, signal.SIGKILL),
    ("switch", r"Point the current link at the release", 0.0, signal.SIGINT),
    ("old release stopping", r"Bring a release's socket and service to stopped", 0.2, signal.SIGKILL),
    ("checked mark", r"Mark as checked on this host, now", 0.0, signal.SIGINT),
]


def deploy_command(app, greeting_value):  # pylint: disable=redefined-outer-name
    definition = {**app, "environment": {**app.get("environment", {}), "HELLO_GREETING": greeting_value}}
    return playbook_command("-e", json.dumps({"flaskops_app": definition}))


def interrupted(command, pattern, delay, sig):
    """Run command until it prints the task matching pattern; `delay` seconds
    later, send sig to its whole process group (as Ctrl-C does, or a killed
    terminal). Returns the output, or fails when the task never came."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("TASK [") and re.search(pattern, line):
            time.sleep(delay)
            os.killpg(process.pid, sig)
            break
    else:
        process.wait()
        pytest.fail(f"the deploy never reached {pattern!r}:\n" + "".join(lines))
    try:
        rest, _ = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        rest, _ = process.communicate()
    return "".join(lines) + (rest or "")


def remote_done():
    """What the interrupted run started on the host finishes (over docker exec a
    module is not killed with its controller): wait for it. (Asked with docker
    exec: a command of testinfra's runs in such a module itself.)"""
    def done():
        return subprocess.run(["docker", "exec", CONTAINER, "pgrep", "-f", "python3 && sleep 0"],
                              capture_output=True, check=False).returncode == 1
    return wait_for(done, timeout=120)


@pytest.mark.parametrize("point", POINTS, ids=[f"{point[3].name}-{point[0].replace(' ', '-')}" for point in POINTS])
def test_controller_interrupted_mid_deploy(host, app, point):
    """The host serves the old release or the new one, never neither; the next
    run completes with the new release and leaves no unfinished build."""
    name, pattern, delay, sig = point
    before = fingerprint(host)
    _, old_greeting = greeting(host)
    new_greeting = f"{name} {sig.name} {time.time_ns()}"
    load(host)
    output = interrupted(deploy_command(app, new_greeting), pattern, delay, sig)
    assert remote_done()
    status, serving = greeting(host)
    completed = subprocess.run(deploy_command(app, new_greeting), capture_output=True, text=True, check=False,
                               timeout=600)
    status_after, serving_after = greeting(host)
    time.sleep(1)
    requests, failed = failures(stop_wrk(host))
    unfinished = host.run(f"cd {ROOT}/releases && for d in */; do [ -e \"$d.flaskops-release\" ] || echo $d; done")
    ok = intact(before, fingerprint(host))
    row(f"controller {sig.name} at: {name}", requests, failed, ok,
        completed.returncode == 0 and serving_after == new_greeting,
        f"in between: {'old' if serving == old_greeting else 'new' if serving == new_greeting else 'NEITHER'}; "
        "next run completed")
    assert status == 200 and serving in (old_greeting, new_greeting), output
    assert completed.returncode == 0, why(completed)
    assert status_after == 200 and serving_after == new_greeting
    assert failed == 0, ROWS[-1]
    assert not unfinished.stdout.strip(), unfinished.stdout
    assert ok


def test_dpkg_lock_held_by_another_process_is_waited_for(host, app):
    """unattended-upgrades on a fresh cloud host holds dpkg's lock: a run that
    has a package to install (curl, removed here) says who holds the lock,
    waits for it, and completes."""
    before = fingerprint(host)
    host.run_expect([0], "DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq curl >/dev/null 2>&1")
    holder = ("import fcntl, time\n"
              "f = open('/var/lib/dpkg/lock-frontend', 'w')\n"
              "fcntl.lockf(f, fcntl.LOCK_EX)\n"
              "time.sleep(45)\n")
    host.run_expect([0], f"printf \"{holder}\" > /tmp/hold-dpkg-lock.py && "
                         "(nohup python3 /tmp/hold-dpkg-lock.py >/dev/null 2>&1 &)")
    held = wait_for(lambda: host.run("grep -q POSIX /proc/locks").rc == 0, timeout=10)
    started = time.monotonic()
    load(host)
    result = run_playbook()
    took = time.monotonic() - started
    requests, failed = failures(stop_wrk(host))
    # (Ansible's YAML output doubles the apostrophe of "dpkg's" and wraps long lines.)
    said = re.search(r"held by PID \d+ \(python3 /tmp/hold-dpkg-lock.py\)", result.stdout)
    row("dpkg's lock held by another process (45 s)", requests, failed, intact(before, fingerprint(host)),
        result.returncode == 0, f"the run said who held it, waited and completed in {took:.0f} s")
    assert held and result.returncode == 0, why(result)
    assert said, result.stdout
    assert host.exists("curl") and failed == 0 and intact(before, fingerprint(host))


TINY = "/srv/tiny"


def tiny(app, greeting_value):  # pylint: disable=redefined-outer-name
    """A second app, the sample one again, under a root of its own."""
    return {**app, "name": "tiny", "domain": "tiny.test", "environment": {"HELLO_GREETING": greeting_value}}


def tiny_greeting(host):
    out = host.run("curl -sS --max-time 5 -H 'Host: tiny.test' http://127.0.0.1:80/whoami")
    return json.loads(out.stdout).get("greeting") if out.rc == 0 and out.stdout.startswith("{") else None


def test_disk_full_while_a_release_builds(host, app):
    """The app root on a small filesystem of its own (256 MB), filled while a new
    release builds: the deploy fails saying the disk is full, the release that
    served serves, and once there is room the next run builds the release and
    removes what the failed build left."""
    before = fingerprint(host)
    # Greetings of this run's own: each deploy below is a release not built before.
    small, bigger = f"Small {time.time_ns()}", f"Bigger {time.time_ns()}"
    # prepare.yml mounted it, from /etc/fstab (and the reboot again).
    host.run_expect([0], f"mountpoint -q {TINY}")
    first = run_playbook("-e", json.dumps({"flaskops_app": tiny(app, small)}))
    assert first.returncode == 0, why(first)
    assert tiny_greeting(host) == small
    # Leave 4 MB: the code fits, its virtualenv does not.
    host.run_expect([0], f"fallocate -l $(( $(df --output=avail -B1 {TINY} | tail -1) - 4194304 )) {TINY}/filler")
    load(host)
    full = run_playbook("-e", json.dumps({"flaskops_app": tiny(app, bigger)}))
    during = tiny_greeting(host)
    host.run_expect([0], f"rm {TINY}/filler")
    again = run_playbook("-e", json.dumps({"flaskops_app": tiny(app, bigger)}))
    requests, failed = failures(stop_wrk(host))
    unfinished = host.run(f"cd {TINY}/releases && for d in */; do [ -e \"$d.flaskops-release\" ] || echo $d; done")
    # The hint of playbooks/tasks/next.yml, for a failure that says "No space left on device".
    said = "the host's disk is full" in full.stdout + full.stderr
    row("the app root's disk full while a release builds", requests, failed, intact(before, fingerprint(host)),
        again.returncode == 0 and tiny_greeting(host) == bigger,
        "the deploy failed saying so, the old release served; the next run (with room) built it")
    assert full.returncode != 0 and said, why(full)
    assert during == small
    assert again.returncode == 0, why(again)
    assert tiny_greeting(host) == bigger and not unfinished.stdout.strip(), unfinished.stdout
    assert failed == 0 and intact(before, fingerprint(host))


def test_zz_table():
    """Not a fault: prints the table (it is written after every row)."""
    write_table()
    assert ROWS

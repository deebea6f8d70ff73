"""Helpers the Molecule verifiers of every scenario share.

Requests are made with curl inside the container under test, to its own
loopback addresses: nothing leaves the container.
"""
import json
import os
import re
import subprocess
import time
from dataclasses import dataclass, field

import pytest


@dataclass
class Response:
    status: int
    headers: dict = field(default_factory=dict)
    body: str = ""

    def json(self):
        return json.loads(self.body)


def app_definition(host):
    """The app the scenario converged with, from Molecule's inventory: its
    flaskops_app, or the first of its flaskops_apps."""
    variables = host.ansible.get_variables()
    return variables["flaskops_apps"][0] if "flaskops_apps" in variables else variables["flaskops_app"]


def release_of(host, app):
    """The id of the release the app serves (where its `current` link points)."""
    return os.path.basename(host.check_output(f"readlink /srv/{app['name']}/current"))


def unit_of(host, app):
    """The service of the release the app serves: flaskops-<name>@<release id>.service."""
    return f"flaskops-{app['name']}@{release_of(host, app)}.service"


def pidfile_of(host, app):
    """The pidfile of the release the app serves, in its runtime directory."""
    return f"/run/flaskops-{app['name']}/{release_of(host, app)}/gunicorn.pid"


def socket_of(host, app):
    """The unix socket of the release the app serves."""
    return f"/run/flaskops-{app['name']}/{release_of(host, app)}.sock"


# Fixtures shared by every scenario's tests: import them into a test module.
@pytest.fixture(scope="module")
def app(host):
    """The app definition the scenario converged with."""
    return app_definition(host)


@pytest.fixture(scope="module")
def unit(host, app):  # pylint: disable=redefined-outer-name
    """The systemd service of the release the app serves."""
    return unit_of(host, app)


def site_scheme(host):
    """"https" when the converged app has TLS on, else "http"."""
    tls = app_definition(host).get("tls") or {}
    return "https" if tls.get("mode", "none") != "none" else "http"


def site_target(host, name, path="/", scheme=None):
    """curl arguments that reach the site for host name `name` on this container's
    loopback address, over https (any certificate) when the app has TLS on."""
    scheme = scheme or site_scheme(host)
    if scheme == "https":
        return ["-k", "--resolve", f"{name}:443:127.0.0.1", f"https://{name}:443{path}"]
    return ["-H", f"Host: {name}", f"http://127.0.0.1:80{path}"]


def quoted(args):
    return " ".join(f"'{arg}'" for arg in args)


def http(host, path="/", *, host_header=None, headers=None, interface=None, port=None, scheme=None):
    """GET <path> of the site from inside the container.

    With host_header, the request goes to that site name the way a client would
    come (https when the app has TLS on); without it, to http://127.0.0.1:<port>.
    """
    cmd = ["curl", "-sS", "-i", "--max-time", "10"]
    if interface:
        cmd += ["--interface", interface]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    if host_header and port is None:
        cmd += site_target(host, host_header, path, scheme)
    else:
        if host_header:
            cmd += ["-H", f"Host: {host_header}"]
        cmd.append(f"http://127.0.0.1:{port or 80}{path}")
    result = host.run_expect([0], quoted(cmd))
    head, _, body = result.stdout.replace("\r\n", "\n").partition("\n\n")
    lines = head.split("\n")
    status = int(lines[0].split()[1])
    parsed = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return Response(status, parsed, body)


def main_pid(host, unit):
    return int(host.check_output(f"systemctl show -p MainPID --value {unit}"))


def children(host, pid):
    out = host.run(f"ps -o pid= --ppid {pid}").stdout
    return {int(line) for line in out.split()}


def wait_for(predicate, timeout=30, interval=0.5):
    """Poll until predicate() is truthy; return its last value."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value


def playbook_command(*args, playbook=None):
    """The ansible-playbook command line for the scenario's inventory, for
    run_playbook or for a test that runs it itself (and interrupts it).

    The playbook is the scenario's converge.yml unless named (e.g. flaskops.deploy.rollback).
    """
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    if playbook is None:
        playbook = os.path.join(os.environ["MOLECULE_SCENARIO_DIRECTORY"], "converge.yml")
    return ["ansible-playbook", "-i", inventory, playbook, *args]


def run_playbook(*args, playbook=None):
    """Run ansible-playbook from the controller against the scenario's inventory."""
    return subprocess.run(playbook_command(*args, playbook=playbook), capture_output=True, text=True,
                          check=False, timeout=600)


def why(result, tail=80):
    """What a failed run said, for an assertion message: ansible-playbook's
    stderr (where failures go) first, then the end of its stdout (the failing
    task and the recap). CI shows the start and the end of a long message."""
    lines = result.stdout.splitlines()
    return result.stderr + "\n".join(["[... the end of stdout:]", *lines[-tail:]])


def recap_counts(output):
    """{'ok': n, 'changed': n, ...} summed over the PLAY RECAP lines."""
    counts = {}
    in_recap = False
    for line in output.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        if in_recap and ":" in line:
            for pair in line.split(":", 1)[1].split():
                key, _, value = pair.partition("=")
                if value.isdigit():
                    counts[key] = counts.get(key, 0) + int(value)
    return counts


# Load from inside the container under test, on its own loopback address, with
# wrk in the background while a deploy runs (releases and cluster scenarios).
WRK_REPORT = "/tmp/wrk.out"


# Paced load: each connection waits `paced` ms between its requests, steady
# load as production traffic is, that leaves a deploy (and the other scenarios
# of the test run) CPU to run on. (Sixteen connections at 10 ms, about 1,170
# requests a second, took a whole core of the two, wrk, nginx and Gunicorn
# together; eight take 0.6 of one for about 630 a second. At 5 ms a run beside
# two other lanes saw 10 requests in 253,000 wait past 2 s while the release
# that served was untouched.)
PACED_SCRIPT = "/tmp/paced.lua"


def start_wrk(host, options, site="example.test", path="/version", timeout="10s", paced=None):
    """Start wrk in the container against the site `site`; `options` are wrk's
    own (threads, connections, duration, extra headers). A request not
    answered within `timeout` counts as a socket error (a stall a user feels);
    `paced`: milliseconds each connection waits between its requests."""
    host.run_expect([0], f"rm -f {WRK_REPORT}")
    if paced is not None:
        host.run_expect([0], f"printf 'function delay()\\n  return {int(paced)}\\nend\\n' > {PACED_SCRIPT}")
        options += f" -s {PACED_SCRIPT}"
    host.run_expect([0], (f"nohup wrk {options} --latency --timeout {timeout} -H 'Host: {site}' "
                          f"http://127.0.0.1:80{path} > {WRK_REPORT} 2>&1 &"))


def stop_wrk(host):
    """Stop wrk (SIGINT: it prints its report) and return the report."""
    host.run("pkill -INT -x wrk")
    done = wait_for(lambda: "Requests/sec" in host.file(WRK_REPORT).content_string, timeout=15)
    report = host.file(WRK_REPORT).content_string
    assert done, report
    return report


def worst_latency(report):
    """The slowest answer wrk saw, in seconds (the Max column of its Latency line)."""
    value, unit = re.search(r"^\s*Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s|m)\b", report, re.MULTILINE).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def socket_errors(report):
    """wrk's socket errors by kind: connect, read (a response cut), write, timeout (a stall)."""
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report)
    return dict(zip(("connect", "read", "write", "timeout"), map(int, match.groups()) if match else (0,) * 4))


def assert_no_request_failed(report, more_than):
    """wrk's report: more than `more_than` requests, none answered with an
    error status, none lost on the socket (connect, read, write, timeout)."""
    total = int(re.search(r"(\d+) requests in", report).group(1))
    assert total > more_than, report
    assert "Non-2xx or 3xx responses" not in report, report
    assert "Socket errors" not in report, report

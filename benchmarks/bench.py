#!/usr/bin/env python3
"""flaskops.deploy benchmarks: serving, slow clients, static files, release switch, converge time.

    make bench            (or: .venv/bin/python benchmarks/bench.py [--keep] [--quick])

Deploys the sample app with the collection into a systemd container of its own
(flaskops-bench), runs wrk inside that container against its own loopback, and
writes benchmarks/results/: README.md (tables, machine, date), results.json and
PNG plots. It reports; it does not gate CI. Absolute numbers drift on a shared
machine, so every comparison is a ratio of numbers taken in the same run, and
the serving variants are measured in interleaved rounds (median of the rounds).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
CONTAINER = "flaskops-bench"
IMAGE = "flaskops/debian-systemd:bookworm"
DOMAIN = "bench.test"
APP = "hello"
UNIT_PREFIX = f"flaskops-{APP}@"

# The seed recipe's nginx block, verbatim but for the port: proxy_pass to
# 127.0.0.1:8000 with Host / X-Real-IP / X-Forwarded-For and nothing else
# (HTTP/1.0 to Gunicorn, so no upstream keepalive).
SEED_SITE = """\
# The seed recipe's server block (benchmark baseline, not managed by Ansible).
server {
    listen 8081 default_server;
    server_name _;
    location / {
        proxy_pass http://127.0.0.1:8000;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
}
"""

# What a user might put in front of Gunicorn instead: Caddy's reverse_proxy
# (Debian's package), with nothing but the upstream (it sets Host and the
# X-Forwarded-* headers itself, and keeps connections to Gunicorn alive).
CADDYFILE = """\
{
\tadmin off
\tauto_https off
}
:8082 {
\treverse_proxy 127.0.0.1:8000
}
"""

URLS = {
    # Gunicorn itself, no nginx: the serving release's code, settings and environment,
    # in a Gunicorn of the bench's own on TCP (the site's own releases listen on unix
    # sockets only nginx may reach); start_direct() starts it.
    "direct": "http://127.0.0.1:8000",
    "generated": "http://127.0.0.1:80",    # the collection's nginx site
    "seed": "http://127.0.0.1:8081",       # the seed recipe's nginx block
    "caddy": "http://127.0.0.1:8082",      # Caddy's reverse_proxy, CADDYFILE
}


def log(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(cmd: list[str], check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=check, text=True, **kwargs)


def sh(script: str, check: bool = True) -> str:
    """Run a shell command in the benchmark container and return its output."""
    result = run(["docker", "exec", CONTAINER, "sh", "-c", script],
                 check=False, capture_output=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"in {CONTAINER}: {script}\n{result.stdout}{result.stderr}")
    return result.stdout


# --------------------------------------------------------------------- wrk

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if not match:
        raise ValueError(f"unreadable latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(report: str) -> dict:
    """The numbers of a `wrk --latency` report: requests/s, p50/p99 in ms, failures."""
    def number(pattern: str, default: float = 0.0) -> float:
        match = re.search(pattern, report)
        return float(match.group(1)) if match else default

    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", report, re.MULTILINE))
    worst = re.search(r"^\s+Latency\s+\S+\s+\S+\s+(\S+)", report, re.MULTILINE)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", report)
    socket_errors = sum(int(n) for n in errors.groups()) if errors else 0
    non2xx = int(number(r"Non-2xx or 3xx responses: (\d+)"))
    return {
        "rps": number(r"Requests/sec:\s+([\d.]+)"),
        "requests": int(number(r"(\d+) requests in")),
        "p50_ms": _ms(latency["50"]) if "50" in latency else None,
        "p99_ms": _ms(latency["99"]) if "99" in latency else None,
        "max_ms": _ms(worst.group(1)) if worst else None,
        "non2xx": non2xx,
        "socket_errors": socket_errors,
        "failed": non2xx + socket_errors,
    }


def wrk(url: str, seconds: int, connections: int = 32, timeout: str = "10s") -> dict:
    report = sh(f"wrk -t2 -c{connections} -d{seconds}s --timeout {timeout} --latency "
                f"-H 'Host: {DOMAIN}' {url}")
    return parse_wrk(report)


# Each connection waits 5 ms between requests: steady load (at most 3,200
# requests/s over 16 connections) that leaves the deploy CPU to run on, as
# production traffic would, instead of starving it.
PACED = "function delay()\n  return 5\nend\n"


def wrk_background(url: str, timeout: str = "2s") -> None:
    """Paced load in the background; a request unanswered after `timeout` (a stall
    a user feels) counts as a socket error."""
    sh(f"printf '{PACED}' > /tmp/paced.lua; rm -f /tmp/wrk.out; "
       f"nohup wrk -t2 -c16 -d600s --timeout {timeout} --latency -s /tmp/paced.lua "
       f"-H 'Host: {DOMAIN}' {url} > /tmp/wrk.out 2>&1 &")
    time.sleep(2)


def wrk_stop() -> dict:
    sh("pkill -INT -x wrk", check=False)
    for _ in range(50):
        if "Requests/sec" in sh("cat /tmp/wrk.out", check=False):
            break
        time.sleep(0.2)
    return parse_wrk(sh("cat /tmp/wrk.out"))


def interleaved(variants: dict[str, str], rounds: int, seconds: int) -> dict:
    """Measure each variant `rounds` times, round-robin; keep the median round by rps."""
    samples: dict[str, list[dict]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, url in variants.items():
            samples[name].append(wrk(url, seconds))
    result = {}
    for name, runs in samples.items():
        median_rps = statistics.median(r["rps"] for r in runs)
        best = min(runs, key=lambda r: abs(r["rps"] - median_rps))
        result[name] = dict(best, rps=median_rps, rounds=[r["rps"] for r in runs])
    return result


# ----------------------------------------------------------------- ansible

class Deployment:
    """The sample app, deployed with flaskops.deploy.site into the container."""

    def __init__(self, workdir: Path):
        self.source = workdir / "hello"
        shutil.copytree(ROOT / "examples" / "hello", self.source,
                        ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        self.app = {
            "name": APP,
            "domain": DOMAIN,
            "source": {"type": "local", "path": str(self.source)},
            "wsgi": "hello:app",
            "environment": {"HELLO_GREETING": "Hello"},
        }
        self.inventory = workdir / "inventory.yml"
        self.inventory.write_text(json.dumps({
            "flaskops": {
                "hosts": {CONTAINER: {"ansible_connection": "community.docker.docker"}},
                "vars": {
                    "flaskops_app": self.app,
                    "nginx_site_manage_nginx_conf": True,
                    "gunicorn_ca_certificates": "{{ query('ansible.builtin.fileglob', "
                                                "'/usr/local/share/ca-certificates/*.crt') }}",
                },
            },
        }, indent=2))

    def set_version(self, version: str, broken: bool = False, slow_import: bool = False) -> None:
        """The sample app at `version`; `broken`: every route answers 500;
        `slow_import`: importing it takes 8 s (a heavy app starting)."""
        code = (ROOT / "examples" / "hello" / "hello.py").read_text()
        code = re.sub(r'__version__ = "[^"]*"', f'__version__ = "{version}"', code)
        if broken:
            line = "    application = Flask(__name__, instance_relative_config=True)\n"
            if line not in code:
                raise SystemExit(f"bench: the sample app no longer has {line!r}; set_version cannot break it")
            code = code.replace(line, line + "    application.before_request(lambda: ('broken', 500))\n")
        if slow_import:
            code = "import time\n\ntime.sleep(8)\n" + code
        (self.source / "hello.py").write_text(code)

    def converge(self, extra: dict | None = None, tags: str = "",
                 expect_failure: bool = False, env: dict | None = None) -> tuple[float, dict]:
        """Run the site playbook; return its wall time and the play recap's counts.

        `env`: variables to set for ansible-playbook (another collection, say);
        the run's output is kept in self.output."""
        cmd = ["ansible-playbook", "-i", str(self.inventory), "flaskops.deploy.site"]
        if tags:
            cmd += ["--tags", tags]
        if extra:
            cmd += ["-e", json.dumps(extra)]
        start = time.monotonic()
        # Pipelining, as the README recommends: one exec per module step.
        env = dict(os.environ, ANSIBLE_PIPELINING="True", **(env or {}))
        result = run(cmd, check=False, capture_output=True, env=env)
        elapsed = time.monotonic() - start
        self.output = result.stdout
        if expect_failure:
            if result.returncode == 0:
                raise RuntimeError(f"{' '.join(cmd)} passed, but was to fail")
            return elapsed, {}
        if result.returncode != 0:
            sys.stdout.write(result.stdout[-4000:])
            raise RuntimeError(f"{' '.join(cmd)} failed (exit {result.returncode})")
        recap = re.search(r"ok=(\d+)\s+changed=(\d+)", result.stdout.split("PLAY RECAP")[-1])
        return elapsed, {"ok": int(recap.group(1)), "changed": int(recap.group(2))}


# --------------------------------------------------------------- container

def start_container() -> None:
    run(["docker", "rm", "-f", CONTAINER], check=False, capture_output=True)
    # What systemd needs in a container here (README, "How it is tested"), and
    # CAP_SYS_PTRACE, as a virtual machine's systemd has (the app's sandbox as on one).
    run(["docker", "run", "-d", "--name", CONTAINER, "--hostname", CONTAINER,
         "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
         "--tmpfs", "/run", "--tmpfs", "/run/lock", "--cap-add", "SYS_ADMIN", "--cap-add", "SYS_PTRACE",
         "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
         IMAGE, "/lib/systemd/systemd"], capture_output=True)
    for _ in range(60):
        state = sh("systemctl is-system-running || true", check=False).strip()
        if state in ("running", "degraded"):
            return
        time.sleep(1)
    raise RuntimeError(f"systemd in {CONTAINER} did not come up")


def serving_unit() -> str:
    """The service of the release that serves: flaskops-hello@<release id>.service."""
    release = sh(f"basename $(readlink /srv/{APP}/current)").strip()
    return f"{UNIT_PREFIX}{release}"


# What a release's build installs (roles/release/templates/build.sh.j2): the
# sample app's requirements, Gunicorn and Werkzeug, into a fresh virtualenv, by
# each installer the same way the build does.
BUILD_SCRIPTS = {
    "pip": ("/opt/flaskops/virtualenv/bin/virtualenv --quiet --no-periodic-update --no-vcs-ignore $venv && "
            "$venv/bin/pip install --quiet --no-input $cache -r $requirements $packages"),
    "uv": ("/opt/flaskops/uv/bin/uv venv --quiet --python /usr/bin/python3 $venv && "
           "/opt/flaskops/uv/bin/uv pip install --quiet --compile-bytecode --python $venv/bin/python "
           "$cache -r $requirements $packages"),
}


def build_times(rounds: int = 3) -> dict:
    """Seconds (median of `rounds`) to build the sample app's virtualenv with pip and
    with uv, cold (no cache) and warm (the host's cache, as a redeploy finds it)."""
    sh("[ -x /opt/flaskops/virtualenv/bin/virtualenv ] || (python3 -m venv /opt/flaskops/virtualenv && "
       "PIP_CERT=/etc/ssl/certs/ca-certificates.crt /opt/flaskops/virtualenv/bin/pip install --quiet "
       "virtualenv==21.15.11)")
    requirements = f"$(readlink -f /srv/{APP}/current)/src/requirements.txt"
    environment = ("export PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 "
                   "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt UV_CACHE_DIR=/var/cache/flaskops/uv "
                   "UV_PYTHON_DOWNLOADS=never")
    times: dict = {}
    for installer, script in BUILD_SCRIPTS.items():
        for temperature, cache in (("cold", "--no-cache" if installer == "uv" else "--no-cache-dir"), ("warm", "")):
            runs = []
            for _ in range(rounds):
                out = sh(f"{environment}; venv=$(mktemp -d)/venv requirements={requirements} "
                         "packages='gunicorn==27.0.1 werkzeug' cache=" + repr(cache) + "; "
                         "start=$(date +%s.%N); " + script + "; end=$(date +%s.%N); "
                         "rm -rf \"$(dirname $venv)\"; echo \"$end - $start\" | python3 -c 'print(eval(input()))'")
                runs.append(float(out.strip().splitlines()[-1]))
            times[f"{installer}_{temperature}_s"] = sorted(runs)[len(runs) // 2]
    return times


def start_caddy() -> None:
    """Caddy from Debian's package, run by hand on :8082 (its packaged service
    would want port 80, which is nginx's: policy-rc.d keeps apt from starting it)."""
    sh("command -v caddy >/dev/null || (printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && "
       "chmod +x /usr/sbin/policy-rc.d && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq caddy >/dev/null; "
       "rc=$?; rm -f /usr/sbin/policy-rc.d; exit $rc)")
    sh(f"cat > /tmp/bench.Caddyfile <<'EOF'\n{CADDYFILE}EOF\n"
       "nohup caddy run --adapter caddyfile --config /tmp/bench.Caddyfile > /tmp/caddy.log 2>&1 & "
       "echo $! > /tmp/bench-caddy.pid")
    sh(f"until curl -fs -o /dev/null -H 'Host: {DOMAIN}' {URLS['caddy']}/health; do sleep 0.2; done")


def stop_caddy() -> None:
    sh("kill $(cat /tmp/bench-caddy.pid)", check=False)


SLOW_CLIENTS = 400


def under_slow_clients(url: str, seconds: int) -> dict:
    """wrk's numbers (timeout 2 s: a stall counts as failed) while SLOW_CLIENTS
    connections from slowhttptest (Debian's package) hold the server open,
    each sending one more header line every 10 s and never finishing (slowloris)."""
    port = urllib.parse.urlsplit(url).port
    sh("grep -q ' bench.test$' /etc/hosts || echo '127.0.0.1 bench.test' >> /etc/hosts")
    sh(f"rm -f /tmp/slow.out; nohup slowhttptest -H -c {SLOW_CLIENTS} -r 400 -i 10 -x 24 -p 3 -l 120 "
       f"-u http://{DOMAIN}:{port}/ > /tmp/slow.out 2>&1 & echo $! > /tmp/bench-slow.pid")
    # Until (nearly) all of them are connected: slowhttptest opens 400 a second.
    held = 0
    for _ in range(50):
        held = int(sh(f"ss -Htn state established '( dport = :{port} )' | wc -l").strip())
        if held >= SLOW_CLIENTS * 0.95:
            break
        time.sleep(0.2)
    measured = wrk(url, seconds, timeout="2s")
    sh("kill -INT $(cat /tmp/bench-slow.pid); sleep 1; kill $(cat /tmp/bench-slow.pid) 2>/dev/null", check=False)
    return dict(measured, slow_connections=held)


def start_direct() -> None:
    """Gunicorn on 127.0.0.1:8000 with the serving release's code, environment and
    the generated settings (2 x CPUs + 1 gthread workers, 2 threads, keep-alive 5 s):
    what "Gunicorn directly" and the seed block measure."""
    sh(f"cd /srv/{APP}/current && set -a && . ./environment && set +a && "
       f"runuser -u {APP} -- ./venv/bin/gunicorn --chdir src --pythonpath . "
       "--workers $(( $(nproc) * 2 + 1 )) --worker-class gthread --threads 2 --keep-alive 5 "
       "--bind 127.0.0.1:8000 --pid /tmp/bench-direct.pid --daemon flaskops_wsgi:app")
    sh("until curl -fs -o /dev/null http://127.0.0.1:8000/health; do sleep 0.2; done")


def stop_direct() -> None:
    sh("kill $(cat /tmp/bench-direct.pid)", check=False)


def switch_under_load(deployment: "Deployment", version: str, **kwargs) -> dict:
    """Deploy `version` (set_version's kwargs) under paced load; wrk's numbers and the run's time."""
    deployment.set_version(version, **{k: v for k, v in kwargs.items() if k != "expect_failure"})
    wrk_background(f"{URLS['generated']}/version")
    elapsed, _ = deployment.converge(expect_failure=kwargs.get("expect_failure", False))
    time.sleep(2)  # the load goes on past the switch
    return dict(wrk_stop(), deploy_s=elapsed)


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "container": f"{IMAGE} (systemd), load generator wrk inside it, on its loopback",
        "nginx": sh("nginx -v 2>&1").strip().split("/")[-1],
        "gunicorn": sh(f"/srv/{APP}/current/venv/bin/gunicorn --version 2>&1 || "
                       f"ls /srv/{APP}", check=False).strip(),
        "wrk": "wrk -t2 -c32 --latency (switches: -c16, 5 ms between a connection's requests)",
    }


# ---------------------------------------------------------------- the run

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="leave the container running")
    parser.add_argument("--quick", action="store_true",
                        help="short rounds, no tuning matrix (to try the script out)")
    args = parser.parse_args()
    seconds, rounds = (3, 1) if args.quick else (5, 3)
    began = time.monotonic()
    results: dict = {"rounds": rounds, "seconds_per_round": seconds}

    log(f"starting {CONTAINER} ({IMAGE})")
    start_container()
    workdir = Path(tempfile.mkdtemp(prefix="flaskops-bench-"))
    try:
        deployment = Deployment(workdir)

        log("converge: first run on a fresh host")
        first, first_recap = deployment.converge()
        log(f"first converge {first:.1f} s; now the no-op re-run")
        noop, noop_recap = deployment.converge()
        if noop_recap["changed"]:
            raise RuntimeError(f"the re-run changed {noop_recap['changed']} things")
        results["converge"] = {"first_s": first, "first_recap": first_recap,
                               "noop_s": noop, "noop_recap": noop_recap}

        log("release build: pip vs uv, cold and warm cache")
        results["build"] = build_times(rounds)

        log("installing wrk and the seed recipe's nginx block (port 8081)")
        sh("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk slowhttptest >/dev/null")
        sh(f"cat > /etc/nginx/sites-enabled/seed-baseline <<'EOF'\n{SEED_SITE}EOF\n"
           "nginx -t 2>/dev/null && systemctl reload nginx")
        results["machine"] = machine()

        log("serving: Gunicorn directly vs the generated site vs the seed block vs Caddy")
        start_direct()
        start_caddy()
        results["serving"] = interleaved(
            {name: f"{url}/" for name, url in URLS.items()}, rounds, seconds)
        stop_caddy()

        log(f"serving while {SLOW_CLIENTS} slow clients hold connections: Gunicorn directly vs the generated site")
        results["slow_clients"] = {name: under_slow_clients(f"{URLS[name]}/", seconds)
                                   for name in ("direct", "generated")}

        log("static file: nginx vs Flask")
        results["static"] = interleaved(
            {"nginx": f"{URLS['generated']}/static/style.css",
             "flask": f"{URLS['direct']}/static/style.css"}, rounds, seconds)
        stop_direct()

        log("redeploy: a new release (1.0.1), no load")
        deployment.set_version("1.0.1")
        redeploy, redeploy_recap = deployment.converge()
        results["converge"].update(redeploy_s=redeploy, redeploy_recap=redeploy_recap)

        # Each under paced load through nginx, wrk's timeout 2 s (a stall counts as failed).
        switch = results["switch"] = {}
        log("release switch under load: (a) a healthy release, 1.0.2")
        switch["collection"] = switch_under_load(deployment, "1.0.2")
        served = sh(f"curl -s -H 'Host: {DOMAIN}' {URLS['generated']}/version").strip()
        if served != "1.0.2":
            raise RuntimeError(f"after the redeploy /version says {served!r}")
        results["converge"]["redeploy_under_load_s"] = switch["collection"]["deploy_s"]

        log("release switch under load: (b) a release whose every route answers 500 (the deploy fails)")
        switch["broken"] = switch_under_load(deployment, "1.0.3", broken=True, expect_failure=True)

        log("release switch under load: (c) a release whose import takes 8 s")
        switch["slow"] = switch_under_load(deployment, "1.0.4", slow_import=True)

        log("release switch under load: naive stop/start of Gunicorn (the 8 s import)")
        wrk_background(f"{URLS['generated']}/version")
        unit = serving_unit()
        sh(f"systemctl stop {unit}.service {unit}.socket && systemctl start {unit}.socket {unit}.service")
        sh(f"until curl -fs -o /dev/null -H 'Host: {DOMAIN}' {URLS['generated']}/health; do sleep 0.2; done")
        time.sleep(2)
        switch["naive"] = wrk_stop()
        deployment.set_version("1.0.5")  # a quick import again, for the tuning rows
        deployment.converge()

        if not args.quick:
            results["tuning"] = tuning(deployment, rounds=2, seconds=4)
    finally:
        if not args.keep:
            run(["docker", "rm", "-f", CONTAINER], check=False, capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)

    results["wall_s"] = time.monotonic() - began
    results["goals"] = goals(results)
    write_results(results, quick=args.quick)
    log(f"done in {results['wall_s'] / 60:.1f} min; see benchmarks/results/README.md")
    return 0


def tuning(deployment: Deployment, rounds: int, seconds: int) -> list[dict]:
    """Each setting the generated configuration chose, against its alternative.

    Every row is a re-converge with one variable changed from the defaults,
    measured through the generated site (and the static file) after a warm-up.
    The defaults are measured first and last; the two show the drift.
    """
    variants = [
        ("defaults (gthread, 2 threads, 2xCPU+1 workers, unix socket, keepalive 16, "
         "buffered log, open_file_cache)", {}),
        ("worker class sync (no keep-alive to nginx)", {"gunicorn_worker_class": "sync"}),
        ("workers = CPUs + 1", {"gunicorn_workers": (os.cpu_count() or 2) + 1}),
        ("1 thread per worker", {"gunicorn_threads": 1}),
        ("4 threads per worker", {"gunicorn_threads": 4}),
        ("no upstream keepalive (a connection per request)", {"nginx_site_upstream_keepalive": 0}),
        ("access log unbuffered", {"nginx_site_access_log_buffer": ""}),
        ("no open_file_cache for static files", {"nginx_site_static_open_file_cache": 0}),
        ("defaults again (how far the machine drifted during the rows)", {}),
    ]
    rows = []
    for label, extra in variants:
        log(f"tuning: {label}")
        # Gunicorn's settings are part of a release: a row with other ones is a new release.
        elapsed, _ = deployment.converge(extra)
        sh(f"until curl -fs -o /dev/null -H 'Host: {DOMAIN}' {URLS['generated']}/health; "
           "do sleep 0.2; done")
        # Freshly restarted workers and cold caches: a discarded warm-up first.
        wrk(f"{URLS['generated']}/", 2)
        measured = interleaved({"app": f"{URLS['generated']}/",
                                "static": f"{URLS['generated']}/static/style.css"},
                               rounds, seconds)
        rows.append({"variant": label, "extra_vars": extra, "converge_s": elapsed,
                     "rps": measured["app"]["rps"], "p99_ms": measured["app"]["p99_ms"],
                     "static_rps": measured["static"]["rps"]})
    return rows


def goals(results: dict) -> list[dict]:
    serving, static, switch = results["serving"], results["static"], results["switch"]
    checks = [
        ("generated site >= 1.0x Gunicorn directly (issue 7)",
         serving["generated"]["rps"] / serving["direct"]["rps"], 1.0),
        ("generated site >= 0.9x Gunicorn directly (issue 21)",
         serving["generated"]["rps"] / serving["direct"]["rps"], 0.9),
        ("generated site >= 1.6x seed block (issue 7)",
         serving["generated"]["rps"] / serving["seed"]["rps"], 1.6),
        ("generated site >= 1.3x seed block (issue 21)",
         serving["generated"]["rps"] / serving["seed"]["rps"], 1.3),
        ("static file by nginx >= 10x by Flask",
         static["nginx"]["rps"] / static["flask"]["rps"], 10.0),
    ]
    if "caddy" in serving:
        checks.append(("generated site >= 1.0x Caddy's reverse_proxy",
                       serving["generated"]["rps"] / serving["caddy"]["rps"], 1.0))
    slow = results.get("slow_clients")
    if slow:
        checks.append((f"under {SLOW_CLIENTS} slow clients the generated site keeps >= 0.6x its unloaded throughput",
                       slow["generated"]["rps"] / serving["generated"]["rps"], 0.6))
    rows = [{"goal": goal, "value": f"{value:.2f}x", "met": value >= target}
            for goal, value, target in checks]
    if "caddy" in serving:
        # No worse than either: at most the better of the two.
        best = min(serving["caddy"]["p99_ms"], serving["seed"]["p99_ms"])
        rows.append({"goal": "generated site's p99 no worse than Caddy's nor the seed block's",
                     "value": f"{serving['generated']['p99_ms']:.1f} ms (Caddy {serving['caddy']['p99_ms']:.1f}, "
                              f"seed {serving['seed']['p99_ms']:.1f})",
                     "met": serving["generated"]["p99_ms"] <= best})
    for key, what in (("collection", "(a) a healthy release"), ("slow", "(c) a release importing for 8 s")):
        row = switch[key]
        rows.append({"goal": f"{what}: 0 failed or stalled requests, worst latency <= 1 s",
                     "value": f"{row['failed']} failed, worst {row['max_ms'] / 1000:.2f} s",
                     "met": row["failed"] == 0 and row["max_ms"] <= 1000})
    broken = switch["broken"]
    rows.append({"goal": "(b) a release whose every route answers 500: no user request sees it",
                 "value": f"{broken['failed']} failed", "met": broken["failed"] == 0})
    build = results.get("build")
    if build:
        ratio = build["uv_warm_s"] / build["pip_warm_s"]
        rows.append({"goal": "warm-cache build of unchanged requirements <= 0.2x pip's",
                     "value": f"{ratio:.2f}x", "met": ratio <= 0.2})
    noop = results["converge"]["noop_s"]
    rows.append({"goal": "no-op converge of one app <= 6 s (docker exec, pipelining)",
                 "value": f"{noop:.1f} s", "met": noop <= 6})
    return rows


# ---------------------------------------------------------------- results

def write_results(results: dict, quick: bool) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    plots(results)
    (RESULTS / "README.md").write_text(markdown(results, quick))


def plots(results: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    serving = results["serving"]
    names = [name for name in ("direct", "generated", "seed", "caddy") if name in serving]
    labels = {"direct": "Gunicorn\ndirectly", "generated": "generated\nnginx site",
              "seed": "seed recipe's\nnginx block", "caddy": "Caddy\nreverse_proxy"}
    colors = {"direct": "#888", "generated": "#2a7", "seed": "#c66", "caddy": "#c9a227"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.bar([labels[n] for n in names], [serving[n]["rps"] for n in names], color=[colors[n] for n in names])
    left.set_title("GET / requests per second (higher is better)")
    width = 0.38
    xs = range(len(names))
    right.bar([x - width / 2 for x in xs], [serving[n]["p50_ms"] for n in names], width,
              label="p50")
    right.bar([x + width / 2 for x in xs], [serving[n]["p99_ms"] for n in names], width,
              label="p99")
    right.set_xticks(list(xs), [labels[n] for n in names])
    right.set_title("latency in ms (lower is better)")
    right.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "serving.png", dpi=100)
    plt.close(fig)

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    static = results["static"]
    left.bar(["nginx", "Flask (send_file)"], [static["nginx"]["rps"], static["flask"]["rps"]],
             color=["#2a7", "#888"])
    left.set_title("static/style.css requests per second")
    switch = results["switch"]
    keys = ["collection", "broken", "slow", "naive"]
    right.bar(["(a) healthy", "(b) every route\n500", "(c) 8 s import", "naive stop/start\n(8 s import)"],
              [switch[key]["failed"] for key in keys], color=["#2a7", "#2a7", "#2a7", "#c66"])
    right.set_title("failed or stalled (> 2 s) requests during a release switch")
    fig.tight_layout()
    fig.savefig(RESULTS / "static-and-switch.png", dpi=100)
    plt.close(fig)

    slow = results.get("slow_clients")
    if slow:
        fig, axis = plt.subplots(figsize=(7, 3.5))
        pairs = [("direct", "Gunicorn directly"), ("generated", "generated nginx site")]
        xs = range(len(pairs))
        axis.bar([x - width / 2 for x in xs], [serving[n]["rps"] for n, _ in pairs], width, label="unloaded",
                 color="#888")
        axis.bar([x + width / 2 for x in xs], [slow[n]["rps"] for n, _ in pairs], width,
                 label=f"{SLOW_CLIENTS} slow clients held", color="#2a7")
        axis.set_xticks(list(xs), [label for _, label in pairs])
        axis.set_title("GET / requests per second, with and without slow clients")
        axis.legend()
        fig.tight_layout()
        fig.savefig(RESULTS / "slow-clients.png", dpi=100)
        plt.close(fig)

    converge = results["converge"]
    fig, axis = plt.subplots(figsize=(6, 3.5))
    axis.barh(["first converge", "no-op re-run", "redeploy (new release)"],
              [converge["first_s"], converge["noop_s"], converge["redeploy_s"]], color="#47a")
    axis.set_xlabel("seconds")
    axis.set_title("ansible-playbook flaskops.deploy.site wall time")
    fig.tight_layout()
    fig.savefig(RESULTS / "converge.png", dpi=100)
    plt.close(fig)

    if results.get("tuning"):
        rows = results["tuning"]
        fig, axis = plt.subplots(figsize=(9, 4))
        axis.barh([r["variant"] for r in rows][::-1], [r["rps"] for r in rows][::-1],
                  color="#47a")
        axis.set_xlabel("GET / requests per second through the generated site")
        fig.tight_layout()
        fig.savefig(RESULTS / "tuning.png", dpi=100)
        plt.close(fig)


def markdown(results: dict, quick: bool) -> str:
    m, serving, static = results["machine"], results["serving"], results["static"]
    switch, converge = results["switch"], results["converge"]
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (benchmarks/bench.py); do not edit by hand.",
        "" if not quick else "**A --quick run: short rounds, no tuning matrix.**",
        "",
        f"- Date: {m['date']}; the whole run took {results['wall_s'] / 60:.1f} min",
        f"- Machine: {m['cpu']}, {m['cpus']} CPUs, {m['memory_gib']} GiB, Linux {m['kernel']}",
        f"- Where: {m['container']}",
        f"- Versions: nginx {m['nginx']}, {m['gunicorn']}",
        f"- Load: {m['wrk']}; {results['rounds']} interleaved rounds of "
        f"{results['seconds_per_round']} s per variant, median shown",
        "",
        "## Goals",
        "",
        "| goal | measured | met |",
        "|---|---|---|",
    ]
    lines += [f"| {g['goal']} | {g['value']} | {'yes' if g['met'] else '**no**'} |"
              for g in results["goals"]]
    lines += [
        "",
        "## Serving GET / (the sample app's page)",
        "",
        "![serving](serving.png)",
        "",
        "| variant | requests/s | ratio to direct | p50 ms | p99 ms | failed | rounds (req/s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, label in (("direct", "Gunicorn directly (127.0.0.1:8000)"),
                        ("generated", "the collection's nginx site"),
                        ("seed", "the seed recipe's nginx block"),
                        ("caddy", "Caddy's reverse_proxy (Debian's package)")):
        if name not in serving:
            continue
        row = serving[name]
        lines.append(f"| {label} | {row['rps']:.0f} | "
                     f"{row['rps'] / serving['direct']['rps']:.2f}x | {row['p50_ms']:.2f} | "
                     f"{row['p99_ms']:.2f} | {row['failed']} | "
                     f"{', '.join(f'{r:.0f}' for r in row['rounds'])} |")
    slow = results.get("slow_clients")
    if slow:
        lines += [
            "",
            f"## Serving while {SLOW_CLIENTS} slow clients hold connections",
            "",
            "slowhttptest (Debian's package) opens the connections and sends one more header",
            "line on each every 10 s, never finishing a request (slowloris); wrk measures GET /",
            "meanwhile, with a 2 s timeout (a request waiting longer counts as failed).",
            "",
            "![slow clients](slow-clients.png)",
            "",
            "| variant | slow connections held | requests/s | ratio to its unloaded rate | p99 ms | failed |",
            "|---|---|---|---|---|---|",
        ]
        for name, label in (("direct", "Gunicorn directly"), ("generated", "the collection's nginx site")):
            row = slow[name]
            # wrk counts no timeout for a connection that never got an answer at all.
            answered = row["requests"] > 0
            lines.append(f"| {label} | {row['slow_connections']} | {row['rps']:.0f} | "
                         f"{row['rps'] / serving[name]['rps']:.2f}x | "
                         f"{row['p99_ms']:.2f} | {row['failed']} |" if answered else
                         f"| {label} | {row['slow_connections']} | 0 | 0.00x | - | "
                         f"every request: none was answered in {results['seconds_per_round']} s |")
    lines += [
        "",
        "## Static file and release switch",
        "",
        "![static and switch](static-and-switch.png)",
        "",
        "| static/style.css | requests/s | p99 ms |",
        "|---|---|---|",
        f"| nginx | {static['nginx']['rps']:.0f} | {static['nginx']['p99_ms']:.2f} |",
        f"| Flask | {static['flask']['rps']:.0f} | {static['flask']['p99_ms']:.2f} |",
        "",
        "| release switch under load (GET /version through nginx, wrk timeout 2 s) "
        "| requests | non-2xx | socket errors and stalls | worst latency s |",
        "|---|---|---|---|---|",
    ]
    for key, label in (("collection", "(a) the collection's deploy of a healthy release"),
                       ("broken", "(b) the same, a release whose every route answers 500 (deploy fails)"),
                       ("slow", "(c) the same, a release whose import takes 8 s"),
                       ("naive", "naive `systemctl stop` + `start` of Gunicorn (the 8 s import)")):
        row = switch[key]
        lines.append(f"| {label} | {row['requests']} | {row['non2xx']} | {row['socket_errors']} | "
                     f"{row['max_ms'] / 1000:.2f} |")
    lines += [
        "",
        "## Converge (ansible-playbook over `docker exec`)",
        "",
        "![converge](converge.png)",
        "",
        "| run | seconds | tasks ok | changed |",
        "|---|---|---|---|",
        f"| first converge | {converge['first_s']:.1f} | {converge['first_recap']['ok']} | "
        f"{converge['first_recap']['changed']} |",
        f"| no-op re-run | {converge['noop_s']:.1f} | {converge['noop_recap']['ok']} | "
        f"{converge['noop_recap']['changed']} |",
        f"| redeploy of a new release | {converge['redeploy_s']:.1f} | "
        f"{converge['redeploy_recap']['ok']} | {converge['redeploy_recap']['changed']} |",
        f"| the same, under steady load (switch test) | "
        f"{converge['redeploy_under_load_s']:.1f} | | |",
    ]
    build = results.get("build")
    if build:
        lines += [
            "",
            "## Release build: pip vs uv",
            "",
            "The sample app's virtualenv (its requirements, Gunicorn, Werkzeug), built the way",
            "a release's build does, median of the rounds; cold: no cache, warm: the host's.",
            "",
            "| installer | cold s | warm s | warm vs pip warm |",
            "|---|---|---|---|",
        ] + [
            f"| {name} | {build[name + '_cold_s']:.2f} | {build[name + '_warm_s']:.2f} | "
            f"{build[name + '_warm_s'] / build['pip_warm_s']:.2f}x |"
            for name in ("pip", "uv")
        ]
    if results.get("tuning"):
        base = results["tuning"][0]
        lines += [
            "",
            "## Tuning: each default against its alternative",
            "",
            "Each row re-converges with one setting changed and measures through the",
            "generated site after a warm-up; ratios are to the first defaults row, and",
            "the last row (the defaults again) shows how far the machine drifted.",
            "",
            "![tuning](tuning.png)",
            "",
            "| variant | GET / req/s | ratio | p99 ms | static req/s | ratio |",
            "|---|---|---|---|---|---|",
        ]
        for row in results["tuning"]:
            lines.append(f"| {row['variant']} | {row['rps']:.0f} | "
                         f"{row['rps'] / base['rps']:.2f}x | {row['p99_ms']:.2f} | "
                         f"{row['static_rps']:.0f} | "
                         f"{row['static_rps'] / base['static_rps']:.2f}x |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())

"""Unit tests for flaskops.deploy.status_info and the status and logs playbooks' filters."""
import json
import os
import socket
import threading
import time
from datetime import datetime, timezone

from ansible_collections.flaskops.deploy.plugins.filter import status as status_filter
from ansible_collections.flaskops.deploy.plugins.modules import status_info

SHOP = {"name": "shop", "domain": "shop.test", "source": {"type": "pip", "spec": "shop==1.0"}}


class Systemctl:
    """What status_info uses of AnsibleModule: run_command answered for two units."""

    def __init__(self, units):
        self.units = units
        self.calls = []

    def run_command(self, argv):
        self.calls.append(argv)
        if argv[1] == "list-units":
            return 0, "".join(f"{name} loaded active running x\n" for name in self.units), ""
        if argv[1] == "show":
            return 0, "\n\n".join("\n".join(f"{key}={value}" for key, value in self.units[name].items())
                                  for name in argv[4:]) + "\n", ""
        raise AssertionError(argv)

    def fail_json(self, msg, **kwargs):
        raise AssertionError(msg)


def serve_once(path, status):
    """A unix socket at path that answers one request with `status`; the request it got."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    seen = {}

    def answer():
        connection, _ = server.accept()
        with connection:
            seen["request"] = connection.recv(4096).decode()
            connection.sendall(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n".encode())
        server.close()

    threading.Thread(target=answer, daemon=True).start()
    return seen


def test_an_app_serving_a_checked_release(tmp_path):
    releases = tmp_path / "releases"
    for name, built in (("git-old", 1000), ("git-new", 2000)):
        (releases / name).mkdir(parents=True)
        (releases / name / ".flaskops-release").write_text(f"id={name}\nsource=git:/r@abc\nbuilt=T{built}\n")
        os.utime(releases / name / ".flaskops-release", (built, built))
    (releases / "git-new" / ".flaskops-checked").write_text("2026-12-01T10:00:07+00:00\n")
    (releases / "git-half").mkdir()
    (tmp_path / "current").symlink_to("releases/git-new")
    seen = serve_once(str(releases / "git-new" / "socket"), 204)
    module = Systemctl({"flaskops-shop@git-new.service": {
        "Id": "flaskops-shop@git-new.service", "ActiveState": "active", "SubState": "running",
        "ActiveEnterTimestampMonotonic": "1", "ActiveEnterTimestamp": "Tue 2026-12-01 10:00:05 UTC",
        "MainPID": "4242", "NRestarts": "0"},
        "flaskops-shop@cleanup.timer": {
            "Id": "flaskops-shop@cleanup.timer", "ActiveState": "active", "SubState": "waiting",
            "ActiveEnterTimestampMonotonic": "1", "ActiveEnterTimestamp": "Tue 2026-12-01 10:00:05 UTC",
            "MainPID": "0", "NRestarts": "0", "NextElapseUSecRealtime": "Wed 2026-12-02 02:00:00 UTC",
            "LastTriggerUSec": ""}})
    app = {"name": "shop", "domain": "shop.test", "releases_dir": str(releases), "current": str(tmp_path / "current"),
           "unit_prefix": "flaskops-shop@", "unit_patterns": [], "health_path": "/health", "health_timeout": 5, "tls": True,
           "certificate": "", "site_enabled": str(tmp_path / "enabled"), "maintenance_file": str(tmp_path / "page")}
    (tmp_path / "enabled").write_text("")
    result = status_info.app_status(module, app, {"mark": ".flaskops-release", "checked_mark": ".flaskops-checked"})
    assert result["serving"] == {"id": "git-new", "source": "git:/r@abc", "built": "T2000",
                                 "checked": "2026-12-01T10:00:07+00:00", "serving": True}
    assert [r["id"] for r in result["releases"]] == ["git-old", "git-new"]
    assert result["unfinished"] == ["git-half"] and result["checked"] == ["git-new"]
    assert result["health"]["status"] == 204, result["health"]
    assert "Host: shop.test" in seen["request"] and "X-Forwarded-Proto: https" in seen["request"]
    assert seen["request"].startswith("GET /health HTTP/1.1")
    timer, unit = result["units"]
    assert unit["unit"] == "flaskops-shop@git-new.service" and unit["main_pid"] == 4242 and unit["uptime_s"] > 0
    assert "next_run" not in unit
    assert timer["next_run"] == "Wed 2026-12-02 02:00:00 UTC" and timer["last_run"] == ""
    assert result["site"] == {"enabled": True, "maintenance": False}
    assert result["certificate"] is None

    lines = status_filter.status_lines([result], "web1")
    assert lines[0] == "shop (shop.test) on web1"
    assert "  serving   git-new, built T2000 from git:/r@abc, passed its health check 2026-12-01T10:00:07+00:00" in lines
    assert "  health    204 in " in "\n".join(lines)
    assert "  releases  2 kept: git-old, git-new (serving)" in lines
    assert any(line.startswith("  unit      flaskops-shop@cleanup.timer: active (waiting)")
               and line.endswith("next run Wed 2026-12-02 02:00:00 UTC, last run never") for line in lines), lines


def test_no_release_serving_and_nothing_answering(tmp_path):
    app = {"name": "shop", "domain": "shop.test", "releases_dir": str(tmp_path / "releases"),
           "current": str(tmp_path / "current"), "unit_prefix": "flaskops-shop@", "unit_patterns": [], "health_path": "/",
           "health_timeout": 1, "tls": False, "certificate": "", "site_enabled": "", "maintenance_file": ""}
    result = status_info.app_status(Systemctl({}), app, {"mark": ".flaskops-release", "checked_mark": ".flaskops-checked"})
    assert result["serving"] is None and result["health"] is None and result["site"] is None
    assert result["units"] == [] and result["releases"] == []
    assert "  serving   nothing: no release serves" in status_filter.status_lines([result], "web1")


def test_processes_and_jobs_with_how_their_last_run_ended(tmp_path):
    def unit(name, active, sub, **more):
        return {"Id": name, "ActiveState": active, "SubState": sub, "ActiveEnterTimestampMonotonic": "1",
                "ActiveEnterTimestamp": "Tue 2026-12-01 10:00:05 UTC", "MainPID": "0", "NRestarts": "0", **more}

    module = Systemctl({
        "flaskops-shop.worker.1@git-a.service": unit("flaskops-shop.worker.1@git-a.service", "active", "running",
                                                      MainPID="77", Result="success", ExecMainStatus="0"),
        "flaskops-shop.report.timer": unit("flaskops-shop.report.timer", "active", "waiting",
                                           NextElapseUSecRealtime="Wed 2026-12-02 02:00:00 UTC",
                                           LastTriggerUSec="Tue 2026-12-01 02:00:00 UTC",
                                           Unit="flaskops-shop.report.service"),
        "flaskops-shop.report.service": unit("flaskops-shop.report.service", "failed", "failed",
                                             Result="exit-code", ExecMainStatus="3"),
        # every: 1h, a timer of time since boot: its next run said as a time of day.
        "flaskops-shop.sweep.timer": unit("flaskops-shop.sweep.timer", "active", "waiting",
                                          NextElapseUSecRealtime="", LastTriggerUSec="",
                                          NextElapseUSecMonotonic=f"{int(time.monotonic() // 3600) + 1}h 0min 5.5s",
                                          Unit="flaskops-shop.sweep.service"),
    })
    module.units["flaskops-shop.clean.timer"] = unit("flaskops-shop.clean.timer", "active", "running",
                                                    LastTriggerUSec="Tue 2026-12-01 02:00:00 UTC",
                                                    Unit="flaskops-shop.clean.service")
    # A run going on: systemd has already cleared its service's result.
    module.units["flaskops-shop.clean.service"] = unit("flaskops-shop.clean.service", "activating", "start",
                                                      Result="success", ExecMainStatus="0")
    (inputs,) = status_filter.status_apps([SHOP])
    app = {**inputs, "releases_dir": str(tmp_path / "releases"), "current": str(tmp_path / "current")}
    result = status_info.app_status(module, app, {"mark": ".flaskops-release", "checked_mark": ".flaskops-checked"})
    # One list-units call with every pattern of the app's units.
    assert module.calls[0][-4:] == ["flaskops-shop@*", "flaskops-shop.*@*.service", "flaskops-shop.*.timer",
                                    "flaskops-shop.*.service"], module.calls[0]
    found = {entry["unit"]: entry for entry in result["units"]}
    assert found["flaskops-shop.worker.1@git-a.service"]["main_pid"] == 77
    assert found["flaskops-shop.report.timer"]["last_result"] == {"result": "exit-code", "exit_status": 3}
    assert found["flaskops-shop.sweep.timer"]["last_result"] is None
    assert found["flaskops-shop.clean.timer"]["last_result"] == {"result": "running", "exit_status": 0}
    soon = found["flaskops-shop.sweep.timer"]["next_run"]
    seconds = (datetime.strptime(soon, "%a %Y-%m-%d %H:%M:%S UTC").replace(tzinfo=timezone.utc)
               - datetime.now(timezone.utc)).total_seconds()
    assert 0 < seconds <= 3606, soon
    lines = status_filter.status_lines([result], "web1")
    assert any(line.startswith("  unit      flaskops-shop.report.timer: ")
               and line.endswith("which FAILED (exit-code, exit status 3)") for line in lines), lines
    assert any(line.startswith("  unit      flaskops-shop.sweep.timer: ") and line.endswith("last run never")
               for line in lines), lines


def test_a_socket_nobody_answers_on_is_a_health_check_without_answer(tmp_path):
    answer = status_info.health(str(tmp_path / "missing.sock"), "shop.test", "/", False, 1)
    assert answer["status"] == 0 and answer["error"], answer


def test_journal_lines_carry_time_host_and_unit():
    output = "\n".join([
        json.dumps({"__REALTIME_TIMESTAMP": "1764583200000000", "_SYSTEMD_UNIT": "flaskops-shop@git-a.service",
                    "MESSAGE": "[INFO] Booting worker with pid: 7"}),
        json.dumps({"__REALTIME_TIMESTAMP": "1764583201000000", "_SYSTEMD_UNIT": "flaskops-shop@git-a.service",
                    "MESSAGE": list(b"caf\xc3\xa9 \xff")}),
        json.dumps({"__REALTIME_TIMESTAMP": "1764583202000000", "_SYSTEMD_UNIT": "init.scope",
                    "UNIT": "flaskops-shop@git-a.service", "MESSAGE": "Stopping flaskops-shop@git-a.service"}),
        "not json",
    ])
    assert status_filter.journal_lines(output, "web1") == [
        "2025-12-01T10:00:00Z web1 flaskops-shop@git-a.service: [INFO] Booting worker with pid: 7",
        "2025-12-01T10:00:01Z web1 flaskops-shop@git-a.service: caf\u00e9 \ufffd",
        "2025-12-01T10:00:02Z web1 flaskops-shop@git-a.service: Stopping flaskops-shop@git-a.service",
    ]


def test_status_inputs_come_from_the_app_facts():
    (inputs,) = status_filter.status_apps([{**SHOP, "health_check": {"path": "/up"}}])
    assert inputs["releases_dir"] == "/srv/shop/releases" and inputs["current"] == "/srv/shop/current"
    assert inputs["unit_prefix"] == "flaskops-shop@" and inputs["health_path"] == "/up"
    assert inputs["site_enabled"] == "/etc/nginx/sites-enabled/shop"
    assert status_filter.status_apps([SHOP], False)[0]["site_enabled"] == ""

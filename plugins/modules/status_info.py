#!/usr/bin/python
# Copyright: flaskops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Plugins run inside ansible-core (GPLv3+) and carry its license; the rest of
# the collection is MIT (LICENSE).
"""status_info: what each app of the host serves and how its units are, in one look."""

from __future__ import annotations

DOCUMENTATION = r"""
module: status_info
author: flaskops maintainers (@flaskops)
short_description: Report the state of the apps flaskops.deploy runs on a host
description:
  - For each app, in one step on the host - the release being served (its id, what it was
    built from, when it was built and last passed its health check), the releases kept, the
    state of every systemd unit of the app, the answer of its health check asked right now on
    the serving release's own socket, its TLS certificate's expiry, and whether its nginx site
    is enabled and in maintenance.
  - The playbook C(flaskops.deploy.status) calls it and prints what it returns.
  - Changes nothing.
version_added: 1.0.0
options:
  apps:
    description: The apps to report on, each described by the paths and names the roles derive for it.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The app's name.
        type: str
        required: true
      domain:
        description: The site's domain, sent as C(Host) with the health check.
        type: str
        required: true
      releases_dir:
        description: The app's releases directory.
        type: path
        required: true
      current:
        description: The link that names the release being served.
        type: path
        required: true
      unit_prefix:
        description: What the names of the app's units start with (C(flaskops-<name>@)).
        type: str
        required: true
      unit_patterns:
        description:
          - Further unit names (shell patterns, as C(systemctl list-units) takes them) of the app - its
            processes' instances and its jobs' timers and services.
        type: list
        elements: str
        default: []
      health_path:
        description: The path the health check asks for.
        type: str
        default: /
      health_timeout:
        description: Seconds the health check waits for an answer.
        type: float
        default: 5
      tls:
        description: Whether the site has TLS (the check then says C(X-Forwarded-Proto) https, as nginx would).
        type: bool
        default: false
      certificate:
        description: The site's certificate file; empty when the site has no TLS.
        type: path
        default: ""
      site_enabled:
        description: The site's link in nginx's C(sites-enabled); empty when nginx is not on this host.
        type: path
        default: ""
      maintenance_file:
        description: The file whose presence says that the site is in maintenance.
        type: path
        default: ""
extends_documentation_fragment:
  - flaskops.deploy.release_marks
  - flaskops.deploy.release_marks.read_only
attributes:
  platform:
    support: full
    platforms: posix
    description: Reads directories and files, asks systemctl, and sends one request on a unix socket.
"""

EXAMPLES = r"""
- name: Look at the app
  flaskops.deploy.status_info:
    apps:
      - name: shop
        domain: shop.example.com
        releases_dir: /srv/shop/releases
        current: /srv/shop/current
        unit_prefix: flaskops-shop@
        health_path: /health
        site_enabled: /etc/nginx/sites-enabled/shop
  register: status
"""

RETURN = r"""
apps:
  description: One entry per app, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The app's name.
      type: str
      sample: shop
    serving:
      description:
        - The release being served (C(id), C(source), C(built), C(checked), the time it last passed its
          health check here, empty when it has not), or null when no release serves.
      type: dict
      sample: {id: git-83ec4f4a5102, source: "git:https://example.com/shop.git@83ec4f4", built: "2026-12-01T10:00:00+00:00",
               checked: "2026-12-01T10:00:07+00:00"}
    releases:
      description: The built releases kept, oldest build first, each as C(serving) is, plus whether it serves.
      type: list
      elements: dict
    unfinished:
      description: Release directories whose build did not finish.
      type: list
      elements: str
    units:
      description:
        - Every loaded unit of the app (its releases' services and sockets, any unit named
          C(<unit_prefix>...), and those of C(unit_patterns)), with its C(active) and C(sub) state,
          C(since) (when it entered its active state), C(uptime_s), C(main_pid) and C(restarts); a
          service also with C(result) (systemd's C(Result), e.g. C(success), C(exit-code)) and
          C(exit_status) of its last run; a timer also with C(next_run), C(last_run) (empty when it
          has not run) and C(last_result), the C(result) and C(exit_status) of the service it runs
          (null before its first run; C(result) is C(running) while a run goes on).
      type: list
      elements: dict
    health:
      description:
        - The health check asked now on the serving release's own socket - C(status) (0 when nothing
          answered), C(ms), C(error) - or null when no release serves.
      type: dict
      sample: {status: 200, ms: 3.2, error: ""}
    certificate:
      description: The TLS certificate's C(path), C(expires) (UTC) and C(days_left), or null without TLS.
      type: dict
    site:
      description: Whether nginx's site for the app is C(enabled) and in C(maintenance); null where nginx is not on the host.
      type: dict
"""

import os
import re
import socket
import time
from datetime import datetime, timezone

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.flaskops.deploy.plugins.module_utils.releases import (
    checked, link_target, read_mark, releases)

# What systemctl show says of each unit; a timer also has its next and last run
# (systemctl leaves out what a unit of another type does not have).
UNIT_FIELDS = ("Id", "ActiveState", "SubState", "ActiveEnterTimestampMonotonic", "ActiveEnterTimestamp",
               "MainPID", "NRestarts", "Result", "ExecMainStatus", "NextElapseUSecRealtime", "NextElapseUSecMonotonic",
               "LastTriggerUSec", "Unit")
# How systemctl writes a time span (1h 38min 29.356345s), each unit in seconds.
SPAN_UNITS = {"y": 31557600, "month": 2629800, "w": 604800, "d": 86400, "h": 3600, "min": 60, "s": 1,
              "ms": 1e-3, "us": 1e-6}
SPAN_RE = re.compile(r"(\d+(?:\.\d+)?)(y|month|w|d|h|min|ms|us|s)\b")


def next_run(fields, now):
    """When a timer runs next: its calendar time, or its time since boot (a timer of
    OnActiveSec=/OnUnitActiveSec=) said as a time of day; empty when it will not."""
    if fields.get("NextElapseUSecRealtime"):
        return fields["NextElapseUSecRealtime"]
    since_boot = sum(float(number) * SPAN_UNITS[unit]
                     for number, unit in SPAN_RE.findall(fields.get("NextElapseUSecMonotonic", "")))
    if not since_boot:
        return ""
    return time.strftime("%a %Y-%m-%d %H:%M:%S UTC", time.gmtime(time.time() + since_boot - now))


def release_entry(path, params):
    mark = read_mark(os.path.join(path, params["mark"]))
    try:
        with open(os.path.join(path, params["checked_mark"]), encoding="utf-8") as handle:
            when = handle.read().strip()
    except OSError:
        when = ""
    return {"id": os.path.basename(path), "source": mark.get("source", ""), "built": mark.get("built", ""),
            "checked": when}


def units(module, patterns):
    """Every loaded unit whose name matches one of patterns, with its state (one systemctl show)."""
    rc, out, _err = module.run_command(["systemctl", "list-units", "--all", "--plain", "--no-legend", "--"] + patterns)
    names = [line.split()[0] for line in out.splitlines() if line.strip()] if rc == 0 else []
    if not names:
        return []
    rc, out, err = module.run_command(["systemctl", "show", "--property=" + ",".join(UNIT_FIELDS), "--"] + names)
    if rc != 0:
        module.fail_json(msg="systemctl show failed: %s" % err.strip())
    now = time.monotonic()
    found = []
    for block in out.strip().split("\n\n"):
        fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        entered = int(fields.get("ActiveEnterTimestampMonotonic") or 0)
        active = fields.get("ActiveState", "")
        unit = {
            "unit": fields.get("Id", ""), "active": active, "sub": fields.get("SubState", ""),
            "since": fields.get("ActiveEnterTimestamp", ""),
            "uptime_s": round(now - entered / 1e6) if entered and active == "active" else 0,
            "main_pid": int(fields.get("MainPID") or 0), "restarts": int(fields.get("NRestarts") or 0),
        }
        if unit["unit"].endswith(".service"):
            unit.update(result=fields.get("Result", ""), exit_status=int(fields.get("ExecMainStatus") or 0))
        if unit["unit"].endswith(".timer"):
            unit.update(next_run=next_run(fields, now), last_run=fields.get("LastTriggerUSec", ""),
                        runs=fields.get("Unit", ""))
        found.append(unit)
    services = {unit["unit"]: unit for unit in found if unit["unit"].endswith(".service")}
    for unit in found:
        if "runs" in unit:
            service = services.get(unit.pop("runs"))
            if not (service and unit["last_run"]):
                unit["last_result"] = None
            elif service["active"] in ("activating", "deactivating"):
                # systemd clears a service's result when it starts again: this run's is not known yet.
                unit["last_result"] = {"result": "running", "exit_status": 0}
            else:
                unit["last_result"] = {"result": service["result"], "exit_status": service["exit_status"]}
    return sorted(found, key=lambda unit: unit["unit"])


def health(sock, domain, path, tls, timeout):
    """GET path on the unix socket sock with the site's Host: status, ms, error."""
    request = "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: flaskops-status\r\nConnection: close\r\n" % (path, domain)
    if tls:
        request += "X-Forwarded-Proto: https\r\n"
    started = time.monotonic()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(timeout)
            client.connect(sock)
            client.sendall((request + "\r\n").encode("latin-1"))
            line = client.makefile("rb").readline().decode("latin-1")
        status = int(line.split()[1])
    except (OSError, ValueError, IndexError) as error:
        return {"status": 0, "ms": round((time.monotonic() - started) * 1000, 1), "error": str(error) or "no answer"}
    return {"status": status, "ms": round((time.monotonic() - started) * 1000, 1), "error": ""}


def certificate(module, path):
    """The certificate's expiry, read with openssl."""
    if not path:
        return None
    rc, out, err = module.run_command(["openssl", "x509", "-noout", "-enddate", "-in", path])
    if rc != 0:
        return {"path": path, "expires": "", "days_left": None, "error": (err or out).strip()}
    expires = datetime.strptime(out.strip().split("=", 1)[1], "%b %d %H:%M:%S %Y %Z").replace(tzinfo=timezone.utc)
    days_left = (expires - datetime.now(timezone.utc)).total_seconds() / 86400
    return {"path": path, "expires": expires.isoformat(), "days_left": int(days_left), "error": ""}


def app_status(module, app, params):
    built, unfinished = releases(app["releases_dir"], params["mark"])
    current = link_target(app["current"])
    kept = []
    for path in built:
        entry = release_entry(path, params)
        entry["serving"] = path == current
        kept.append(entry)
    serving = next((entry for entry in kept if entry["serving"]), None)
    if serving is None and current:
        serving = dict(release_entry(current, params), serving=True)
    sock = os.path.join(current, "socket") if current else ""
    return {
        "name": app["name"],
        "domain": app["domain"],
        "serving": serving,
        "releases": kept,
        "checked": [os.path.basename(path) for path in checked(built, params["checked_mark"])],
        "unfinished": [os.path.basename(path) for path in unfinished],
        "units": units(module, [app["unit_prefix"] + "*"] + app["unit_patterns"]),
        "health": health(sock, app["domain"], app["health_path"], app["tls"], app["health_timeout"]) if sock else None,
        "certificate": certificate(module, app["certificate"]),
        "site": {"enabled": os.path.exists(app["site_enabled"]),
                 "maintenance": bool(app["maintenance_file"]) and os.path.exists(app["maintenance_file"])}
        if app["site_enabled"] else None,
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            apps=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                domain=dict(type="str", required=True),
                releases_dir=dict(type="path", required=True),
                current=dict(type="path", required=True),
                unit_prefix=dict(type="str", required=True),
                unit_patterns=dict(type="list", elements="str", default=[]),
                health_path=dict(type="str", default="/"),
                health_timeout=dict(type="float", default=5),
                tls=dict(type="bool", default=False),
                certificate=dict(type="path", default=""),
                site_enabled=dict(type="path", default=""),
                maintenance_file=dict(type="path", default=""),
            )),
            mark=dict(type="str", default=".flaskops-release"),
            checked_mark=dict(type="str", default=".flaskops-checked"),
        ),
        supports_check_mode=True,
    )
    try:
        apps = [app_status(module, app, module.params) for app in module.params["apps"]]
    except OSError as error:
        module.fail_json(msg="Cannot read the state of the apps: %s" % error)
    module.exit_json(changed=False, apps=apps)


if __name__ == "__main__":
    main()

# Copyright: flaskops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Plugins run inside ansible-core (GPLv3+) and carry its license; the rest of
# the collection is MIT (LICENSE).
"""Filters that turn what the status and logs playbooks read on a host into lines for a terminal."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from ansible_collections.flaskops.deploy.plugins.filter.app import app_facts


def status_apps(apps, nginx_on_host=True):
    """What the status_info module needs of each app definition, from its derived facts."""
    inputs = []
    for app in apps:
        facts = app_facts(app)
        inputs.append({
            "name": facts["name"], "domain": facts["domain"], "releases_dir": facts["releases_dir"],
            "current": facts["current_link"], "unit_prefix": facts["unit_prefix"],
            "unit_patterns": facts["process_unit_globs"] + facts["job_unit_globs"],
            "health_path": facts["health_check"]["path"], "health_timeout": facts["health_check"]["timeout"],
            "tls": facts["tls_enabled"], "certificate": facts["tls_certificate"] if facts["tls_enabled"] else "",
            "site_enabled": facts["site_link"] if nginx_on_host else "",
            "maintenance_file": facts["maintenance_page"],
        })
    return inputs


def _duration(seconds):
    seconds = int(seconds)
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {seconds}s" if minutes else f"{seconds}s"


def _outcome(run):
    """How a job's last run ended, in words."""
    if run["result"] == "success":
        return "which succeeded"
    if run["result"] == "running":
        return "which is running now"
    status = f", exit status {run['exit_status']}" if run["exit_status"] else ""
    return f"which FAILED ({run['result']}{status})"


def status_lines(apps, host):
    """The status_info module's apps as a block of lines per app, headed by the app and the host."""
    lines = []
    for app in apps:
        lines.append(f"{app['name']} ({app['domain']}) on {host}")
        serving = app.get("serving")
        if serving:
            checked = f", passed its health check {serving['checked']}" if serving.get("checked") else \
                ", has not passed a health check here"
            lines.append(f"  serving   {serving['id']}, built {serving.get('built') or '?'} from "
                         f"{serving.get('source') or '?'}{checked}")
        else:
            lines.append("  serving   nothing: no release serves")
        health = app.get("health")
        if health:
            answer = f"{health['status']} in {health['ms']} ms" if health["status"] else f"no answer ({health['error']})"
            lines.append(f"  health    {answer}")
        kept = [release["id"] + (" (serving)" if release.get("serving") else "") for release in app.get("releases", [])]
        lines.append(f"  releases  {len(kept)} kept: {', '.join(kept) or 'none'}")
        if app.get("unfinished"):
            lines.append(f"  unfinished builds: {', '.join(app['unfinished'])}")
        for unit in app.get("units", []):
            state = f"{unit['active']} ({unit['sub']})"
            if unit["active"] == "active":
                state += f" since {unit['since']}, up {_duration(unit['uptime_s'])}"
            if unit.get("main_pid"):
                state += f", pid {unit['main_pid']}"
            if unit.get("restarts"):
                state += f", restarted {unit['restarts']} times"
            if "next_run" in unit:
                state += f", next run {unit['next_run'] or 'none'}, last run {unit['last_run'] or 'never'}"
                last = unit.get("last_result")
                if last:
                    state += f", {_outcome(last)}"
            lines.append(f"  unit      {unit['unit']}: {state}")
        certificate = app.get("certificate")
        if certificate:
            lines.append(f"  tls       {certificate['path']} expires {certificate['expires']} "
                         f"({certificate['days_left']} days)" if certificate["expires"]
                         else f"  tls       {certificate['path']}: {certificate['error']}")
        site = app.get("site")
        if site:
            lines.append(f"  site      {'enabled' if site['enabled'] else 'not enabled'}, "
                         f"maintenance {'on' if site['maintenance'] else 'off'}")
    return lines


def journal_lines(output, host):
    """journalctl --output json lines as '<time> <host> <unit>: <message>'."""
    lines = []
    for raw in output.splitlines():
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        message = entry.get("MESSAGE", "")
        if isinstance(message, list):  # journald gives bytes that are not UTF-8 as numbers
            message = bytes(message).decode("utf-8", "replace")
        when = datetime.fromtimestamp(int(entry.get("__REALTIME_TIMESTAMP", 0)) / 1e6, timezone.utc)
        # systemd's own lines about a unit (starting, stopping) come from init.scope and name it in UNIT.
        unit = entry.get("UNIT") or entry.get("_SYSTEMD_UNIT") or entry.get("SYSLOG_IDENTIFIER", "")
        lines.append(f"{when.strftime('%Y-%m-%dT%H:%M:%SZ')} {host} {unit}: {message}")
    return lines


class FilterModule:
    def filters(self):
        return {
            "journal_lines": journal_lines,
            "status_apps": status_apps,
            "status_lines": status_lines,
        }

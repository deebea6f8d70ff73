#!/usr/bin/python
# Copyright: flaskops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Plugins run inside ansible-core (GPLv3+) and carry its license; the rest of
# the collection is MIT (LICENSE).
"""units: several systemd units enabled and started (or restarted, reloaded) in one module run."""

from __future__ import annotations

DOCUMENTATION = r"""
module: units
author: flaskops maintainers (@flaskops)
short_description: Bring several systemd units to the state asked, in one step
description:
  - Enables or disables the units at boot (one C(systemctl) run for all that need it), then, for
    each unit in order, starts, restarts, reloads or stops it, as
    M(ansible.builtin.systemd_service) would for one unit; reports which units it changed.
    flaskops.deploy's gunicorn role uses it for an app's socket and service units, one round trip
    to the host for both.
  - O(units[].state=restarted) and O(units[].state=reloaded) start a unit that is not running
    (and report that), so a unit that was just started is not restarted again.
  - O(dropins) are links made first (a unit's drop-in pointing at a file elsewhere); when one is
    new or changed, systemd rereads its units before any is acted on. flaskops.deploy's release
    role links each release's service settings this way, in the same step that starts it.
version_added: 1.0.0
options:
  daemon_reload:
    description:
      - Make systemd reread its unit files first (as C(systemctl daemon-reload)). It does anyway
        when a link of O(dropins) changed.
    type: bool
    default: false
  dropins:
    description:
      - Links to make before the units are acted on, such as
        C(/etc/systemd/system/app@1.service.d/service.conf) pointing at a file of a release. A
        missing directory is created C(0755); an existing file or link of that name is replaced.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the link, in a unit's C(.d) directory.
        type: path
        required: true
      src:
        description: What the link points to.
        type: str
        required: true
  prune:
    description:
      - Shell-style patterns (C(flaskops-shop.*@*.service)) of units this run owns. Each unit
        matching one that is not named in O(units) is stopped, its links in the C(.wants)
        directories of C(/etc/systemd/system), its unit file there and its drop-in directory are
        removed, and systemd rereads its units. A template's file is kept while an instance of it
        is named in O(units). flaskops.deploy's release role prunes an app's processes and jobs
        this way (those of other releases, and those the app definition no longer names).
    type: list
    elements: str
    default: []
  settle:
    description:
      - Seconds every unit this run started or restarted must then keep running. After acting, the
        module waits that long and fails, with each failing unit's last journal lines, when one is
        not active or was restarted by systemd meanwhile (a worker that exits on start, under
        C(Restart=on-failure)). No wait when nothing was started.
    type: int
    default: 0
  units:
    description: The units, handled in order.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Unit name, with its suffix (C(app.socket), C(app.service)).
        type: str
        required: true
      enabled:
        description:
          - Whether the unit starts at boot. Left alone when not given.
          - Enabling links the unit into its targets without reloading systemd (C(--no-reload)); the
            links are read at boot, and O(daemon_reload) reloads systemd when unit files changed.
        type: bool
      state:
        description: What to do with the running unit. Left alone when not given.
        type: str
        choices: [started, stopped, restarted, reloaded]
      only_if_exists:
        description:
          - A path that must exist for O(units[].state) to be acted on (enabling does not wait for
            it). flaskops.deploy.gunicorn starts an app's service only once it has a release.
        type: path
      reset_failed:
        description:
          - Clear the unit's failed state and start-rate limit first (C(systemctl reset-failed)), so
            that a unit that kept crashing can be started again. Not reported as a change.
        type: bool
        default: false
attributes:
  check_mode:
    support: full
    description: Asks systemd for each unit's state and reports what a real run would change.
  diff_mode:
    support: none
    description: Reports the changed units in RV(changed_units) instead.
  platform:
    support: full
    platforms: posix
    description: Needs systemd and C(systemctl).
"""

EXAMPLES = r"""
- name: Start the app's socket and service and enable both
  flaskops.deploy.units:
    daemon_reload: true
    units:
      - {name: flaskops-shop.socket, enabled: true, state: started}
      - {name: flaskops-shop.service, enabled: true, state: reloaded}

- name: Link a release's service settings as its instance's drop-in, then start it
  flaskops.deploy.units:
    dropins:
      - path: /etc/systemd/system/flaskops-shop@1.service.d/service.conf
        src: /srv/shop/releases/1/service.conf
    units:
      - {name: flaskops-shop@1.service, enabled: true, state: started}
"""

RETURN = r"""
failed_units:
  description: The units that did not keep running for O(settle) seconds (only when the module fails so).
  returned: failure
  type: list
  elements: str
  sample: [flaskops-shop.worker.1@4f2a.service]
changed_units:
  description: What changed, one C(unit action) entry per change (actions C(enabled), C(disabled),
    C(started), C(stopped), C(restarted), C(reloaded)), in order, after one C(path linked) entry for
    each link of O(dropins) made or changed.
  returned: always
  type: list
  elements: str
  sample: [flaskops-shop.socket started, flaskops-shop.service reloaded]
"""

import fnmatch
import glob
import os
import shutil
import time

from ansible.module_utils.basic import AnsibleModule

UNITS_DIR = "/etc/systemd/system"
JOURNAL_LINES = 15

# What to run for each asked state, when the unit is active / inactive.
ACTIONS = {
    "started": (None, "start"),
    "stopped": ("stop", None),
    "restarted": ("restart", "start"),
    "reloaded": ("reload", "start"),
}
PAST = {"start": "started", "stop": "stopped", "restart": "restarted", "reload": "reloaded",
        "enable": "enabled", "disable": "disabled"}


class Units:
    def __init__(self, module):
        self.module = module
        self.systemctl = module.get_bin_path("systemctl", required=True)
        self.changed_units = []
        # Units this run started or restarted, with the invocation systemd gave each.
        self.started = {}

    def call(self, *args):
        rc, out, err = self.module.run_command([self.systemctl] + list(args))
        return rc, out.strip(), err.strip()

    def act(self, names, action, *options):
        """Run one systemctl action on the named units, reporting each as changed."""
        self.changed_units.extend("%s %s" % (name, PAST[action]) for name in names)
        if self.module.check_mode:
            return
        rc, out, err = self.call(action, *(list(options) + list(names)))
        if rc != 0:
            journal = self.journal(names) if action in ("start", "restart") else ""
            self.module.fail_json(msg="systemctl %s %s failed: %s%s" % (action, " ".join(names), err or out, journal),
                                  rc=rc, stdout=out, stderr=err,
                                  changed_units=self.changed_units[:-len(names)])
        if action in ("start", "restart") and self.module.params["settle"] > 0:
            for name in names:
                self.started[name] = self.show(name).get("InvocationID", "")

    def running(self, name):
        """Whether the unit must be stopped to be stopped: active, or on its way there or out
        (a crash-looping instance waiting for systemd to restart it is activating)."""
        return self.call("is-active", name)[1] not in ("inactive", "failed", "unknown", "")

    def show(self, name):
        """systemd's properties of the unit that say whether it runs, and which run it is."""
        rc, out, err = self.call("show", "--property=ActiveState,SubState,InvocationID", name)
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def journal(self, names):
        """The last lines each unit logged, to say why it did not start."""
        lines = []
        journalctl = self.module.get_bin_path("journalctl")
        for name in names:
            if not journalctl:
                break
            rc, out, err = self.module.run_command(
                [journalctl, "--unit", name, "--lines", str(JOURNAL_LINES), "--no-pager", "--output", "cat"])
            lines.append("\n-- %s, last lines of its journal:\n%s" % (name, out.strip() or err.strip() or "(empty)"))
        return "".join(lines)

    def settle(self, seconds):
        """Fail when a unit this run started did not keep running for `seconds`."""
        if not self.started or seconds <= 0 or self.module.check_mode:
            return
        time.sleep(seconds)
        failed = []
        for name, invocation in self.started.items():
            state = self.show(name)
            if state.get("ActiveState") != "active" or state.get("InvocationID", "") != invocation:
                failed.append(name)
        if failed:
            self.module.fail_json(
                msg="%s did not keep running for %d s after it was started (it exited or systemd restarted it)%s"
                    % (", ".join(failed), seconds, self.journal(failed)),
                failed_units=failed, changed_units=self.changed_units)

    def prune(self, patterns, keep):
        """Stop and remove every unit matching the patterns that is not one of `keep`."""
        if not patterns:
            return
        rc, out, err = self.call("list-units", "--all", "--plain", "--no-legend", "--full", *patterns)
        loaded = [line.split()[0] for line in out.splitlines() if line.split()]
        links = [path for pattern in patterns for path in glob.glob(os.path.join(UNITS_DIR, "*.wants", pattern))]
        files = [path for pattern in patterns for suffix in ("", ".d")
                 for path in glob.glob(os.path.join(UNITS_DIR, pattern + suffix))]

        def kept(name):
            if name.endswith(".d"):
                name = name[:-2]
            if name in keep:
                return True
            # A template (prefix@.service) stays while an instance of it is kept.
            return "@." in name and any(fnmatch.fnmatchcase(unit, name.replace("@.", "@*.", 1)) for unit in keep)

        def matching(name):
            if name.endswith(".d"):
                name = name[:-2]
            return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)

        unwanted = sorted(set(name for name in loaded if not kept(name) and matching(name)))
        stop = [name for name in unwanted if self.running(name)]
        if stop:
            self.act(stop, "stop")
        removed = False
        for path in sorted(set(links + files)):
            name = os.path.basename(path)
            if kept(name) or not matching(name):
                continue
            self.changed_units.append("%s removed" % path)
            removed = True
            if self.module.check_mode:
                continue
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        if removed and not self.module.check_mode:
            self.call("daemon-reload")
        if unwanted and not self.module.check_mode:
            self.call("reset-failed", *unwanted)  # fails harmlessly for units systemd has dropped

    def enable(self, items):
        """Enable or disable the units at boot, all in one systemctl run for each.

        Enabling only links the unit into a target's wants, which systemd reads
        at boot; --no-reload skips the manager reload systemctl would otherwise
        do for each unit (a daemon reload is O(daemon_reload)'s job).
        """
        wanted = {True: [], False: []}
        for item in items:
            if item["enabled"] is None:
                continue
            # Exits 0 for enabled, static, alias, ...; prints nothing for a unit it does not know.
            rc, out, err = self.call("is-enabled", item["name"])
            if not out:
                self.module.fail_json(msg="systemd has no unit %s: %s" % (item["name"], err))
            if item["enabled"] != (rc == 0):
                wanted[item["enabled"]].append(item["name"])
        for enabled, action in ((True, "enable"), (False, "disable")):
            if wanted[enabled]:
                self.act(wanted[enabled], action, "--no-reload")

    def link(self, dropin):
        """Make the drop-in link path -> src; True when it was missing or pointed elsewhere."""
        path, src = dropin["path"], dropin["src"]
        if os.path.islink(path) and os.readlink(path) == src:
            return False
        self.changed_units.append("%s linked" % path)
        if self.module.check_mode:
            return True
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        temporary = "%s.flaskops-%d" % (path, os.getpid())
        if os.path.lexists(temporary):
            os.unlink(temporary)
        os.symlink(src, temporary)
        os.rename(temporary, path)
        return True

    def bring(self, item):
        """Start, stop, restart or reload the unit as its state asks."""
        name = item["name"]
        if item["reset_failed"] and not self.module.check_mode:
            self.call("reset-failed", name)  # fails harmlessly when there is nothing to clear
        if item["only_if_exists"] and not os.path.lexists(item["only_if_exists"]):
            return
        if item["state"] is not None:
            active = self.running(name) if item["state"] == "stopped" else self.call("is-active", name)[0] == 0
            action = ACTIONS[item["state"]][0 if active else 1]
            if action:
                self.act([name], action)


def run(module):
    units = Units(module)
    linked = [units.link(dropin) for dropin in module.params["dropins"]]
    if (module.params["daemon_reload"] or any(linked)) and not module.check_mode:
        rc, out, err = units.call("daemon-reload")
        if rc != 0:
            module.fail_json(msg="systemctl daemon-reload failed: %s" % (err or out), rc=rc)
    units.enable(module.params["units"])
    for item in module.params["units"]:
        units.bring(item)
    units.settle(module.params["settle"])
    units.prune(module.params["prune"], set(item["name"] for item in module.params["units"]))
    return {"changed": bool(units.changed_units), "changed_units": units.changed_units}


def argument_spec():
    return dict(
        daemon_reload=dict(type="bool", default=False),
        dropins=dict(type="list", elements="dict", default=[], options=dict(
            path=dict(type="path", required=True),
            src=dict(type="str", required=True),
        )),
        prune=dict(type="list", elements="str", default=[]),
        settle=dict(type="int", default=0),
        units=dict(type="list", elements="dict", required=True, options=dict(
            name=dict(type="str", required=True),
            enabled=dict(type="bool"),
            state=dict(type="str", choices=list(ACTIONS)),
            reset_failed=dict(type="bool", default=False),
            only_if_exists=dict(type="path"),
        )),
    )


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()

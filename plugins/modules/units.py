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
changed_units:
  description: What changed, one C(unit action) entry per change (actions C(enabled), C(disabled),
    C(started), C(stopped), C(restarted), C(reloaded)), in order, after one C(path linked) entry for
    each link of O(dropins) made or changed.
  returned: always
  type: list
  elements: str
  sample: [flaskops-shop.socket started, flaskops-shop.service reloaded]
"""

import os

from ansible.module_utils.basic import AnsibleModule

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
            self.module.fail_json(msg="systemctl %s %s failed: %s" % (action, " ".join(names), err or out),
                                  rc=rc, stdout=out, stderr=err,
                                  changed_units=self.changed_units[:-len(names)])

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
            active = self.call("is-active", name)[0] == 0
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
    return {"changed": bool(units.changed_units), "changed_units": units.changed_units}


def argument_spec():
    return dict(
        daemon_reload=dict(type="bool", default=False),
        dropins=dict(type="list", elements="dict", default=[], options=dict(
            path=dict(type="path", required=True),
            src=dict(type="str", required=True),
        )),
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

"""Unit tests for the flaskops.deploy.units module, against a stand-in for systemctl."""
import fnmatch
import os

import pytest

from ansible_collections.flaskops.deploy.plugins.modules import units


class Failed(Exception):
    pass


class FakeSystemd:
    """What units.run() uses of AnsibleModule, with systemctl answered from a dict of units."""

    def __init__(self, known, check=False, **params):
        self.known = known  # name -> {"enabled": "enabled"|"disabled"|"static", "active": bool}
        self.check_mode = check
        self.params = {"daemon_reload": False, "dropins": [], "settle": 0, "prune": [], **params}
        self.calls = []

    def get_bin_path(self, name, required=False):
        return "/bin/" + name

    def fail_json(self, msg, **kwargs):
        raise Failed(msg)

    def run_command(self, argv):
        action, *rest = argv[1:]
        self.calls.append(" ".join(argv[1:]))
        names = [arg for arg in rest if not arg.startswith("--")]
        if action == "daemon-reload":
            return 0, "", ""
        if action == "show":
            unit = self.known.get(names[0], {})
            return 0, "ActiveState=%s\nInvocationID=%s\n" % (
                "active" if unit.get("active") else "inactive", unit.get("invocation", "1")), ""
        if action == "list-units":
            return 0, "".join("%s loaded active running x\n" % name for name in self.known
                              if any(fnmatch.fnmatchcase(name, pattern) for pattern in names)), ""
        if action == "reset-failed":
            return (0 if self.known.get(names[0], {}).get("failed") else 1), "", ""
        if any(name not in self.known for name in names):
            return (4 if action == "is-active" else 1), "", "Failed to get unit file state: No such file or directory"
        unit = self.known[names[0]]
        if action == "is-enabled":
            return (0 if unit["enabled"] in ("enabled", "static") else 1), unit["enabled"] + "\n", ""
        if action == "is-active":
            state = unit.get("state") or ("active" if unit["active"] else "inactive")
            return (0 if state == "active" else 3), state, ""
        for name in names:
            if action in ("enable", "disable"):
                self.known[name]["enabled"] = action + "d"
            elif action in ("start", "restart", "reload"):
                self.known[name]["active"] = True
            elif action == "stop":
                self.known[name].update(active=False, state=None)
        return 0, "", ""

    def acts(self):
        return [call for call in self.calls if not call.startswith("is-")]


def unit(name, enabled=None, state=None, reset_failed=False, only_if_exists=None):
    return {"name": name, "enabled": enabled, "state": state, "reset_failed": reset_failed,
            "only_if_exists": only_if_exists}


def test_starts_and_enables_what_is_not_then_does_nothing():
    module = FakeSystemd({"a.socket": {"enabled": "disabled", "active": False},
                          "a.service": {"enabled": "disabled", "active": False}},
                         units=[unit("a.socket", True, "started"), unit("a.service", True, "started")])
    assert units.run(module) == {"changed": True, "changed_units": [
        "a.socket enabled", "a.service enabled", "a.socket started", "a.service started"]}
    # Both enabled in one systemctl run, without a reload of systemd for each.
    assert module.acts() == ["enable --no-reload a.socket a.service", "start a.socket", "start a.service"]
    module.calls.clear()
    assert units.run(module) == {"changed": False, "changed_units": []}
    assert module.acts() == []


@pytest.mark.parametrize("state, active, expected", [
    ("restarted", True, "restart"), ("restarted", False, "start"),
    ("reloaded", True, "reload"), ("reloaded", False, "start"),
    ("stopped", True, "stop"), ("stopped", False, None), ("started", True, None),
])
def test_each_state_acts_on_the_running_unit_once(state, active, expected):
    module = FakeSystemd({"a.service": {"enabled": "enabled", "active": active}},
                         units=[unit("a.service", state=state)])
    units.run(module)
    assert module.acts() == ([f"{expected} a.service"] if expected else [])


def test_check_mode_asks_and_reports_but_does_nothing():
    module = FakeSystemd({"a.service": {"enabled": "disabled", "active": True}}, check=True, daemon_reload=True,
                         units=[unit("a.service", True, "reloaded")])
    assert units.run(module)["changed_units"] == ["a.service enabled", "a.service reloaded"]
    assert module.acts() == []


def test_daemon_reload_comes_first_and_is_not_a_change_by_itself():
    module = FakeSystemd({"a.service": {"enabled": "static", "active": True}}, daemon_reload=True,
                         units=[unit("a.service", True, "started")])
    assert units.run(module)["changed"] is False
    assert module.calls[0] == "daemon-reload"


def test_a_unit_systemd_does_not_know_fails_with_its_name():
    module = FakeSystemd({}, units=[unit("nope.service", True, "started")])
    with pytest.raises(Failed, match="systemd has no unit nope.service"):
        units.run(module)


def test_disables_an_enabled_unit():
    module = FakeSystemd({"a.service": {"enabled": "enabled", "active": False}},
                         units=[unit("a.service", enabled=False)])
    assert units.run(module)["changed_units"] == ["a.service disabled"]
    assert module.acts() == ["disable --no-reload a.service"]


def test_a_failed_enable_says_which_units_and_why():
    module = FakeSystemd({"a.service": {"enabled": "disabled", "active": False}},
                         units=[unit("a.service", True, "started")])
    module.run_command = lambda argv: (1, "", "Access denied") if argv[1] == "enable" else (1, "disabled", "")
    with pytest.raises(Failed, match="systemctl enable a.service failed: Access denied"):
        units.run(module)


def test_reset_failed_comes_before_the_restart_and_is_not_a_change():
    module = FakeSystemd({"a.service": {"enabled": "enabled", "active": False, "failed": True}},
                         units=[unit("a.service", state="restarted", reset_failed=True)])
    assert units.run(module)["changed_units"] == ["a.service started"]
    assert module.acts() == ["reset-failed a.service", "start a.service"]
    module.calls.clear()
    module.check_mode = True
    units.run(module)
    assert "reset-failed a.service" not in module.calls


def test_only_if_exists_enables_but_starts_nothing_until_the_path_is_there(tmp_path):
    module = FakeSystemd({"a.service": {"enabled": "disabled", "active": False}},
                         units=[unit("a.service", True, "started", only_if_exists=str(tmp_path / "current"))])
    assert units.run(module)["changed_units"] == ["a.service enabled"]
    (tmp_path / "current").symlink_to(tmp_path / "release")  # a link, even before its target is complete
    assert units.run(module)["changed_units"] == ["a.service started"]


def test_a_new_dropin_link_is_made_and_systemd_rereads_its_units_before_starting(tmp_path):
    dropin = tmp_path / "app@1.service.d" / "service.conf"
    module = FakeSystemd({"app@1.service": {"enabled": "disabled", "active": False}},
                         dropins=[{"path": str(dropin), "src": "/srv/app/releases/1/service.conf"}],
                         units=[unit("app@1.service", enabled=True, state="started")])
    result = units.run(module)
    assert os.readlink(dropin) == "/srv/app/releases/1/service.conf"
    assert result["changed_units"][0] == f"{dropin} linked"
    assert module.acts()[0] == "daemon-reload" and module.acts()[-1] == "start app@1.service"


def test_a_dropin_link_in_place_changes_nothing_and_reloads_nothing(tmp_path):
    dropin = tmp_path / "service.conf"
    os.symlink("/srv/app/releases/1/service.conf", dropin)
    module = FakeSystemd({"app@1.service": {"enabled": "enabled", "active": True}},
                         dropins=[{"path": str(dropin), "src": "/srv/app/releases/1/service.conf"}],
                         units=[unit("app@1.service", enabled=True, state="started")])
    result = units.run(module)
    assert result == {"changed": False, "changed_units": []}
    assert module.acts() == []


def test_a_dropin_pointing_elsewhere_is_replaced_but_not_in_check_mode(tmp_path):
    dropin = tmp_path / "service.conf"
    os.symlink("/srv/app/releases/0/service.conf", dropin)
    params = {"dropins": [{"path": str(dropin), "src": "/srv/app/releases/1/service.conf"}], "units": []}
    checked = units.run(FakeSystemd({}, check=True, **params))
    assert checked["changed"] and os.readlink(dropin) == "/srv/app/releases/0/service.conf"
    module = FakeSystemd({}, **params)
    assert units.run(module)["changed"]
    assert os.readlink(dropin) == "/srv/app/releases/1/service.conf"
    assert module.acts() == ["daemon-reload"]


def test_a_started_unit_that_does_not_keep_running_fails_with_its_journal(monkeypatch):
    monkeypatch.setattr(units.time, "sleep", lambda seconds: None)
    known = {"w@2.service": {"enabled": "disabled", "active": False, "invocation": "first"}}
    module = FakeSystemd(known, units=[unit("w@2.service", True, "started")], settle=3)
    original = module.run_command

    def restarted_by_systemd(argv):
        if argv[0].endswith("journalctl"):
            return 0, "RuntimeError: cannot start", ""
        if argv[1] == "show" and " ".join(argv[1:]) in module.calls:
            known["w@2.service"]["invocation"] = "second"  # Restart=on-failure ran it again
        return original(argv)
    module.run_command = restarted_by_systemd
    with pytest.raises(Failed, match=r"(?s)w@2.service did not keep running for 3 s.*cannot start"):
        units.run(module)


def test_nothing_started_means_no_wait(monkeypatch):
    monkeypatch.setattr(units.time, "sleep", lambda seconds: pytest.fail("waited"))
    module = FakeSystemd({"w@2.service": {"enabled": "enabled", "active": True}},
                         units=[unit("w@2.service", True, "started")], settle=3)
    assert units.run(module)["changed"] is False


def test_prune_stops_and_removes_what_matches_and_is_not_named(monkeypatch, tmp_path):
    monkeypatch.setattr(units, "UNITS_DIR", str(tmp_path))
    (tmp_path / "multi-user.target.wants").mkdir()
    for name in ("shop.worker.1@.service", "shop.old.1@.service", "shop.tick.timer", "shop@.service"):
        (tmp_path / name).write_text("[Unit]\n")
    for name in ("shop.worker.1@r1.service", "shop.worker.1@r2.service", "shop.old.1@r1.service"):
        (tmp_path / "multi-user.target.wants" / name).symlink_to(tmp_path / "shop.worker.1@.service")
    known = {"shop.worker.1@r1.service": {"enabled": "enabled", "active": True},
             "shop.worker.1@r2.service": {"enabled": "enabled", "active": True},
             "shop.old.1@r1.service": {"enabled": "enabled", "active": True},
             "shop@r2.service": {"enabled": "enabled", "active": True}}
    module = FakeSystemd(known, units=[unit("shop.worker.1@r2.service", True, "started")],
                         prune=["shop.*@*.service", "shop.*.timer"])
    result = units.run(module)
    assert "stop shop.old.1@r1.service shop.worker.1@r1.service" in module.acts()
    assert not known["shop.worker.1@r1.service"]["active"] and known["shop.worker.1@r2.service"]["active"]
    # The web's units (another pattern) and the kept instance's template stay; the rest goes.
    assert sorted(path.name for path in tmp_path.iterdir()) == ["multi-user.target.wants", "shop.worker.1@.service",
                                                                  "shop@.service"]
    assert [path.name for path in (tmp_path / "multi-user.target.wants").iterdir()] == ["shop.worker.1@r2.service"]
    assert "daemon-reload" in module.acts() and result["changed"]


def test_a_unit_waiting_to_be_restarted_is_stopped_too(monkeypatch, tmp_path):
    """A crash-looping instance between two starts is activating, not active: stopping it (asked,
    or pruned) must cancel its restart, or systemd starts it again after the run."""
    monkeypatch.setattr(units, "UNITS_DIR", str(tmp_path))
    known = {"shop.worker.1@r2.service": {"enabled": "enabled", "active": False, "state": "activating"},
             "shop.worker.2@r2.service": {"enabled": "enabled", "active": False, "state": "activating"},
             "shop.worker.1@r1.service": {"enabled": "enabled", "active": True}}
    module = FakeSystemd(known, units=[unit("shop.worker.2@r2.service", None, "stopped"),
                                       unit("shop.worker.1@r1.service", True, "started")],
                         prune=["shop.*@*.service"])
    units.run(module)
    assert "stop shop.worker.2@r2.service" in module.acts()
    assert "stop shop.worker.1@r2.service" in module.acts()
    assert all(known[name]["state"] is None for name in ("shop.worker.1@r2.service", "shop.worker.2@r2.service"))
    # One that is inactive or failed is not stopped again.
    module = FakeSystemd({"shop.worker.1@r2.service": {"enabled": "enabled", "active": False, "state": "failed"}},
                         units=[unit("shop.worker.1@r2.service", None, "stopped")])
    assert not units.run(module)["changed"]

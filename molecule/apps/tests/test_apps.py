"""Many apps on one host: side by side, added without touching the others, removed.

The scenario converged two apps (blog on TCP 8001, shop on a unix socket). These
tests run the site playbook again with other app lists, given as extra vars,
which win over the inventory's flaskops_apps. They run in file order: the third
app is added, then refused clashes are tried, then the third app is removed.
Runs that only need to act on the third app say so (flaskops_apps_only=api).
"""
import json
import os
import re
import tempfile

import pytest

from flaskops_testlib import children, http, main_pid, recap_counts, run_playbook, socket_of, unit_of, why


@pytest.fixture(scope="module")
def apps(host):
    """The two apps of the scenario's inventory."""
    return host.ansible.get_variables()["flaskops_apps"]


def with_apps(app_list, *args, playbook=None):
    """Run a playbook with flaskops_apps set to `app_list` (as extra vars)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"flaskops_apps": app_list}, handle)
    try:
        return run_playbook("-e", f"@{handle.name}", *args, playbook=playbook)
    finally:
        os.unlink(handle.name)


def third(apps, **changes):
    """A third app, the sample app again under another name, domain and port."""
    api = dict(apps[0], name="api", domain="api.test", port=8002,
               environment={"HELLO_GREETING": "Api"})
    api.update(changes)
    return api


def snapshot(host, name):
    """What a user would see change if a run touched an app: its processes,
    the release it serves and the files that configure it."""
    master = main_pid(host, unit_of(host, {"name": name}))
    files = [f"/etc/systemd/system/flaskops-{name}@.service", f"/etc/systemd/system/flaskops-{name}@.socket",
             f"/srv/{name}/current/gunicorn.conf.py", f"/srv/{name}/current/environment",
             f"/etc/nginx/sites-available/{name}", f"/srv/{name}/current/flaskops_wsgi.py"]
    stats = host.check_output("stat -c '%n %i %Y' " + " ".join(files))
    return {
        "master": master,
        "workers": children(host, master),
        "current": host.file(f"/srv/{name}/current").linked_to,
        "releases": sorted(host.file(f"/srv/{name}/releases").listdir()),
        "files": stats,
    }


def test_each_app_answers_its_own_domain_with_its_own_environment(host, apps):
    for app in apps:
        seen = http(host, "/whoami", host_header=app["domain"]).json()
        assert seen["greeting"] == app["environment"]["HELLO_GREETING"]
        assert seen["host"] == app["domain"]


def test_each_app_runs_as_its_own_user_on_its_own_listener(host, apps):
    for app in apps:
        master = main_pid(host, unit_of(host, app))
        assert host.process.get(pid=master).user == app["name"]
        # Each app's release on a unix socket of its own, nothing on TCP (nginx is on the host).
        assert socket_of(host, app) in host.check_output("ss -Hlx")
    assert not host.check_output("ss -Hltn 'sport = :8001'").strip()


def test_unknown_names_still_reach_no_app(host):
    result = host.run("curl -s -o /dev/null -w '%{http_code}' -H 'Host: unknown.test' http://127.0.0.1/")
    # The catch-all closes the connection without an answer (444): curl reports 000.
    assert result.stdout == "000"


def test_adding_a_third_app_leaves_the_first_two_alone(host, apps):
    before = {app["name"]: snapshot(host, app["name"]) for app in apps}

    result = with_apps(apps + [third(apps)])
    assert result.returncode == 0, result.stdout[-3000:]

    seen = http(host, "/whoami", host_header="api.test").json()
    assert seen["greeting"] == "Api"
    for app in apps:
        assert snapshot(host, app["name"]) == before[app["name"]], app["name"]
        assert http(host, "/whoami", host_header=app["domain"]).json()["pid"] in before[app["name"]]["workers"]


@pytest.mark.parametrize("clash, words", [
    ({"port": 8001}, ["flaskops_apps[0] (blog) and flaskops_apps[2] (api)", "port 8001"]),
    ({"domain": "shop.test"}, ["flaskops_apps[1] (shop) and flaskops_apps[2] (api)", "site name shop.test"]),
    ({"name": "blog", "port": 8003, "domain": "blog2.test"},
     ["flaskops_apps[0] (blog) and flaskops_apps[2] (blog)", "name blog"]),
])
def test_clashing_apps_fail_naming_both_before_anything_changes(host, apps, clash, words):
    before = host.check_output("ls /etc/nginx/sites-enabled /etc/systemd/system | md5sum")
    result = with_apps(apps + [third(apps, **clash)])
    assert result.returncode != 0
    output = result.stdout + result.stderr
    for word in words:
        assert word in output, output[-3000:]
    assert "each app needs its own" in output
    assert host.check_output("ls /etc/nginx/sites-enabled /etc/systemd/system | md5sum") == before


def test_rollback_with_a_release_id_needs_the_app_named(host, apps):
    result = with_apps(apps + [third(apps)], "-e", "release_rollback_to=local-000000000000",
                       playbook="flaskops.deploy.rollback")
    assert result.returncode != 0
    assert "add -e flaskops_apps_only=<app>" in result.stdout + result.stderr


def test_state_absent_takes_the_app_off_the_host_but_keeps_its_data(host, apps):
    before = {app["name"]: snapshot(host, app["name"]) for app in apps}
    host.run_expect([0], "echo keep-me > /srv/api/shared/data.txt")

    result = with_apps(apps + [third(apps, state="absent")])
    assert result.returncode == 0, result.stdout[-3000:]

    assert not host.run("systemctl list-units --all --plain --no-legend 'flaskops-api@*'").stdout.strip()
    assert not host.file("/etc/systemd/system/flaskops-api@.service").exists
    assert not host.file("/etc/systemd/system/flaskops-api@.socket").exists
    assert not host.check_output("find /etc/systemd/system -name 'flaskops-api*'").strip()
    # No socket file is left behind.
    assert not host.check_output("find /run -name '*.sock' -path '*flaskops-api*'").strip()
    assert not host.file("/run/flaskops-api").exists
    assert not host.file("/etc/nginx/sites-enabled/api").exists
    assert not host.file("/etc/nginx/sites-available/api").exists
    # Its name now falls through to the catch-all: no answer at all.
    gone = host.run("curl -s -o /dev/null -w '%{http_code}' -H 'Host: api.test' http://127.0.0.1/")
    assert gone.stdout == "000"
    # Data, code and user stay unless remove_data is set.
    assert host.file("/srv/api/shared/data.txt").content_string == "keep-me\n"
    assert host.user("api").exists
    for app in apps:
        assert snapshot(host, app["name"]) == before[app["name"]], app["name"]

    # Again, selecting roles by tag: the apps are still found and checked.
    again = with_apps(apps + [third(apps, state="absent")], "-e", "flaskops_apps_only=api",
                      "--tags", "gunicorn,nginx_site")
    assert again.returncode == 0
    assert recap_counts(again.stdout)["changed"] == 0


def test_remove_data_deletes_the_app_for_good(host, apps):
    result = with_apps(apps + [third(apps, state="absent", remove_data=True)],
                       "-e", "flaskops_apps_only=api")
    assert result.returncode == 0, result.stdout[-3000:]
    assert not host.file("/srv/api").exists
    assert not host.file("/etc/flaskops/api").exists
    assert not host.user("api").exists
    assert not host.group("api").exists
    for app in apps:
        assert http(host, "/whoami", host_header=app["domain"]).status == 200


def readme_roles_play():
    """The play the README offers for using the roles in a playbook of one's own."""
    with open(os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "README.md"), encoding="utf-8") as handle:
        blocks = re.findall(r"```yaml\n(.*?)```", handle.read(), re.S)
    return next(block for block in blocks if "roles:" in block and "flaskops.deploy.release" in block)


def test_the_readmes_roles_form_deploys_an_app_changes_nothing_again_and_removes_it(host, apps, tmp_path):
    """The README's `roles:` play, as it is written there, on the inventory's
    flaskops_app (the sample app as hello, which flaskops_apps hid from the site
    playbook): it serves, a second run changes nothing, state absent with
    remove_data takes it all off again, and the other apps never notice."""
    before = {app["name"]: snapshot(host, app["name"]) for app in apps}
    playbook = tmp_path / "roles.yml"
    playbook.write_text(readme_roles_play(), encoding="utf-8")

    first = run_playbook(playbook=str(playbook))
    assert first.returncode == 0, why(first)
    assert http(host, "/whoami", host_header="example.test").json()["greeting"] == "Howdy"
    again = run_playbook(playbook=str(playbook))
    assert again.returncode == 0, why(again)
    assert recap_counts(again.stdout)["changed"] == 0, why(again)

    hello = host.ansible.get_variables()["flaskops_app"]
    gone = run_playbook("-e", json.dumps({"flaskops_app": {**hello, "state": "absent", "remove_data": True}}),
                        playbook=str(playbook))
    assert gone.returncode == 0, why(gone)
    assert not host.file("/srv/hello").exists
    assert not host.user("hello").exists
    assert not host.file("/etc/nginx/sites-available/hello").exists
    assert not host.check_output("find /etc/systemd/system /etc/nginx -name '*hello*'").strip()
    # Its name falls through to the catch-all again: no answer at all.
    assert host.run("curl -s -o /dev/null -w '%{http_code}' -H 'Host: example.test' http://127.0.0.1/").stdout == "000"
    for app in apps:
        assert snapshot(host, app["name"]) == before[app["name"]], app["name"]

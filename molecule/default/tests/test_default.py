"""Behaviour checked on Debian 12 only: reloads, outages, bad input, check mode."""
import base64
import json
import os
import re
import shutil
import socket
import subprocess

import pytest
import websockets.exceptions
import websockets.sync.client

from flaskops_testlib import (  # noqa: F401 (app and unit are fixtures)
    app, children, http, main_pid, pidfile_of, recap_counts, run_playbook, unit, wait_for, why,
)


def test_reload_keeps_the_master_and_replaces_the_workers(host, app, unit):
    master = main_pid(host, unit)
    before = children(host, master)
    assert before

    host.run_expect([0], f"systemctl reload {unit}")

    def replaced():
        now = children(host, master)
        return now if len(now) == len(before) and now.isdisjoint(before) else None

    after = wait_for(replaced, timeout=60)
    assert after, f"workers were not replaced: before {before}, now {children(host, master)}"
    assert main_pid(host, unit) == master
    pidfile = host.file(pidfile_of(host, app)).content_string
    assert int(pidfile) == master
    assert http(host, "/", host_header=app["domain"]).status == 200


def test_nginx_serves_static_files_without_the_app(host, app, unit):
    socket = unit.replace(".service", ".socket")
    host.run_expect([0], f"systemctl stop {socket} {unit}")
    try:
        static = http(host, "/static/hello.txt", host_header=app["domain"])
        dynamic = http(host, "/", host_header=app["domain"])
    finally:
        host.run_expect([0], f"systemctl start {socket} {unit}")
    assert static.status == 200 and "static hello" in static.body
    assert dynamic.status == 502
    assert wait_for(lambda: http(host, "/", host_header=app["domain"]).status == 200)


# Each bad run also asks for a change the roles would make if they ran (a new
# greeting in the app's environment), so "nothing changed" means something.
UNWANTED = {"HELLO_GREETING": "This must never be deployed"}

BAD_INPUT = [
    ("missing name", {"flaskops_app": {"name": None}}, "name"),
    ("port out of range", {"flaskops_app": {"port": 70000}}, "flaskops_app.port"),
    ("domain with spaces", {"flaskops_app": {"domain": "example test"}}, "flaskops_app.domain"),
    ("domain with a scheme", {"flaskops_app": {"domain": "http://example.test"}}, "flaskops_app.domain"),
    ("public bind", {"flaskops_app": {"address": "0.0.0.0"}}, "flaskops_app.allow_public_bind"),
    ("unknown worker class", {"gunicorn_worker_class": "meinheld"}, "gunicorn_worker_class"),
    ("nginx port out of range", {"nginx_site_listen_port": 99999}, "nginx_site_listen_port"),
    ("host name in the IP allow list", {"gunicorn_ip_address_allow": ["db.example.test"]}, "gunicorn_ip_address_allow"),
    ("bad rate limit", {"nginx_site_rate_limit": "lots"}, "nginx_site_rate_limit"),
    ("header value with a quote", {"nginx_site_security_headers": {"X-Test": 'a"b'}}, "nginx_site_security_headers"),
    # /private/ asks for basic auth (molecule.yml): someone must be able to log in.
    ("basic auth with no user", {"nginx_site_basic_auth_users": {}}, "but nginx_site_basic_auth_users names no user"),
]


@pytest.mark.parametrize("changes, named", [case[1:] for case in BAD_INPUT],
                         ids=[case[0] for case in BAD_INPUT])
def test_bad_input_fails_naming_the_variable_before_any_change(host, app, changes, named):
    app_changes = changes.get("flaskops_app", {})
    bad_app = {**app, **app_changes, "environment": UNWANTED}
    bad_app = {key: value for key, value in bad_app.items() if value is not None}
    extra_vars = {**changes, "flaskops_app": bad_app}

    result = run_playbook("-e", json.dumps(extra_vars))

    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert named in output, output
    assert recap_counts(output).get("changed") == 0, output
    assert UNWANTED["HELLO_GREETING"] not in http(host, "/", host_header=app["domain"]).body


def test_a_site_nginx_rejects_fails_with_nginx_words_and_what_to_do_next(host, app):
    result = run_playbook("-e", json.dumps({"nginx_site_extra_directives": ["flaskops_no_such_directive on;"]}))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "flaskops_no_such_directive" in output, output
    assert "What to do next: nginx -t rejected the configuration" in output, output
    assert recap_counts(output).get("changed") == 0, output
    assert http(host, "/", host_header=app["domain"]).status == 200


def test_check_mode_on_the_converged_host_changes_nothing(host):
    result = run_playbook("--check", "--diff")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert recap_counts(output).get("changed") == 0, output


def test_the_rate_limit_answers_429_past_the_burst(host, app):
    # 120 requests, 30 at a time from one curl (starting a process per request
    # takes long enough on a busy machine for the limit to refill): far past a
    # burst of 10 at 20 r/s.
    target = " -o /dev/null http://127.0.0.1:80/version" * 120
    codes = host.check_output(
        f"curl -s --parallel --parallel-max 30 -w '%{{http_code}}\\n' -H 'Host: {app['domain']}'{target}").split()
    assert len(codes) == 120, codes
    assert codes.count("200") >= 10, codes  # the burst gets through
    assert codes.count("429") >= 10, codes  # the rest is limited
    assert set(codes) == {"200", "429"}, codes
    # The limit is per client and refills: a moment later the app answers again.
    assert wait_for(lambda: http(host, "/version", host_header=app["domain"]).status == 200, timeout=5)


def test_basic_auth_guards_its_path_only(host, app):
    def status(user=None):
        auth = f"-u '{user}' " if user else ""
        return host.check_output(
            f"curl -s -o /dev/null -w '%{{http_code}}' {auth}-H 'Host: {app['domain']}' "
            "http://127.0.0.1:80/private/page")
    assert status() == "401"
    assert status("alice:wrong") == "401"
    assert status("mallory:basic-auth-secret-7f3a") == "401"
    assert status("alice:basic-auth-secret-7f3a") == "404"  # through to the app, which has no such page
    assert http(host, "/", host_header=app["domain"]).status == 200  # the rest of the site is open
    users = host.file("/etc/nginx/flaskops/hello.htpasswd")
    assert users.mode == 0o640 and users.group == "www-data"
    assert users.content_string.startswith("alice:$6$")
    assert "basic-auth-secret" not in users.content_string


def test_secrets_never_appear_in_verbose_output(host):
    result = run_playbook("-v")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert recap_counts(output).get("changed") == 0, output  # and nothing was rehashed
    for secret in ("basic-auth-secret-7f3a", "env-secret-91c2"):
        assert secret not in output


def test_a_path_without_buffering_streams_the_events_as_the_app_sends_them(host, app):
    """/stream has buffering: false and read_timeout: 2 (flaskops_app.paths): four
    lines a second apart reach a browser-like client (gzip accepted, an HTML page,
    which nginx compresses) one by one, and a stream that stays silent for 3 s is
    cut. (With nginx's buffering and gzip both on, all four came at the end.)"""
    def arrivals(gap):
        out = host.check_output(
            f"curl -sN --compressed --max-time 20 -H 'Host: {app['domain']}' "
            f"'http://127.0.0.1:80/stream?gap={gap}&html=1' "
            "| while IFS= read -r line; do [ -n \"$line\" ] && echo \"$(date +%s.%N) $line\"; done; true")
        return [(float(stamp), event) for stamp, event in (line.split(" ", 1) for line in out.splitlines())]
    events = arrivals(1)
    assert [event for _, event in events] == ["data: 1", "data: 2", "data: 3", "data: 4"], events
    assert events[-1][0] - events[0][0] >= 2.5, events  # the first came while the app still wrote
    assert [event for _, event in arrivals(3)] == ["data: 1"]


def test_a_paths_headers_come_with_the_sites_own(host, app):
    version = http(host, "/version", host_header=app["domain"])
    assert version.headers.get("cache-control") == "public, max-age=60", version.headers
    assert version.headers.get("x-content-type-options") == "nosniff", version.headers
    assert "cache-control" not in http(host, "/whoami", host_header=app["domain"]).headers


def test_a_paths_body_limit_applies_there_only(host, app):
    def post(path, size):
        return host.check_output(
            f"head -c {size} /dev/zero | curl -s -o /dev/null -w '%{{http_code}}' -u alice:basic-auth-secret-7f3a "
            f"-H 'Host: {app['domain']}' --data-binary @- http://127.0.0.1:80{path}")
    assert post("/private/upload", 2048) == "413"  # body_limit: 1k
    assert post("/private/upload", 512) == "404"  # through to the app
    assert post("/version", 2048) == "405"  # the site's 10m elsewhere


def test_a_websocket_path_passes_the_upgrade_and_messages_both_ways(host, app):
    """/echo has websocket: true: a real client (the websockets library) talks to
    the sample app's echo through nginx, from outside the container; on a path
    without it the upgrade never reaches the app."""
    address = host.check_output("hostname -I").split()[0]

    def open_socket(path):
        raw = socket.create_connection((address, 80), timeout=10)
        return websockets.sync.client.connect(f"ws://{app['domain']}{path}", sock=raw, open_timeout=10)

    with open_socket("/echo") as websocket:
        for message in ("hello", "x" * 70000, b"\x00\x01 bytes"):
            websocket.send(message)
            assert websocket.recv(timeout=10) == message
    with pytest.raises(websockets.exceptions.InvalidStatus):
        open_socket("/whoami").close()


def test_text_goes_out_compressed_and_a_precompressed_static_file_as_it_is(host, app):
    def fetch(path, *options):
        return host.check_output(
            "curl -s -D /tmp/gzip-head -o /tmp/gzip-body -w '%{size_download}' "
            f"{' '.join(options)} -H 'Host: {app['domain']}' http://127.0.0.1:80{path}")
    plain = int(fetch("/headers"))
    packed = int(fetch("/headers", "-H 'Accept-Encoding: gzip'"))
    head = host.file("/tmp/gzip-head").content_string.lower()
    assert "content-encoding: gzip" in head and "vary: accept-encoding" in head, head
    assert packed < plain * 0.8, (packed, plain)  # bytes on the wire, the app's JSON

    static = host.check_output("readlink -f /srv/hello/current/src/static")
    host.run_expect([0], f"printf 'precompressed hello' | gzip -9 > {static}/hello.txt.gz")
    try:
        assert host.check_output(f"curl -s --compressed -H 'Host: {app['domain']}' "
                                 "http://127.0.0.1:80/static/hello.txt") == "precompressed hello"
        assert "static hello" in http(host, "/static/hello.txt", host_header=app["domain"]).body
    finally:
        host.run_expect([0], f"rm -f {static}/hello.txt.gz")


def test_behind_a_managed_balancer_the_app_sees_the_balancers_client(host, app):
    """127.0.0.3 is a load balancer in front (nginx_site_real_ip_from): the client it
    names, and the scheme and port the client used, reach the app; the same headers
    from anybody else (127.0.0.2) change nothing."""
    forwarded = {"X-Forwarded-For": "203.0.113.9, 198.51.100.7",
                 "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"}
    seen = http(host, "/whoami", host_header=app["domain"], interface="127.0.0.3", headers=forwarded).json()
    assert seen["remote_addr"] == "198.51.100.7", seen  # the balancer's client, not what it was told
    assert seen["scheme"] == "https", seen
    assert seen["external_url"] == f"https://{app['domain']}/whoami", seen
    raw = http(host, "/headers", host_header=app["domain"], interface="127.0.0.3", headers=forwarded).json()
    # The chain the app gets holds no address the balancer was told by its client.
    assert raw["HTTP_X_FORWARDED_FOR"] == "198.51.100.7", raw
    assert raw["HTTP_HOST"] == app["domain"] and "HTTP_X_FORWARDED_PORT" not in raw, raw  # https's own port
    redirect = http(host, "/x?y=1", host_header=f"www.{app['domain']}", interface="127.0.0.3", headers=forwarded)
    assert redirect.headers["location"] == f"https://{app['domain']}/x?y=1"

    seen = http(host, "/whoami", host_header=app["domain"], interface="127.0.0.2", headers=forwarded).json()
    assert seen["remote_addr"] == "127.0.0.2" and seen["scheme"] == "http", seen


def test_the_built_collection_installed_from_its_tarball_deploys_by_fqcn(host, tmp_path):  # pylint: disable=unused-argument
    """What users install: `ansible-galaxy collection build`, installed into a fresh
    collections path (not this checkout), runs flaskops.deploy.site by its FQCN
    against the converged host and changes nothing."""
    project = os.environ["MOLECULE_PROJECT_DIRECTORY"]
    installed = tmp_path / "collections"
    # A user's shell: none of the ANSIBLE_* settings the verifier runs with (whose
    # collections path holds this checkout, so galaxy would see it installed).
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(installed), ANSIBLE_FORCE_COLOR="0")
    galaxy = shutil.which("ansible-galaxy")
    subprocess.run([galaxy, "collection", "build", "--output-path", str(tmp_path), project],
                   env=env, check=True, capture_output=True, text=True)
    (tarball,) = tmp_path.glob("flaskops-deploy-*.tar.gz")
    subprocess.run([galaxy, "collection", "install", "--force", "-p", str(installed), str(tarball)],
                   env=env, check=True, capture_output=True, text=True)
    # Which copy Ansible finds: the role's path, as ansible-doc reports it.
    doc = subprocess.run([shutil.which("ansible-doc"), "-t", "role", "-j", "flaskops.deploy.app"], env=env,
                         capture_output=True, text=True, check=False)
    assert doc.returncode == 0, why(doc)
    found = json.loads(doc.stdout)["flaskops.deploy.app"]["path"]
    assert found.startswith(str(installed)) and not found.startswith(project), found
    inventory = os.path.dirname(os.environ["MOLECULE_INVENTORY_FILE"])
    result = subprocess.run(["ansible-playbook", "-i", inventory, "flaskops.deploy.site"], env=env,
                            capture_output=True, text=True, check=False, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert recap_counts(result.stdout).get("changed") == 0, output


def maintenance(*args):
    result = run_playbook(*args, playbook="flaskops.deploy.maintenance")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return recap_counts(output)


def test_maintenance_mode_answers_503_but_to_the_health_check_and_allowed_clients(host, app):
    allowed = json.dumps({"nginx_site_maintenance_allow": ["127.0.0.2"]})
    try:
        assert maintenance("-e", "nginx_site_maintenance=on", "-e", allowed)["changed"] > 0
        page = http(host, "/whoami", host_header=app["domain"])
        assert page.status == 503, page
        assert page.headers.get("retry-after") == "300", page.headers
        assert "Down for maintenance" in page.body, page.body
        assert http(host, "/", host_header=app["domain"]).status == 503
        assert app["health_check"]["path"] == "/health"
        assert http(host, "/health", host_header=app["domain"]).status == 200
        assert http(host, "/whoami", host_header=app["domain"], interface="127.0.0.2").status == 200
        # Asking again changes nothing; check mode turning it off changes nothing either.
        assert maintenance("-e", "nginx_site_maintenance=on", "-e", allowed)["changed"] == 0
        assert maintenance("--check", "-e", "nginx_site_maintenance=off")["changed"] > 0
        assert http(host, "/whoami", host_header=app["domain"]).status == 503
        # A deploy during maintenance keeps it on, and changes nothing.
        result = run_playbook("-e", allowed)
        assert result.returncode == 0, result.stdout
        assert recap_counts(result.stdout)["changed"] == 0, result.stdout
        assert http(host, "/whoami", host_header=app["domain"]).status == 503
    finally:
        maintenance("-e", "nginx_site_maintenance=off")
    assert http(host, "/whoami", host_header=app["domain"]).status == 200
    assert not host.file("/etc/nginx/flaskops/hello.maintenance.html").exists
    assert maintenance("-e", "nginx_site_maintenance=off")["changed"] == 0


def test_status_shows_what_serves_in_text_and_json_and_changes_nothing(host, app, tmp_path):
    release = os.path.basename(host.check_output("readlink /srv/hello/current"))
    result = run_playbook("--check", playbook="flaskops.deploy.status")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert recap_counts(output)["changed"] == 0, output
    assert f"hello ({app['domain']}) on flaskops-default" in output, output
    assert f"serving   {release}, built " in output, output
    assert "health    200 in " in output, output
    assert f"unit      flaskops-hello@{release}.service: active (running) since " in output, output
    assert "site      enabled, maintenance off" in output, output

    result = run_playbook("-e", "flaskops_status_format=json", "-e", f"flaskops_status_dir={tmp_path}",
                          playbook="flaskops.deploy.status")
    assert result.returncode == 0, why(result)
    report = json.loads((tmp_path / "flaskops-default.json").read_text())
    assert report["host"] == "flaskops-default"
    (hello,) = report["apps"]
    assert hello["serving"]["id"] == release and hello["health"]["status"] == 200, hello
    assert hello["serving"]["source"].startswith("local:") and hello["serving"]["checked"], hello
    pid = host.check_output(f"systemctl show -P MainPID flaskops-hello@{release}.service")
    service = [unit for unit in hello["units"] if unit["unit"] == f"flaskops-hello@{release}.service"]
    assert service and service[0]["main_pid"] == int(pid) and service[0]["uptime_s"] >= 0, hello["units"]
    assert [r["id"] for r in hello["releases"] if r["serving"]] == [release], hello["releases"]


def test_logs_show_the_apps_journal_with_host_and_unit(host):
    release = os.path.basename(host.check_output("readlink /srv/hello/current"))
    host.run_expect([0], f"systemctl reload flaskops-hello@{release}.service")  # Gunicorn logs the HUP
    result = run_playbook("-e", "flaskops_logs_lines=400", playbook="flaskops.deploy.logs")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert recap_counts(output)["changed"] == 0, output
    # Ansible's output folds long lines: read it as one.
    assert re.search(rf"\S+Z flaskops-default flaskops-hello@{release}\.service: [^']*Handling signal: hup",
                     " ".join(output.split()), re.I), output


def test_an_alias_is_the_site_itself_and_other_names_are_not(host, app):
    seen = http(host, "/whoami", host_header="hello.internal").json()
    assert seen["host"] == "hello.internal", seen  # served as itself, not redirected
    assert http(host, "/whoami", host_header=app["domain"]).status == 200
    refused = host.run("curl -sS -o /dev/null -H 'Host: other.internal' http://127.0.0.1:80/")
    assert refused.rc != 0, refused.stdout  # the catch-all closes the connection (444)


def write(host, path, content):
    encoded = base64.b64encode(content.encode()).decode()
    host.run_expect([0], f"echo {encoded} | base64 -d > {path}")


def test_nginx_conf_is_the_roles_on_a_fresh_host_and_a_changed_one_is_left_alone(host):
    conf = "/etc/nginx/nginx.conf"
    ours = host.file(conf).content_string
    # nginx_site_manage_nginx_conf unset: the fresh host's stock file became the role's.
    assert "# Written by flaskops.deploy.nginx_site" in ours and "TLSv1.1" not in ours
    changed = ours.replace("# Written by flaskops.deploy.nginx_site", "# Changed by hand; was written by the role")
    write(host, conf, changed)
    try:
        result = run_playbook()
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        said = " ".join(output.split())
        # (YAML output doubles the apostrophe of Debian's.)
        assert "nginx.conf is not Debian" in said and "(someone changed it): left as it is" in said, output
        assert recap_counts(output).get("changed") == 0, output
        assert host.file(conf).content_string == changed
    finally:
        write(host, conf, ours)


def test_nginx_in_its_sandbox_writes_only_where_it_is_allowed_to(host, app):
    """A site of the user's own that logs outside nginx's directories: its reload is
    refused (nginx -t inside the sandbox), naming the variable, and nginx keeps
    serving; with the path in nginx_site_read_write_paths, nginx logs there."""
    other = "/etc/nginx/conf.d/zz-other-site.conf"
    host.check_output("mkdir -p /srv/other-logs")
    write(host, other, "access_log /srv/other-logs/access.log;\n")
    try:
        refused = host.run("/usr/local/sbin/flaskops-reload-nginx")
        assert refused.rc != 0, refused
        assert "Read-only file system" in refused.stderr and "nginx_site_read_write_paths" in refused.stderr, refused
        assert http(host, "/", host_header=app["domain"]).status == 200
        result = run_playbook("-e", json.dumps({"nginx_site_read_write_paths": ["/srv/other-logs"]}))
        assert result.returncode == 0, why(result)
        assert http(host, "/", host_header=app["domain"]).status == 200
        assert host.file("/srv/other-logs/access.log").exists
    finally:
        host.check_output(f"rm -f {other}")
        result = run_playbook()
        assert result.returncode == 0, why(result)
        host.check_output("rm -rf /srv/other-logs")

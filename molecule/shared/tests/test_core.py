"""What every scenario promises a user, checked from inside the converged host."""
import json
import os
import re
import subprocess
import sys

import pytest

from flaskops_testlib import (  # noqa: F401 (app and unit are fixtures)
    app, children, http, main_pid, pidfile_of, quoted, release_of, site_scheme, site_target, socket_of, unit,
)


def test_app_service_is_running_and_enabled(host, unit):
    service = host.service(unit)
    assert service.is_running
    assert service.is_enabled


def test_pidfile_is_the_gunicorn_master_systemd_tracks(host, app, unit):
    master = main_pid(host, unit)
    assert master > 0
    pidfile = host.file(pidfile_of(host, app)).content_string.strip()
    assert int(pidfile) == master
    cmdline = host.file(f"/proc/{master}/cmdline").content_string.replace("\0", " ")
    assert f"/srv/{app['name']}/releases/{release_of(host, app)}/venv/bin/gunicorn" in cmdline
    assert host.process.get(pid=master).user == app["name"]
    assert children(host, master), "the master has no workers"


def test_gunicorn_listens_on_its_release_socket_only(host, app):
    """nginx on the host reaches the release that serves on its own unix socket
    (only nginx's group may connect); nothing listens on a TCP port for it."""
    socket = host.file(socket_of(host, app))
    assert socket.is_socket and socket.user == "root" and socket.group == "www-data" and socket.mode == 0o660
    port = app.get("port", 8000)
    listening = host.check_output(f"ss -Hltn 'sport = :{port}'")
    assert not listening.strip(), f"something listens on port {port}: {listening}"
    # From the host's own network address: nginx answers, Gunicorn is not there.
    address = host.check_output("hostname -I").split()[0]
    assert host.run(f"curl -sS -o /dev/null --max-time 5 -H 'Host: {app['domain']}' http://{address}:80/").rc == 0
    assert host.run(f"curl -sS -o /dev/null --max-time 5 http://{address}:{port}/").rc == 7


def test_nginx_serves_the_app(host, app):
    response = http(host, "/", host_header=app["domain"])
    assert response.status == 200
    # The greeting comes from the app's environment (flaskops_app.environment).
    greeting = (app.get("environment") or {}).get("HELLO_GREETING", "Hello")
    assert f"{greeting} from flaskops.deploy" in response.body


def test_only_the_app_user_can_read_the_environment_file(host, app):
    # Part of the release being served (a rollback brings back the environment it ran with).
    env_file = f"/srv/{app['name']}/current/environment"
    assert host.run(f"runuser -u {app['name']} -- cat {env_file}").rc == 0
    # Neither another account nor nginx's user may read the app's secrets.
    for other in ("nobody", "www-data"):
        assert host.run(f"runuser -u {other} -- cat {env_file}").rc != 0, other
    assert host.file(env_file).mode == 0o600


def test_www_redirects_to_the_apex_keeping_path_and_query(host, app):
    response = http(host, "/same/path?same=query", host_header=f"www.{app['domain']}")
    assert response.status == 301
    assert response.headers["location"] == f"{site_scheme(host)}://{app['domain']}/same/path?same=query"


def test_app_sees_the_client_address_scheme_and_host(host, app):
    # The client is 127.0.0.2; nginx reaches Gunicorn from 127.0.0.1.
    seen = http(host, "/whoami", host_header=app["domain"], interface="127.0.0.2").json()
    assert seen["remote_addr"] == "127.0.0.2"
    assert seen["scheme"] == site_scheme(host)
    assert seen["host"] == app["domain"]
    assert seen["external_url"] == f"{site_scheme(host)}://{app['domain']}/whoami"


def test_a_forged_forwarded_for_does_not_become_the_client_address(host, app):
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Prefix": "/evil",
              "X-Forwarded-Ssl": "on", "X-Forwarded-Proto": "https"}
    response = http(host, "/whoami", host_header=app["domain"], interface="127.0.0.2",
                    headers=forged)
    assert response.status == 200
    seen = response.json()
    assert seen["remote_addr"] == "127.0.0.2"
    assert seen["scheme"] == site_scheme(host)
    assert seen["external_url"] == f"{site_scheme(host)}://{app['domain']}/whoami"


def test_the_app_gets_no_forwarding_header_a_client_sent(host, app):
    """The raw headers in the app's WSGI environ: what a library reading
    X-Forwarded-For itself would believe, and the Host with no port added."""
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "evil.test", "X-Forwarded-Port": "8443",
              "X-Forwarded-Prefix": "/evil", "X-Forwarded-Ssl": "on", "Forwarded": "for=203.0.113.9"}
    seen = http(host, "/headers", host_header=app["domain"], interface="127.0.0.2", headers=forged).json()
    assert seen["HTTP_X_FORWARDED_FOR"] == "127.0.0.2", seen
    assert seen["HTTP_X_REAL_IP"] == "127.0.0.2", seen
    assert seen["HTTP_X_FORWARDED_HOST"] == app["domain"], seen
    assert seen["HTTP_HOST"] == app["domain"], seen  # no ":80" or ":443"
    assert seen["HTTP_X_FORWARDED_PROTO"] == seen["wsgi.url_scheme"] == site_scheme(host), seen
    assert "HTTP_X_FORWARDED_PORT" not in seen, seen  # the scheme's default port
    for forgeable in ("HTTP_X_FORWARDED_PREFIX", "HTTP_X_FORWARDED_SSL", "HTTP_FORWARDED"):
        assert forgeable not in seen, seen


def test_static_files_come_from_the_static_folder(host, app):
    if app.get("static_dir", "static") == "" or app["source"]["type"] not in ("local", "git"):
        pytest.skip("this host's app has no static folder (none set, or installed as a package)")
    response = http(host, "/static/hello.txt", host_header=app["domain"])
    assert response.status == 200
    assert "static hello" in response.body
    assert "max-age=3600" in response.headers.get("cache-control", "")


def test_site_is_enabled_by_a_link_to_sites_available(host, app):
    enabled = host.file(f"/etc/nginx/sites-enabled/{app['name']}")
    assert enabled.is_symlink
    assert enabled.linked_to == f"/etc/nginx/sites-available/{app['name']}"


def test_gunicorn_logs_to_the_journal(host, unit):
    journal = host.check_output(f"journalctl -u {unit} --no-pager -o cat")
    assert "Booting worker" in journal


def test_an_unknown_host_never_reaches_the_app(host, app):
    settings = host.ansible.get_variables()
    catch_all = settings.get("nginx_site_catch_all", True)
    disable = settings.get("nginx_site_disable_default", False)
    debian_default = host.file("/etc/nginx/sites-enabled/default").exists
    assert debian_default == (not catch_all and not disable)
    fetch = ("curl -sS --max-time 5 -o /tmp/unknown.out -w '%{http_code}' "
             "-H 'Host: unknown.invalid' http://127.0.0.1:80/")
    result = host.run(fetch)
    if catch_all:
        # 444: nginx closes the connection without an answer (curl: empty reply).
        assert result.rc == 52, (result.rc, result.stdout, result.stderr)
    elif debian_default:
        assert result.rc == 0 and result.stdout == "200"
        assert "Welcome to nginx" in host.file("/tmp/unknown.out").content_string


def test_nginx_hides_its_version_and_adds_the_security_headers(host, app):
    for path in ("/", "/static/hello.txt", "/no-such-page"):
        response = http(host, path, host_header=app["domain"])
        assert response.headers["server"] == "nginx", response.headers
        expected = host.ansible.get_variables().get("nginx_site_security_headers", {
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "SAMEORIGIN",
            "Referrer-Policy": "strict-origin-when-cross-origin",
        })
        for name, value in expected.items():
            assert response.headers.get(name.lower()) == value, (path, response.headers)


def test_a_body_over_the_limit_is_refused_before_the_app(host, app):
    limit = host.ansible.get_variables().get("nginx_site_client_max_body_size", "10m")
    assert limit == "10m", "this test sends 11 MB"
    status = host.check_output(
        "head -c 11000000 /dev/zero | curl -sS -o /dev/null -w '%{http_code}' --data-binary @- "
        + quoted(site_target(host, app["domain"], "/whoami")))
    assert status == "413"


def test_the_app_runs_sandboxed(host, app, unit):
    # What the running Gunicorn master is allowed, read from the kernel's view of it.
    pid = main_pid(host, unit)
    status = host.file(f"/proc/{pid}/status").content_string
    assert re.search(r"^NoNewPrivs:\s+1$", status, re.M), status
    assert re.search(r"^Seccomp:\s+2$", status, re.M), status  # a system call filter
    assert re.search(r"^CapEff:\s+0+$", status, re.M), status
    mounts = {}
    for line in host.file(f"/proc/{pid}/mountinfo").content_string.splitlines():
        fields = line.split()
        mounts[fields[4]] = (fields[3], fields[5].split(","))
    assert "ro" in mounts["/"][1], mounts["/"]  # the system and the code are read-only
    shared = f"{app.get('root') or '/srv/' + app['name']}/shared"
    assert "rw" in mounts[shared][1], mounts.get(shared)  # ...but for the shared directory
    assert "systemd-private" in mounts["/tmp"][0], mounts.get("/tmp")  # a /tmp of its own
    assert "inaccessible" in mounts["/home"][0], mounts.get("/home")
    # A user namespace of its own (the scenarios' containers have CAP_SYS_PTRACE, as a
    # virtual machine's systemd does): root and the app user map to themselves, nobody else.
    uid_map = host.file(f"/proc/{pid}/uid_map").content_string.split()
    assert uid_map != ["0", "0", "4294967295"], uid_map
    # systemd's own rating of the unit: 0 is locked down, 10 is wide open.
    report = host.check_output(f"systemd-analyze security --no-pager {unit}")
    exposure = float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", report).group(1))
    assert exposure <= 1.0, report


# Sent from a process put into the app's own control group, where systemd's IP
# filter (IPAddressAllow=, IPAddressDeny=any) applies: a UDP datagram to an address
# the filter drops fails at once with EPERM (1), one it lets through is sent.
SEND_PROBE = """
import socket
for address in ("127.0.0.1", "10.255.255.1", "198.51.100.7"):
    try:
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", (address, 9))
        print(address, "sent")
    except OSError as error:
        print(address, error.errno)
"""


def test_the_app_reaches_localhost_and_private_networks_but_not_the_internet(host, unit):
    """gunicorn_ip_address_allow, by default the private networks (and always
    localhost): the app's unit may send to 10.0.0.0/8, not to 198.51.100.7."""
    allowed = host.ansible.get_variables().get("gunicorn_ip_address_allow", ["10.0.0.0/8"])
    if "any" in allowed:
        pytest.skip("this host's apps have no IP allow list")
    group = host.check_output(f"systemctl show -p ControlGroup --value {unit}")
    # Debian 12 hosts have the unified hierarchy at /sys/fs/cgroup; a hybrid one
    # (this machine's Docker) keeps it at /sys/fs/cgroup/unified.
    script = ('d=/sys/fs/cgroup/unified"$1"; [ -d "$d" ] || d=/sys/fs/cgroup"$1"; '
              'echo $$ > "$d/cgroup.procs" && exec python3 -c "$2"')
    sent = dict(line.split() for line in host.check_output(
        quoted(["sh", "-c", script, "sh", group, SEND_PROBE])).splitlines())
    assert sent == {"127.0.0.1": "sent", "10.255.255.1": "sent", "198.51.100.7": "1"}, sent


def test_nginx_runs_sandboxed(host):
    """nginx.service's drop-in (nginx_site_sandbox): its master keeps root but only the
    capabilities nginx uses, cannot gain privileges, and sees the system read-only
    except where it writes; systemd rates it 2.6 (Debian's own unit: 9.6)."""
    master = int(host.file("/run/nginx.pid").content_string.strip())
    status = host.file(f"/proc/{master}/status").content_string
    assert re.search(r"^NoNewPrivs:\s+1$", status, re.M), status
    # CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_SETGID, CAP_SETUID, CAP_NET_BIND_SERVICE: bits 0, 1, 6, 7, 10.
    effective = int(re.search(r"^CapEff:\s+([0-9a-f]+)$", status, re.M).group(1), 16)
    assert effective == (1 << 0) | (1 << 1) | (1 << 6) | (1 << 7) | (1 << 10), status
    mounts = {}
    for line in host.file(f"/proc/{master}/mountinfo").content_string.splitlines():
        fields = line.split()
        mounts[fields[4]] = fields[5].split(",")
    assert "ro" in mounts["/"], mounts["/"]
    assert "rw" in mounts["/var/log/nginx"], mounts.get("/var/log/nginx")
    report = host.check_output("systemd-analyze security --no-pager nginx.service")
    exposure = float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", report).group(1))
    assert exposure <= 3.0, report


def test_gixy_finds_nothing_medium_or_high_in_the_whole_nginx_configuration(host, tmp_path):
    dump = tmp_path / "nginx-T.conf"
    dump.write_text(host.check_output("nginx -T 2>/dev/null"))
    gixy = os.path.join(os.path.dirname(sys.executable), "gixy")
    result = subprocess.run([gixy, "-ll", "-f", "json", str(dump)],
                            capture_output=True, text=True, check=False, timeout=120)
    findings = json.loads(result.stdout or "[]")
    # Debian's own files, where the roles are told to leave them alone, are
    # Debian's business: its nginx.conf (reported as the dump itself) with
    # nginx_site_manage_nginx_conf false, and its default site where it is still
    # enabled. Unset (the default), the role writes nginx.conf on a fresh host.
    debian = {"/etc/nginx/sites-enabled/default"}
    if host.ansible.get_variables().get("nginx_site_manage_nginx_conf") is False:
        debian.add(str(dump))
    serious = [f for f in findings if f["severity"] in ("MEDIUM", "HIGH") and f["file"] not in debian]
    assert not serious, json.dumps(serious, indent=1)

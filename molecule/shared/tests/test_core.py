"""What every scenario promises a user, checked from inside the converged host."""
import pytest

from flaskops_testlib import app, children, http, main_pid, unit  # noqa: F401 (fixtures)


def test_app_service_is_running_and_enabled(host, unit):
    service = host.service(unit)
    assert service.is_running
    assert service.is_enabled


def test_pidfile_is_the_gunicorn_master_systemd_tracks(host, app, unit):
    master = main_pid(host, unit)
    assert master > 0
    pidfile = host.file(f"/run/flaskops-{app['name']}/gunicorn.pid").content_string.strip()
    assert int(pidfile) == master
    cmdline = host.file(f"/proc/{master}/cmdline").content_string.replace("\0", " ")
    assert f"/srv/{app['name']}/current/venv/bin/gunicorn" in cmdline
    assert host.process.get(pid=master).user == app["name"]
    assert children(host, master), "the master has no workers"


def test_gunicorn_listens_on_loopback_or_its_unix_socket_only(host, app):
    port = app.get("port", 8000)
    listening = [line.split()[3] for line in host.check_output(f"ss -Hltn 'sport = :{port}'").splitlines()]
    if app.get("unix_socket"):
        assert host.file(f"/run/flaskops-{app['name']}.sock").is_socket
        assert not listening, f"Gunicorn has a unix socket but also listens on {listening}"
    else:
        assert listening, f"nothing listens on port {port}"
        assert all(addr.startswith(("127.0.0.1:", "[::1]:")) for addr in listening), listening
    # From the host's own network address: nginx answers, Gunicorn refuses.
    address = host.check_output("hostname -I").split()[0]
    assert host.run(f"curl -sS -o /dev/null --max-time 5 http://{address}:80/").rc == 0
    assert host.run(f"curl -sS -o /dev/null --max-time 5 http://{address}:{port}/").rc == 7


def test_nginx_serves_the_app(host, app):
    response = http(host, "/", host_header=app["domain"])
    assert response.status == 200
    # The greeting comes from the app's environment (flaskops_app.environment).
    assert "Howdy from flaskops.deploy" in response.body


def test_only_the_app_user_can_read_the_environment_file(host, app):
    env_file = f"/etc/flaskops/{app['name']}/environment"
    assert host.run(f"runuser -u {app['name']} -- cat {env_file}").rc == 0
    # Neither another account nor nginx's user may read the app's secrets.
    for other in ("nobody", "www-data"):
        assert host.run(f"runuser -u {other} -- cat {env_file}").rc != 0, other
    assert host.file(env_file).mode == 0o600


def test_www_redirects_to_the_apex_keeping_path_and_query(host, app):
    response = http(host, "/same/path?same=query", host_header=f"www.{app['domain']}")
    assert response.status == 301
    assert response.headers["location"] == f"http://{app['domain']}/same/path?same=query"


def test_app_sees_the_client_address_scheme_and_host(host, app):
    # The client is 127.0.0.2; nginx reaches Gunicorn from 127.0.0.1.
    seen = http(host, "/whoami", host_header=app["domain"], interface="127.0.0.2").json()
    assert seen["remote_addr"] == "127.0.0.2"
    assert seen["scheme"] == "http"
    assert seen["host"] == app["domain"]
    assert seen["external_url"] == f"http://{app['domain']}/whoami"


def test_a_forged_forwarded_for_does_not_become_the_client_address(host, app):
    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Prefix": "/evil",
              "X-Forwarded-Ssl": "on", "X-Forwarded-Proto": "https"}
    response = http(host, "/whoami", host_header=app["domain"], interface="127.0.0.2",
                    headers=forged)
    assert response.status == 200
    seen = response.json()
    assert seen["remote_addr"] == "127.0.0.2"
    assert seen["scheme"] == "http"
    assert seen["external_url"] == f"http://{app['domain']}/whoami"


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


def test_debian_default_site_is_removed_only_when_asked(host):
    disable = host.ansible.get_variables().get("nginx_site_disable_default", False)
    enabled = host.file("/etc/nginx/sites-enabled/default").exists
    unknown = http(host, "/", host_header="unknown.invalid")
    if disable:
        assert not enabled
        assert "Welcome to nginx" not in unknown.body
    else:
        assert enabled
        assert "Welcome to nginx" in unknown.body

"""Over SSH as a sudo user, the way a fresh cloud instance is reached: the
connection is what it claims to be, and the deployed app answers through nginx.

Every command here goes over the scenario's SSH connection too (testinfra's
ansible backend reads the same inventory).
"""
import json
import subprocess

from flaskops_testlib import app, http, main_pid, run_playbook, unit, why  # noqa: F401  (fixtures)


def test_the_connection_is_ssh_as_the_unprivileged_user(host):
    assert host.check_output("id -un") == "admin"
    # sshd sets SSH_CONNECTION for a session: client address and port, server address and port.
    client, _, _, server_port = host.check_output("echo $SSH_CONNECTION").split()
    assert server_port == "22" and client
    # Root only through sudo, without a password (as on Debian's EC2 images).
    assert host.check_output("sudo -n id -un") == "root"
    assert host.run("cat /srv/hello/current/environment").rc != 0


def test_sshd_is_published_on_loopback_only():
    result = subprocess.run(["docker", "port", "flaskops-ssh", "22/tcp"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["127.0.0.1:22022"]


def test_sshd_takes_keys_only():
    config = subprocess.run(["docker", "exec", "flaskops-ssh", "sshd", "-T"],
                            capture_output=True, text=True, check=True).stdout
    assert "passwordauthentication no" in config
    assert "permitrootlogin no" in config


def test_the_app_answers_through_nginx(host, app):  # noqa: F811
    response = http(host, "/", host_header=app["domain"])
    assert response.status == 200
    assert app["environment"]["HELLO_GREETING"] in response.body


def test_the_service_runs_as_the_app_user_under_systemd(host, unit):  # noqa: F811
    pid = main_pid(host, unit)
    assert pid > 0
    assert host.check_output(f"ps -o user= -p {pid}") == "hello"


def test_the_site_on_another_port_is_checked_there_from_inventory_and_from_e(host, app, tmp_path):  # noqa: F811
    """nginx_site_listen_port alone moves the site, and the health check of the new
    release follows it: set in inventory (a number), then with -e key=value (a
    string), then with a boolean as -e key=value text too (nginx_site_listen_ipv6=false:
    the text "false" is false, not a non-empty string). Each run deploys a new
    release (a new greeting), checked through nginx."""
    inventory = tmp_path / "port.yml"
    inventory.write_text("flaskops:\n  hosts:\n    flaskops-ssh:\n      nginx_site_listen_port: 8081\n")
    for port, where, ipv6 in ((8081, ["-i", str(inventory)], True),
                              (8080, ["-e", "nginx_site_listen_port=8080"], True),
                              (8082, ["-e", "nginx_site_listen_port=8082", "-e", "nginx_site_listen_ipv6=false"], False)):
        greeting = f"Hello on {port}"
        definition = {**app, "environment": {**app["environment"], "HELLO_GREETING": greeting}}
        result = run_playbook(*where, "-e", json.dumps({"flaskops_app": definition}))
        assert result.returncode == 0, why(result)
        response = http(host, "/", host_header=app["domain"], port=port)
        assert response.status == 200 and greeting in response.body, response
        listening = host.check_output(f"ss -Hltn 'sport = :{port}'")
        assert ("[::]:" in listening) is ipv6, listening

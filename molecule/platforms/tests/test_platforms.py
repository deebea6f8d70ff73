"""What differs between the source types on each Debian release: shared files,
seeded from the controller, in the place the app looks for them (Flask's
instance folder beside the code of a local source; in the virtualenv of an
installed one, dist on Debian 11 and pip on 13), and the installer that built
the release (pip on Debian 11, uv, the default, elsewhere)."""
import json

from flaskops_testlib import http


def test_a_seeded_shared_file_is_where_the_app_reads_it_whatever_the_source_type(host):
    name = host.backend.get_hostname()
    answer = http(host, "/whoami", host_header="example.test")
    assert answer.status == 200, answer
    assert json.loads(answer.body)["motd"] == f"seeded for {name}"
    # Kept in shared/, owned by root: the app reads it through its group and cannot rewrite it.
    settings = host.check_output("find /srv/hello/shared -name settings.cfg")
    seeded = host.file(settings)
    assert (seeded.user, seeded.group, seeded.mode) == ("root", "hello", 0o640)


def test_the_release_was_built_by_the_hosts_installer(host):
    name = host.backend.get_hostname()
    venv = host.check_output("readlink -f /srv/hello/current") + "/venv"
    if name == "flaskops-bullseye":  # gunicorn_installer: pip
        assert host.file(f"{venv}/bin/pip").exists
        assert not host.file("/var/cache/flaskops/uv").exists
    else:  # uv: no pip in the virtualenv; its packages are hard links into the host's cache
        assert not host.file(f"{venv}/bin/pip").exists
        flask = host.check_output(f"find {venv}/lib -path '*/flask/app.py'")
        assert int(host.check_output(f"stat -c %h {flask}")) > 1
        assert host.check_output(f"find {venv}/lib -path '*/flask/__pycache__/app.*.pyc'")

"""Two well-known apps from PyPI, deployed unchanged beside the sample app on Debian 12
(molecule.yml): Fava, a Flask app from a factory called with its ledger files and a
keyword, whose static files nginx finds in its installed package; and pypiserver, a
Bottle app from a factory with a keyword argument. Each reads a file seeded from the
controller into its shared folder."""
import os
from urllib.parse import urlsplit

from flaskops_testlib import http, quoted, wait_for

testinfra_hosts = ["ansible://flaskops-bookworm"]


def get(host, site, path):
    """GET through nginx, following the app's redirects: (status, final URL, body)."""
    out = host.check_output(quoted(["curl", "-sS", "-L", "--max-time", "20", "-H", f"Host: {site}",
                                    "-w", "\\n%{http_code} %{url_effective}", f"http://127.0.0.1:80{path}"]))
    body, _, last = out.rpartition("\n")
    status, url = last.split(" ", 1)
    return int(status), url, body


def test_fava_from_its_factory_shows_the_seeded_ledger(host):
    status, url, body = get(host, "fava.test", "/")
    assert status == 200, (url, body[:500])
    assert "/seeded-ledger/" in url  # Fava named the ledger after its title
    assert "Seeded ledger" in body, body[:500]


def test_nginx_serves_favas_static_files_from_its_installed_package(host):
    release = host.check_output("readlink -f /srv/fava/current")
    # The build asked the app for its static folder and linked it into the release.
    folder = host.check_output(f"readlink -f {release}/static")
    assert folder.startswith(f"{release}/venv/lib/python3") and folder.endswith("/site-packages/fava/static")
    unit = f"flaskops-fava@{os.path.basename(release)}"
    host.run_expect([0], f"systemctl stop {unit}.socket {unit}.service")
    try:
        static = http(host, "/static/app.css", host_header="fava.test")
        dynamic = http(host, "/", host_header="fava.test")
    finally:
        host.run_expect([0], f"systemctl start {unit}.socket {unit}.service")
    assert static.status == 200 and static.body.strip() == host.check_output(f"cat {folder}/app.css").strip()
    assert dynamic.status == 502
    assert wait_for(lambda: http(host, "/", host_header="fava.test").status == 302)


def test_pypiserver_from_its_factory_lists_the_seeded_package(host):
    status, _, body = get(host, "pypi.test", "/simple/flaskops-seeded/")
    assert status == 200, body
    assert "flaskops_seeded-1.0.tar.gz" in body, body
    # A Bottle app has no Flask static folder to find: nginx sends /static/ to the app.
    assert not host.file(host.check_output("readlink -f /srv/pypi/current") + "/static").exists


def test_favas_pages_reach_the_client_compressed(host):
    _, url, _ = get(host, "fava.test", "/")
    path = urlsplit(url).path  # the page / redirects to

    def size(*options):
        return int(host.check_output(quoted(["curl", "-sS", "-o", "/dev/null", "-D", "/tmp/fava-head", "-w",
                                             "%{size_download}", *options, "-H", "Host: fava.test",
                                             f"http://127.0.0.1:80{path}"])))
    plain = size()
    packed = size("-H", "Accept-Encoding: gzip")
    assert "content-encoding: gzip" in host.file("/tmp/fava-head").content_string.lower()
    assert packed < plain * 0.5, (packed, plain)  # bytes on the wire: Fava's HTML, compressed by nginx

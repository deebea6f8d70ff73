"""TLS as a user sees it: a certificate from the ACME server, redirects to https,
HSTS, the protocols offered, HTTP/2, the app seeing https, renewal by reload;
then self-signed and provided certificates, and an issuance that fails.

The tests run in file order: the later ones redeploy the site.
"""
import json
import re
import subprocess

from flaskops_testlib import app, http, run_playbook, unit, why  # noqa: F401 (fixtures)

DOMAIN = "example.test"


def s_client(host, *options, name=DOMAIN):
    """openssl s_client to the site's HTTPS port on loopback; returns the result."""
    return host.run(
        f"echo | openssl s_client -connect 127.0.0.1:443 -servername {name} {' '.join(options)} 2>&1")


def served_certificate(host, name=DOMAIN):
    """Subject, issuer and serial of the certificate nginx shows for `name`."""
    return host.check_output(
        f"echo | openssl s_client -connect 127.0.0.1:443 -servername {name} 2>/dev/null"
        " | openssl x509 -noout -subject -issuer -serial")


def deploy(app, **tls):  # pylint: disable=redefined-outer-name
    return run_playbook("-e", json.dumps({"flaskops_app": {**app, "tls": tls}}))


def test_the_certificate_is_pebbles_and_verifies(host):
    host.run_expect([0], "curl -sSk https://localhost:15000/roots/0 -o /tmp/pebble-root.pem")
    host.run_expect([0], "curl -sSk https://localhost:15000/intermediates/0 -o /tmp/pebble-intermediate.pem")
    result = s_client(host, "-CAfile /tmp/pebble-root.pem", "-verify_return_error")
    assert "Verify return code: 0 (ok)" in result.stdout, result.stdout
    intermediate = host.check_output("openssl x509 -noout -subject -in /tmp/pebble-intermediate.pem")
    assert intermediate.replace("subject=", "issuer=") in served_certificate(host)
    assert "Pebble" in served_certificate(host)


def test_port_80_redirects_everything_to_https_on_the_apex(host, app):
    for name, path in ((DOMAIN, "/a/path?q=1"), (f"www.{DOMAIN}", "/other?x=y")):
        response = http(host, path, host_header=name, scheme="http")
        assert response.status == 301, (name, response)
        assert response.headers["location"] == f"https://{DOMAIN}{path}", response.headers


def test_www_redirects_to_the_apex_over_https(host):
    response = http(host, "/p?q=1", host_header=f"www.{DOMAIN}", scheme="https")
    assert response.status == 301
    assert response.headers["location"] == f"https://{DOMAIN}/p?q=1"


def test_https_sends_hsts_and_speaks_http2(host, app):
    response = http(host, "/", host_header=DOMAIN)
    assert response.status == 200 and "Howdy" in response.body
    assert response.headers["strict-transport-security"] == "max-age=63072000"
    version = host.check_output(
        f"curl -sk --http2 -o /dev/null -w '%{{http_version}}' --resolve {DOMAIN}:443:127.0.0.1 https://{DOMAIN}/")
    assert version == "2"


def test_the_app_sees_https_and_builds_https_links(host):
    seen = http(host, "/whoami", host_header=DOMAIN).json()
    assert seen["scheme"] == "https"
    assert seen["external_url"] == f"https://{DOMAIN}/whoami"


def test_only_tls_12_and_13_are_accepted(host):
    # The client is told to allow the old protocols (SECLEVEL=0), so a refusal is the server's.
    for old in ("-tls1", "-tls1_1"):
        result = s_client(host, old, "-cipher 'DEFAULT:@SECLEVEL=0'")
        assert result.rc != 0, result.stdout
        assert "no protocols available" not in result.stdout, result.stdout  # not refused by the client
        assert not re.search(r"^New, TLSv1(\.1)?,", result.stdout, re.M), result.stdout
    for good in ("TLSv1.2", "TLSv1.3"):
        result = s_client(host, "-" + good.lower().replace("v", "").replace(".", "_"))
        assert result.rc == 0 and f"New, {good}," in result.stdout, result.stdout


def test_testssl_finds_nothing_rated_high_or_critical(host):
    """testssl.sh (Debian's package, in the container) scans the site as a client on the
    internet would: protocols, cipher categories and order, forward secrecy, the server's
    defaults (certificate, chain of trust to Pebble's root, session resumption), HTTP
    headers (HSTS) and the known vulnerabilities (Heartbleed, CCS, ticketbleed, ROBOT,
    renegotiation, CRIME, BREACH, POODLE, SWEET32, FREAK, DROWN, LOGJAM, BEAST, LUCKY13,
    RC4). Nothing may be rated HIGH or CRITICAL."""
    host.run_expect([0], "curl -sSk https://localhost:15000/roots/0 -o /tmp/pebble-root.pem")
    scan = host.run(f"cd /tmp && rm -f testssl.json && testssl --quiet --color 0 --warnings off --add-ca /tmp/pebble-root.pem"
                    f" --jsonfile /tmp/testssl.json https://{DOMAIN}/")
    findings = json.loads(host.file("/tmp/testssl.json").content_string)
    ids = {finding["id"] for finding in findings}
    # The scan ran to the end: the protocols, the certificate and the vulnerabilities were checked.
    assert {"TLS1_3", "cert_chain_of_trust", "HSTS_time", "heartbleed", "ROBOT", "BREACH"} <= ids, scan.stdout
    bad = [f"{f['severity']} {f['id']}: {f['finding']}" for f in findings if f["severity"] in ("HIGH", "CRITICAL")]
    assert not bad, "\n".join(bad)


def test_an_unknown_name_gets_no_certificate(host):
    result = s_client(host, name="unknown.invalid")
    assert result.rc != 0, result.stdout
    assert "no peer certificate available" in result.stdout, result.stdout


def test_renewal_reloads_nginx_without_restarting_it(host):
    master = host.check_output("cat /run/nginx.pid")
    before = served_certificate(host)
    host.run_expect([0], "certbot renew --force-renewal --cert-name hello --no-random-sleep-on-renew")
    after = served_certificate(host)
    assert after != before  # a new certificate is served...
    assert host.check_output("cat /run/nginx.pid") == master  # ...by the same nginx master


def test_a_self_signed_certificate(host, app):
    result = deploy(app, mode="self_signed")
    assert result.returncode == 0, why(result)
    certificate = served_certificate(host)
    assert f"subject=CN = {DOMAIN}" in certificate and f"issuer=CN = {DOMAIN}" in certificate, certificate
    key = host.file("/etc/flaskops/hello/tls/self-signed-privkey.pem")
    assert key.user == "root" and key.mode == 0o600
    assert http(host, "/", host_header=DOMAIN).status == 200


def test_a_provided_certificate(host, app, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=provided.example.test", "-addext", f"subjectAltName=DNS:{DOMAIN}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    result = deploy(app, mode="provided", certificate=str(cert), private_key=str(key))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "subject=CN = provided.example.test" in served_certificate(host)
    assert "PRIVATE KEY" not in output  # the key is never printed
    key_on_host = host.file("/etc/flaskops/hello/tls/privkey.pem")
    assert key_on_host.user == "root" and key_on_host.mode == 0o600


def test_a_failed_issuance_leaves_the_http_site_serving_and_says_why(host, app):
    # A name that resolves nowhere: Pebble cannot validate it.
    failing = {**app, "domain": "nowhere.test", "www_redirect": False,
               "tls": {"mode": "acme", "acme_directory": "https://localhost:14000/dir"}}
    result = run_playbook("-e", json.dumps({"flaskops_app": failing}))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "did not issue a certificate for nowhere.test" in output, output
    assert "keeps serving plain HTTP" in output, output
    response = http(host, "/", host_header="nowhere.test", scheme="http")
    assert response.status == 200 and "Howdy" in response.body

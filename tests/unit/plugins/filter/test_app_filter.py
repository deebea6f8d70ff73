"""Unit tests for the app_facts / app_problems filters."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.flaskops.deploy.plugins.filter import app as app_filter

VALID = {
    "name": "hello",
    "domain": "example.com",
    "source": {"type": "local", "path": "/tmp/hello"},
}


def with_(**changes):
    app = dict(VALID)
    app.update(changes)
    return app


def test_defaults_come_from_the_argument_spec():
    facts = app_filter.app_facts(VALID)
    spec = app_filter.app_spec()
    for key, option in spec.items():
        if "options" in option and option["type"] == "list":  # a list of dicts: empty by default
            assert facts[key] == option["default"], key
        elif "options" in option:  # a dict: its own fields carry the defaults
            for sub, sub_option in option["options"].items():
                if "default" in sub_option:
                    assert facts[key][sub] == sub_option["default"], f"{key}.{sub}"
        elif "default" in option:
            assert facts[key] == option["default"], key
    assert facts["wsgi"] == "app:app"
    assert facts["port"] == 8000
    assert facts["address"] == "127.0.0.1"


def test_derived_names_and_paths():
    facts = app_filter.app_facts(with_(name="my-app"))
    assert facts["user"] == facts["group"] == "my-app"
    assert facts["root_dir"] == "/srv/my-app"
    assert facts["releases_dir"] == "/srv/my-app/releases"
    assert facts["current_link"] == "/srv/my-app/current"
    assert facts["shared_dir"] == "/srv/my-app/shared"
    assert facts["venv"] == "/srv/my-app/current/venv"
    assert facts["src_dir"] == "/srv/my-app/current/src"
    # One instance of the templates per release: flaskops-my-app@<id>.service and .socket.
    assert facts["unit_prefix"] == "flaskops-my-app@"
    assert facts["unit_file"] == "/etc/systemd/system/flaskops-my-app@.service"
    assert facts["socket_unit_file"] == "/etc/systemd/system/flaskops-my-app@.socket"
    assert facts["unit"] == "flaskops-my-app@*.service"  # for journalctl -u
    assert facts["run_dir"] == "/run/flaskops-my-app"
    assert facts["release_socket_link"] == "/srv/my-app/current/socket"
    # Loopback: only the nginx on the host reaches it, through each release's unix socket.
    assert facts["network_listener"] is False
    assert facts["bind"] == "127.0.0.1:8000"
    assert facts["upstream_name"] == "flaskops_my_app"
    assert facts["upstream_server"] == "127.0.0.1:8000"
    assert facts["redirect_names"] == ["www.example.com"]
    # static_dir auto: each new release's build links the app's own static folder as <release>/static.
    assert facts["static_path"] == "/srv/my-app/current/static"
    assert facts["static_find"] == {"app": True}
    assert facts["wsgi_module"] == "app" and facts["wsgi_attr"] == "app"
    assert facts["wsgi_call"] == ""
    assert facts["wsgi_app"] == "flaskops_wsgi:app"  # ProxyFix's wrapper, what Gunicorn loads


def test_only_an_app_other_hosts_reach_listens_on_its_address_and_port():
    assert app_filter.app_facts(with_(address="10.0.0.5", allow_from=["10.0.0.2"]))["network_listener"] is True
    assert app_filter.app_facts(with_(address="10.0.0.5", allow_from=["10.0.0.2"],
                                      unix_socket=False))["upstream_server"] == "10.0.0.5:8000"
    assert app_filter.app_facts(with_(unix_socket=True))["network_listener"] is False


def test_factory_entry_point():
    facts = app_filter.app_facts(with_(unix_socket=True, wsgi="pkg.web:create_app()"))
    assert facts["wsgi_module"] == "pkg.web"
    assert facts["wsgi_attr"] == "create_app"
    assert facts["wsgi_call"] == "()"


@pytest.mark.parametrize("wsgi, parsed", [
    # What Gunicorn accepts: factory calls with literal positional and keyword arguments.
    ('pkg.app:create_app(["/srv/data/main.db"])', ("pkg.app", "create_app", "(['/srv/data/main.db'])")),
    ("app:make(1, -2.5, name='x', debug=False, opts={'a': (1, None)})",
     ("app", "make", "(1, -2.5, name='x', debug=False, opts={'a': (1, None)})")),
    ("app:create_app( )", ("app", "create_app", "()")),
    ("wsgi", ("wsgi", "application", "")),  # a bare module: its `application`, as Gunicorn reads it
])
def test_factory_calls_with_literal_arguments(wsgi, parsed):
    assert app_filter.parse_wsgi(wsgi) == parsed
    facts = app_filter.app_facts(with_(wsgi=wsgi))
    assert (facts["wsgi_module"], facts["wsgi_attr"], facts["wsgi_call"]) == parsed


@pytest.mark.parametrize("wsgi, says", [
    ("app:create_app(os.environ)", "'os.environ', which is not a literal value"),
    ("app:create_app(*args)", "unpacked arguments"),
    ("app:create_app(**settings)", "unpacked arguments"),
    ("app:factories.create()", "call a factory by its name"),
    ("app:app.wsgi_app", "call a factory by its name"),
    ("app:", "neither an attribute name nor a call"),
    ("app:create_app(", "neither an attribute name nor a call"),
    ("my-app:app", "'my-app' is not a module name"),
    (" app:app", "' app' is not a module name"),
])
def test_entry_points_gunicorn_would_refuse_are_refused_naming_the_variable(wsgi, says):
    with pytest.raises(AnsibleFilterError) as error:
        app_filter.app_facts(with_(wsgi=wsgi))
    assert "flaskops_app.wsgi" in str(error.value) and says in str(error.value), str(error.value)


def test_custom_root_port_and_no_www():
    facts = app_filter.app_facts(with_(root="/opt/hello", port=7999, www_redirect=False,
                                       static_dir="/var/www/static"))
    assert facts["venv"] == "/opt/hello/current/venv"
    assert facts["bind"] == "127.0.0.1:7999"
    assert facts["redirect_names"] == []
    assert facts["static_path"] == "/var/www/static"


def test_ipv6_loopback_is_bracketed():
    assert app_filter.app_facts(with_(address="::1"))["bind"] == "[::1]:8000"


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"name": None}, "flaskops_app"),
        ({"name": "Hello World"}, "flaskops_app.name"),
        ({"domain": "https://example.com"}, "flaskops_app.domain"),
        ({"domain": "example .com"}, "flaskops_app.domain"),
        ({"domain": "example.com:80"}, "flaskops_app.domain"),
        ({"domain": "example.com/app"}, "flaskops_app.domain"),
        ({"port": 70000}, "flaskops_app.port"),
        ({"port": 0}, "flaskops_app.port"),
        ({"address": "0.0.0.0"}, "flaskops_app.allow_public_bind"),
        ({"address": "localhost"}, "flaskops_app.address"),
        ({"wsgi": "app:create_app(open('x'))"}, "flaskops_app.wsgi"),
        ({"source": {"type": "pip"}}, "flaskops_app.source.spec"),
        ({"source": {"type": "local"}}, "flaskops_app.source.path"),
        ({"source": {"type": "svn", "path": "/x"}}, "found in source"),
        ({"source": {"type": "git"}}, "flaskops_app.source.repo is required"),
        ({"source": {"type": "git", "repo": "/r", "ref": "--upload-pack=x"}}, "flaskops_app.source.ref"),
        ({"source": {"type": "git", "repo": "/r", "ref": "my branch"}}, "flaskops_app.source.ref"),
        ({"source": {"type": "git", "repo": "/r", "path": "/x"}}, "flaskops_app.source.path is only used"),
        ({"source": {"type": "local", "path": "/x", "key_file": "/k"}}, "flaskops_app.source.key_file"),
        ({"source": {"type": "pip", "spec": "a", "repo": "/r"}}, "flaskops_app.source.repo is only used"),
        ({"source": {"type": "dist"}}, "flaskops_app.source.path is required"),
        ({"source": {"type": "dist", "path": "/x/hello.egg"}}, "not a wheel or sdist"),
        ({"tls": {"mode": "provided"}}, "flaskops_app.tls.certificate is required"),
        ({"tls": {"mode": "self_signed", "private_key": "/k"}}, "only used when flaskops_app.tls.mode is provided"),
        ({"tls": {"mode": "acme", "acme_directory": "http://acme.test/dir"}}, "flaskops_app.tls.acme_directory"),
        ({"tls": {"mode": "on"}}, "tls"),
        ({"tls": {"hsts_preload": True}}, "flaskops_app.tls.hsts_preload"),
        ({"tls": {"hsts_max_age": -1}}, "flaskops_app.tls.hsts_max_age"),
        ({"shared_dirs": ["../etc"]}, "flaskops_app.shared_dirs"),
        ({"shared_dirs": ["/var/data"]}, "flaskops_app.shared_dirs"),
        ({"shared_files": ["a//b"]}, "flaskops_app.shared_files"),
        ({"shared_dirs": ["x"], "shared_files": ["x"]}, "both list x"),
        ({"source": {"type": "pip", "spec": "a"}, "shared_dirs": ["venv"]}, "the release's own venv"),
        ({"source": {"type": "dist", "path": "/x/a.whl"}, "shared_files": ["environment"]}, "the release's own environment"),
        ({"shared_files": [{"path": ".env", "content": "A=1", "src": "env"}]}, "content and src both seed the file"),
        ({"shared_files": [{"path": ".env", "mode": "rw-"}]}, "flaskops_app.shared_files[0].mode"),
        ({"shared_files": [{"path": ".env", "owner": "nobody"}]}, "flaskops_app.shared_files[0].owner"),
        ({"shared_files": [{"content": "A=1"}]}, "flaskops_app.shared_files[0].path is required"),
        ({"shared_files": [{"path": ".env", "contents": "A=1"}]}, "unknown key contents"),
        ({"shared_files": [7]}, "flaskops_app.shared_files[0] must be a path or a dictionary"),
        ({"shared_files": [{"path": "../.env"}]}, "flaskops_app.shared_files: '../.env'"),
        ({"trusted_proxies": 0}, "flaskops_app.trusted_proxies"),
        ({"static_url": "static"}, "flaskops_app.static_url"),
        ({"static_dir": {"path": "static"}}, "flaskops_app.static_dir.package: None must name an importable package"),
        ({"static_dir": {"package": "my-app"}}, "flaskops_app.static_dir.package: 'my-app'"),
        ({"static_dir": {"package": "fava", "path": "../etc"}}, "flaskops_app.static_dir.path: '../etc'"),
        ({"static_dir": {"package": "fava", "folder": "static"}}, "flaskops_app.static_dir: unknown key 'folder'"),
        ({"static_dir": ["static"]}, "flaskops_app.static_dir: ['static'] must be auto"),
        ({"source": {"type": "pip", "spec": "x"}, "shared_dirs": ["static"]}, "take the place of the release's own static"),
        ({"root": "srv/hello"}, "flaskops_app.root"),
        ({"environment": {"BAD-NAME": "x"}}, "flaskops_app.environment"),
        ({"keep_releases": 0}, "flaskops_app.keep_releases"),
        ({"health_check": {"path": "health"}}, "flaskops_app.health_check.path"),
        ({"health_check": {"status": 42}}, "flaskops_app.health_check.status"),
        ({"health_check": {"statuses": [200, 1000]}}, "flaskops_app.health_check.statuses"),
        ({"health_check": {"retries": 0}}, "flaskops_app.health_check.retries"),
        ({"hooks": {"before_deploy": ["true"]}}, "before_deploy"),
        ({"paths": [{"path": "events"}]}, "flaskops_app.paths[0].path"),
        ({"paths": [{"path": "/a b/"}]}, "flaskops_app.paths[0].path"),
        ({"paths": [{"path": "/e/"}, {"path": "/e/"}]}, "flaskops_app.paths[1].path: '/e/' is listed twice"),
        ({"paths": [{"path": "/static/css/"}]}, "inside static_url '/static/'"),
        ({"paths": [{"path": "/e/", "read_timeout": 0}]}, "flaskops_app.paths[0].read_timeout"),
        ({"paths": [{"path": "/u/", "body_limit": "2 GB"}]}, "flaskops_app.paths[0].body_limit"),
        ({"paths": [{"path": "/u/", "headers": {"Bad Name": "x"}}]}, "flaskops_app.paths[0].headers"),
        ({"paths": [{"path": "/u/", "headers": {"X-A": 'say "hi"'}}]}, "flaskops_app.paths[0].headers.X-A"),
        ({"paths": [{"path": "/u/", "buffer": False}]}, "buffer"),
        ({"port": "eighty"}, "port"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_input_is_reported_naming_the_variable(changes, expected):
    app = with_(**changes)
    app = {k: v for k, v in app.items() if v is not None}
    problems = app_filter.app_problems(app)
    assert problems, changes
    assert any(expected in problem for problem in problems), problems
    with pytest.raises(AnsibleFilterError, match="Invalid app definition"):
        app_filter.app_facts(app)


def test_public_bind_allowed_when_asked():
    assert app_filter.app_problems(with_(address="0.0.0.0", allow_public_bind=True)) == []


def test_not_a_dict():
    assert "must be a dictionary" in app_filter.app_problems("hello")[0]


def test_filter_module_exports():
    filters = app_filter.FilterModule().filters()
    assert set(filters) == {"app_backends", "app_checked", "app_facts", "app_problems", "apps_checked", "apps_problems",
                            "command_argv",
                            "first_app_host", "not_networks", "process_plan", "process_units_of", "release_file",
                            "shared_layout"}


def test_work_dir_follows_the_source():
    assert app_filter.app_facts(VALID)["work_dir"] == "/srv/hello/current/src"
    pip_app = with_(source={"type": "pip", "spec": "hello==1.0"})
    assert app_filter.app_facts(pip_app)["work_dir"] == "/srv/hello/current"

    git_app = with_(source={"type": "git", "repo": "https://example.com/hello.git"})
    assert app_filter.app_facts(git_app)["work_dir"] == "/srv/hello/current/src"
    assert app_filter.app_facts(git_app)["has_code_dir"] is True
    dist_app = with_(source={"type": "dist", "path": "/tmp/hello-1.0-py3-none-any.whl"})
    assert app_filter.app_facts(dist_app)["work_dir"] == "/srv/hello/current"
    assert app_filter.app_facts(dist_app)["has_code_dir"] is False


def test_git_source_defaults_and_derived_paths():
    facts = app_filter.app_facts(with_(source={"type": "git", "repo": "git@example.com:org/hello.git"}))
    assert facts["source"]["ref"] == "HEAD"
    assert facts["source"]["accept_new_hostkey"] is False
    assert facts["repo_dir"] == "/srv/hello/repo"
    assert facts["deploy_key"] == "/etc/flaskops/hello/deploy_key"


def test_shared_paths_accepted():
    app = with_(shared_dirs=["instance", "var/uploads"], shared_files=[".env"])
    assert app_filter.app_problems(app) == []


def test_shared_paths_of_installed_apps_go_into_the_release_below_venv_too():
    app = with_(source={"type": "pip", "spec": "hello==1.0"}, shared_dirs=["venv/var/hello-instance"],
                shared_files=[".env"])
    facts = app_filter.app_facts(app)
    assert facts["release_work_subdir"] == "" and facts["shared_file_paths"] == [".env"]
    assert app_filter.app_facts(VALID)["release_work_subdir"] == "/src"


def test_shared_files_are_written_once_with_their_seed_owner_and_mode():
    app = with_(shared_dirs=["uploads"], shared_files=[
        ".env",
        {"path": "instance/settings.cfg", "content": "DEBUG = False\n", "owner": "root"},
        {"path": "instance/keys/signing.pem", "src": "files/signing.pem", "mode": "0400"},
    ])
    facts = app_filter.app_facts(app)
    layout = app_filter.shared_layout(facts, {"instance/keys/signing.pem": "KEY\n"})
    assert [d["path"] for d in layout["directories"]] == [
        "/srv/hello/shared/uploads", "/srv/hello/shared/instance", "/srv/hello/shared/instance/keys"]
    assert {(d["owner"], d["group"], d["mode"]) for d in layout["directories"]} == {("hello", "hello", "0750")}
    assert layout["files"] == [
        {"path": "/srv/hello/shared/.env", "content": "", "keep_content": True,
         "owner": "hello", "group": "hello", "mode": "0600"},
        {"path": "/srv/hello/shared/instance/settings.cfg", "content": "DEBUG = False\n", "keep_content": True,
         "owner": "root", "group": "hello", "mode": "0640"},
        {"path": "/srv/hello/shared/instance/keys/signing.pem", "content": "KEY\n", "keep_content": True,
         "owner": "hello", "group": "hello", "mode": "0400"},
    ]
    with pytest.raises(AnsibleFilterError, match="no seed read for instance/keys/signing.pem"):
        app_filter.shared_layout(facts, {})


def test_static_folder_is_found_by_the_build_named_in_a_package_relative_to_the_code_or_absolute():
    facts = app_filter.app_facts(VALID)
    assert (facts["static_path"], facts["static_find"]) == ("/srv/hello/current/static", {"app": True})
    pip_app = with_(source={"type": "pip", "spec": "fava==1.30"}, static_dir={"package": "fava"})
    facts = app_filter.app_facts(pip_app)
    assert facts["static_path"] == "/srv/hello/current/static"
    assert facts["static_find"] == {"package": "fava", "path": "static"}
    facts = app_filter.app_facts(with_(static_dir="assets"))
    assert (facts["static_path"], facts["static_find"]) == ("/srv/hello/current/src/assets", None)
    pip_app["static_dir"] = "assets"  # a pip release has no code directory for it to be in
    assert app_filter.app_facts(pip_app)["static_path"] == ""
    pip_app["static_dir"] = "/var/www/hello"
    assert app_filter.app_facts(pip_app)["static_path"] == "/var/www/hello"
    facts = app_filter.app_facts(with_(static_dir=""))
    assert (facts["static_path"], facts["static_find"]) == ("", None)


def test_tls_paths_follow_the_mode():
    assert app_filter.app_facts(VALID)["tls_enabled"] is False
    acme = app_filter.app_facts(with_(tls={"mode": "acme"}))
    assert acme["tls_enabled"] is True
    assert acme["tls_certificate"] == "/etc/letsencrypt/live/hello/fullchain.pem"
    own = app_filter.app_facts(with_(tls={"mode": "self_signed"}))
    assert own["tls_private_key"] == "/etc/flaskops/hello/tls/self-signed-privkey.pem"
    provided = app_filter.app_facts(with_(tls={"mode": "provided", "certificate": "/c", "private_key": "/k"}))
    assert provided["tls_private_key"] == "/etc/flaskops/hello/tls/privkey.pem"
    assert own["tls"]["profile"] == "intermediate" and own["tls"]["hsts_max_age"] == 63072000


def test_site_names_are_the_domain_and_its_www_name_when_redirected():
    assert app_filter.app_facts(VALID)["site_names"] == ["example.com", "www.example.com"]
    assert app_filter.app_facts(with_(www_redirect=False))["site_names"] == ["example.com"]


def test_aliases_are_names_of_the_site_itself_and_of_its_certificate():
    facts = app_filter.app_facts(with_(aliases=["app.internal", "127.0.0.1"]))
    assert facts["server_names"] == ["example.com", "app.internal", "127.0.0.1"]
    assert facts["site_names"] == ["example.com", "app.internal", "127.0.0.1", "www.example.com"]
    assert facts["subject_alt_names"] == ["DNS:example.com", "DNS:app.internal", "IP:127.0.0.1", "DNS:www.example.com"]
    assert app_filter.app_facts(VALID)["server_names"] == ["example.com"]


@pytest.mark.parametrize("aliases, says", [
    (["https://app.internal/"], "must be a bare lower-case host name"),
    (["example.com"], "already a name of the site"),
    (["www.example.com"], "already a name of the site"),
])
def test_aliases_that_are_no_host_name_or_repeat_the_site_are_refused(aliases, says):
    with pytest.raises(AnsibleFilterError, match=f"flaskops_app.aliases: .*{says}"):
        app_filter.app_facts(with_(aliases=aliases))


def test_an_ip_alias_cannot_be_in_an_acme_certificate():
    with pytest.raises(AnsibleFilterError, match="flaskops_app.aliases: '10.0.0.5' is an IP address"):
        app_filter.app_facts(with_(aliases=["10.0.0.5"], tls={"mode": "acme", "acme_email": "ops@example.com"}))


def test_two_apps_cannot_share_an_alias():
    first = {**VALID, "name": "one", "port": 8001, "aliases": ["shared.internal"]}
    second = {**VALID, "name": "two", "domain": "two.example.com", "port": 8002, "aliases": ["shared.internal"]}
    problems = app_filter.apps_problems([first, second])
    assert any("site name shared.internal" in problem for problem in problems), problems


# ------------------------------------------------------------ many apps


def app(name, **changes):
    base = {"name": name, "domain": f"{name}.example.com",
            "source": {"type": "local", "path": f"/tmp/{name}"}}
    base.update(changes)
    return base


def test_apps_on_distinct_ports_and_domains_are_fine():
    apps = [app("blog"), app("shop", port=8001), app("api", unix_socket=True)]
    assert app_filter.apps_problems(apps) == []


def test_two_apps_on_one_port_fail_naming_both():
    problems = app_filter.apps_problems([app("blog"), app("shop")])
    assert problems == [
        "flaskops_apps[0] (blog) and flaskops_apps[1] (shop) both use the port 8000; "
        "each app needs its own"
    ]


def test_two_apps_answering_one_name_fail_naming_both():
    problems = app_filter.apps_problems([
        app("blog", domain="example.com"),
        app("shop", port=8001, domain="www.example.com", www_redirect=False),
    ])
    assert len(problems) == 1
    assert "flaskops_apps[0] (blog) and flaskops_apps[1] (shop)" in problems[0]
    assert "site name www.example.com" in problems[0]


def test_names_that_derive_the_same_upstream_clash():
    problems = app_filter.apps_problems([app("my-app"), app("my_app", port=8001, domain="other.example.com")])
    assert any("nginx upstream flaskops_my_app" in problem for problem in problems)


def test_an_absent_app_gives_up_its_port_and_names_but_not_its_name():
    gone = app("blog", state="absent")
    assert app_filter.apps_problems([gone, app("shop", domain="blog.example.com")]) == []
    assert "name blog" in app_filter.apps_problems([gone, app("blog", port=8001)])[0]


def test_a_bad_app_in_the_list_is_named_by_its_index():
    problems = app_filter.apps_problems([app("blog"), app("shop", port=0)])
    assert problems == ["flaskops_apps[1].port: 0 is out of range; use 1 to 65535"]


def test_remove_data_needs_state_absent():
    assert app_filter.app_problems(app("blog", remove_data=True)) == [
        "flaskops_app.remove_data is only used with flaskops_app.state: absent"
    ]
    assert app_filter.app_problems(app("blog", state="absent", remove_data=True)) == []


def test_the_list_must_be_a_non_empty_list():
    assert app_filter.apps_problems([]) == ["flaskops_apps must be a non-empty list of app definitions"]
    assert app_filter.apps_problems({"name": "blog"})[0].startswith("flaskops_apps must be")


def test_a_single_app_keeps_its_own_variable_name():
    assert app_filter.apps_problems(app("blog", port=0), "flaskops_app") == [
        "flaskops_app.port: 0 is out of range; use 1 to 65535"
    ]


# --- scale-out: app hosts behind load balancers ---------------------------------

def test_a_private_bind_needs_the_balancers_named():
    problems = app_filter.app_problems(with_(address="10.0.0.11"))
    assert any("flaskops_app.allow_from" in p for p in problems), problems
    assert app_filter.app_problems(with_(address="10.0.0.11", allow_from=["10.0.0.5", "10.0.1.0/24"])) == []


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"allow_from": ["10.0.0.300"]}, "flaskops_app.allow_from: '10.0.0.300'"),
        ({"allow_from": ["lb1"]}, "flaskops_app.allow_from: 'lb1'"),
        ({"allow_from": ["10.0.0.5"], "unix_socket": True}, "flaskops_app.allow_from is for apps reached"),
    ],
)
def test_bad_allow_from(changes, expected):
    problems = app_filter.app_problems(with_(**changes))
    assert any(expected in p for p in problems), problems


def _app_host(address, **changes):
    return {"flaskops_app": with_(address=address, allow_from=["10.0.0.5"], **changes)}


def test_backends_are_each_hosts_private_address():
    hostvars = {"app1": _app_host("10.0.0.11"), "app2": _app_host("10.0.0.12", port=9000)}
    assert app_filter.app_backends(hostvars, ["app1", "app2"], "hello") == [
        {"host": "app1", "server": "10.0.0.11:8000"},
        {"host": "app2", "server": "10.0.0.12:9000"},
    ]


def test_backends_come_from_a_hosts_list_of_apps_and_skip_absent_ones():
    other = dict(VALID, name="other", address="10.0.0.11", allow_from=["10.0.0.5"], port=8001)
    hostvars = {
        "app1": {"flaskops_apps": [other, _app_host("10.0.0.11")["flaskops_app"]]},
        "app2": _app_host("10.0.0.12", state="absent"),
    }
    with pytest.raises(AnsibleFilterError, match="app host app2 has no app named other"):
        app_filter.app_backends(hostvars, ["app1", "app2"], "other")
    assert app_filter.app_backends(hostvars, ["app1", "app2"], "hello") == [
        {"host": "app1", "server": "10.0.0.11:8000"}
    ]


@pytest.mark.parametrize(
    "hostvars, expected",
    [
        ({"app1": {"flaskops_app": with_()}}, "the app hello on app1 binds to 127.0.0.1"),
        ({"app1": {"flaskops_app": with_(unix_socket=True)}}, "the app hello on app1 listens on a unix socket"),
        ({"app1": {}}, "app host app1 describes no app"),
        ({"app1": _app_host("10.0.0.11", state="absent")}, "no host runs the app hello"),
    ],
)
def test_backends_a_balancer_cannot_reach(hostvars, expected):
    with pytest.raises(AnsibleFilterError, match=expected):
        app_filter.app_backends(hostvars, list(hostvars), "hello")


class Context(dict):
    """Stands in for ansible-core's lazy containers: a mapping that carries its
    templating context and must not be deep-copied (copying it copies every
    variable of the host)."""

    def __deepcopy__(self, memo):
        raise AssertionError("the app definition was deep-copied as it came in")


class Tagged(str):
    """Stands in for a tagged string."""


def test_the_definition_is_turned_into_plain_data_before_validation():
    app = Context(with_(source=Context(type="local", path=Tagged("/tmp/hello")),
                        environment=Context(GREETING=Tagged("hi"))))
    assert app_filter.app_problems(app) == []
    facts = app_filter.app_facts(app)
    assert facts["environment"] == {"GREETING": "hi"}
    assert type(facts["source"]) is dict
    assert type(facts["source"]["path"]) is str


def test_plain_keeps_values_and_drops_subclasses():
    value = app_filter.plain(Context(a=[Tagged("x"), (1, 2.5, True)], b=None))
    assert value == {"a": ["x", [1, 2.5, True]], "b": None}
    assert type(value) is dict and type(value["a"][0]) is str
    assert value["a"][1][2] is True


def test_release_file_places_a_release_setting_in_the_release_directory():
    item = {"name": "environment", "content": "A=1\n", "owner": "hello", "group": "hello",
            "mode": "0600", "private": True}
    assert app_filter.release_file(item, "/srv/hello/releases/local-0123") == {
        "path": "/srv/hello/releases/local-0123/environment", "content": "A=1\n",
        "owner": "hello", "group": "hello", "mode": "0600"}
    with pytest.raises(AnsibleFilterError):
        app_filter.release_file({**item, "name": "../environment"}, "/srv/hello/releases/x")


def test_how_the_app_runs_is_read_through_current_from_the_release():
    facts = app_filter.app_facts(VALID)
    for key, name in (("config_file", "gunicorn.conf.py"), ("env_file", "environment"),
                      ("entry_file", "flaskops_wsgi.py")):
        assert facts[key] == f"/srv/hello/current/{name}"
    assert "/etc/flaskops/hello/environment" in facts["legacy_files"]


def test_the_health_check_accepts_any_2xx_or_3xx_unless_told():
    assert app_filter.app_facts(VALID)["health_statuses"] == list(range(200, 400))
    assert app_filter.app_facts(with_(health_check={"status": 204}))["health_statuses"] == [204]
    told = with_(health_check={"statuses": [401, 200, 200], "status": 204})
    assert app_filter.app_facts(told)["health_statuses"] == [200, 401]


def test_paths_get_their_defaults():
    facts = app_filter.app_facts(with_(paths=[{"path": "/events/", "buffering": False}, {"path": "/static/"}]))
    assert facts["paths"] == [
        {"path": "/events/", "buffering": False, "websocket": False, "read_timeout": None, "body_limit": None,
         "headers": {}, "basic_auth": False},
        {"path": "/static/", "buffering": True, "websocket": False, "read_timeout": None, "body_limit": None,
         "headers": {}, "basic_auth": False},
    ]


def test_gunicorn_loads_the_proxyfix_wrapper_or_without_it_the_app_itself():
    assert app_filter.app_facts(VALID)["wsgi_app"] == "flaskops_wsgi:app"
    bare = app_filter.app_facts(with_(proxy_fix=False, wsgi="shop.web:create_app('prod')"))
    assert bare["wsgi_app"] == "shop.web:create_app('prod')"


def test_app_checked_is_problems_and_facts_in_one_pass():
    assert app_filter.app_checked(VALID) == {"problems": [], "facts": app_filter.app_facts(VALID)}
    bad = app_filter.app_checked(with_(name="Not A Name"))
    assert bad["problems"] and bad["facts"] == {}


def test_apps_checked_remembers_each_definition_with_its_facts_by_name():
    other = with_(name="shop", domain="shop.test", port=8001)
    checked = app_filter.apps_checked([VALID, other])
    assert checked["problems"] == []
    assert checked["apps"] == {"hello": {"definition": VALID, "facts": app_filter.app_facts(VALID)},
                               "shop": {"definition": other, "facts": app_filter.app_facts(other)}}
    one = app_filter.apps_checked(VALID, "flaskops_app")
    assert one["apps"] == {"hello": {"definition": VALID, "facts": app_filter.app_facts(VALID)}}


def test_apps_checked_keeps_nothing_when_anything_is_wrong():
    clash = app_filter.apps_checked([VALID, with_(domain="shop.test")])
    assert "both use the name hello" in " ".join(clash["problems"]) and clash["apps"] == {}
    assert app_filter.apps_checked(with_(port=0), "flaskops_app")["problems"][0].startswith("flaskops_app")

# Copyright: flaskops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Plugins run inside ansible-core (GPLv3+) and carry its license; the rest of
# the collection is MIT (LICENSE).
"""Filters that turn one app definition into everything the roles derive from it.

The fields of an app definition, their types and their defaults live in one
place: roles/app/meta/argument_specs.yml. These filters read that file, so the
documentation, the role argument validation and the defaults applied here can
never disagree. Every derived name and path (user, directories, unit, socket,
upstream, site) is computed here and nowhere else.
"""

from __future__ import annotations

import ast
import ipaddress
import os
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError

import yaml

VARIABLE = "flaskops_app"
SPEC_FILE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..", "..", "roles", "app", "meta", "argument_specs.yml",
)

NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
MODULE_RE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MAX_TRUSTED_PROXIES = 10
# Where an app's units are written (its releases' templates, its processes' and jobs').
UNITS_DIR = "/etc/systemd/system"

_SPEC_CACHE = {}


# The most instances of one process a host runs (each is a systemd unit).
MAX_INSTANCES = 64


def app_spec():
    """The argument spec of one app definition (the suboptions of flaskops_app)."""
    if "spec" not in _SPEC_CACHE:
        with open(SPEC_FILE, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
        options = document["argument_specs"]["main"]["options"][VARIABLE]["options"]
        _SPEC_CACHE["spec"] = options
    return _SPEC_CACHE["spec"]


def _is_hostname(value):
    if not value or len(value) > 253 or value != value.lower():
        return False
    labels = value.split(".")
    return all(LABEL_RE.match(label) for label in labels)


def _is_ip(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def plain(value):
    """The value as plain dicts, lists, strings and numbers.

    What a filter receives from ansible-core 2.19 is lazy containers and tagged
    values that carry their templating context; the argument spec validator
    deep-copies its input, which copies that whole context (every variable of
    the host, so the cost grows with the number of apps): 0.35 s per call with
    ten apps, against a millisecond for the plain data.
    """
    if isinstance(value, Mapping):
        return {plain(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    for kind in (bool, str, int, float):
        if isinstance(value, kind):
            return kind(value)
    return value


def _shape_problems(spec, value, where):
    """Fields of the spec's dictionaries (and lists of them) whose value is not one.

    ansible-core's validator reports such a value, then reads it as a
    dictionary all the same and raises a TypeError (health_check: false);
    nothing else is validated until the shapes are right.
    """
    problems = []
    for key, option in spec.items():
        item = value.get(key)
        if "options" not in option or item is None:
            continue
        field = f"{where}.{key}"
        if option.get("type") == "list":
            if not isinstance(item, list):
                problems.append(f"{field} must be a list of dictionaries, got {type(item).__name__}")
                continue
            entries = [(f"{field}[{index}]", entry) for index, entry in enumerate(item)]
        else:
            entries = [(field, item)]
        for label, entry in entries:
            if isinstance(entry, Mapping):
                problems.extend(_shape_problems(option["options"], entry, label))
            else:
                problems.append(f"{label} must be a dictionary, got {type(entry).__name__}")
    return problems


def _problem(error):
    """One of ansible-core's validation errors, said for the app definition."""
    if isinstance(error, UnsupportedError):
        # Its message is "<fields>. Supported parameters include: ...", made to
        # follow "Unsupported parameters for <module>:".
        return f"{VARIABLE}: unknown field(s) {error.msg}"
    return f"{VARIABLE}: {error.msg}"


def _validate(app):
    """Return (normalised app with defaults applied, list of problems)."""
    if not isinstance(app, Mapping):
        return {}, [f"{VARIABLE} must be a dictionary describing the app, got {type(app).__name__}"]
    app = plain(app)
    problems = _shape_problems(app_spec(), app, VARIABLE)
    if problems:
        return {}, problems

    result = ArgumentSpecValidator(app_spec()).validate(app)
    problems = [_problem(error) for error in result.errors]
    params = result.validated_parameters
    if problems:
        return params, problems

    name = params["name"]
    if not NAME_RE.match(name):
        problems.append(
            f"{VARIABLE}.name: {name!r} must start with a lower-case letter and hold only "
            "lower-case letters, digits, '-' and '_' (at most 32 characters)"
        )

    domain = params["domain"]
    if not _is_hostname(domain):
        problems.append(
            f"{VARIABLE}.domain: {domain!r} must be a bare lower-case host name such as "
            "example.com: no scheme, port, path or spaces"
        )

    for alias in params["aliases"]:
        if _is_ip(alias):
            if params["tls"]["mode"] == "acme":
                problems.append(f"{VARIABLE}.aliases: {alias!r} is an IP address, which an ACME "
                                f"certificate ({VARIABLE}.tls.mode acme) cannot cover")
        elif _is_hostname(alias):
            if alias == domain or (params["www_redirect"] and alias == f"www.{domain}"):
                problems.append(f"{VARIABLE}.aliases: {alias!r} is already a name of the site")
        else:
            problems.append(f"{VARIABLE}.aliases: {alias!r} must be a bare lower-case host name such as "
                            "internal.example.com, or an IP address")

    port = params["port"]
    if not 1 <= port <= 65535:
        problems.append(f"{VARIABLE}.port: {port} is out of range; use 1 to 65535")

    address = params["address"]
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        problems.append(f"{VARIABLE}.address: {address!r} is not an IP address")
    else:
        exposed = not (parsed.is_loopback or params["unix_socket"] or params["allow_from"])
        if exposed and not params["allow_public_bind"]:
            problems.append(
                f"{VARIABLE}.address: {address} is not a loopback address, which would expose "
                f"Gunicorn without Nginx in front; list the load balancers that may connect in "
                f"{VARIABLE}.allow_from, or set {VARIABLE}.allow_public_bind: true if that is what you want"
            )

    for peer in not_networks(params["allow_from"]):
        problems.append(
            f"{VARIABLE}.allow_from: {peer!r} is not an IP address or network such as 10.0.0.5 or 10.0.1.0/24"
        )
    if params["allow_from"] and params["unix_socket"]:
        problems.append(
            f"{VARIABLE}.allow_from is for apps reached over the network; a unix socket "
            f"({VARIABLE}.unix_socket) is only reachable on the host"
        )

    try:
        parse_wsgi(params["wsgi"])
    except ValueError as error:
        problems.append(f"{VARIABLE}.wsgi: {params['wsgi']!r} {error}")

    problems.extend(_source_problems(params["source"]))
    problems.extend(_tls_problems(params["tls"]))
    problems.extend(_shared_problems(params))

    trusted = params["trusted_proxies"]
    if not 1 <= trusted <= MAX_TRUSTED_PROXIES:
        problems.append(
            f"{VARIABLE}.trusted_proxies: {trusted} is out of range; use 1 to "
            f"{MAX_TRUSTED_PROXIES} (or set {VARIABLE}.proxy_fix: false)"
        )

    if params["remove_data"] and params["state"] != "absent":
        problems.append(f"{VARIABLE}.remove_data is only used with {VARIABLE}.state: absent")

    if params["keep_releases"] < 1:
        problems.append(f"{VARIABLE}.keep_releases: {params['keep_releases']} must be at least 1")

    health = params["health_check"]
    if not health["path"].startswith("/"):
        problems.append(f"{VARIABLE}.health_check.path: {health['path']!r} must start with '/'")
    if health["status"] is not None and not 100 <= health["status"] <= 599:
        problems.append(f"{VARIABLE}.health_check.status: {health['status']} is not an HTTP status")
    for status in health["statuses"]:
        if not 100 <= status <= 599:
            problems.append(f"{VARIABLE}.health_check.statuses: {status} is not an HTTP status")
    for key in ("retries", "delay", "timeout"):
        if health[key] < 1:
            problems.append(f"{VARIABLE}.health_check.{key}: {health[key]} must be at least 1")

    static_url = params["static_url"]
    if not (static_url.startswith("/") and static_url.endswith("/")) or " " in static_url:
        problems.append(
            f"{VARIABLE}.static_url: {static_url!r} must start and end with '/', e.g. /static/"
        )

    problems.extend(_paths_problems(params["paths"], static_url))
    problems.extend(_static_dir_problems(params["static_dir"]))
    problems.extend(_process_problems(params))

    root = params["root"]
    if root and not os.path.isabs(root):
        problems.append(f"{VARIABLE}.root: {root!r} must be an absolute path")

    for key in params["environment"]:
        if not ENV_NAME_RE.match(str(key)):
            problems.append(
                f"{VARIABLE}.environment: {key!r} is not a valid environment variable name"
            )

    return params, problems


SETTING_RE = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def _command_problems(command, where, empty_ok=False):
    """A command is a one-line string or a non-empty list of strings (its program and arguments)."""
    if isinstance(command, str):
        if not command.strip():
            return [] if empty_ok else [f"{where}: the command is empty"]
        if "\n" in command or "\r" in command:
            return [f"{where}: {command!r} must be one line (use a script for more)"]
        return []
    if isinstance(command, list):
        if not command:
            return [] if empty_ok else [f"{where}: the command is an empty list"]
        bad = [item for item in command if not isinstance(item, str) or not item or "\n" in item]
        if bad:
            return [f"{where}: every item of a command list must be a non-empty one-line string, got {bad[0]!r}"]
        return []
    return [f"{where}: must be a string (a command line) or a list (the program and its arguments), "
            f"got {type(command).__name__}"]


def _settings_problems(settings, where):
    problems = []
    for key, value in settings.items():
        if not SETTING_RE.match(str(key)):
            problems.append(f"{where}: {key!r} is not a systemd setting name (such as MemoryMax)")
        elif isinstance(value, (dict, list)) or value is None or "\n" in str(value):
            problems.append(f"{where}.{key}: must be one value (a string, number or bool)")
    return problems


def _process_problems(params):
    """What is wrong with the app's processes, jobs and release command."""
    problems, seen = [], {}
    for kind in ("processes", "jobs"):
        for index, item in enumerate(params[kind]):
            where = f"{VARIABLE}.{kind}[{index}]"
            name = item["name"]
            if not NAME_RE.match(name):
                problems.append(f"{where}.name: {name!r} must start with a lower-case letter and hold only "
                                "lower-case letters, digits, '-' and '_' (at most 32 characters)")
            elif name in seen:
                problems.append(f"{where}.name: {name!r} is already the name of {seen[name]}; "
                                "each process and job of an app needs its own")
            else:
                seen[name] = where
            problems.extend(_command_problems(item["command"], f"{where}.command"))
            problems.extend(_settings_problems(item["settings"], f"{where}.settings"))
            if kind == "processes":
                if item["instances"] < 1:
                    problems.append(f"{where}.instances: {item['instances']} must be at least 1 "
                                    "(drop the process from the list to stop it)")
                elif item["instances"] > MAX_INSTANCES:
                    problems.append(f"{where}.instances: {item['instances']} must be at most {MAX_INSTANCES} "
                                    "(each instance is a unit of its own on every host)")
                if item["stop_timeout"] < 1:
                    problems.append(f"{where}.stop_timeout: {item['stop_timeout']} must be at least 1 second")
                if item["settle"] < 0:
                    problems.append(f"{where}.settle: {item['settle']} must not be negative")
            else:
                if (item["calendar"] is None) == (item["every"] is None):
                    problems.append(f"{where}: set exactly one of calendar (a systemd calendar such as daily) "
                                    "and every (a time span such as 15min)")
                for key in ("calendar", "every", "randomized_delay"):
                    if item[key] is not None and ("\n" in item[key] or not item[key].strip()):
                        problems.append(f"{where}.{key}: {item[key]!r} must be one non-empty line")
                if item["timeout"] < 1:
                    problems.append(f"{where}.timeout: {item['timeout']} must be at least 1 second")
    problems.extend(_command_problems(params["release_command"], f"{VARIABLE}.release_command", empty_ok=True))
    return problems


def systemd_quote(argument):
    """One argument of a systemd Exec line: double-quoted, with systemd's own expansions escaped."""
    escaped = (argument.replace("\\", "\\\\").replace('"', '\\"')
               .replace("%", "%%").replace("$", "$$"))
    return f'"{escaped}"'


def command_argv(command, label):
    """What runs a process's, job's or release command: a string through bash, a list as it is."""
    if isinstance(command, str):
        return ["/bin/bash", "-c", command]
    return ["/bin/bash", "-c", 'exec "$@"', label] + list(command)


def exec_line(command, label):
    """The command as the value of systemd's ExecStart=."""
    return " ".join(systemd_quote(argument) for argument in command_argv(command, label))


def _processes(params):
    """The app's processes and jobs, each with its unit names and ExecStart line."""
    name = params["name"]
    processes = []
    for item in params["processes"]:
        prefix = f"flaskops-{name}.{item['name']}"
        processes.append({
            **item,
            # Instance n of a release: <prefix>.<n>@<release id>.service, from the template <prefix>.<n>@.service.
            "unit_prefixes": [f"{prefix}.{number}@" for number in range(1, item["instances"] + 1)],
            "exec": exec_line(item["command"], item["name"]),
        })
    jobs = []
    for item in params["jobs"]:
        unit = f"flaskops-{name}.{item['name']}"
        jobs.append({**item, "unit": unit, "exec": exec_line(item["command"], item["name"])})
    return processes, jobs


def _process_unit_files(processes, jobs):
    files = []
    for item in processes:
        for number, prefix in enumerate(item["unit_prefixes"], start=1):
            files.append({"file": f"{UNITS_DIR}/{prefix}.service", "unit": f"{prefix}.service",
                          "prefix": prefix, "overlap": item["overlap"],
                          "kind": "process.service", "hosts": "all", "number": number, "process": item, "job": None})
    for item in jobs:
        for kind in ("service", "timer"):
            files.append({"file": f"{UNITS_DIR}/{item['unit']}.{kind}", "unit": f"{item['unit']}.{kind}", "kind": f"job.{kind}",
                          "prefix": None, "overlap": None,
                          "hosts": item["hosts"], "number": 0, "process": None, "job": item})
    return files


# nginx location prefixes, sizes and header fields the site template writes as they are.
PATH_RE = re.compile(r"^/[A-Za-z0-9._~/-]*$")
SIZE_RE = re.compile(r"^[0-9]+[kKmMgG]?$")
HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9-]+$")
HEADER_VALUE_RE = re.compile(r'^[^"\\\r\n]+$')


STATIC_DIR_KEYS = ("package", "path")
PACKAGE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _static_dir_problems(static_dir):
    """static_dir: auto, empty, a path, or {package, path} (a folder of an installed package)."""
    where = f"{VARIABLE}.static_dir"
    if isinstance(static_dir, str):
        return []
    if not isinstance(static_dir, dict):
        return [f"{where}: {static_dir!r} must be auto, empty, a path or {{package: NAME, path: static}}"]
    problems = [f"{where}: unknown key {key!r} (known: {', '.join(STATIC_DIR_KEYS)})"
                for key in static_dir if key not in STATIC_DIR_KEYS]
    package = static_dir.get("package")
    if not isinstance(package, str) or not PACKAGE_RE.match(package):
        problems.append(f"{where}.package: {package!r} must name an importable package, such as fava or my_app.web")
    path = static_dir.get("path", "static")
    parts = path.split("/") if isinstance(path, str) else []
    if not parts or path.startswith("/") or any(part in ("", ".", "..") for part in parts):
        problems.append(f"{where}.path: {path!r} must be a folder inside the package, such as static "
                        "(no '..', no leading or doubled '/')")
    return problems


def _static_find(static_dir):
    """What a new release's build asks its Python for (tasks/static.yml of flaskops.deploy.release):
    the app's own static folder (auto), a folder of an installed package, or nothing."""
    if static_dir == "auto":
        return {"app": True}
    if isinstance(static_dir, dict):
        return {"package": static_dir["package"], "path": static_dir.get("path", "static")}
    return None


def _paths_problems(paths, static_url):
    problems = []
    seen = set()
    for index, options in enumerate(paths):
        where = f"{VARIABLE}.paths[{index}]"
        path = options["path"]
        if not PATH_RE.match(path):
            problems.append(f"{where}.path: {path!r} must be a path prefix such as / or /events/")
        elif path in seen:
            problems.append(f"{where}.path: {path!r} is listed twice")
        elif path.startswith(static_url) and path != static_url:
            problems.append(f"{where}.path: {path!r} is inside static_url {static_url!r}, which nginx "
                            f"serves from the static folder: give the options to {static_url!r} itself")
        seen.add(path)
        if options["read_timeout"] is not None and options["read_timeout"] < 1:
            problems.append(f"{where}.read_timeout: {options['read_timeout']} must be at least 1")
        if options["body_limit"] is not None and not SIZE_RE.match(options["body_limit"]):
            problems.append(f"{where}.body_limit: {options['body_limit']!r} must be a size such as 512k or 200m")
        for name, value in options["headers"].items():
            if not HEADER_NAME_RE.match(str(name)):
                problems.append(f"{where}.headers: {name!r} is not a header name")
            elif not HEADER_VALUE_RE.match(str(value)):
                problems.append(f"{where}.headers.{name}: the value must not be empty or hold double "
                                "quotes, backslashes or line breaks")
    return problems


# The field each source type needs, and the fields that only make sense for one type.
SOURCE_REQUIRES = {"local": "path", "git": "repo", "pip": "spec", "dist": "path"}
SOURCE_ONLY = {"repo": "git", "key_file": "git", "spec": "pip"}
DIST_SUFFIXES = (".whl", ".tar.gz", ".zip")
# Source types whose code lands in the release's src/ directory.
CODE_SOURCES = ("local", "git")


def _source_problems(source):
    kind = source["type"]
    where = f"{VARIABLE}.source"
    problems = []
    required = SOURCE_REQUIRES[kind]
    if not source.get(required):
        problems.append(f"{where}.{required} is required when {where}.type is {kind}")
    for field, only in SOURCE_ONLY.items():
        if source.get(field) and kind != only:
            problems.append(f"{where}.{field} is only used when {where}.type is {only}, not {kind}")
    if source.get("path") and kind not in ("local", "dist"):
        problems.append(f"{where}.path is only used when {where}.type is local or dist, not {kind}")
    if kind == "dist" and source.get("path") and not source["path"].endswith(DIST_SUFFIXES):
        problems.append(
            f"{where}.path: {source['path']!r} is not a wheel or sdist "
            f"(expected a name ending in {', '.join(DIST_SUFFIXES)})"
        )
    ref = source.get("ref") or ""
    if kind == "git" and (not ref.strip() or ref.startswith("-") or any(c.isspace() for c in ref)):
        problems.append(f"{where}.ref: {ref!r} is not a branch, tag or commit name")
    return problems


HSTS_PRELOAD_MIN_AGE = 31536000


def _tls_problems(tls):
    where = f"{VARIABLE}.tls"
    problems = []
    mode = tls["mode"]
    if mode == "provided":
        for field in ("certificate", "private_key"):
            if not tls.get(field):
                problems.append(f"{where}.{field} is required when {where}.mode is provided")
    elif tls.get("certificate") or tls.get("private_key"):
        problems.append(f"{where}.certificate and private_key are only used when {where}.mode is provided")
    if mode == "acme" and not tls["acme_directory"].startswith("https://"):
        problems.append(f"{where}.acme_directory: {tls['acme_directory']!r} must be an https:// URL")
    if tls["hsts_max_age"] < 0:
        problems.append(f"{where}.hsts_max_age: {tls['hsts_max_age']} must not be negative")
    if tls["hsts_preload"] and not (tls["hsts_include_subdomains"] and tls["hsts_max_age"] >= HSTS_PRELOAD_MIN_AGE):
        problems.append(
            f"{where}.hsts_preload needs {where}.hsts_include_subdomains and an hsts_max_age of at "
            f"least {HSTS_PRELOAD_MIN_AGE} (a year)"
        )
    return problems


# What a release holds at its top (flaskops.deploy's own files and directories):
# a shared path of a pip or dist release, linked into the release itself, may not
# take one of these places (a path below venv/ may: Flask's instance folder of an
# installed package is venv/var/<package>-instance).
# The module of each release that wraps the app in ProxyFix (gunicorn's flaskops_wsgi.py.j2).
ENTRY_MODULE = "flaskops_wsgi"
RELEASE_ENTRIES = ("src", "dist", "venv", "socket", "environment", "gunicorn.conf.py", f"{ENTRY_MODULE}.py",
                   "service.conf", "static", ".flaskops-release", ".flaskops-checked")
SHARED_FILE_KEYS = ("path", "content", "src", "mode", "owner")
MODE_RE = re.compile(r"^0?[0-7]{3}$")
SHARED_OWNERS = ("app", "root")


def shared_file(entry):
    """A shared_files entry as a dictionary: a bare path is an empty file the app owns (0600)."""
    if isinstance(entry, str):
        entry = {"path": entry}
    owner = entry.get("owner") or "app"
    return {"path": entry.get("path"), "content": entry.get("content"), "src": entry.get("src"),
            "owner": owner, "mode": str(entry.get("mode") or ("0600" if owner == "app" else "0640"))}


def _shared_problems(params):
    problems = []
    files = []
    for index, entry in enumerate(params["shared_files"]):
        where = f"{VARIABLE}.shared_files[{index}]"
        if isinstance(entry, Mapping):
            unknown = sorted(set(map(str, entry)) - set(SHARED_FILE_KEYS))
            if unknown:
                problems.append(f"{where}: unknown key {', '.join(unknown)} (known: {', '.join(SHARED_FILE_KEYS)})")
            if not isinstance(entry.get("path"), str):
                problems.append(f"{where}.path is required: the file's path, such as .env")
                continue
            if entry.get("content") is not None and entry.get("src") is not None:
                problems.append(f"{where}: content and src both seed the file; give one")
            for key in ("content", "src"):
                if entry.get(key) is not None and not isinstance(entry[key], str):
                    problems.append(f"{where}.{key} must be a string")
            if entry.get("owner") not in (None,) + SHARED_OWNERS:
                problems.append(f"{where}.owner: {entry['owner']!r} must be app (the app may rewrite the "
                                "file) or root (the app only reads it)")
            if entry.get("mode") is not None and not MODE_RE.match(str(entry["mode"])):
                problems.append(f"{where}.mode: {entry['mode']!r} must be an octal mode such as '0640'")
        elif not isinstance(entry, str):
            problems.append(f"{where} must be a path or a dictionary with a path")
            continue
        files.append(shared_file(entry)["path"])
    code_dir = params["source"]["type"] in CODE_SOURCES
    for field, paths in (("shared_dirs", params["shared_dirs"]), ("shared_files", files)):
        for path in paths:
            parts = path.split("/")
            if not path or os.path.isabs(path) or ".." in parts or "" in parts or "." in parts:
                problems.append(
                    f"{VARIABLE}.{field}: {path!r} must be a relative path inside the app's working "
                    "directory, such as instance or uploads (no '..', no leading or doubled '/')"
                )
            elif not code_dir and (parts[0] in RELEASE_ENTRIES and (parts[0] != "venv" or len(parts) == 1)):
                problems.append(
                    f"{VARIABLE}.{field}: {path!r} would take the place of the release's own {parts[0]} "
                    f"(a {params['source']['type']} release links shared paths into the release itself)"
                )
    both = set(params["shared_dirs"]) & set(files)
    if both:
        problems.append(
            f"{VARIABLE}.shared_dirs and {VARIABLE}.shared_files both list {', '.join(sorted(both))}"
        )
    return problems


def not_networks(values):
    """The entries of `values` that are not an IP address or network (10.0.0.5,
    10.0.0.0/16, ::1): the one check for allow_from and nginx_site_real_ip_from."""
    bad = []
    for value in values or []:
        try:
            ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            bad.append(value)
    return bad


def _tls_paths(name, etc_dir, tls):
    """Where the site's certificate and key live on the host."""
    if tls["mode"] == "acme":  # certbot's layout, under the app's name
        directory, stem = f"/etc/letsencrypt/live/{name}", ""
    else:  # a generated certificate never stands in for a provided one, or back
        directory, stem = f"{etc_dir}/tls", ("self-signed-" if tls["mode"] == "self_signed" else "")
    return {
        "tls_enabled": tls["mode"] != "none",
        "tls_dir": directory,
        "tls_certificate": f"{directory}/{stem}fullchain.pem",
        "tls_private_key": f"{directory}/{stem}privkey.pem",
        "acme_webroot": "/var/lib/flaskops/acme",
    }


def app_problems(app):
    """List what is wrong with an app definition; empty when it is valid."""
    return _validate(app)[1]


def app_checked(app):
    """One app definition checked and derived in one pass: {problems, facts}.

    `facts` is what app_facts returns, or {} when there are problems. The app
    role checks an app with this, once per definition and run.
    """
    params, problems = _validate(app)
    return {"problems": problems, "facts": {} if problems else _derive(params)}


def _renamed(problem, where):
    """A problem of one app, named for where the app sits (flaskops_apps[2])."""
    return re.sub(rf"\b{VARIABLE}\b", where, problem)


def apps_checked(apps, variable="flaskops_apps"):
    """The apps of one host checked, each alone and all together: {problems, apps}.

    Every app must be valid on its own; together, no two may share a name (or the
    names derived from it), a root directory, a listening address or a site name.
    Each clash names both apps, so the user can tell which one to change.
    `apps` maps each app's name to {definition (as given), facts (its
    app_facts)}, or is {} when there are problems. Each app is validated once.
    """
    if variable == VARIABLE:  # one app, described the classic way
        apps = [apps]
        params, problems = _validate(apps[0])
        checked = [] if problems else [(apps[0], VARIABLE, _derive(params))]
    elif not isinstance(apps, list) or not apps:
        return {"problems": [f"{variable} must be a non-empty list of app definitions"], "apps": {}}
    else:
        problems, checked = [], []
        for index, app in enumerate(apps):
            where = f"{variable}[{index}]"
            params, own = _validate(app)
            problems.extend(_renamed(problem, where) for problem in own)
            if not own:
                checked.append((app, f"{where} ({params['name']})", _derive(params)))

    claims = {}  # (kind, value) -> the first app that claimed it
    for _app, label, facts in checked:
        present = facts["state"] == "present"
        mine = [("name", facts["name"]), ("nginx upstream", facts["upstream_name"]),
                ("root directory", facts["root_dir"])]
        if present:
            if not facts["unix_socket"]:
                # Only a network listener binds it, but an app that moves behind
                # load balancers keeps its port: no two share one.
                mine.append(("port", facts["port"]))
            mine.extend(("site name", name) for name in facts["site_names"])
        for kind, value in mine:
            other = claims.setdefault((kind, value), label)
            if other != label:
                problems.append(f"{other} and {label} both use the {kind} {value}; "
                                "each app needs its own")
    known = {} if problems else {facts["name"]: {"definition": app, "facts": facts} for app, _label, facts in checked}
    return {"problems": problems, "apps": known}


def apps_problems(apps, variable="flaskops_apps"):
    """List what is wrong with the apps of one host, each alone and all together."""
    return apps_checked(apps, variable)["problems"]


def parse_wsgi(value):
    """A WSGI entry point read as Gunicorn reads it: (module, attribute, call).

    `module:attribute`, `module:factory()` or a factory call with literal
    arguments, `module:factory("/srv/data/app.db", debug=False)`; a bare `module`
    means its `application`. `call` is "" for an attribute, else the call's
    arguments as Python source, "(...)". Raises ValueError saying what is wrong.
    """
    module, colon, expression = str(value).partition(":")
    expression = expression if colon else "application"
    if not MODULE_RE.match(module):
        raise ValueError("must look like 'module:attribute', 'module:factory()' or 'module:factory(arguments)': "
                         f"{module!r} is not a module name")
    try:
        node = ast.parse(expression, mode="eval").body
    except SyntaxError:
        raise ValueError(f"must look like 'module:attribute' or 'module:factory(...)': {expression!r} "
                         "is neither an attribute name nor a call") from None
    if isinstance(node, ast.Name):
        return module, node.id, ""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError(f"must name an attribute or call a factory by its name: {expression!r} does neither")
    arguments = []
    for argument in node.args + node.keywords:
        value_node = argument.value if isinstance(argument, ast.keyword) else argument
        if isinstance(argument, ast.Starred) or (isinstance(argument, ast.keyword) and argument.arg is None):
            raise ValueError("calls its factory with unpacked arguments (* or **): Gunicorn takes literal values only")
        try:
            literal = ast.literal_eval(value_node)
        except ValueError:
            raise ValueError(f"calls its factory with {ast.unparse(value_node)!r}, which is not a literal "
                             "value (a string, number, bool, None, list, tuple, dict or set of them): "
                             "Gunicorn takes literal arguments only") from None
        rendered = repr(literal)
        arguments.append(f"{argument.arg}={rendered}" if isinstance(argument, ast.keyword) else rendered)
    return module, node.func.id, "(" + ", ".join(arguments) + ")"


def app_facts(app):
    """The app definition with defaults applied, plus every value derived from it."""
    params, problems = _validate(app)
    if problems:
        raise AnsibleFilterError("Invalid app definition:\n- " + "\n- ".join(problems))
    return _derive(params)


def _derive(params):
    """A valid app definition (defaults applied) with every value derived from it."""
    name = params["name"]
    root = params["root"] or f"/srv/{name}"
    # Everything the service runs is reached through the `current` link, which a
    # deploy switches atomically from one release directory to the next.
    current = f"{root}/current"
    src_dir = f"{current}/src"
    etc_dir = f"/etc/flaskops/{name}"
    wsgi_module, wsgi_attr, wsgi_call = parse_wsgi(params["wsgi"])

    # Each release runs as an instance of the unit templates, named by its id,
    # and listens on a unix socket of its own, <run_dir>/<id>.sock: a new release
    # starts beside the one serving, is checked there, and only then does the
    # nginx on the host send it traffic. An app that another host reaches (load
    # balancers: a non-loopback address) also listens on address:port, which only
    # one release at a time can hold.
    run_dir = f"/run/flaskops-{name}"
    host = params["address"]
    host = f"[{host}]" if ":" in host else host
    bind = f"{host}:{params['port']}"
    network_listener = not params["unix_socket"] and not ipaddress.ip_address(params["address"]).is_loopback
    upstream_server = bind

    redirect_names = [f"www.{params['domain']}"] if params["www_redirect"] else []
    # The names the site answers as itself; with the redirected ones, every name
    # it answers to, which its certificate must cover.
    server_names = [params["domain"]] + params["aliases"]
    site_names = server_names + redirect_names
    has_code_dir = params["source"]["type"] in CODE_SOURCES
    shared_files = [shared_file(entry) for entry in params["shared_files"]]
    static_dir = params["static_dir"]
    static_find = _static_find(static_dir)
    if static_find:
        # Found by each new release's build and linked as <release>/static.
        static_dir = f"{current}/static"
    elif static_dir and not os.path.isabs(static_dir):
        # Relative to the code, which only local and git releases have.
        static_dir = f"{src_dir}/{static_dir}" if has_code_dir else ""

    processes, jobs = _processes(params)
    derived = {
        "user": name,
        "group": name,
        "root_dir": root,
        "releases_dir": f"{root}/releases",
        "current_link": current,
        "shared_dir": f"{root}/shared",
        "src_dir": src_dir,
        # Whether releases hold the app's code in src/ (else it is installed in the venv).
        "has_code_dir": has_code_dir,
        # Gunicorn's working directory: the code when the release has it, else the release.
        "work_dir": src_dir if has_code_dir else current,
        # Where in a release its working directory is, and so the shared paths' links.
        "release_work_subdir": "/src" if has_code_dir else "",
        "shared_file_paths": [entry["path"] for entry in shared_files],
        # A git source's checkout on the host, updated to the ref on each deploy.
        "repo_dir": f"{root}/repo",
        "deploy_key": f"{etc_dir}/deploy_key",
        "venv": f"{current}/venv",
        # How the app runs is part of each release (built into it, never
        # rewritten under a release that serves): the service reads these
        # through `current`, so a switch or a rollback brings its own.
        "entry_module": ENTRY_MODULE,
        "entry_file": f"{current}/{ENTRY_MODULE}.py",
        # What Gunicorn loads (its wsgi_app): the entry module's ProxyFix'd app, or the app itself.
        "wsgi_app": f"{ENTRY_MODULE}:app" if params["proxy_fix"] else params["wsgi"],
        # The entry point, parsed as Gunicorn parses it: the module, the attribute
        # or factory, and the factory call's literal arguments ("(...)"; "" for an attribute).
        "wsgi_module": wsgi_module,
        "wsgi_attr": wsgi_attr,
        "wsgi_call": wsgi_call,
        "etc_dir": etc_dir,
        "config_file": f"{current}/gunicorn.conf.py",
        "env_file": f"{current}/environment",
        # Where releases built before settings were part of them kept theirs.
        "legacy_files": [f"{etc_dir}/gunicorn.conf.py", f"{etc_dir}/environment", f"{root}/flaskops_wsgi.py",
                         f"{UNITS_DIR}/flaskops-{name}.service", f"{UNITS_DIR}/flaskops-{name}.socket",
                         f"{UNITS_DIR}/multi-user.target.wants/flaskops-{name}.service",
                         f"{UNITS_DIR}/sockets.target.wants/flaskops-{name}.socket"],
        # The unit templates; a release's units are <unit_prefix><id>.service and .socket.
        "unit_prefix": f"flaskops-{name}@",
        "unit": f"flaskops-{name}@*.service",
        "unit_file": f"{UNITS_DIR}/flaskops-{name}@.service",
        "socket_unit_file": f"{UNITS_DIR}/flaskops-{name}@.socket",
        # A release's own service settings (stop timeout, sandbox): <release>/<release_service_file>,
        # read by systemd through <units_dir>/<unit_prefix><id>.service.d/<release_service_file>.
        "units_dir": UNITS_DIR,
        "release_service_file": "service.conf",
        # What collection versions before per-release units wrote, removed once a release serves.
        "legacy_units": [f"flaskops-{name}.service", f"flaskops-{name}.socket"],
        # Per release: <run_dir>/<id>.sock (its socket), <run_dir>/<id>/ (its runtime
        # directory: gunicorn.pid, gunicorn.ctl).
        "run_dir": run_dir,
        "runtime_dir": f"flaskops-{name}",
        "network_listener": network_listener,
        "bind": bind,
        "upstream_name": "flaskops_" + name.replace("-", "_"),
        # Where a load balancer reaches the app (network_listener).
        "upstream_server": upstream_server,
        # The site's nginx on this host reaches the release that serves through
        # <current>/socket, a link each release has to its own socket.
        "release_socket_link": f"{current}/socket",
        # Where collection versions before per-release units served the app: the site
        # sends requests there until the first release of its own passes its check.
        "legacy_upstream_server": f"unix:/run/flaskops-{name}.sock" if params["unix_socket"] else bind,
        "site": name,
        # The nginx site's file, its link in sites-enabled, and the page whose
        # presence puts the site in maintenance.
        "site_file": f"/etc/nginx/sites-available/{name}",
        "site_link": f"/etc/nginx/sites-enabled/{name}",
        "maintenance_page": f"/etc/nginx/flaskops/{name}.maintenance.html",
        "redirect_names": redirect_names,
        "server_names": server_names,
        "site_names": site_names,
        # The certificate's subjectAltName entries, one per site name.
        "subject_alt_names": [f"IP:{name}" if _is_ip(name) else f"DNS:{name}" for name in site_names],
        "static_path": static_dir,
        # What a new release's build looks for, to link it as <release>/static
        # (null: nginx serves static_path as it is, or nothing).
        "static_find": static_find,
        # The statuses the health check accepts: statuses, else the one status, else any 2xx or 3xx.
        "health_statuses": _health_statuses(params["health_check"]),
        # Processes and jobs (app definition's processes and jobs, with unit names and ExecStart lines).
        "process_units": processes,
        "job_units": jobs,
        # Every unit of the app's processes (all releases) and jobs: what a deploy prunes by.
        "process_unit_globs": [f"flaskops-{name}.*@*.service"],
        "job_unit_globs": [f"flaskops-{name}.*.timer", f"flaskops-{name}.*.service"],
        # The unit files of its processes (a template per instance) and jobs (a service and a
        # timer each): {file, unit, kind (the gunicorn role's template), hosts (one or all),
        # number, process, job; for a process instance, prefix (of its units, <prefix><id>.service)
        # and overlap}.
        "process_unit_files": _process_unit_files(processes, jobs),
        # What systemd-analyze checks on the host: field, kind (calendar, timespan), value; flat.
        "schedule_checks": [part for index, job in enumerate(params["jobs"])
                            for key, kind in (("calendar", "calendar"), ("every", "timespan"),
                                              ("randomized_delay", "timespan"))
                            if job[key] is not None
                            for part in (f"{VARIABLE}.jobs[{index}].{key}", kind, job[key])],
        # Where the unit files of its processes and jobs are (and any left by dropped ones).
        "process_files_glob": f"{UNITS_DIR}/flaskops-{name}.*",
        "release_argv": command_argv(params["release_command"], "release") if params["release_command"] else [],
        **_tls_paths(name, etc_dir, params["tls"]),
    }
    clash = set(params) & set(derived)
    if clash:  # a derived name must never shadow a field the user set
        raise AnsibleFilterError(f"app_facts: derived keys shadow app fields: {sorted(clash)}")
    # Shared files as written: dictionaries (path, content or src, owner, mode).
    return {**params, "shared_files": shared_files, **derived}


def _health_statuses(health):
    if health["statuses"]:
        return sorted(set(health["statuses"]))
    if health["status"] is not None:
        return [health["status"]]
    return list(range(200, 400))


def _host_apps(host, variables):
    """The app definitions of one inventory host (flaskops_apps, or its one flaskops_app)."""
    if "flaskops_apps" in variables:
        return variables["flaskops_apps"]
    if "flaskops_app" in variables:
        return [variables["flaskops_app"]]
    raise AnsibleFilterError(f"app host {host} describes no app: set flaskops_app or flaskops_apps for it")


def app_backends(hostvars, hosts, name):
    """Where a load balancer reaches the app `name` on each of `hosts`.

    hostvars is Ansible's hostvars (or any mapping of host to its variables);
    hosts are the app hosts, e.g. groups['flaskops']. Returns one
    {"host": ..., "server": "address:port"} per host that runs the app (hosts
    where it is absent are left out). An app that only the host itself can
    reach (a unix socket, a loopback address) is an error naming the host.
    """
    backends = []
    for host in hosts:
        apps = _host_apps(host, hostvars[host])
        mine = [app for app in apps if isinstance(app, dict) and app.get("name") == name]
        if not mine:
            names = ", ".join(str(app.get("name")) for app in apps if isinstance(app, dict))
            raise AnsibleFilterError(
                f"app host {host} has no app named {name} (its apps: {names or 'none'}); "
                "every host of the app group must run every app its balancers serve"
            )
        facts = app_facts(mine[0])
        if facts["state"] != "present":
            continue
        where = f"the app {name} on {host}"
        if facts["unix_socket"]:
            raise AnsibleFilterError(
                f"{where} listens on a unix socket, which a load balancer on another host cannot "
                "reach: set unix_socket: false and address to the host's private address"
            )
        if ipaddress.ip_address(facts["address"]).is_loopback:
            raise AnsibleFilterError(
                f"{where} binds to {facts['address']}, which a load balancer on another host cannot "
                "reach: set its address to the host's private address and allow_from to the "
                "balancers' addresses"
            )
        backends.append({"host": host, "server": facts["upstream_server"]})
    if not backends:
        raise AnsibleFilterError(f"no host runs the app {name} (hosts looked at: {', '.join(hosts) or 'none'})")
    return backends


def process_units_of(facts, primary=True, changed=(), found=()):
    """What runs an app's processes and jobs on one host, from its app_facts.

    primary: whether the host runs the jobs that run on one host. changed: the
    unit files a run just rewrote (their instances restart); found: the unit
    files of processes and jobs on the host (any that is not wanted any more
    makes `stale` true). `files` are the entries of process_unit_files this
    host has, which the gunicorn role writes; it publishes the rest as
    gunicorn_process_units, which process_plan reads.
    """
    files = [entry for entry in facts["process_unit_files"] if primary or entry["hosts"] != "one"]
    instances = [entry for entry in files if entry["kind"] == "process.service"]
    return {
        "instances": [entry["prefix"] for entry in instances],
        "stop_first": [entry["prefix"] for entry in instances if not entry["overlap"]],
        "restart": [entry["prefix"] for entry in instances if entry["file"] in changed],
        "settle": max([item["settle"] for item in facts["process_units"]], default=0),
        "timers": [entry["unit"] for entry in files if entry["kind"] == "job.timer"],
        "services": [entry["unit"] for entry in files if entry["kind"] == "job.service"],
        "prune": facts["process_unit_globs"] + facts["job_unit_globs"],
        "stale": bool(set(found) - set(entry["file"] for entry in files)),
        "files": files,
    }


def process_plan(units, target, previous=""):
    """The units that run an app's processes and jobs with release `target`.

    units is flaskops.deploy.gunicorn's gunicorn_process_units entry of the app;
    target and previous are release ids (previous: the release whose processes
    ran until now, "" when they stay or none did). Returns the units for
    flaskops.deploy.units, in order: the previous release's instances of the
    processes that do not overlap, stopped; the target's instances started
    (restarted when their template changed), enabled, their failed state
    cleared; the jobs' timers started and enabled; the jobs' services, named
    only so that a prune keeps them.
    """
    plan = []
    if not target:  # no release to run them in: the prune stops every one
        return plan
    moving = bool(previous) and previous != target
    if moving:
        plan.extend({"name": f"{prefix}{previous}.service", "state": "stopped", "enabled": False}
                    for prefix in units["stop_first"])
    for prefix in units["instances"]:
        # Instances that stay on their release restart on a changed template; new ones just start.
        restart = prefix in units["restart"] and not moving
        plan.append({"name": f"{prefix}{target}.service", "state": "restarted" if restart else "started",
                     "enabled": True, "reset_failed": True})
    plan.extend({"name": timer, "state": "started", "enabled": True} for timer in units["timers"])
    plan.extend({"name": service} for service in units["services"])
    return plan


def first_app_host(hosts, hostvars, name):
    """The first of `hosts` (inventory order) where the app `name` is present; "" when none.

    flaskops.deploy.site's one host for an app's release command and its jobs
    that run on one host.
    """
    for host in hosts:
        variables = hostvars[host]
        if "flaskops_apps" not in variables and "flaskops_app" not in variables:
            continue
        for app in _host_apps(host, variables):
            if isinstance(app, Mapping) and app.get("name") == name and app.get("state", "present") == "present":
                return host
    return ""


def release_file(item, directory):
    """One of the files a release runs with ({name, content, owner, group, mode,
    private}, flaskops.deploy.gunicorn's gunicorn_release_files) as the
    flaskops.deploy.files module writes it into the release's directory."""
    name = str(item["name"])
    if not name or "/" in name or name in (".", ".."):
        raise AnsibleFilterError(f"release_file: {name!r} is not a file name")
    entry = {key: plain(item[key]) for key in ("content", "owner", "group", "mode")}
    return {"path": f"{directory}/{name}", **entry}


def shared_layout(facts, seeds=None):
    """What <root>/shared holds for an app, as the flaskops.deploy.files module
    writes it: {directories, files}. The shared directories and those that hold
    shared files belong to the app user (0750); each shared file is written only
    when missing (keep_content), with its content, or seeds[path] (its src, read
    on the controller), or nothing; an owner root file is the app group's to read."""
    seeds = seeds or {}
    base = facts["shared_dir"]
    directories = []
    for path in facts["shared_dirs"] + [os.path.dirname(entry["path"]) for entry in facts["shared_files"]]:
        if path and f"{base}/{path}" not in [entry["path"] for entry in directories]:
            directories.append({"path": f"{base}/{path}", "owner": facts["user"], "group": facts["group"],
                                "mode": "0750"})
    files = []
    for entry in facts["shared_files"]:
        if entry["src"] is not None and entry["path"] not in seeds:
            raise AnsibleFilterError(f"shared_layout: no seed read for {entry['path']} (src {entry['src']})")
        content = seeds[entry["path"]] if entry["src"] is not None else entry["content"] or ""
        files.append({"path": f"{base}/{entry['path']}", "content": plain(content), "keep_content": True,
                      "owner": facts["user"] if entry["owner"] == "app" else "root", "group": facts["group"],
                      "mode": entry["mode"]})
    return {"directories": directories, "files": files}


class FilterModule:
    """flaskops.deploy app filters."""

    def filters(self):
        return {
            "app_backends": app_backends,
            "app_checked": app_checked,
            "app_facts": app_facts,
            "app_problems": app_problems,
            "apps_checked": apps_checked,
            "apps_problems": apps_problems,
            "command_argv": command_argv,
            "first_app_host": first_app_host,
            "not_networks": not_networks,
            "process_plan": process_plan,
            "process_units_of": process_units_of,
            "release_file": release_file,
            "shared_layout": shared_layout,
        }

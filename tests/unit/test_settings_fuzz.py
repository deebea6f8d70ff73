"""Bad role settings, fuzzed: the check play names the variable, never a traceback.

Hypothesis sets one variable of a role's argument spec (gunicorn, nginx_site,
release) to an arbitrary value: of the wrong type, a number or a boolean as
the string `-e key=value` makes of it, out of range, empty, a list or a dict of
junk. Forty such hosts at a time go through flaskops.deploy.check, the first
play of flaskops.deploy.site, for real (ansible-playbook, on this machine:
that play changes nothing and runs nothing on a host for an app without jobs).
Each host either passes, or fails with a message that names its variable;
none fails with Python's words for a type error (a comparison of a string with
a number, say) instead of ours.
"""
import json
import os
import pathlib
import subprocess
import sys

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".cache" / "collections"
ROLES = ["gunicorn", "nginx_site", "release"]
APP = {"name": "hello", "domain": "example.test", "source": {"type": "local", "path": str(ROOT / "examples" / "hello")},
       "wsgi": "hello:create_app()"}
# Python's words for what our checks must have caught first.
TRACEBACK = ["Traceback", "not supported between", "unsupported operand", "object has no attribute",
             "unexpected templating type error", "Unexpected templating type error", "An unhandled exception",
             "can only concatenate", "object is not iterable", "invalid literal for int",
             "expected string or bytes-like object", "object of type", "'int' object", "'str' object",
             "'NoneType' object", "'bool' object", "'float' object", "'list' object", "'dict' object"]


def options():
    """(variable, its spec) of every role variable but the app definition."""
    found = []
    for role in ROLES:
        spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
        found += [(name, option) for name, option in spec["argument_specs"]["main"]["options"].items()
                  if name != "flaskops_app"]
    return sorted(found)


OPTIONS = options()
# What a YAML inventory or -e can hand over; never a template ("{{ }}" is Jinja to Ansible).
TEXT = st.text(max_size=20).filter(lambda text: "{" not in text and "}" not in text)
SCALAR = (st.none() | st.booleans() | st.integers(min_value=-(2 ** 40), max_value=2 ** 40)
          | st.floats(allow_nan=False, allow_infinity=False) | TEXT
          | st.sampled_from(["", " ", "0", "-1", "65536", "8080", " 80", "1e3", "0x50", "yes", "no", "on",
                             "maybe", "true", "False", "/", "a b", "10m", "[1, 2]", "a" * 300]))
JUNK = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                    max_leaves=5)


def run_check(hosts):
    """flaskops.deploy.check on hosts {name: {variable: value}}; {name: failure message or None}."""
    inventory = {"flaskops": {"hosts": {
        name: {**variables, "flaskops_app": APP, "ansible_connection": "local",
               "ansible_python_interpreter": sys.executable}
        for name, variables in hosts.items()}}}
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS), "ANSIBLE_STDOUT_CALLBACK": "json",
           "ANSIBLE_FORKS": "8", "ANSIBLE_HOST_KEY_CHECKING": "0", "ANSIBLE_RETRY_FILES_ENABLED": "0",
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_DEPRECATION_WARNINGS": "0"}
    path = ROOT / ".cache" / "fuzz-inventory.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(inventory))
    result = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", str(path),
                             "flaskops.deploy.check"], capture_output=True, text=True, env=env, check=False,
                            timeout=600)
    report = json.loads(result.stdout[result.stdout.index("{"):])
    failures = {name: None for name in hosts}
    for play in report["plays"]:
        for task in play["tasks"]:
            for name, outcome in task["hosts"].items():
                if outcome.get("failed") and failures.get(name) is None:
                    failures[name] = json.dumps(outcome.get("msg", outcome), default=str)
    return failures, result


# Forty hosts a run: shrinking such a batch would take many runs, so there is
# none; a failure names the host's variable, its value and the message.
@settings(max_examples=4, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(cases=st.lists(st.tuples(st.sampled_from(OPTIONS), JUNK), min_size=40, max_size=40))
def test_any_value_of_any_role_variable_passes_or_fails_naming_it(cases):
    hosts = {f"fuzz{index}": {option[0]: value} for index, (option, value) in enumerate(cases)}
    failures, result = run_check(hosts)
    assert result.returncode in (0, 2), result.stderr[-2000:]
    for name, message in failures.items():
        (variable, value), = hosts[name].items()
        if message is None:
            continue
        assert variable in message, (variable, value, message)
        assert not any(words in message for words in TRACEBACK), (variable, value, message)


def test_the_check_passes_a_host_with_the_defaults():
    failures, result = run_check({"plain": {}})
    assert failures == {"plain": None}, (failures, result.stderr[-2000:])

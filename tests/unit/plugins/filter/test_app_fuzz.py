"""Bad input, fuzzed: any app definition gets a list of problems naming a field, never a traceback.

Hypothesis takes a valid definition (with processes, jobs and TLS, so that every
nested field is reachable) and sets one field, anywhere in it, to an arbitrary
value (of the wrong type, out of range, empty, unicode, a list of junk, a dict),
or adds a field the spec does not know. Whatever comes out:
- the filter answers with problems, as strings, and raises nothing else;
- each problem names the variable, and one of them names the field set (or a
  field it sits in), so the user knows what to change;
- a definition it accepts derives its facts without an error.
"""
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.flaskops.deploy.plugins.filter import app as app_filter

VALID = {
    "name": "shop",
    "domain": "shop.example.com",
    "aliases": ["www2.example.com"],
    "source": {"type": "git", "repo": "https://example.com/shop.git", "ref": "v1.0.0"},
    "wsgi": "shop:create_app()",
    "environment": {"SHOP_MODE": "production"},
    "tls": {"mode": "provided", "certificate": "files/shop.pem", "private_key": "files/shop.key"},
    "health_check": {"path": "/health", "retries": 4},
    "shared_dirs": ["instance"],
    "shared_files": [".env"],
    "paths": [{"path": "/upload/", "body_limit": "50m"}],
    "processes": [{"name": "worker", "command": ["celery", "-A", "shop", "worker"], "instances": 2}],
    "jobs": [{"name": "report", "command": "flask report", "calendar": "daily"}],
    "release_command": "flask db upgrade",
}

# Values of every kind a YAML inventory or `-e` can hand over.
JUNK = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40)
    | st.sampled_from(["", " ", "-", "0", "yes", "/", "../x", "a" * 300, "\x00", "é", "{{ x }}", "*", "@"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def places(value, path=()):
    """Every (path, key) of a field in the definition, nested dicts and list items included."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path + (key,)
            yield from places(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield path + (index,)
            yield from places(item, path + (index,))


PLACES = sorted(places(VALID), key=str)


def changed(definition, path, value):
    """A deep copy of definition with the field at path set to value."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(definition, dict):
        return {**definition, head: changed(definition.get(head), rest, value)}
    copy = list(definition)
    copy[head] = changed(copy[head], rest, value)
    return copy


def named(problems, path):
    """Whether a problem names the field at path, or a field it sits in."""
    keys = [str(key) for key in path if isinstance(key, str)]
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(key)}(?![A-Za-z0-9_])", problem)
               for problem in problems for key in keys)


def check(definition, path):
    problems = app_filter.app_problems(definition)
    assert isinstance(problems, list) and all(isinstance(problem, str) for problem in problems), problems
    assert all(problem.startswith(app_filter.VARIABLE) for problem in problems), problems
    if problems:
        assert named(problems, path), (path, problems)
    else:
        facts = app_filter.app_facts(definition)
        assert facts["name"] and facts["root_dir"].startswith("/")
    return problems


def test_the_base_definition_is_valid():
    assert not app_filter.app_problems(VALID)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PLACES), value=JUNK)
def test_any_value_anywhere_is_a_problem_naming_its_field_or_accepted(path, value):
    check(changed(VALID, path, value), path)


def at(path):
    """The value at path in VALID."""
    value = VALID
    for step in path:
        value = value[step]
    return value


DICTS = [()] + [path for path in PLACES if isinstance(at(path), dict)]


@settings(max_examples=150, deadline=None)
@given(parent=st.sampled_from(DICTS), key=st.text(min_size=1, max_size=12), value=JUNK)
def test_a_field_the_spec_does_not_know_is_named(parent, key, value):
    if key in at(parent) or parent and parent[-1] == "environment":  # environment takes any name
        return
    problems = check(changed(VALID, parent + (key,), value), parent + (key,))
    assert problems, f"{parent + (key,)} was accepted"


@settings(max_examples=100, deadline=None)
@given(value=JUNK)
def test_a_definition_that_is_not_a_dict_or_a_list_of_them(value):
    problems = app_filter.apps_problems(value, "flaskops_apps")
    assert isinstance(problems, list) and all(isinstance(problem, str) for problem in problems)
    if not (isinstance(value, list) and value and all(isinstance(item, dict) for item in value)):
        assert problems and all(problem.startswith("flaskops_apps") for problem in problems), problems

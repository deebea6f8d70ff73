"""No module of the collection returns a result key that ansible-core reserves.

ansible-core 2.21 enforces the types of the keys it reads from every task's
result: a module that returned `finished: [...]` had it turned into a bool
("Value for result key 'finished' of type list was converted to bool"), and the
deploy failed. The list is ansible-core 2.21's (UnifiedTaskResult's result keys);
the documented RETURN of each module must stay clear of it.
"""
import ast
import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODULES = sorted((ROOT / "plugins" / "modules").glob("*.py"))

# ansible._internal._task.UnifiedTaskResult.get_result_key_to_resolved_field_mapping(True), 2.21.5.
RESERVED = {
    "ansible_facts", "ansible_job_id", "ansible_stats", "changed", "deprecations", "diff",
    "exception", "failed", "finished", "msg", "rc", "skipped", "unreachable", "warnings",
}


def documented_return_keys(path):
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "RETURN" for t in node.targets):
            return set(yaml.safe_load(node.value.value) or {})
    raise AssertionError(f"{path.name} has no RETURN")


@pytest.mark.parametrize("path", MODULES, ids=[path.stem for path in MODULES])
def test_no_documented_result_key_is_one_ansible_core_reserves(path):
    assert documented_return_keys(path) & RESERVED == set()


def test_releases_info_returns_its_releases_under_a_key_of_its_own():
    from ansible_collections.flaskops.deploy.plugins.modules import releases_info  # pylint: disable=import-outside-toplevel

    result = releases_info.run({"path": "/nonexistent", "current": "/nonexistent/current",
                                "mark": ".flaskops-release", "checked_mark": ".flaskops-checked", "look_for": []})
    assert set(result) & (RESERVED - {"changed"}) == set()
    assert "built" in result

"""Unit tests for the failed_checks and settings filters (one assert per role's settings)."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.flaskops.deploy.plugins.filter.checks import failed_checks, settings


def test_only_the_messages_of_failed_checks_in_order():
    checks = [{"ok": True, "msg": "a"}, {"ok": False, "msg": "b "}, {"ok": "False", "msg": "c"},
              {"ok": "True", "msg": "d"}, {"ok": "false", "msg": "e"}]
    assert failed_checks(checks) == ["b", "c", "e"]


def test_nothing_failed_is_an_empty_list():
    assert failed_checks([{"ok": True, "msg": "a"}]) == []


@pytest.mark.parametrize("check", [{"msg": "no ok"}, {"ok": "maybe", "msg": "x"}])
def test_a_check_without_a_clear_ok_is_an_error(check):
    with pytest.raises((AnsibleFilterError, TypeError)):
        failed_checks([check])


SPEC = {"port": {"type": "int", "default": 80}, "on": {"type": "bool", "default": True},
        "names": {"type": "list", "elements": "str", "default": []}, "word": {"type": "str", "default": ""}}


def test_settings_converts_what_e_key_value_gives_as_text():
    assert settings(SPEC, {"port": "8080", "on": "false", "names": "a,b", "word": 7}) == {
        "port": 8080, "on": False, "names": ["a", "b"], "word": "7"}


def test_settings_converts_only_the_variables_given():
    assert settings(SPEC, {"port": 81}) == {"port": 81}


@pytest.mark.parametrize("variables, named", [({"port": "eighty"}, "port"), ({"on": "maybe"}, "on")])
def test_settings_refuses_what_the_spec_refuses_naming_the_variable(variables, named):
    with pytest.raises(AnsibleFilterError, match=named):
        settings(SPEC, variables)

"""Unit tests for the failed_checks filter (one assert per role's settings)."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.flaskops.deploy.plugins.filter.checks import failed_checks


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

"""Unit tests for the role_settings action: a role's variables as its argument spec converts them."""
import pytest

from ansible_collections.flaskops.deploy.plugins.action.role_settings import converted

SPEC = {"port": {"type": "int", "default": 80}, "on": {"type": "bool", "default": True},
        "names": {"type": "list", "elements": "str", "default": []}, "word": {"type": "str", "default": ""},
        "secret": {"type": "str", "required": True, "no_log": True}}


def test_what_e_key_value_gives_as_text_is_converted():
    assert converted(SPEC, {"port": "8080", "on": "false", "names": "a,b", "word": 7}) == (
        {"port": 8080, "on": False, "names": ["a", "b"], "word": "7"}, [])


def test_only_the_variables_given_are_converted_and_required_ones_are_not_asked_for():
    assert converted(SPEC, {"port": 81}) == ({"port": 81}, [])


@pytest.mark.parametrize("variables, named", [({"port": "eighty"}, "port"), ({"on": "maybe"}, "on")])
def test_what_the_spec_refuses_is_an_error_naming_the_variable(variables, named):
    settings, errors = converted(SPEC, variables)
    assert errors and all(named in error for error in errors)

# Copyright: flaskops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Plugins run inside ansible-core (GPLv3+) and carry its license; the rest of
# the collection is MIT (LICENSE).
"""failed_checks: the messages of the checks that failed, for one assert per role's settings;
settings: a role's variables converted as its argument spec says, for those checks."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.parsing.convert_bool import boolean


def failed_checks(checks):
    """The `msg` of each {ok, msg} in `checks` whose `ok` is false.

    `ok` may be a boolean or its text ("True", "false"): ansible-core before
    2.19 renders "{{ a > b }}" as text. A role's preflight asserts that this is
    empty, in one task, and shows every message that is not.
    """
    failed = []
    for check in checks:
        try:
            ok = boolean(check["ok"], strict=True)
        except (KeyError, TypeError) as error:
            raise AnsibleFilterError(f"failed_checks: each check needs ok and msg, got {check!r}") from error
        if not ok:
            failed.append(str(check["msg"]).strip())
    return failed


def _plain(value):
    """`value` as plain dicts and lists, all the way down.

    ansible-core 2.19+ hands a filter its containers as lazy templating ones,
    which carry the templar; the validator deep-copies its input, and a copied
    templar copies ansible-core's plugin loaders (2.21 prints a deprecation for
    each copied loader)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def settings(options, variables):
    """`variables` (name -> value) converted as the argument spec `options` says.

    ansible-core's validate_argument_spec checks that each value can be
    converted to its option's type (a number or boolean given as text by
    `-e key=value`, a single value for a list), but hands the role the value as
    it came. A role's checks compare these instead, the values the spec
    accepted, so that any value either passes or fails with the check's own
    message naming the variable. Only the options named in `variables` are
    validated; a value the spec refuses raises an error naming it.
    """
    if not isinstance(options, dict) or not isinstance(variables, dict):
        raise AnsibleFilterError("settings: expects the argument spec's options and a mapping of variables")
    spec = {name: _plain(options[name]) for name in variables if name in options}
    result = ArgumentSpecValidator(spec).validate(_plain(variables))
    if result.error_messages:
        raise AnsibleFilterError("; ".join(result.error_messages))
    return result.validated_parameters


class FilterModule:
    """flaskops.deploy check filters."""

    def filters(self):
        return {"failed_checks": failed_checks, "settings": settings}

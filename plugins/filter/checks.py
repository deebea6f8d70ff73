# Copyright: flaskops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Plugins run inside ansible-core (GPLv3+) and carry its license; the rest of
# the collection is MIT (LICENSE).
"""failed_checks: the messages of the checks that failed, for one assert per role's settings
(which compare the values flaskops.deploy.role_settings converted)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
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


class FilterModule:
    """flaskops.deploy check filters."""

    def filters(self):
        return {"failed_checks": failed_checks}

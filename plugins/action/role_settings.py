# Copyright: flaskops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Plugins run inside ansible-core (GPLv3+) and carry its license; the rest of
# the collection is MIT (LICENSE).
"""role_settings (action): the calling role's variables, converted as its argument spec says."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase


def _plain(value):
    """`value` as plain dicts and lists, all the way down (the validator deep-copies
    its input; ansible-core 2.19+'s lazy containers carry the templar)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def converted(options, values):
    """(settings, errors): `values` (name -> value) as the spec `options` converts them.

    Only the options named in `values` are converted; the others are left out
    (required ones are not asked for: ansible-core checked those when the entry
    point was called)."""
    spec = {name: _plain(options[name]) for name in values if name in options}
    result = ArgumentSpecValidator(spec).validate(_plain(values))
    return result.validated_parameters, list(result.error_messages)


class ActionModule(ActionBase):
    """Read the role's spec, template its variables, convert them; change nothing."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        entry_point = self._task.args.get("entry_point", "main")
        role_path = task_vars.get("role_path")
        if not role_path:
            raise AnsibleActionFail("role_settings runs in a role's task (it reads that role's meta/argument_specs.yml)")
        spec_file = os.path.join(role_path, "meta", "argument_specs.yml")
        # The loader caches what it parsed: the spec is read once per process.
        specs = (self._loader.load_from_file(spec_file) or {}).get("argument_specs", {})
        if entry_point not in specs:
            raise AnsibleActionFail(f"role_settings: {spec_file} declares no entry point {entry_point!r}")
        options = specs[entry_point].get("options") or {}
        values = self._templar.template({name: task_vars[name] for name in options if name in task_vars})
        settings, errors = converted(options, values)
        if errors:
            result.update(failed=True, argument_errors=errors,
                          msg="Validation of arguments failed:\n" + "\n".join(errors))
            return result
        # The values can hold secrets (an option marked no_log, a password):
        # what this returns is never shown, even with -v; a failure above is.
        result.update(changed=False, settings=settings, _ansible_no_log=True)
        return result

#!/usr/bin/python
# Copyright: flaskops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Plugins run inside ansible-core (GPLv3+) and carry its license; the rest of
# the collection is MIT (LICENSE).
"""role_settings: documentation of the action of the same name (it runs on the controller only)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: role_settings
author: flaskops maintainers (@flaskops)
short_description: The calling role's variables, converted as its argument spec says
description:
  - Reads the calling role's C(meta/argument_specs.yml), templates each of the entry point's
    options that is set, and returns them converted as the spec says (a number or boolean given
    as text by C(-e key=value) becomes one; a single value for a list becomes a list).
  - ansible-core checks a role's variables against its spec when the entry point is called, but
    hands the role each value as it came; a role's checks compare these values instead, so that
    any value either passes them or fails naming its variable.
  - Changes nothing and contacts no host. The result is never shown (the values can hold
    secrets); a value the spec refuses fails the task naming the variable.
version_added: 1.0.0
options:
  entry_point:
    description: The entry point of the role's spec whose options to convert.
    type: str
    default: main
attributes:
  action:
    support: full
    description: Runs on the controller only.
  check_mode:
    support: full
    description: Changes nothing, in check mode as in a run.
  diff_mode:
    support: none
    description: Changes nothing.
  platform:
    support: full
    platforms: all
    description: Needs nothing on the host.
"""

EXAMPLES = r"""
- name: Read the Gunicorn variables as meta/argument_specs.yml converts them
  flaskops.deploy.role_settings:
  register: _gunicorn_settings

- name: Check them
  ansible.builtin.assert:
    that: _gunicorn_settings.settings.gunicorn_workers >= 0
"""

RETURN = r"""
settings:
  description: Each option of the entry point that is set, converted as the spec says.
  returned: success
  type: dict
  sample: {gunicorn_workers: 3, gunicorn_preload_app: false}
argument_errors:
  description: What the spec refused, each naming its variable.
  returned: failure
  type: list
  elements: str
"""

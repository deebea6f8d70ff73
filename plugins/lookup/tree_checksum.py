# Copyright: flaskops maintainers
# MIT License (see LICENSE)
"""tree_checksum: a content checksum of a directory on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
name: tree_checksum
author: flaskops maintainers
short_description: SHA-256 of a directory tree's contents on the controller
description:
  - Hashes every file below a directory (its path relative to the directory, whether it is
    executable, and its bytes) in a stable order, so the same contents give the same
    checksum wherever and whenever they are read. File times and owners do not count.
  - Byte-code caches (C(__pycache__), C(*.pyc)) are left out; they are derived from the code.
  - flaskops.deploy names a release built from a local directory after it, so deploying
    the same code twice makes no new release.
options:
  _terms:
    description: Directories on the controller.
    required: true
"""

EXAMPLES = r"""
- name: Show the checksum of the app's code
  ansible.builtin.debug:
    msg: "{{ lookup('flaskops.deploy.tree_checksum', '/home/me/src/shop') }}"
"""

RETURN = r"""
_raw:
  description: One hex SHA-256 digest per directory.
  type: list
  elements: str
"""

import hashlib
import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

SKIP_DIRS = {"__pycache__"}
SKIP_SUFFIXES = (".pyc", ".pyo")


def tree_checksum(root):
    """Return the hex SHA-256 of the tree below root."""
    if not os.path.isdir(root):
        raise AnsibleLookupError(f"tree_checksum: {root!r} is not a directory")
    digest = hashlib.sha256()
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            if name.endswith(SKIP_SUFFIXES):
                continue
            path = os.path.join(current, name)
            relative = os.path.relpath(path, root)
            if os.path.islink(path):
                digest.update(b"L\0" + relative.encode() + b"\0" + os.readlink(path).encode() + b"\0")
                continue
            executable = os.access(path, os.X_OK)
            digest.update(b"F\0" + relative.encode() + b"\0" + (b"x" if executable else b"-") + b"\0")
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 16), b""):
                    digest.update(block)
            digest.update(b"\0")
    return digest.hexdigest()


class LookupModule(LookupBase):
    """flaskops.deploy.tree_checksum"""

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [tree_checksum(os.path.expanduser(str(term))) for term in terms]

# Copyright: flaskops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Plugins run inside ansible-core (GPLv3+) and carry its license; the rest of
# the collection is MIT (LICENSE).
"""tree_checksum: a content checksum of a directory (or a file) on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
name: tree_checksum
author: flaskops maintainers (@flaskops)
short_description: SHA-256 of a directory tree's (or a file's) contents on the controller
description:
  - Hashes every file below a directory (its path relative to the directory, whether it is
    executable, and its bytes) in a stable order, so the same contents give the same
    checksum wherever and whenever they are read. File times and owners do not count.
  - Byte-code caches (C(__pycache__), C(*.pyc)) are left out; they are derived from the code.
  - Links count as what they point at, files and directories alike, as
    P(flaskops.deploy.copy_tree#module) copies them into a release, so a change to a linked file
    changes the checksum.
  - A plain file (such as a wheel) is hashed by its bytes alone.
  - flaskops.deploy names a release built from a local directory or a wheel after it, so
    deploying the same code twice makes no new release.
options:
  _terms:
    description: Directories or files on the controller.
    required: true
"""

EXAMPLES = r"""
- name: Show the checksum of the app's code
  ansible.builtin.debug:
    msg: "{{ lookup('flaskops.deploy.tree_checksum', '/home/me/src/shop') }}"
"""

RETURN = r"""
_raw:
  description: One hex SHA-256 digest per directory or file.
  type: list
  elements: str
"""

import hashlib
import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.flaskops.deploy.plugins.module_utils.tree import tree_files


def _hash_file(digest, path):
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)


def tree_checksum(root):
    """Return the hex SHA-256 of the tree below root, or of root's bytes if it is a file."""
    digest = hashlib.sha256()
    if os.path.isfile(root):
        _hash_file(digest, root)
        return digest.hexdigest()
    if not os.path.isdir(root):
        raise AnsibleLookupError(f"tree_checksum: {root!r} is neither a directory nor a file")
    # What a release gets (flaskops.deploy.copy_tree): a link counts as what it points at.
    for relative, path in tree_files(root):
        executable = os.access(path, os.X_OK)
        digest.update(b"F\0" + relative.encode() + b"\0" + (b"x" if executable else b"-") + b"\0")
        _hash_file(digest, path)
        digest.update(b"\0")
    return digest.hexdigest()


class LookupModule(LookupBase):
    """flaskops.deploy.tree_checksum"""

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [tree_checksum(os.path.expanduser(str(term))) for term in terms]

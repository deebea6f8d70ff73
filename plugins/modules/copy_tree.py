#!/usr/bin/python
# Copyright: flaskops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Plugins run inside ansible-core (GPLv3+) and carry its license; the rest of
# the collection is MIT (LICENSE).
"""copy_tree: the host side of the copy_tree action (unpack the archive it sent)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: copy_tree
author: flaskops maintainers (@flaskops)
short_description: Copy a directory from the controller to the host as one archive
description:
  - Packs a directory on the controller into one archive, sends it and unpacks it into a
    directory on the host, in two round trips for the whole tree where M(ansible.builtin.copy)
    takes one or two per file. flaskops.deploy's release role copies an app's code into a new
    release with it.
  - It copies the files that name the release (see P(flaskops.deploy.tree_checksum#lookup)),
    that is every regular file below O(src) but byte-code caches (C(__pycache__), C(*.pyc)). Links
    are followed, to files and to directories alike (as M(ansible.builtin.copy) follows them),
    except a link to a directory it is already inside; a link whose target is missing is left out.
  - On the host every file and directory is owned by the user Ansible runs as; directories and
    executable files get C(0755), other files C(0644).
  - Files already in O(dest) are overwritten; files that are not in O(src) are left alone. It is
    meant for a new, empty directory, and always reports a change.
version_added: 1.0.0
options:
  src:
    description: A directory on the controller (relative paths are looked up like those of M(ansible.builtin.copy)).
    type: path
    required: true
  dest:
    description: The directory on the host to unpack into; created (C(0755)) when missing.
    type: path
    required: true
  count:
    description: Internal, set by the action; how many files the archive holds.
    type: int
attributes:
  action:
    support: full
    description: An action plugin packs the directory on the controller.
  check_mode:
    support: full
    description: Reports a change without sending anything.
  diff_mode:
    support: none
    description: The tree is new; there is nothing to compare it with.
  platform:
    support: full
    platforms: posix
    description: Needs Python's tarfile on the host.
"""

EXAMPLES = r"""
- name: Copy the app's code into the new release
  flaskops.deploy.copy_tree:
    src: /home/me/src/shop
    dest: /srv/shop/releases/local-3f2a9c1d0b7e/src
"""

RETURN = r"""
dest:
  description: The directory the tree was unpacked into.
  returned: success
  type: str
  sample: /srv/shop/releases/local-3f2a9c1d0b7e/src
files:
  description: How many files were unpacked.
  returned: success
  type: int
  sample: 12
"""

import os
import posixpath
import tarfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text


def unsafe(member):
    """Why a member may not be unpacked (None when it may)."""
    name = member.name
    if name.startswith("/") or ".." in posixpath.normpath(name).split("/"):
        return "%s lies outside the directory" % name
    if not (member.isfile() or member.isdir()):
        return "%s is not a plain file or directory" % name
    return None


def unpack(src, dest):
    """Unpack the archive src into dest; return how many files it held."""
    os.makedirs(dest, 0o755, exist_ok=True)
    with tarfile.open(src, "r:gz") as archive:
        members = archive.getmembers()
        problems = [problem for problem in map(unsafe, members) if problem]
        if problems:
            raise ValueError("refusing to unpack: %s" % "; ".join(problems))
        # Python's own safety filter, where it has one (3.12, and later 3.8-3.11 releases).
        options = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        archive.extractall(dest, members=members, **options)
    return sum(1 for member in members if member.isfile())


def main():
    module = AnsibleModule(
        argument_spec=dict(src=dict(type="path", required=True), dest=dict(type="path", required=True),
                           count=dict(type="int")),
        supports_check_mode=True,
    )
    src, dest = module.params["src"], module.params["dest"]
    if module.check_mode:
        module.exit_json(changed=True, dest=dest)
    try:
        files = unpack(src, dest)
    except (OSError, tarfile.TarError, ValueError) as error:
        module.fail_json(msg="could not unpack the tree into %s: %s" % (dest, to_text(error)))
    if module.params["count"] is not None and files != module.params["count"]:
        module.fail_json(msg="unpacked %d files into %s, expected %d" % (files, dest, module.params["count"]))
    module.exit_json(changed=True, dest=dest, files=files)


if __name__ == "__main__":
    main()

# Copyright: flaskops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Plugins run inside ansible-core (GPLv3+) and carry its license; the rest of
# the collection is MIT (LICENSE).
"""copy_tree (action): pack a directory on the controller and unpack it on the host in one step."""

from __future__ import annotations

import os
import stat
import tarfile
import tempfile

from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible_collections.flaskops.deploy.plugins.module_utils.tree import tree_files


def _normalized(info, mode):
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode = mode
    return info


def pack(source, fileobj):
    """Write a gzipped tar of source's release files to fileobj; return how many files it holds.

    Owners become root and modes 0755 (executable) or 0644, as a release's code
    is owned by root and readable by everyone. Links are followed (tree_files).
    """
    count = 0
    directories = set()
    with tarfile.open(fileobj=fileobj, mode="w:gz", format=tarfile.PAX_FORMAT, dereference=True) as archive:
        for relative, path in tree_files(source):
            parent = os.path.dirname(relative)
            missing = []
            while parent and parent not in directories:
                missing.append(parent)
                parent = os.path.dirname(parent)
            for directory in reversed(missing):
                directories.add(directory)
                info = archive.gettarinfo(os.path.join(source, directory), arcname=directory)
                archive.addfile(_normalized(info, 0o755))
            info = archive.gettarinfo(path, arcname=relative)  # os.stat: the archive dereferences links
            with open(path, "rb") as handle:
                archive.addfile(_normalized(info, 0o755 if info.mode & stat.S_IXUSR else 0o644), handle)
            count += 1
    return count


class ActionModule(ActionBase):
    """flaskops.deploy.copy_tree: see plugins/modules/copy_tree.py."""

    TRANSFERS_FILES = True
    _VALID_ARGS = frozenset(("src", "dest"))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        src, dest = self._task.args.get("src"), self._task.args.get("dest")
        if not src or not dest:
            raise AnsibleActionFail("copy_tree needs src (a directory on the controller) and dest")
        try:
            source = self._find_needle("files", src)
        except Exception as error:
            raise AnsibleActionFail(f"copy_tree: {error}") from error
        if not os.path.isdir(source):
            raise AnsibleActionFail(f"copy_tree: src {src} is not a directory on the controller")
        if self._task.check_mode:
            result.update(changed=True, dest=dest, msg=f"would unpack {source} into {dest}")
            return result

        handle, local = tempfile.mkstemp(prefix="flaskops-tree-", suffix=".tar.gz", dir=C.DEFAULT_LOCAL_TMP)
        try:
            with os.fdopen(handle, "wb") as archive:
                count = pack(source, archive)
            tmpdir = self._connection._shell.tmpdir or self._make_tmp_path()
            remote = self._connection._shell.join_path(tmpdir, "tree.tar.gz")
            self._transfer_file(local, remote)
            self._fixup_perms2((tmpdir, remote))
            result.update(self._execute_module(
                module_name="flaskops.deploy.copy_tree",
                module_args={"src": remote, "dest": dest, "count": count},
                task_vars=task_vars))
        finally:
            os.unlink(local)
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

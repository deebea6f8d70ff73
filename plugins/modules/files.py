#!/usr/bin/python
# Copyright: flaskops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Plugins run inside ansible-core (GPLv3+) and carry its license; the rest of
# the collection is MIT (LICENSE).
"""files: an app's directories, files and links put in place in one module run."""

from __future__ import annotations

DOCUMENTATION = r"""
module: files
author: flaskops maintainers (@flaskops)
short_description: Put a set of directories, files and links in place in one step
description:
  - Makes each directory, file and link look as asked, in that order (directories first, then
    files, then links; each list in its own order), and reports which paths it changed.
  - One module run does what a task per path (M(ansible.builtin.file), M(ansible.builtin.template))
    would do; flaskops.deploy's roles use it so that an app costs one round trip to the host for
    its files instead of one or two per file. Render templates on the controller with the
    P(ansible.builtin.template#lookup) lookup and pass the result as O(files[].content).
  - A file is written to a temporary file beside it, given its owner, group and mode, validated,
    and then renamed over the old one, so that readers see the old file or the new one, never a
    half-written one, and a secret never exists with wider permissions than asked.
  - Owners and groups are names; modes are octal strings. A directory's missing parents are
    created C(0755), owned by the user Ansible runs as.
version_added: 1.0.0
options:
  directories:
    description: Directories to create, and whose owner, group and mode to set.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the directory.
        type: path
        required: true
      owner:
        description: Owner (a user name). Left alone when not given.
        type: str
      group:
        description: Group (a group name). Left alone when not given.
        type: str
      mode:
        description: Permissions, an octal string such as C("0755").
        type: str
        required: true
  files:
    description: Files with the given content. Their content shows in C(--diff) output.
    type: list
    elements: dict
    default: []
    suboptions: &file_options
      path:
        description: Absolute path of the file.
        type: path
        required: true
      content:
        description: The whole content of the file.
        type: str
        required: true
      owner:
        description: Owner (a user name). Left alone when not given.
        type: str
      group:
        description: Group (a group name). Left alone when not given.
        type: str
      mode:
        description: Permissions, an octal string such as C("0644").
        type: str
        required: true
      validate:
        description:
          - A command run on the new content before it replaces the file; C(%s) stands for the
            path of the new content. A non-zero exit fails the task and leaves the file as it was.
          - Not run in check mode.
        type: str
      keep_content:
        description:
          - Write O(files[].content) only when the file is missing; an existing file keeps its
            content (its owner, group and mode are still set). For a file that is seeded once and
            then belongs to the app, such as a shared C(.env).
        type: bool
        default: false
  private_files:
    description:
      - Files like O(files) whose content is secret (an environment file). Their content is never
        shown, neither in C(--diff) output nor in the task's arguments (it is C(no_log)).
    type: list
    elements: dict
    default: []
    suboptions: *file_options
  links:
    description: Symbolic links, replaced when they point elsewhere.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the link.
        type: path
        required: true
      src:
        description: What the link points to; it need not exist.
        type: str
        required: true
  absent:
    description:
      - Files and links to remove when they exist (what an earlier version wrote and this one
        no longer does). A directory here is an error; nothing is removed below it.
    type: list
    elements: path
    default: []
  find:
    description:
      - Shell-style patterns of absolute paths (C(/etc/systemd/system/flaskops-shop.*)) to look
        for, after the rest is done; the paths found are returned in RV(found). Nothing is changed
        for them. flaskops.deploy.gunicorn finds this way whether units of an app's dropped
        processes are left to remove.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    description: Reports what it would change and changes nothing. Validation does not run.
  diff_mode:
    support: full
    description: Shows each changed file's content before and after, except O(private_files).
  platform:
    support: full
    platforms: posix
    description: Needs POSIX owners, groups and modes.
"""

EXAMPLES = r"""
- name: Write the app's directories, configuration and unit
  flaskops.deploy.files:
    directories:
      - {path: /srv/shop, owner: root, group: root, mode: "0755"}
    files:
      - path: /etc/flaskops/shop/gunicorn.conf.py
        content: "{{ lookup('ansible.builtin.template', 'gunicorn.conf.py.j2') }}"
        owner: root
        group: shop
        mode: "0640"
    private_files:
      - path: /etc/flaskops/shop/environment
        content: "{{ lookup('ansible.builtin.template', 'environment.j2') }}"
        owner: shop
        group: shop
        mode: "0600"
    links:
      - {path: /etc/nginx/sites-enabled/shop, src: /etc/nginx/sites-available/shop}
  register: shop_files

- name: Restart when the unit changed
  ansible.builtin.debug:
    msg: restart
  when: "'/etc/systemd/system/shop.service' in shop_files.changed_paths"
"""

RETURN = r"""
changed_paths:
  description: The paths this run changed (or would change, in check mode), in the order handled.
  returned: always
  type: list
  elements: str
  sample: [/etc/flaskops/shop/gunicorn.conf.py]
rejected:
  description:
    - The file whose O(files[].validate) command refused it (the live file is left as it was); a
      role's rescue tells a refused configuration from other failures by it.
  returned: when a validation failed
  type: str
  sample: /etc/nginx/sites-available/shop
found:
  description: The paths matching O(find), sorted.
  returned: always
  type: list
  elements: str
  sample: [/etc/systemd/system/flaskops-shop.worker.1@.service]
"""

import glob
import grp
import os
import pwd
import shlex
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text


class Unknown(Exception):
    """A user or group that does not exist (yet: check mode before the user is created)."""


def uid_of(name):
    if name is None:
        return -1
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        raise Unknown("no user named %s" % name)


def gid_of(name):
    if name is None:
        return -1
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        raise Unknown("no group named %s" % name)


def parse_mode(mode, path):
    try:
        value = int(mode, 8)
    except (TypeError, ValueError):
        value = -1
    if not 0 <= value <= 0o7777:
        raise ValueError("mode of %s must be an octal string such as \"0644\", not %r" % (path, mode))
    return value


def attributes_differ(info, item):
    """Whether an existing path's owner, group or mode differ from those asked for."""
    uid, gid = uid_of(item.get("owner")), gid_of(item.get("group"))
    return ((uid != -1 and info.st_uid != uid) or (gid != -1 and info.st_gid != gid)
            or stat.S_IMODE(info.st_mode) != parse_mode(item["mode"], item["path"]))


def lstat_or_none(path):
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def set_attributes(path, item):
    os.chown(path, uid_of(item.get("owner")), gid_of(item.get("group")))
    os.chmod(path, parse_mode(item["mode"], item["path"]))


class Files:
    def __init__(self, module):
        self.module = module
        self.check = module.check_mode
        self.changed_paths = []
        self.diff = []

    def changed(self, path, before, after):
        self.changed_paths.append(path)
        if before is not None or after is not None:
            self.diff.append({"before_header": path, "after_header": path,
                              "before": before or "", "after": after or ""})

    def attributes_differ(self, info, item):
        """Whether a path (info: its lstat, None when missing) needs its owner, group or mode set.

        An owner or group that does not exist (yet: in check mode its user is created
        by the same run) counts as a difference; setting it fails a real run, naming it.
        """
        if info is None:
            return True
        try:
            return attributes_differ(info, item)
        except Unknown:
            return True

    def directory(self, item):
        path = item["path"]
        parse_mode(item["mode"], path)
        info = lstat_or_none(path)
        if info is not None and not stat.S_ISDIR(info.st_mode):
            self.module.fail_json(msg="%s exists and is not a directory" % path)
        if not self.attributes_differ(info, item):
            return
        self.changed(path, "absent\n" if info is None else "directory %s\n" % path,
                     "directory %s\n" % path)
        if self.check:
            return
        if info is None:
            os.makedirs(path, 0o755, exist_ok=True)
        set_attributes(path, item)

    def file(self, item, private):
        path = item["path"]
        parse_mode(item["mode"], path)
        content = to_bytes(item["content"], errors="surrogate_or_strict")
        info = lstat_or_none(path)
        if info is not None and not stat.S_ISREG(info.st_mode):
            self.module.fail_json(msg="%s exists and is not a regular file" % path)
        old = None
        if info is not None:
            with open(path, "rb") as handle:
                old = handle.read()
            if item.get("keep_content"):
                content = old
        # A missing file differs in content; only an existing one's attributes matter here.
        attributes = info is not None and self.attributes_differ(info, item)
        if old == content and not attributes:
            return
        if private:
            self.changed(path, None, None)
        elif old == content:
            wanted = "%s mode %s, owner %s, group %s\n" % (path, item["mode"], item.get("owner"), item.get("group"))
            self.changed(path, "%s %s\n" % (path, stat.filemode(info.st_mode)), wanted)
        else:
            self.changed(path, to_text(old, errors="surrogate_or_strict") if old is not None else "",
                         item["content"])
        if self.check:
            return
        if old == content:
            set_attributes(path, item)
            return
        self.write(path, content, item)

    def write(self, path, content, item):
        directory, name = os.path.split(path)
        handle, temporary = tempfile.mkstemp(prefix=".%s." % name, suffix=".flaskops", dir=directory)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            set_attributes(temporary, item)
            if item.get("validate"):
                if "%s" not in item["validate"]:
                    self.module.fail_json(msg="validate for %s must contain %%s: %s" % (path, item["validate"]))
                rc, out, err = self.module.run_command(item["validate"].replace("%s", shlex.quote(temporary)))
                if rc != 0:
                    self.module.fail_json(msg="failed to validate %s" % path, rc=rc, stdout=out, stderr=err,
                                          rejected=path, changed_paths=self.changed_paths[:-1])
            self.move(temporary, path, item)
        finally:
            if os.path.lexists(temporary):
                os.unlink(temporary)

    def move(self, temporary, path, item):
        """Put the written temporary file at path with AnsibleModule.atomic_move, never wider than asked.

        atomic_move renames (or works around a file system that cannot) and keeps the SELinux
        context, but hands the new file the old one's owner and mode, or 0666 & ~umask on a new
        path. So an existing file gets the wanted attributes first, and a new one is moved under
        umask 077 (0600, root's): a private file (the environment, 0600) is readable by nobody
        else at any moment. set_attributes then gives the final owner, group and mode.
        """
        info = lstat_or_none(path)
        if info is not None and stat.S_ISREG(info.st_mode):
            set_attributes(path, item)
        umask = os.umask(0o077)
        try:
            self.module.atomic_move(temporary, path)
        finally:
            os.umask(umask)
        set_attributes(path, item)

    def link(self, item):
        path, src = item["path"], item["src"]
        info = lstat_or_none(path)
        if info is not None and stat.S_ISLNK(info.st_mode) and os.readlink(path) == src:
            return
        if info is not None and stat.S_ISDIR(info.st_mode):
            self.module.fail_json(msg="%s exists and is a directory, not a link" % path)
        before = "absent\n" if info is None else (
            "%s -> %s\n" % (path, os.readlink(path)) if stat.S_ISLNK(info.st_mode) else "file %s\n" % path)
        self.changed(path, before, "%s -> %s\n" % (path, src))
        if self.check:
            return
        temporary = os.path.join(os.path.dirname(path), ".%s.%d.flaskops" % (os.path.basename(path), os.getpid()))
        if os.path.lexists(temporary):
            os.unlink(temporary)
        os.symlink(src, temporary)
        # A plain rename, as ansible.builtin.file does for state=link: atomic_move would copy the
        # old path's mode onto the new link, and its chmod of a new path follows the link to its target.
        os.rename(temporary, path)

    def absent(self, path):
        info = lstat_or_none(path)
        if info is None:
            return
        if stat.S_ISDIR(info.st_mode):
            self.module.fail_json(msg="%s is a directory; absent removes files and links only" % path)
        self.changed(path, "%s\n" % path, "absent\n")
        if not self.check:
            os.unlink(path)


FILE_OPTIONS = dict(
    path=dict(type="path", required=True),
    content=dict(type="str", required=True),
    owner=dict(type="str"),
    group=dict(type="str"),
    mode=dict(type="str", required=True),
    validate=dict(type="str"),
    keep_content=dict(type="bool", default=False),
)


def argument_spec():
    private_options = dict(FILE_OPTIONS, content=dict(type="str", required=True, no_log=True))
    return dict(
        directories=dict(type="list", elements="dict", default=[], options=dict(
            (name, FILE_OPTIONS[name]) for name in ("path", "owner", "group", "mode"))),
        files=dict(type="list", elements="dict", default=[], options=FILE_OPTIONS),
        private_files=dict(type="list", elements="dict", default=[], options=private_options),
        links=dict(type="list", elements="dict", default=[], options=dict(
            path=dict(type="path", required=True),
            src=dict(type="str", required=True),
        )),
        absent=dict(type="list", elements="path", default=[]),
        find=dict(type="list", elements="str", default=[]),
    )


def run(module):
    files = Files(module)
    try:
        for item in module.params["directories"]:
            files.directory(item)
        for item in module.params["files"]:
            files.file(item, private=False)
        for item in module.params["private_files"]:
            files.file(item, private=True)
        for item in module.params["links"]:
            files.link(item)
        for path in module.params["absent"]:
            files.absent(path)
    except (Unknown, ValueError, OSError) as error:
        module.fail_json(msg=to_text(error), changed_paths=files.changed_paths)
    result = {"changed": bool(files.changed_paths), "changed_paths": files.changed_paths,
              "found": sorted(set(path for pattern in module.params["find"] for path in glob.glob(pattern)))}
    if module._diff:
        result["diff"] = files.diff
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    module.exit_json(**run(module))


if __name__ == "__main__":
    main()

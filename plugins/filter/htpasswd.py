# Copyright: flaskops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Plugins run inside ansible-core (GPLv3+) and carry its license; the rest of
# the collection is MIT (LICENSE).
"""htpasswd: the contents of an nginx basic-auth user file, hashed on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
name: htpasswd
author: flaskops maintainers (@flaskops)
short_description: Contents of an htpasswd file for nginx's auth_basic, hashed with passlib
description:
  - Turns a dict of user names and passwords into the lines of an htpasswd file, each
    password hashed with SHA-512 crypt (C($6$), which nginx checks through the system's crypt).
  - Pass the file's current contents as well. A user whose current hash still matches the
    password keeps it, so the file only changes when a user or a password does.
  - Needs passlib on the controller.
positional: _input, current
options:
  _input:
    description: User names mapped to passwords.
    type: dict
    required: true
  current:
    description: The file's current contents (empty when it does not exist yet).
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Write the user file
  ansible.builtin.copy:
    content: "{{ {'alice': alice_password} | flaskops.deploy.htpasswd(current_file_contents) }}"
    dest: /etc/nginx/flaskops/shop.htpasswd
  no_log: true
"""

RETURN = r"""
_value:
  description: The file's contents, one C(user:hash) line per user, sorted by user.
  type: str
"""

import re

from ansible.errors import AnsibleFilterError

USER_RE = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


def _sha512_crypt():
    try:
        from passlib.hash import sha512_crypt  # pylint: disable=import-outside-toplevel
    except ImportError as error:
        raise AnsibleFilterError(
            "flaskops.deploy.htpasswd needs passlib on the controller: pip install passlib"
        ) from error
    return sha512_crypt


def htpasswd(users, current=""):
    """Return htpasswd contents for users, keeping current hashes that still match."""
    if not isinstance(users, dict):
        raise AnsibleFilterError("htpasswd: expected a dict of user names to passwords")
    scheme = _sha512_crypt()
    existing = {}
    for line in (current or "").splitlines():
        name, sep, hashed = line.partition(":")
        if sep:
            existing[name] = hashed.strip()
    lines = []
    for name in sorted(users):
        password = users[name]
        if not USER_RE.match(str(name)):
            raise AnsibleFilterError(f"htpasswd: {name!r} is not a usable user name (letters, digits, . _ @ -)")
        if not isinstance(password, str) or not password:
            raise AnsibleFilterError(f"htpasswd: the password of {name!r} must be a non-empty string")
        hashed = existing.get(name, "")
        try:
            keep = hashed.startswith("$6$") and scheme.verify(password, hashed)
        except ValueError:
            keep = False
        lines.append(f"{name}:{hashed if keep else scheme.hash(password)}")
    return "".join(line + "\n" for line in lines)


class FilterModule:
    """flaskops.deploy htpasswd filter."""

    def filters(self):
        return {"htpasswd": htpasswd}

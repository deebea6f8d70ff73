# Copyright: flaskops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Plugins run inside ansible-core (GPLv3+) and carry its license; the rest of
# the collection is MIT (LICENSE).
"""Which files of an app's source tree make up a release (controller side)."""

from __future__ import annotations

import os

# Byte-code caches are derived from the code: they neither name a release nor ship in one.
SKIP_DIRS = {"__pycache__"}
SKIP_SUFFIXES = (".pyc", ".pyo")


def tree_files(root):
    """Yield (relative path, path) for each file below root that belongs to a release, in a stable order.

    Directories are walked in sorted order. Links are followed, to files and to
    directories alike, as ansible.builtin.copy follows them in a source tree on
    the controller; a link to a directory it is already inside (a loop) is left out.
    Only regular files are yielded.
    """
    # Each directory walked -> the real paths of it and the directories it is inside.
    inside = {root: {os.path.realpath(root)}}
    for current, dirs, files in os.walk(root, followlinks=True):
        chain = inside.pop(current)
        kept = []
        for name in sorted(dirs):
            if name in SKIP_DIRS:
                continue
            path = os.path.join(current, name)
            real = os.path.realpath(path)
            if real in chain:
                continue
            inside[path] = chain | {real}
            kept.append(name)
        dirs[:] = kept
        for name in sorted(files):
            path = os.path.join(current, name)
            # Only regular files ship: not a link whose target is missing, a socket or a fifo.
            if name.endswith(SKIP_SUFFIXES) or not os.path.isfile(path):
                continue
            yield os.path.relpath(path, root), path

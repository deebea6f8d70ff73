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

    Directories are walked in sorted order; symbolic links to directories are not followed.
    """
    for current, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            if name.endswith(SKIP_SUFFIXES):
                continue
            path = os.path.join(current, name)
            yield os.path.relpath(path, root), path

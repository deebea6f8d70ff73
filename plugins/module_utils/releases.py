# Copyright: flaskops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Plugins run inside ansible-core (GPLv3+) and carry its license; the rest of
# the collection is MIT (LICENSE).
"""An app's releases on the host, as the release role leaves them (host side).

A release directory with the build mark (.flaskops-release, written last) is
built; without it, an unfinished build. The checked mark (.flaskops-checked) is
written each time a release passes its health check on the host.
"""

from __future__ import annotations

import os


def releases(path, mark):
    """(built, unfinished) release directories under path: those with the mark, oldest first."""
    try:
        entries = sorted(os.scandir(path), key=lambda entry: entry.name)
    except FileNotFoundError:
        return [], []
    finished, unfinished = [], []
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        try:
            built = os.lstat(os.path.join(entry.path, mark)).st_mtime
        except FileNotFoundError:
            unfinished.append(entry.path)
        else:
            finished.append((built, entry.path))
    return [path for _built, path in sorted(finished)], unfinished


def checked(built, checked_mark):
    """The built releases that passed their check here, the one that passed it last at the end."""
    passed = []
    for path in built:
        try:
            passed.append((os.lstat(os.path.join(path, checked_mark)).st_mtime, path))
        except FileNotFoundError:
            pass
    return [path for _when, path in sorted(passed)]


def link_target(link):
    """Where link points, as an absolute path; '' when link is not a link."""
    try:
        target = os.readlink(link)
    except OSError:  # no such path, or not a link
        return ""
    return os.path.normpath(os.path.join(os.path.dirname(link), target))


def read_mark(path):
    """The key=value lines of a mark file as a dict ({} when it cannot be read)."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return {}
    return dict(line.split("=", 1) for line in lines if "=" in line)

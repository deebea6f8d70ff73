# Copyright: flaskops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Plugins run inside ansible-core (GPLv3+) and carry its license; the rest of
# the collection is MIT (LICENSE).
"""What the modules that read an app's releases share in their documentation."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  mark:
    description: The file a build writes into its release directory last, once it has finished.
    type: str
    default: .flaskops-release
  checked_mark:
    description:
      - The file written into a release's directory each time it passes its health check on the host.
    type: str
    default: .flaskops-checked
"""

    # Modules that only read: the same in check mode, nothing to compare.
    READ_ONLY = r"""
attributes:
  check_mode:
    support: full
    description: Reads the same in check mode; it never changes anything.
  diff_mode:
    support: none
    description: There is nothing to compare.
"""

#!/usr/bin/python
# Copyright: flaskops maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Plugins run inside ansible-core (GPLv3+) and carry its license; the rest of
# the collection is MIT (LICENSE).
"""releases_info: an app's releases on the host and the one being served, in one look."""

from __future__ import annotations

DOCUMENTATION = r"""
module: releases_info
author: flaskops maintainers (@flaskops)
short_description: List an app's releases on the host and the one being served
description:
  - Reads an app's releases directory and its C(current) link in one step, for
    flaskops.deploy's release role (build, switch, prune and rollback all start from this).
  - A release directory holding the mark of a finished build (O(mark)) is finished; one
    without it is a build that stopped part way (a failed pip run, say).
  - Changes nothing.
version_added: 1.0.0
options:
  path:
    description: The app's releases directory. A missing directory holds no releases.
    type: path
    required: true
  current:
    description: The link that names the release being served.
    type: path
    required: true
  look_for:
    description:
      - Other paths to look for in the same step (files, links or directories); RV(present) lists
        those that exist. flaskops.deploy's release role looks for what earlier versions of the
        collection left outside the releases.
    type: list
    elements: path
    default: []
extends_documentation_fragment:
  - flaskops.deploy.release_marks
  - flaskops.deploy.release_marks.read_only
attributes:
  platform:
    support: full
    platforms: posix
    description: Reads directories and links.
"""

EXAMPLES = r"""
- name: Look at the app's releases
  flaskops.deploy.releases_info:
    path: /srv/shop/releases
    current: /srv/shop/current
  register: releases
"""

RETURN = r"""
built:
  description: The finished release directories, oldest build first (by the time the mark was written).
  returned: always
  type: list
  elements: str
  sample: [/srv/shop/releases/local-0b1c2d3e4f5a, /srv/shop/releases/local-5a4f3e2d1c0b]
checked:
  description:
    - The built releases that have passed their health check on this host (O(checked_mark)), the one
      that passed it last at the end. A release that serves but is not among them was switched to by
      a run that did not finish its check; the last of the others is the one that served before it.
  returned: always
  type: list
  elements: str
  sample: [/srv/shop/releases/local-0b1c2d3e4f5a]
unfinished:
  description: Release directories without the mark, in name order.
  returned: always
  type: list
  elements: str
  sample: [/srv/shop/releases/local-9f8e7d6c5b4a]
current:
  description:
    - The release the O(current) link points at, as an absolute path (a relative link is read
      against the link's own directory; no other link on the way is resolved), or an empty
      string when there is no such link.
  returned: always
  type: str
  sample: /srv/shop/releases/local-5a4f3e2d1c0b
present:
  description: The paths of O(look_for) that exist (a broken link exists), in the order given.
  returned: always
  type: list
  elements: str
  sample: [/etc/flaskops/shop/environment]
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.flaskops.deploy.plugins.module_utils.releases import checked, link_target, releases


def run(params):
    built, unfinished = releases(params["path"], params["mark"])
    return {"changed": False, "built": built, "checked": checked(built, params["checked_mark"]),
            "unfinished": unfinished, "current": link_target(params["current"]),
            "present": [path for path in params["look_for"] if os.path.lexists(path)]}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            current=dict(type="path", required=True),
            look_for=dict(type="list", elements="path", default=[]),
            mark=dict(type="str", default=".flaskops-release"),
            checked_mark=dict(type="str", default=".flaskops-checked"),
        ),
        supports_check_mode=True,
    )
    try:
        result = run(module.params)
    except OSError as error:
        module.fail_json(msg="Cannot read the releases in %s: %s" % (module.params["path"], error))
    module.exit_json(**result)


if __name__ == "__main__":
    main()

# Copyright: flaskops maintainers
# MIT License (see LICENSE)
"""A filter for lists of addresses and networks given to nginx and systemd."""

from __future__ import annotations

import ipaddress


def not_networks(values):
    """The entries of `values` that are not an IP address or network (10.0.0.5, 10.0.0.0/16, ::1)."""
    bad = []
    for value in values or []:
        try:
            ipaddress.ip_network(str(value), strict=False)
        except ValueError:
            bad.append(value)
    return bad


class FilterModule:
    """flaskops.deploy network filters."""

    def filters(self):
        return {"not_networks": not_networks}

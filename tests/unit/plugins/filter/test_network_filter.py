"""Unit tests for the not_networks filter (plugins/filter/app.py)."""
from ansible_collections.flaskops.deploy.plugins.filter import app as app_filter


def test_addresses_and_networks_pass():
    assert app_filter.not_networks(["10.0.0.5", "10.0.0.0/16", "::1", "2001:db8::/32", "10.0.0.5/24"]) == []


def test_anything_else_is_returned():
    assert app_filter.not_networks(["10.0.0.300", "lb1", "10.0.0.0/33", "", "10.0.0.1 10.0.0.2"]) == [
        "10.0.0.300", "lb1", "10.0.0.0/33", "", "10.0.0.1 10.0.0.2",
    ]


def test_nothing_given():
    assert app_filter.not_networks([]) == [] and app_filter.not_networks(None) == []


def test_filter_module_exports():
    assert "not_networks" in app_filter.FilterModule().filters()

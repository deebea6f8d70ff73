"""The checks every scenario shares (../../shared/tests), test_platforms.py and test_third_party.py."""

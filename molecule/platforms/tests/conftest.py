"""The checks every scenario shares (../../shared/tests), and test_platforms.py."""

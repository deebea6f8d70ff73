"""This scenario runs only the checks every scenario shares (../../shared/tests)."""

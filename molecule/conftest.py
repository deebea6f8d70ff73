"""Let every scenario's tests import the helpers they share (shared/tests)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "shared", "tests"))

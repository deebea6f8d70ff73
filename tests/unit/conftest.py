"""Make the collection importable for unit tests by its namespace.

Tests import the plugins as ansible-core does, as
ansible_collections.flaskops.deploy.plugins..., through the
ansible_collections/flaskops/deploy link that `make collection` keeps in
.cache/collections (made here too when missing). The plugins' tests are under
tests/unit/plugins/, laid out like plugins/.
"""
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "flaskops", "deploy")
if not os.path.lexists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(os.path.join("..", "..", "..", ".."), LINK)
sys.path.insert(0, COLLECTIONS)

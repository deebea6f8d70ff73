"""Make the collection's plugins importable for unit tests.

Filters import as plain modules; plugins that import the collection's
module_utils (ansible_collections.flaskops.deploy...) find it through the
ansible_collections/flaskops/deploy link that `make collection` keeps in
.cache/collections (made here too when missing).
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
sys.path.insert(0, os.path.join(ROOT, "plugins", "filter"))

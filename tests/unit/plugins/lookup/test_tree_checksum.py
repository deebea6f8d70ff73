"""Unit tests for the tree_checksum lookup."""
import hashlib
import os

import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.flaskops.deploy.plugins.lookup import tree_checksum as lookup


def make_tree(root, files):
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def test_same_contents_same_checksum_wherever_they_are(tmp_path):
    files = {"app.py": "print('hi')\n", "static/a.css": "body{}\n"}
    one = make_tree(tmp_path / "one", files)
    two = make_tree(tmp_path / "two", files)
    os.utime(two / "app.py", (0, 0))
    assert lookup.tree_checksum(str(one)) == lookup.tree_checksum(str(two))


@pytest.mark.parametrize("change", ["content", "rename", "new file", "mode"])
def test_any_change_changes_the_checksum(tmp_path, change):
    root = make_tree(tmp_path / "app", {"app.py": "x = 1\n", "lib/util.py": "y = 2\n"})
    before = lookup.tree_checksum(str(root))
    if change == "content":
        (root / "app.py").write_text("x = 2\n")
    elif change == "rename":
        (root / "lib/util.py").rename(root / "lib/utils.py")
    elif change == "new file":
        (root / "README").write_text("hi\n")
    else:
        (root / "app.py").chmod(0o755)
    assert lookup.tree_checksum(str(root)) != before


def test_bytecode_caches_do_not_count(tmp_path):
    root = make_tree(tmp_path / "app", {"app.py": "x = 1\n"})
    before = lookup.tree_checksum(str(root))
    make_tree(root, {"__pycache__/app.cpython-311.pyc": "junk", "old.pyc": "junk"})
    assert lookup.tree_checksum(str(root)) == before


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(AnsibleLookupError, match="neither a directory nor a file"):
        lookup.tree_checksum(str(tmp_path / "missing"))


def test_a_file_is_hashed_by_its_bytes(tmp_path):
    wheel = tmp_path / "hello-1.0.0-py3-none-any.whl"
    wheel.write_bytes(b"PK\x03\x04 not really a zip")
    assert lookup.tree_checksum(str(wheel)) == hashlib.sha256(b"PK\x03\x04 not really a zip").hexdigest()
    wheel.write_bytes(b"PK\x03\x04 another build")
    assert lookup.tree_checksum(str(wheel)) == hashlib.sha256(b"PK\x03\x04 another build").hexdigest()


def test_lookup_module_returns_one_digest_per_term(tmp_path):
    root = make_tree(tmp_path / "app", {"app.py": "x = 1\n"})
    result = lookup.LookupModule().run([str(root), str(root)])
    assert len(result) == 2 and result[0] == result[1] and len(result[0]) == 64


@pytest.mark.parametrize("linked", ["file", "directory"])
def test_a_change_behind_a_link_changes_the_checksum(tmp_path, linked):
    shared = make_tree(tmp_path / "shared", {"settings.py": "DEBUG = False\n"})
    root = make_tree(tmp_path / "app", {"app.py": "x = 1\n"})
    if linked == "file":
        (root / "settings.py").symlink_to(shared / "settings.py")
    else:
        (root / "config").symlink_to(shared)
    before = lookup.tree_checksum(str(root))
    (shared / "settings.py").write_text("DEBUG = True\n")
    assert lookup.tree_checksum(str(root)) != before

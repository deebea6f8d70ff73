"""Unit tests for flaskops.deploy.copy_tree: packing on the controller, unpacking on the host."""
import io
import os
import stat
import tarfile

import pytest

from ansible_collections.flaskops.deploy.plugins.action.copy_tree import pack
from ansible_collections.flaskops.deploy.plugins.module_utils.tree import tree_files
from ansible_collections.flaskops.deploy.plugins.modules.copy_tree import unpack


def make_tree(root):
    (root / "static" / "css").mkdir(parents=True)
    (root / "__pycache__").mkdir()
    (root / "app.py").write_text("app = None\n")
    (root / "manage.sh").write_text("#!/bin/sh\n")
    (root / "manage.sh").chmod(0o700)
    (root / "static" / "css" / "site.css").write_bytes(b"body{}\x00\xff")
    (root / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"cache")
    (root / "old.pyc").write_bytes(b"cache")
    (root / "app-link.py").symlink_to("app.py")
    return root


def copy(source, dest):
    archive = io.BytesIO()
    count = pack(str(source), archive)
    path = dest.parent.parent / f"{dest.name}.tar.gz"
    path.write_bytes(archive.getvalue())
    return count, unpack(str(path), str(dest))


def test_the_host_gets_the_release_files_with_their_bytes_and_normalized_modes(tmp_path):
    source = make_tree(tmp_path / "src")
    dest = tmp_path / "release" / "src"
    count, files = copy(source, dest)
    expected = sorted(relative for relative, _ in tree_files(str(source)))
    assert expected == ["app-link.py", "app.py", "manage.sh", "static/css/site.css"]
    got = sorted(str(path.relative_to(dest)) for path in dest.rglob("*") if path.is_file())
    assert got == expected and count == files == 4
    assert (dest / "static" / "css" / "site.css").read_bytes() == b"body{}\x00\xff"
    assert (dest / "app-link.py").read_text() == "app = None\n" and not (dest / "app-link.py").is_symlink()
    modes = {name: stat.S_IMODE(os.stat(dest / name).st_mode) for name in ("manage.sh", "app.py", "static")}
    assert modes == {"manage.sh": 0o755, "app.py": 0o644, "static": 0o755}


def test_an_empty_tree_unpacks_to_an_empty_directory(tmp_path):
    (tmp_path / "src").mkdir()
    assert copy(tmp_path / "src", tmp_path / "dest") == (0, 0)
    assert os.listdir(tmp_path / "dest") == []


@pytest.mark.parametrize("name, kind", [("../evil", tarfile.REGTYPE), ("/etc/evil", tarfile.REGTYPE),
                                        ("a/../../evil", tarfile.REGTYPE), ("link", tarfile.SYMTYPE)])
def test_an_archive_reaching_outside_or_holding_links_is_refused(tmp_path, name, kind):
    path = tmp_path / "bad.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = "/etc/passwd" if kind == tarfile.SYMTYPE else ""
        archive.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    with pytest.raises(ValueError, match="refusing to unpack"):
        unpack(str(path), str(tmp_path / "dest"))
    assert not (tmp_path / "evil").exists()


def test_links_to_directories_are_followed_and_loops_and_dangling_links_left_out(tmp_path):
    assets = tmp_path / "assets"
    (assets / "img").mkdir(parents=True)
    (assets / "img" / "logo.svg").write_text("<svg/>")
    source = tmp_path / "src"
    (source / "pkg").mkdir(parents=True)
    (source / "app.py").write_text("app = None\n")
    (source / "static").symlink_to(assets)            # outside the tree, as in a monorepo
    (source / "pkg" / "up").symlink_to(source)        # a loop back to the top
    (source / "static-again").symlink_to("static")    # the same directory under a second name
    (source / "gone.py").symlink_to("nowhere.py")     # its target is missing
    os.mkfifo(source / "pipe")
    files = sorted(relative for relative, _ in tree_files(str(source)))
    assert files == ["app.py", "static-again/img/logo.svg", "static/img/logo.svg"]
    dest = tmp_path / "release" / "src"
    count, unpacked = copy(source, dest)
    assert count == unpacked == 3
    assert (dest / "static" / "img" / "logo.svg").read_text() == "<svg/>"
    assert (dest / "static").is_dir() and not (dest / "static").is_symlink()

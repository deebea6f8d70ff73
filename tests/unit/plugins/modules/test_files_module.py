"""Unit tests for the flaskops.deploy.files module (run as root: owners are set)."""
import os
import stat

import pytest
from ansible.module_utils.basic import AnsibleModule

from ansible_collections.flaskops.deploy.plugins.modules import files

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="sets owners and groups")


class Failed(Exception):
    pass


class FakeModule:
    """What files.run() uses of AnsibleModule: params, check and diff mode, fail_json, run_command."""

    def __init__(self, check=False, diff=True, **params):
        self.params = {"directories": [], "files": [], "private_files": [], "links": [], "absent": [], "find": [], **params}
        self.check_mode = check
        self._diff = diff
        self.commands = []
        self.moved = []

    def fail_json(self, msg, **kwargs):
        self.failure = kwargs
        raise Failed(msg)

    def atomic_move(self, src, dest):
        """AnsibleModule's own, recording the mode the new file has the moment it is in place."""
        AnsibleModule.atomic_move(self, src, dest)
        self.moved.append((dest, stat.S_IMODE(os.lstat(dest).st_mode)))

    def selinux_enabled(self):
        return False

    def run_command(self, command):
        self.commands.append(command)
        path = command.split()[-1]
        with open(path) as handle:
            ok = "bad" not in handle.read()
        return (0 if ok else 1), "", "" if ok else "bad content"


def run(**params):
    return files.run(FakeModule(**params))


def conf(path, content="a = 1\n", **extra):
    return {"path": str(path), "content": content, "owner": "root", "group": "daemon", "mode": "0640",
            "validate": None, **extra}


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_writes_directories_files_and_links_then_changes_nothing(tmp_path):
    params = dict(
        directories=[{"path": str(tmp_path / "srv" / "app"), "owner": "root", "group": "daemon", "mode": "0750"}],
        files=[conf(tmp_path / "srv" / "app" / "app.conf")],
        links=[{"path": str(tmp_path / "enabled"), "src": str(tmp_path / "srv" / "app" / "app.conf")}],
    )
    first = run(**params)
    assert first["changed"] and len(first["changed_paths"]) == 3
    assert mode_of(tmp_path / "srv" / "app") == 0o750
    assert (tmp_path / "srv" / "app" / "app.conf").read_text() == "a = 1\n"
    assert mode_of(tmp_path / "srv" / "app" / "app.conf") == 0o640
    assert os.lstat(tmp_path / "srv" / "app" / "app.conf").st_gid == files.gid_of("daemon")
    assert os.readlink(tmp_path / "enabled") == str(tmp_path / "srv" / "app" / "app.conf")
    second = run(**params)
    assert second == {"changed": False, "changed_paths": [], "diff": [], "found": []}
    assert not [name for name in os.listdir(tmp_path / "srv" / "app") if name.endswith(".flaskops")]


def test_reports_only_the_file_whose_content_changed_with_its_diff(tmp_path):
    run(files=[conf(tmp_path / "one"), conf(tmp_path / "two")])
    result = run(files=[conf(tmp_path / "one"), conf(tmp_path / "two", "a = 2\n")])
    assert result["changed_paths"] == [str(tmp_path / "two")]
    assert result["diff"] == [{"before_header": str(tmp_path / "two"), "after_header": str(tmp_path / "two"),
                               "before": "a = 1\n", "after": "a = 2\n"}]
    assert (tmp_path / "two").read_text() == "a = 2\n"


def test_mode_or_group_drift_is_put_back_without_rewriting(tmp_path):
    run(files=[conf(tmp_path / "app.conf")])
    inode = os.lstat(tmp_path / "app.conf").st_ino
    os.chmod(tmp_path / "app.conf", 0o666)
    os.chown(tmp_path / "app.conf", 0, 0)
    assert run(files=[conf(tmp_path / "app.conf")])["changed_paths"] == [str(tmp_path / "app.conf")]
    info = os.lstat(tmp_path / "app.conf")
    assert (stat.S_IMODE(info.st_mode), info.st_gid, info.st_ino) == (0o640, files.gid_of("daemon"), inode)


def test_private_files_are_changed_but_never_shown(tmp_path):
    private = conf(tmp_path / "environment", "TOKEN=s3cret\n", mode="0600")
    result = run(private_files=[private])
    assert result["changed_paths"] == [str(tmp_path / "environment")]
    assert result["diff"] == []
    assert "s3cret" not in repr(result)
    assert mode_of(tmp_path / "environment") == 0o600
    spec = files.argument_spec()["private_files"]["options"]["content"]
    assert spec["no_log"] is True


def test_content_is_moved_with_atomic_move_and_never_wider_than_its_mode(tmp_path):
    """A new private file lands 0600 whatever the umask; an existing 0644 one is narrowed before."""
    umask = os.umask(0o022)
    try:
        module = FakeModule(private_files=[conf(tmp_path / "environment", "TOKEN=1\n", mode="0600")])
        files.run(module)
        (tmp_path / "wide").write_text("old\n")
        os.chmod(tmp_path / "wide", 0o644)
        again = FakeModule(private_files=[conf(tmp_path / "wide", "TOKEN=2\n", mode="0600")])
        files.run(again)
    finally:
        os.umask(umask)
    assert module.moved == [(str(tmp_path / "environment"), 0o600)]
    assert again.moved == [(str(tmp_path / "wide"), 0o600)]
    assert mode_of(tmp_path / "environment") == mode_of(tmp_path / "wide") == 0o600
    assert (tmp_path / "wide").read_text() == "TOKEN=2\n"


def test_failed_validation_leaves_the_old_file_and_no_temporary(tmp_path):
    run(files=[conf(tmp_path / "site", validate="check %s")])
    with pytest.raises(Failed, match="failed to validate"):
        run(files=[conf(tmp_path / "site", "bad\n", validate="check %s")])
    assert (tmp_path / "site").read_text() == "a = 1\n"
    assert os.listdir(tmp_path) == ["site"]


def test_a_failed_validation_names_the_file_it_refused(tmp_path):
    module = FakeModule(files=[conf(tmp_path / "site", "bad\n", validate="check %s")])
    with pytest.raises(Failed):
        files.run(module)
    assert module.failure["rejected"] == str(tmp_path / "site")


def test_validation_runs_on_the_new_content_before_it_is_in_place(tmp_path):
    module = FakeModule(files=[conf(tmp_path / "site", "b = 1\n", validate="check %s")])
    files.run(module)
    (command,) = module.commands
    assert command.startswith("check ") and command.split()[-1] != str(tmp_path / "site")


def test_check_mode_reports_and_changes_nothing(tmp_path):
    run(files=[conf(tmp_path / "app.conf")], links=[{"path": str(tmp_path / "link"), "src": "/a"}])
    result = run(check=True,
                 directories=[{"path": str(tmp_path / "new"), "owner": "no-such-user", "group": None,
                               "mode": "0755"}],
                 files=[conf(tmp_path / "app.conf", "a = 2\n"), conf(tmp_path / "other", owner="no-such-user")],
                 links=[{"path": str(tmp_path / "link"), "src": "/b"}])
    assert result["changed_paths"] == [str(tmp_path / name) for name in ("new", "app.conf", "other", "link")]
    assert sorted(os.listdir(tmp_path)) == ["app.conf", "link"]
    assert (tmp_path / "app.conf").read_text() == "a = 1\n"
    assert os.readlink(tmp_path / "link") == "/a"


def test_an_unknown_owner_fails_a_real_run_with_its_name(tmp_path):
    with pytest.raises(Failed, match="no user named no-such-user"):
        run(files=[conf(tmp_path / "app.conf", owner="no-such-user")])


def test_a_link_pointing_elsewhere_or_a_file_in_its_place_is_replaced(tmp_path):
    (tmp_path / "link").write_text("not a link")
    assert run(links=[{"path": str(tmp_path / "link"), "src": "/a"}])["changed"]
    assert os.readlink(tmp_path / "link") == "/a"
    assert run(links=[{"path": str(tmp_path / "link"), "src": "/b"}])["changed"]
    assert os.readlink(tmp_path / "link") == "/b"


@pytest.mark.parametrize("mode", ["644x", "u=rw", "70000", None])
def test_a_mode_that_is_not_octal_is_refused(tmp_path, mode):
    with pytest.raises(Failed, match="octal"):
        run(files=[conf(tmp_path / "app.conf", mode=mode)])


def test_a_directory_where_a_file_goes_is_refused(tmp_path):
    (tmp_path / "app.conf").mkdir()
    with pytest.raises(Failed, match="not a regular file"):
        run(files=[conf(tmp_path / "app.conf")])


def test_an_unknown_owner_of_an_existing_file_fails_a_real_run_and_is_a_change_in_check_mode(tmp_path):
    run(files=[conf(tmp_path / "app.conf")])
    assert run(check=True, files=[conf(tmp_path / "app.conf", owner="no-such-user")])["changed"]
    with pytest.raises(Failed, match="no user named no-such-user"):
        run(files=[conf(tmp_path / "app.conf", owner="no-such-user")])
    assert os.lstat(tmp_path / "app.conf").st_uid == 0


def test_absent_removes_files_and_links_once_and_never_a_directory(tmp_path):
    (tmp_path / "old.conf").write_text("x")
    os.symlink(tmp_path / "old.conf", tmp_path / "old-link")
    paths = [str(tmp_path / "old.conf"), str(tmp_path / "old-link"), str(tmp_path / "never-there")]
    check = files.run(FakeModule(check=True, absent=paths))
    assert check["changed_paths"] == paths[:2] and (tmp_path / "old.conf").exists()
    assert run(absent=paths)["changed_paths"] == paths[:2]
    assert not os.path.lexists(tmp_path / "old.conf") and not os.path.lexists(tmp_path / "old-link")
    assert run(absent=paths)["changed"] is False
    (tmp_path / "dir").mkdir()
    with pytest.raises(Failed, match="is a directory"):
        run(absent=[str(tmp_path / "dir")])
    assert (tmp_path / "dir").is_dir()


def test_keep_content_seeds_a_missing_file_once_and_never_rewrites_it(tmp_path):
    seeded = conf(tmp_path / "shared.env", "SEED=1\n", keep_content=True, mode="0600")
    assert run(private_files=[seeded])["changed_paths"] == [str(tmp_path / "shared.env")]
    assert (tmp_path / "shared.env").read_text() == "SEED=1\n"
    # The app rewrote it: a new seed does not overwrite what it wrote, and nothing changed.
    (tmp_path / "shared.env").write_text("MINE=2\n")
    assert run(private_files=[{**seeded, "content": "SEED=3\n"}])["changed"] is False
    assert (tmp_path / "shared.env").read_text() == "MINE=2\n"
    # Its mode is still set.
    os.chmod(tmp_path / "shared.env", 0o644)
    assert run(private_files=[seeded])["changed_paths"] == [str(tmp_path / "shared.env")]
    assert mode_of(tmp_path / "shared.env") == 0o600 and (tmp_path / "shared.env").read_text() == "MINE=2\n"


def test_find_returns_the_matching_paths_and_changes_nothing(tmp_path):
    (tmp_path / "flaskops-shop.worker.1@.service").write_text("")
    (tmp_path / "flaskops-shop@.service").write_text("")
    module = FakeModule(find=[str(tmp_path / "flaskops-shop.*")])
    result = files.run(module)
    assert result["found"] == [str(tmp_path / "flaskops-shop.worker.1@.service")]
    assert result["changed"] is False

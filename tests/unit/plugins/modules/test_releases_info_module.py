"""Unit tests for the flaskops.deploy.releases_info module, on a real directory tree."""
import os

from ansible_collections.flaskops.deploy.plugins.modules import releases_info

MARK = ".flaskops-release"


def release(root, name, built=None):
    path = root / "releases" / name
    (path / "src").mkdir(parents=True)
    if built is not None:
        (path / MARK).write_text("id=%s\n" % name)
        os.utime(path / MARK, (built, built))
    return str(path)


def look(root, look_for=()):
    return releases_info.run({"path": str(root / "releases"), "current": str(root / "current"),
                              "mark": MARK, "checked_mark": ".flaskops-checked", "look_for": list(look_for)})


def test_finished_releases_come_oldest_build_first_whatever_their_names(tmp_path):
    newer = release(tmp_path, "a-newer", built=2000)
    older = release(tmp_path, "b-older", built=1000)
    result = look(tmp_path)
    assert result["built"] == [older, newer]
    assert result["unfinished"] == []
    assert result["changed"] is False


def test_a_release_without_the_mark_is_unfinished(tmp_path):
    done = release(tmp_path, "done", built=1000)
    stopped = release(tmp_path, "stopped")
    (tmp_path / "releases" / "stray-file").write_text("")
    (tmp_path / "releases" / "linked").symlink_to(done)
    result = look(tmp_path)
    assert result["built"] == [done]
    assert result["unfinished"] == [stopped]


def test_current_is_where_the_link_points(tmp_path):
    served = release(tmp_path, "served", built=1000)
    assert look(tmp_path)["current"] == ""
    (tmp_path / "current").symlink_to(served)
    assert look(tmp_path)["current"] == served


def test_a_relative_link_is_read_against_its_own_directory(tmp_path):
    served = release(tmp_path, "served", built=1000)
    (tmp_path / "current").symlink_to("releases/served")
    assert look(tmp_path)["current"] == served


def test_current_that_is_not_a_link_serves_nothing(tmp_path):
    (tmp_path / "current").mkdir()
    assert look(tmp_path)["current"] == ""


def test_no_releases_directory_yet(tmp_path):
    assert look(tmp_path) == {"changed": False, "built": [], "checked": [], "unfinished": [], "current": "", "present": []}


def test_checked_releases_are_the_built_ones_that_passed_their_check_the_last_one_last(tmp_path):
    newer = release(tmp_path, "a-newer", built=2000)
    older = release(tmp_path, "b-older", built=1000)
    unchecked = release(tmp_path, "c-unchecked", built=3000)
    stopped = release(tmp_path, "d-stopped")
    # The older build was switched back to (a rollback) after the newer one had served.
    for path, when in ((newer, 4000), (older, 5000), (stopped, 6000)):
        mark = tmp_path / "releases" / os.path.basename(path) / ".flaskops-checked"
        mark.write_text("")
        os.utime(mark, (when, when))
    result = look(tmp_path)
    assert result["checked"] == [newer, older]
    assert unchecked in result["built"] and unchecked not in result["checked"]


def test_the_other_paths_asked_for_are_those_that_exist_a_broken_link_too(tmp_path):
    (tmp_path / "environment").write_text("")
    (tmp_path / "old.socket").symlink_to(tmp_path / "gone")
    asked = [str(tmp_path / name) for name in ("missing.conf", "old.socket", "environment")]
    assert look(tmp_path, asked)["present"] == asked[1:]
    assert look(tmp_path)["present"] == []

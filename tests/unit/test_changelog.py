"""The changelog fragments are valid, and a release turns them into CHANGELOG.md.

antsibull-changelog is what a release runs (`antsibull-changelog release`); here
it lints changelogs/ and renders a release of galaxy.yml's version in a copy of
the collection, so a malformed fragment fails the tests, not the release.
"""
import os
import pathlib
import re
import shutil
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHANGELOG = pathlib.Path(sys.executable).parent / "antsibull-changelog"  # the venv's


def run(*args, cwd):
    # A release lists the collection's plugins with the venv's ansible-doc.
    env = dict(os.environ, PATH=f"{CHANGELOG.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run([str(CHANGELOG), *args], cwd=cwd, capture_output=True, text=True, check=False, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_fragments_lint_clean():
    assert run("lint", cwd=ROOT).strip() == ""


def test_galaxy_version_is_semantic():
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    major, minor, patch = (int(part) for part in version.split("."))
    assert (major, minor, patch) >= (0, 0, 0)


def test_release_renders_every_fragment(tmp_path):
    # What a release reads, in the ansible_collections/ layout it expects.
    copy = tmp_path / "ansible_collections" / "flaskops" / "deploy"
    copy.mkdir(parents=True)
    for name in ("changelogs", "galaxy.yml", "CHANGELOG.md", "plugins", "roles", "meta", "playbooks"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name)
        else:
            shutil.copy(source, copy / name)
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    fragments = sorted((ROOT / "changelogs" / "fragments").glob("*.yml"))
    assert fragments, "no changelog fragments"

    run("release", "--date", "2026-01-01", cwd=copy)

    # Markdown output escapes punctuation (v1\\.0\\.0); read it unescaped.
    rendered = " ".join(re.sub(r"\\(.)", r"\1", (copy / "CHANGELOG.md").read_text()).split())
    assert f"v{version}" in rendered
    # Every entry made it in (its first words, as written), but for the
    # `trivial` section, which is not published.
    entries = [entry for fragment in fragments
               for section, items in yaml.safe_load(fragment.read_text()).items() if section != "trivial"
               for entry in items]
    assert entries
    for entry in entries:
        words = " ".join(entry.split()[:6])
        assert words in rendered, words
    # The release consumed the fragments (keep_fragments: false) into changelog.yaml.
    releases = yaml.safe_load((copy / "changelogs" / "changelog.yaml").read_text())["releases"]
    assert version in releases

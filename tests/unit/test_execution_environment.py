"""execution-environment.yml is valid for ansible-builder and lists what the collection needs."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILDER = os.path.join(os.path.dirname(sys.executable), "ansible-builder")


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    if not os.path.exists(BUILDER):
        pytest.fail("ansible-builder is not installed (requirements-dev.txt)")
    target = tmp_path_factory.mktemp("ee") / "context"
    result = subprocess.run(
        [BUILDER, "create", "-f", os.path.join(ROOT, "execution-environment.yml"), "-c", str(target),
         "--output-filename", "Containerfile"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    yield target
    shutil.rmtree(target, ignore_errors=True)


def test_the_build_context_is_created(context):
    containerfile = (context / "Containerfile").read_text()
    assert "docker.io/redhat/ubi9:latest" in containerfile
    assert "ansible-galaxy" in containerfile


def test_it_installs_the_collection_and_the_cloud_inventories(context):
    galaxy = (context / "_build" / "requirements.yml").read_text()
    for collection in ("flaskops.deploy", "amazon.aws", "community.digitalocean"):
        assert collection in galaxy


def test_the_collection_declares_its_controller_side_needs():
    """What ansible-builder finds in the installed collection (meta/execution-environment.yml)."""
    collections = os.path.join(ROOT, ".cache", "collections")  # the link `make collection` makes
    result = subprocess.run([BUILDER, "introspect", collections], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passlib" in result.stdout, result.stdout  # the htpasswd filter runs on the controller
    assert "openssh-client" in result.stdout, result.stdout

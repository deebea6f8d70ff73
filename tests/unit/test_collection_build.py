"""The collection users install: what `ansible-galaxy collection build` puts in it."""
import pathlib
import subprocess
import sys
import tarfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    galaxy = pathlib.Path(sys.executable).parent / "ansible-galaxy"  # the venv's
    out = tmp_path_factory.mktemp("build")
    subprocess.run([str(galaxy), "collection", "build", "--output-path", str(out), str(ROOT)],
                   check=True, capture_output=True, text=True)
    (tarball,) = out.glob("flaskops-deploy-*.tar.gz")
    with tarfile.open(tarball) as archive:
        return {name.removeprefix("./") for name in archive.getnames()}


@pytest.mark.parametrize("path", [
    "playbooks/site.yml", "playbooks/check.yml", "playbooks/rollback.yml", "playbooks/tasks/deploy.yml",
    "plugins/filter/app.py", "plugins/filter/htpasswd.py", "plugins/lookup/tree_checksum.py",
    "roles/app/meta/argument_specs.yml", "roles/gunicorn/templates/gunicorn.service.j2",
    "roles/nginx_site/templates/site.conf.j2", "roles/release/tasks/rollback.yml",
    "meta/runtime.yml", "README.md", "LICENSE",
    "playbooks/vars/topology.yml", "playbooks/tasks/roll.yml", "playbooks/tasks/balance.yml",
    "roles/nginx_site/templates/backends.conf.j2",
    "meta/execution-environment.yml", "requirements.txt", "bindep.txt", "docs/roles/app.md",
])
def test_what_the_playbooks_and_roles_need_is_in_the_tarball(members, path):
    assert path in members


@pytest.mark.parametrize("prefix", [
    "molecule/", "tests/", "benchmarks/", "scripts/", ".venv", ".cache", "examples/hello/build",
])
def test_tests_tools_and_caches_stay_out(members, prefix):
    assert not [name for name in members if name.startswith(prefix)]

"""`ansible-doc -t role flaskops.deploy.<role>` shows every entry point and option of every role."""
import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLES = sorted(path.parent.parent.name for path in ROOT.glob("roles/*/meta/argument_specs.yml"))
ANSIBLE_DOC = pathlib.Path(sys.executable).parent / "ansible-doc"  # the venv's


def names(options, prefix=""):
    for name, option in (options or {}).items():
        yield f"{prefix}{name}"
        yield from names(option.get("options"), f"{prefix}{name}.")


@pytest.mark.parametrize("role", ROLES)
def test_ansible_doc_shows_every_entry_point_and_option(role):
    # The collection as `make collection` links it, the way ansible-doc finds an installed one.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / ".cache" / "collections"))
    result = subprocess.run([str(ANSIBLE_DOC), "-t", "role", "-j", f"flaskops.deploy.{role}"],
                            capture_output=True, text=True, check=False, env=env)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)[f"flaskops.deploy.{role}"]["entry_points"]
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    assert set(shown) == set(specs)
    for entry, spec in specs.items():
        assert shown[entry].get("short_description"), f"{role}:{entry} has no short description"
        assert set(names(shown[entry].get("options"))) == set(names(spec.get("options")))

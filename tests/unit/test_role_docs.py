"""docs/roles/ is generated from the argument specs and must not go stale."""
import os
import subprocess
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "role-docs.py")


def test_role_pages_match_the_argument_specs():
    result = subprocess.run([sys.executable, SCRIPT, "--check"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{result.stdout}{result.stderr}run `make docs` and commit docs/roles/"


def test_every_option_of_every_role_is_on_its_page():
    for role in os.listdir(os.path.join(ROOT, "roles")):
        with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
            specs = yaml.safe_load(handle)["argument_specs"]
        with open(os.path.join(ROOT, "docs", "roles", f"{role}.md"), encoding="utf-8") as handle:
            text = handle.read()

        def names(options, prefix=""):
            for name, option in options.items():
                yield f"{prefix}{name}"
                yield from names(option.get("options") or {}, f"{prefix}{name}.")

        for spec in specs.values():
            for name in names(spec.get("options") or {}):
                assert f"| `{name}` |" in text, f"{name} of {role} is not on docs/roles/{role}.md"


def test_no_markup_is_left_half_converted_on_any_page():
    # C(module:create_app()) once came out as `module:create_app(`: the markup's
    # closing bracket was taken for the code's.
    for page in os.listdir(os.path.join(ROOT, "docs", "roles")):
        with open(os.path.join(ROOT, "docs", "roles", page), encoding="utf-8") as handle:
            text = handle.read()
        for code in text.split("`")[1::2]:
            assert code.count("(") == code.count(")"), f"docs/roles/{page}: `{code}`"

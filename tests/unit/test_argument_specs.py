"""Every role's meta/argument_specs.yml is the single source of truth for its variables.

These checks keep defaults/main.yml in agreement with it, and keep every role
variable documented and prefixed with the role's name.
"""
import pathlib

import pytest
import yaml

ROLES = pathlib.Path(__file__).resolve().parents[2] / "roles"
ROLE_NAMES = sorted(path.name for path in ROLES.iterdir() if path.is_dir())


def load(path):
    if not path.exists():
        return {}
    return yaml.safe_load(path.read_text()) or {}


def options(role):
    specs = load(ROLES / role / "meta" / "argument_specs.yml")["argument_specs"]
    return specs["main"]["options"]


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_every_role_has_an_argument_spec(role):
    assert options(role), f"{role} has no options in meta/argument_specs.yml"


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_defaults_and_argument_spec_agree(role):
    defaults = load(ROLES / role / "defaults" / "main.yml")
    spec = options(role)
    assert set(defaults) <= set(spec), f"undocumented defaults: {set(defaults) - set(spec)}"
    for name, option in spec.items():
        if option.get("required"):
            assert name not in defaults, f"{name} is required but has a default"
            continue
        assert name in defaults, f"{name} is documented but has no default in defaults/main.yml"
        assert defaults[name] == option.get("default"), (
            f"{name}: defaults/main.yml says {defaults[name]!r}, argument spec says {option.get('default')!r}"
        )


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_every_option_is_described_and_typed(role):
    def walk(opts, prefix=""):
        for name, option in opts.items():
            assert option.get("description"), f"{prefix}{name} has no description"
            assert option.get("type"), f"{prefix}{name} has no type"
            walk(option.get("options", {}), f"{prefix}{name}.")

    walk(options(role))


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_role_variables_carry_the_role_prefix(role):
    for name in options(role):
        assert name.startswith(f"{role}_") or name == "flaskops_app", name

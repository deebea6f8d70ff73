"""Unit tests for the htpasswd filter."""

import pytest
from ansible.errors import AnsibleFilterError
from passlib.hash import sha512_crypt

from ansible_collections.flaskops.deploy.plugins.filter import htpasswd as plugin


def parse(contents):
    return dict(line.split(":", 1) for line in contents.splitlines())


def test_every_user_gets_a_sha512_crypt_hash_of_their_password():
    lines = parse(plugin.htpasswd({"bob": "builder", "alice": "s3cret"}))
    assert list(lines) == ["alice", "bob"]
    assert lines["alice"].startswith("$6$") and sha512_crypt.verify("s3cret", lines["alice"])
    assert sha512_crypt.verify("builder", lines["bob"])
    assert "s3cret" not in "".join(lines.values())


def test_unchanged_passwords_keep_their_hash_so_the_file_does_not_change():
    first = plugin.htpasswd({"alice": "s3cret", "bob": "builder"})
    assert plugin.htpasswd({"alice": "s3cret", "bob": "builder"}, first) == first


def test_a_changed_password_is_rehashed_and_the_others_kept():
    first = parse(plugin.htpasswd({"alice": "s3cret", "bob": "builder"}))
    current = "".join(f"{k}:{v}\n" for k, v in first.items())
    second = parse(plugin.htpasswd({"alice": "n3w", "bob": "builder"}, current))
    assert second["bob"] == first["bob"]
    assert second["alice"] != first["alice"] and sha512_crypt.verify("n3w", second["alice"])


def test_removed_users_are_dropped_and_foreign_hashes_replaced():
    current = "alice:$apr1$abc$def\ncarol:$6$x$y\n"
    lines = parse(plugin.htpasswd({"alice": "s3cret"}, current))
    assert list(lines) == ["alice"] and sha512_crypt.verify("s3cret", lines["alice"])


@pytest.mark.parametrize("users", [{"al ice": "x"}, {"bob": ""}, {"bob": None}, ["alice"]])
def test_bad_input_is_refused(users):
    with pytest.raises(AnsibleFilterError):
        plugin.htpasswd(users)


def test_filter_module_exports():
    assert set(plugin.FilterModule().filters()) == {"htpasswd"}

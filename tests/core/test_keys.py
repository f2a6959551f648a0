"""API keys with their scopes: ``KEY``, ``KEY:a|b``, ``KEY:*``, and a keys file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from assistant.core.errors import InvalidInputError
from assistant.core.keys import parse_key
from tests.support import make_settings


def test_a_key_without_scope_sees_default_only() -> None:
    key = parse_key("plain-key")
    assert key.secret.get_secret_value() == "plain-key"
    assert key.sees("default") and not key.sees("other") and not key.admin


def test_scoped_and_admin_keys() -> None:
    scoped = parse_key("k1:team-a|shared")
    assert scoped.secret.get_secret_value() == "k1"
    assert scoped.sees("team-a") and scoped.sees("shared") and not scoped.sees("default")
    admin = parse_key("k2:*")
    assert admin.admin and admin.sees("anything")
    # split at the last colon: a key may hold colons itself
    assert parse_key("a:b:default").secret.get_secret_value() == "a:b"


@pytest.mark.parametrize("entry", [":default", "key:", "key: | "])
def test_malformed_entries_are_refused(entry: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_key(entry)


def test_settings_read_keys_from_the_variable_and_a_file(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text("# the team keys\nfile-key:team-b\n\n  other-file-key  \n", encoding="utf-8")
    settings = make_settings(api_keys=[SecretStr("env-key:*")], api_keys_file=keys_file)
    assert [k.secret.get_secret_value() for k in settings.keys] == ["env-key", "file-key", "other-file-key"]
    assert [s.get_secret_value() for s in settings.api_secrets] == ["env-key", "file-key", "other-file-key"]
    assert [k.collections for k in settings.keys] == [None, frozenset({"team-b"}), frozenset({"default"})]
    # a copy with other keys parses its own
    other = settings.model_copy(update={"api_keys": [SecretStr("x:y")], "api_keys_file": None})
    assert [k.secret.get_secret_value() for k in other.keys] == ["x"]


def test_a_missing_keys_file_fails_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="keys file"):
        make_settings(api_keys_file=tmp_path / "nope")

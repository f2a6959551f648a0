"""API keys and the collections each one sees: ``KEY``, ``KEY:coll1|coll2``, ``KEY:*``.

A key without a scope sees the collection ``default`` only (what every key saw before collections);
``*`` is an admin key: it sees every collection and may create and delete them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from assistant.core.errors import InvalidInputError

#: the scope of an admin key
ALL = "*"
#: the collection a key without a scope sees
DEFAULT_SCOPE = frozenset({"default"})


@dataclass(frozen=True)
class ApiKey:
    """One key: its secret and the collections it sees (``None``: all of them, an admin key)."""

    secret: SecretStr
    collections: frozenset[str] | None

    @property
    def admin(self) -> bool:
        return self.collections is None

    def sees(self, name: str) -> bool:
        return self.collections is None or name in self.collections


def parse_key(entry: str) -> ApiKey:
    """``KEY`` / ``KEY:a|b`` / ``KEY:*`` (split at the last ``:``; a key itself may not end in one)."""
    secret, colon, scope = entry.strip().rpartition(":")
    if not colon:
        return ApiKey(SecretStr(entry.strip()), DEFAULT_SCOPE)
    if not secret:
        raise InvalidInputError("an API key entry starts with ':': it has a scope but no key")
    if scope.strip() == ALL:
        return ApiKey(SecretStr(secret), None)
    names = frozenset(n.strip() for n in scope.split("|") if n.strip())
    if not names:
        raise InvalidInputError("an API key entry ends with ':' but names no collection (use KEY:* for all)")
    return ApiKey(SecretStr(secret), names)


def read_keys_file(path: Path) -> list[str]:
    """The key entries of a keys file: one a line; blank lines and ``#`` comments skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot read the API keys file {path}: {exc.strerror or exc}") from exc
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]

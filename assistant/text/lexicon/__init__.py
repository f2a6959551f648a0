"""Word lists as data: one TOML file per language (``zh.toml``, ``en.toml``), each list with a line
saying what it is for. Code asks for a list by name; no module writes a vocabulary inline.

A list is a whitespace-separated string of words, an array of phrases (words with spaces in
them), or (for single characters such as measure words) a string of characters. Lists of a table
are named ``table.key``.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

LANGUAGES = ("zh", "en")


@cache
def _lists(language: str) -> dict[str, list[str]]:
    text = resources.files(__package__).joinpath(f"{language}.toml").read_text(encoding="utf-8")
    out: dict[str, list[str]] = {}

    def add(name: str, value: object) -> None:
        if isinstance(value, str):
            out[name] = value.split()
        elif isinstance(value, list):
            out[name] = [str(v) for v in value]

    for key, value in tomllib.loads(text).items():
        if isinstance(value, dict):
            for k, v in value.items():
                add(f"{key}.{k}", v)
        else:
            add(key, value)
    return out


@cache
def words(name: str, language: str | None = None) -> frozenset[str]:
    """The words of list ``name`` in ``language`` (both languages' when None)."""
    langs = LANGUAGES if language is None else (language,)
    return frozenset(w for lang in langs for w in _lists(lang).get(name, []))


@cache
def chars(name: str, language: str = "zh") -> str:
    """The characters of list ``name`` (a list of single characters), in file order."""
    return "".join(_lists(language)[name])

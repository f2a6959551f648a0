"""Sentence and clause splitting, for answers (with citation markers) and for passages.

A sentence ends at Chinese or full-width end punctuation (。！？；), at ``!``/``?``/``;``, or at an
English full stop followed by whitespace or the end (so "3.5%" stays whole); closing quotes and
any citation markers right after the end stay with the sentence they close.
"""

from __future__ import annotations

import re

from assistant.text.markers import MARKER_RUN

_END = r"(?:[。！？!?；;]|\.(?=[\s”’」』]|$))[”’」』]*"
_SENTENCE = re.compile(rf"[^。！？!?；;\n]*?(?:{_END}|$){MARKER_RUN}", re.S)
#: like _SENTENCE, but keeping the whitespace after each sentence, so that pieces rejoin exactly
_PIECE = re.compile(rf"[^。！？!?；;\n]*?(?:{_END}{MARKER_RUN}[ \t\u3000]*\n*|\n+)|.+", re.S)
_LIST_PREFIX = re.compile(r"^\s*(?:[-*•]|\d+[.)、])\s+")
_CLAUSE = re.compile(r"[，,、；;：:。]")


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, stripped, each keeping its end punctuation and the markers after it.

    Lines are split first and list prefixes ("1. ", "- ") removed, so an enumerated answer
    yields one sentence per item.
    """
    out: list[str] = []
    for line in text.splitlines():
        line = _LIST_PREFIX.sub("", line)
        for m in _SENTENCE.finditer(line):
            s = m.group(0).strip()
            if s:
                out.append(s)
    return out


def split_lossless(text: str) -> list[str]:
    """Sentence pieces of ``text`` with their trailing whitespace: ``"".join(split_lossless(t)) == t``."""
    return [m.group(0) for m in _PIECE.finditer(text) if m.group(0)]


def split_clauses(sentence: str) -> list[str]:
    """The clauses of a sentence (split at commas, enumeration commas, semicolons, colons, full stops)."""
    return _CLAUSE.split(sentence)

"""Character classes for Chinese text: one definition of "CJK" for the whole package."""

from __future__ import annotations

import re

#: CJK ideographs (Extension A, the unified block, compatibility ideographs), as a regex class body
IDEOGRAPHS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
#: ideographs plus CJK punctuation, full-width forms, curly quotes and book-title marks: text that
#: is "Chinese" for spacing purposes (no whitespace belongs next to it)
CJK_TEXT = IDEOGRAPHS + "\u3000-\u303f\uff00-\uffef“”‘’《》"

_IDEOGRAPH = re.compile(f"[{IDEOGRAPHS}]")
_CJK_TEXT = re.compile(f"[{CJK_TEXT}]")
_NOT_IDEOGRAPH = re.compile(f"[^{IDEOGRAPHS}]")
#: letters, digits and ideographs: what a sentence "says" (punctuation and markers excluded)
CONTENT_CHAR = re.compile(f"[{IDEOGRAPHS}A-Za-z0-9]")


def is_cjk(ch: str) -> bool:
    """Whether the single character ``ch`` is CJK text (ideograph, CJK punctuation or full-width form)."""
    return bool(_CJK_TEXT.fullmatch(ch))


def cjk_count(text: str) -> int:
    """Number of CJK ideographs in ``text``."""
    return len(_IDEOGRAPH.findall(text))


def ideographs_only(text: str) -> str:
    """``text`` with everything but CJK ideographs removed."""
    return _NOT_IDEOGRAPH.sub("", text)


def content_chars(text: str) -> int:
    """Number of letters, digits and ideographs (punctuation and markers excluded)."""
    return len(CONTENT_CHAR.findall(text))

"""The citation-marker grammar: ``[1]``, ``[1, 2]``, ``[1，2]``, ``[1、2]`` and ``【1】``.

Every reader of markers (the citation checker, sentence splitting, the chat's rendering and
highlighting, the OpenAI-compatible streaming, the eval metrics) uses this module. Small models
also write spelled-out references ("根据第1段，", "According to passage 2,"); :func:`parse_markers`
counts those as markers too, since left in the text their digits would read as figures.
"""

from __future__ import annotations

import re

_NUMBERS = r"\d+(?:\s*[,，、]\s*\d+)*"
#: one marker; group 1 (square brackets) or group 2 (lenticular brackets) holds the numbers
MARKER = re.compile(rf"\[\s*({_NUMBERS})\s*\]|【\s*({_NUMBERS})\s*】")
#: any run of markers (with the whitespace before each), e.g. what may follow a sentence's full stop
MARKER_RUN = rf"(?:\s*(?:{MARKER.pattern}))*"
_SPACED_MARKER = re.compile(rf"\s*(?:{MARKER.pattern})")
_PROSE_REF = re.compile(
    r"(?:根据|依据|据)?第\s*(\d+)\s*个?段(?:落)?(?:的内容|中|所述)?\s*[，,：:]?\s*"
    r"|(?:according to |as stated in |in |from )?passage\s+(\d+)\s*[,:]?\s*",
    re.I,
)


def marker_numbers(match: re.Match[str]) -> list[int]:
    """The numbers of one :data:`MARKER` match, in order."""
    body = match.group(1) or match.group(2)
    return [int(x) for x in re.split(r"\s*[,，、]\s*", body.strip()) if x]


def parse_markers(sentence: str) -> tuple[str, list[int]]:
    """The sentence without its markers (and spelled-out passage references), and the marker
    numbers in order of first appearance."""
    found: list[int] = []
    for m in _PROSE_REF.finditer(sentence):
        found.append(int(m.group(1) or m.group(2)))
    sentence = _PROSE_REF.sub("", sentence)
    for m in MARKER.finditer(sentence):
        found.extend(marker_numbers(m))
    return _SPACED_MARKER.sub("", sentence).strip(), list(dict.fromkeys(found))


def strip_markers(text: str) -> str:
    """``text`` without its markers (and the whitespace before each)."""
    return _SPACED_MARKER.sub("", text)


def cites(sentence: str, number: int) -> bool:
    """Whether ``sentence`` carries a marker for passage ``number``."""
    return any(number in marker_numbers(m) for m in MARKER.finditer(sentence))


def format_markers(numbers: list[int]) -> str:
    """The canonical form the assistant writes: ``[1][2]``."""
    return "".join(f"[{n}]" for n in numbers)

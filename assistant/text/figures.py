"""Figures: the numbers a text states, whether a question asks for one, and whether a clause
states the figure a question asks for.

"我国目前共有多少个国家实验室？" is not answered by "14家国家技术创新中心" although both are
counts from the same passage. A figure answers the question when the clause it stands in
shares enough of the question's wording (character bigrams, question framing removed) and
carries a compatible unit ("多少亿元" needs 亿元; counting words such as 个/家 are
interchangeable). The extractive generator uses this to pick sentences, the citation checker to
refuse an LLM's on-topic but wrong figure.
"""

from __future__ import annotations

import re
import unicodedata

from assistant.text.sentences import split_clauses
from assistant.text.words import bigrams

_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_MAGNITUDE = {"万": 10_000, "亿": 100_000_000}
_ASKS_FIGURE = re.compile(
    r"多少|几[个家项所座次种年]|数量|比例|比重|占比|how many|how much|what (?:share|percentage|proportion)|rate", re.I
)
_UNIT = re.compile(r"(?:多少|几)\s*((?:万亿|亿|万|千)?(?:元|辆|吨|千瓦|EFLOPS|%)|[个家项所座种名人台])")
#: measure words a question and an answer may swap ("多少家多边机构" / "30多个")
_COUNTERS = set("个家项所座种名人台")
_FRAMING = re.compile(r"多少|几|是|什么|哪些|有|共|目前|我国|报告|[？?。，,]")


def numbers(text: str, *, expand: bool = False) -> set[str]:
    """The figures in ``text`` (thousands separators removed): years, counts, percentages' values.

    ``expand`` also adds the plain value of Chinese magnitudes ("1.76万" -> "17600"), so an
    English "17,600" can be checked against a Chinese passage.
    """
    t = unicodedata.normalize("NFKC", text)
    out = set()
    for m in _NUMBER.finditer(t):
        n = m.group(0).replace(",", "")
        out.add(n)
        unit = t[m.end() : m.end() + 1]
        if expand and unit in _MAGNITUDE:
            value = float(n) * _MAGNITUDE[unit]
            out.add(str(int(value)) if value == int(value) else f"{value:g}")
    return out


def asks_for_figure(question: str) -> bool:
    """Whether ``question`` asks for a number ("多少", "how many", "what share")."""
    return bool(_ASKS_FIGURE.search(question))


def _unit_matches(unit: str, clause: str) -> bool:
    if unit in _COUNTERS:
        return any(c in clause for c in _COUNTERS)
    return unit in clause


def states_asked_figure(
    question: str, sentence: str, *, min_overlap: float = 0.3, figures: set[str] | None = None
) -> bool:
    """Whether a clause of ``sentence`` holding a figure (one of ``figures`` if given, never one
    the question itself contains) is about what ``question`` asks, with a compatible unit."""
    asked = numbers(question)
    core = bigrams(_FRAMING.sub("", question))
    unit = _UNIT.search(question)
    for clause in split_clauses(sentence):
        stated = numbers(clause) - asked
        if figures is not None:
            stated &= figures
        if not stated:
            continue
        if core and len(core & bigrams(clause)) / len(core) < min_overlap:
            continue
        if unit and not _unit_matches(unit.group(1), clause):
            continue
        return True
    return False

"""Does a sentence state the figure a Chinese question asks for?

"我国目前共有多少个国家实验室？" is not answered by "14家国家技术创新中心" although both are
counts from the same passage. A figure answers the question when the clause it stands in
shares enough of the question's wording (character bigrams, question framing removed) and
carries a compatible unit ("多少亿元" needs 亿元; counting words such as 个/家 are
interchangeable). Used by the extractive generator to pick sentences and by the pipeline to
refuse an LLM's on-topic but wrong figure.
"""

from __future__ import annotations

import re

from assistant.sentences import bigrams, numbers

_UNIT = re.compile(r"(?:多少|几)\s*((?:万亿|亿|万|千)?(?:元|辆|吨|千瓦|EFLOPS|%)|[个家项所座种名人台])")
#: measure words a question and an answer may swap ("多少家多边机构" / "30多个")
_COUNTERS = set("个家项所座种名人台")
_CLAUSE = re.compile(r"[，,、；;：:。]")
_FRAMING = re.compile(r"多少|几|是|什么|哪些|有|共|目前|我国|报告|[？?。，,]")


def _unit_matches(unit: str, clause: str) -> bool:
    if unit in _COUNTERS:
        return any(c in clause for c in _COUNTERS)
    return unit in clause


def states_asked_figure(question: str, sentence: str, *, min_overlap: float = 0.3,
                        figures: set[str] | None = None) -> bool:
    """Whether a clause of ``sentence`` holding a figure (one of ``figures`` if given, never one
    the question itself contains) is about what ``question`` asks, with a compatible unit."""
    asked = numbers(question)
    core = bigrams(_FRAMING.sub("", question))
    unit = _UNIT.search(question)
    for clause in _CLAUSE.split(sentence):
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

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
from collections.abc import Callable

from assistant.text import lexicon
from assistant.text.cjk import IDEOGRAPHS
from assistant.text.sentences import split_clauses
from assistant.text.words import bigrams, strip_framing

_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_MAGNITUDE = {"万": 10_000, "亿": 100_000_000}
#: the nouns an English question names a quantity by ("What was Zhoukou's output", "What R&D
#: intensity target"), from the lexicon
_QUANTITY_EN = "|".join(sorted(lexicon.words("quantity_nouns", "en"), key=len, reverse=True))
_ASKS_FIGURE = re.compile(
    r"多少|几[个家项所座次种年]|数量|比例|比重|占比|how many|how much|what (?:share|percentage|proportion)|rate"
    # "What is the maximum fare", "what was Zhoukou's output": a quantity asked by its name
    rf"|\b(?:what|which)\b[^?]*?\b(?:{_QUANTITY_EN})s?\b", re.I
)
#: measure words a question and an answer may swap ("多少家多边机构" / "30多个"), and those counting people
_COUNTERS = set(lexicon.chars("measure_words"))
_PEOPLE = set(lexicon.chars("people_measure_words"))
#: the unit a figure question asks in: a magnitude with a unit word, a percentage, or a measure word
_UNIT = re.compile(rf"(?:多少|几)\s*((?:万亿|亿|万|千)?(?:元|辆|吨|千瓦|%)|[{''.join(sorted(_COUNTERS))}])")


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


_ORDINAL = re.compile(r"第\s*([一二三四五六七八九十]+|\d+)(?![百千万亿\d])|(?:首|头)位")
_ORDINAL_EN = re.compile(
    r"\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|top|(\d+)(?:st|nd|rd|th))\b", re.I
)
_CN_DIGITS = {c: i for i, c in enumerate("一二三四五六七八九十", start=1)}
_EN_ORDINALS = {w: i for i, w in enumerate(
    "first second third fourth fifth sixth seventh eighth ninth tenth".split(), start=1)} | {"top": 1}


def ordinals(text: str) -> set[int]:
    """The ranks a text states: "第二" and "second" are 2, "首位" and "first" 1 (a rank question
    is answered by a rank, not by some other figure)."""
    t = unicodedata.normalize("NFKC", text)
    out = set()
    for m in _ORDINAL.finditer(t):
        g = m.group(1)
        out.add(1 if g is None else int(g) if g.isdigit() else _chinese_number(g))
    for m in _ORDINAL_EN.finditer(t):
        out.add(int(m.group(2)) if m.group(2) else _EN_ORDINALS[m.group(1).lower()])
    return out


_FIGURE_EN = re.compile(r"(超过?|逾|近|约|超出)?\s*(\d+(?:,\d{3})*(?:\.\d+)?)\s*(万亿|亿|万|千)?\s*(余|多)?\s*"
                        r"(%|％|[个家项所座种名人台元辆吨]|千瓦|亿元)?")
_SCALE = {"万亿": 1e12, "亿": 1e8, "万": 1e4, "千": 1e3}
_QUALIFIER = {"超": "more than", "超过": "more than", "逾": "more than", "超出": "more than", "余": "more than",
              "多": "more than", "近": "nearly", "约": "about"}


def english_figure(text: str) -> str | None:
    """The first figure of a Chinese clause in English form with the original in brackets:
    "超1.76万家" -> "more than 17,600 (超1.76万家)", "5.86万亿元" -> "5.86 trillion yuan (5.86万亿元)"."""
    t = unicodedata.normalize("NFKC", text)
    for m in _FIGURE_EN.finditer(t):
        before, digits, scale, after, unit = m.groups()
        if unit is None and scale is None and after is None and t[m.end() : m.end() + 1] in "年月日":
            continue  # a year or a month dates the figure; it is not the figure
        value = float(digits.replace(",", "")) * _SCALE.get(scale or "", 1.0)
        qualifier = _QUALIFIER.get(before or "") or _QUALIFIER.get(after or "")
        suffix = " percent" if unit in ("%", "％") else " yuan" if unit and "元" in unit else ""
        words = _english_number(value) + suffix
        original = m.group(0).strip()
        return f"{qualifier + ' ' if qualifier else ''}{words} ({original})"
    return None


_MONEY_EN = re.compile(r"\byuan\b|\brmb\b|\bmoney\b|\bfares?\b|\bprices?\b|\bcosts?\b|\bfees?\b", re.I)
#: what an English question asks for, and how a Chinese clause states it: money in 元, a share as a
#: percentage, a count with a counting word ("how many lifts" is not answered by "提前3天" or "100%")
_EN_UNITS = ((_MONEY_EN, re.compile(r"元")),
             (re.compile(r"\bpercent|\bshare\b|\bproportion\b|\bpercentage\b|\brate\b", re.I), re.compile(r"[%％]|成")),
             (re.compile(r"\bhow many\b", re.I),
              re.compile(r"\d(?:[\d,]*\d)?(?:\.\d+)?\s*(?:万亿|[十百千万亿])?\s*[余多]?\s*"
                         rf"[{''.join(sorted(_COUNTERS))}]")))
_CJK = re.compile(f"[{IDEOGRAPHS}]")


def english_unit_matches(question: str, clause: str) -> bool:
    """Whether a Chinese clause carries the unit an English question asks for ("how much money, in
    yuan" needs 元, "what share" a percentage, "how many" a counting word); a question naming no
    unit accepts any, and so does an English clause (it states its unit in words)."""
    if not _CJK.search(clause) and re.search(r"[A-Za-z]{2,}", clause):
        return True
    span = _EN_SPANS.search(question)
    if span:  # "how many days" is counted in 天, not with a counting word
        return bool(re.search(_FIGURE_BEFORE_UNIT + _SPAN_UNITS[span.group(1).lower().rstrip("s")], clause))
    return all(unit.search(clause) for asked, unit in _EN_UNITS if asked.search(question))


_EN_SPANS = re.compile(r"\bhow many (days|weeks|months|years|hours|minutes)\b", re.I)
_SPAN_UNITS = {"day": "[天日]", "week": "(?:周|星期)", "month": "个?月", "year": "年", "hour": "(?:个?小时)",
               "minute": "分钟?"}


def _english_number(value: float) -> str:
    for size, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if value >= size:
            return f"{value / size:,.4g} {word}"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.4g}"


def _chinese_number(text: str) -> int:
    """"二" 2, "十五" 15, "二十三" 23 (ranks are small numbers)."""
    if "十" not in text:
        return _CN_DIGITS[text[-1]]
    tens, _, ones = text.partition("十")
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)


def asks_for_figure(question: str) -> bool:
    """Whether ``question`` asks for a number ("多少", "how many", "what share")."""
    return bool(_ASKS_FIGURE.search(question))


def wording(question: str) -> set[str]:
    """The character pairs of what a question asks, without its framing words, dates and digits
    ("2023年末安阳市65周岁及以上常住人口占比是多少" → pairs of 安阳市, 周岁及以上, 常住人口, 占比)."""
    return {b for b in bigrams(DATES.sub("", strip_framing(question))) if not any(c.isdigit() for c in b)}


#: a figure with its magnitude and "more than" marks, before its unit: "140多家", "超1.76万家", "5.86万亿元"
_FIGURE_BEFORE_UNIT = r"\d(?:[\d,]*\d)?(?:\.\d+)?\s*(?:万亿|[十百千万亿])?\s*[余多]?\s*"


def _unit_matches(unit: str, clause: str) -> bool:
    """Whether a figure of ``clause`` carries ``unit`` (any counting word for a counting word):
    "在本市养老机构连续从业满1年" does not count 家 although it names 养老机构."""
    # people (人, 名, 位) are counted apart from things: "多少座车站" is not answered by "21.7万人次"
    group = _PEOPLE if unit in _PEOPLE else _COUNTERS - _PEOPLE
    units = "[" + "".join(sorted(group)) + "]" if unit in _COUNTERS else re.escape(unit)
    return bool(re.search(_FIGURE_BEFORE_UNIT + units, unicodedata.normalize("NFKC", clause)))


#: a year, a month or a day: it dates the figure of its clause, it is not the figure
_MONTHS = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
_WEEKDAYS = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
DATES = re.compile(
    # a year, or a span of years ("2019-2022年", "2019至2022年"), with its month and day
    r"(?:(?:19|20)\d{2}\s*(?:年)?\s*(?:-|—|–|~|～|至|到)\s*)?\d{4}\s*年(?:\s*\d{1,2}\s*月)?(?:\s*\d{1,2}\s*日)?"
    r"|\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?"
    # English: "18 July 2025", "July 18, 2025", "in 2024", "the first half of 2025"
    rf"|\b\d{{1,2}}\s+{_MONTHS}(?:\s+\d{{4}})?|\b{_MONTHS}\s+\d{{1,2}}(?:,\s*\d{{4}})?"
    r"|\b(?:in|of|since|by|until|during|for|from|to)\s+(?:19|20)\d{2}\b"
)
#: a date, a day or a time of day stated anywhere: "2025年11月27日", "12月7日", "每周一", "9:30",
#: "in the third quarter of 2026", "Monday"
_DATE_STATED = re.compile(
    r"\d{4}\s*年|\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?|(?:周|星期|礼拜)[一二三四五六日天]|(?<!\d)(?:19|20)\d{2}(?!\d)"
    rf"|\b{_MONTHS}\b|\b{_WEEKDAYS}\b|\d{{1,2}}[:：]\d{{2}}")


def states_date(text: str) -> bool:
    """Whether ``text`` states a date, a day or a time (what a "when" question needs)."""
    return bool(_DATE_STATED.search(text))


_JOINED_FIGURES = re.compile(r"(?:和|及|与|以及)(?=\s*\d)")

#: cosine of a question to each of some clauses (an embedder's)
ClauseCosines = Callable[[str, list[str]], list[float]]


def figure_clauses(question: str, sentence: str) -> list[str]:
    """The clauses of ``sentence`` stating a figure the question does not (dates aside)."""
    asked = numbers(question)
    # "500余家卓越级智能工厂和1200余家5G工厂": two figures joined by 和 are two clauses
    pieces = [p for c in split_clauses(sentence) for p in _JOINED_FIGURES.split(c)]
    return [c for c in pieces if numbers(DATES.sub("", c)) - asked]


def states_asked_figure_by_meaning(question: str, sentence: str, cosines: ClauseCosines, *,
                                   figures: set[str] | None = None) -> str | None:
    """For a question in other words than its answer (few shared characters): the clause of
    ``sentence`` closest in meaning among those stating a figure, if it states one of ``figures``
    (any, if None) with a unit the question allows; else None. "我国目前共有多少个国家实验室？" is
    not answered by "11家国家新兴产业创新中心" when "140多家全国重点实验室" stands beside it."""
    clauses = figure_clauses(question, sentence)
    if not clauses:
        return None
    scores = cosines(question, clauses)
    best = clauses[max(range(len(clauses)), key=lambda i: scores[i])]
    return best if states_asked_figure(question, best, min_overlap=0.0, figures=figures) else None


def states_asked_figure(
    question: str, sentence: str, *, min_overlap: float = 0.3, figures: set[str] | None = None, context: str = ""
) -> bool:
    """Whether a clause of ``sentence`` holding a figure (one of ``figures`` if given, never one
    the question itself contains) is about what ``question`` asks, with a compatible unit.
    ``context`` is wording that applies to every clause (a table's caption and the row's label)."""
    asked = numbers(question)
    core = wording(question)
    around = bigrams(context)
    unit = _UNIT.search(question)
    for clause in split_clauses(sentence):
        stated = numbers(DATES.sub("", clause)) - asked  # "2025年" dates a figure, it is not one
        if figures is not None:
            stated &= figures
        if not stated:
            continue
        if core and len(core & (bigrams(clause) | around)) / len(core) < min_overlap:
            continue
        if unit and not _unit_matches(unit.group(1), clause):
            continue
        return True
    return False

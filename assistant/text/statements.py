"""What a sentence says: whether it names a term or the attribute a question measures, whether it
is a label (a title, heading, question line or signature) rather than a statement, which years it
speaks of, and how much of an English question's content it holds.

An answer's figure must be about the question's subject: "累计建成1200余家5G工厂" does not say how
many 5G基站 there are, "新能源汽车产量8.7万辆" not what the 保有量 is. These rules read the sentence a
figure stands in (and its section heading), never question-specific word lists.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePath

from assistant.text.cjk import IDEOGRAPHS
from assistant.text.questions import EN_WORD, english_content_words
from assistant.text.words import bigrams, normalize

#: ratio words, stated in an answer as a percentage ("缴费比例是多少" / "按缴费基数的20%缴费")
_RATIO = re.compile(r"比例|比重|占比|份额|[^效]率$")


#: money words, stated in an answer in yuan ("门票多少钱" / "60元")
_MONEY = re.compile(r"钱|价格|价钱|票价|售价|费用|金额")


#: the shortest phrase that may be named by most of its character pairs rather than whole
_MIN_LOOSE_TERM = 6


def mentions(term: str, text: str, *, min_share: float = 0.75, loose_from: int = _MIN_LOOSE_TERM) -> bool:
    """Whether ``text`` names ``term``: as a whole, or (a phrase of six or more characters) by most
    of its character pairs ("公里老旧供热管网" in "改造老旧供热管网120公里")."""
    t = normalize(text).lower()
    term = normalize(term).lower()
    if term in t:
        return True
    # a short term must stand whole ("国家实验室" is not named by "全国重点实验室"); a long phrase
    # may be worded a little differently
    pairs = bigrams(term)
    return len(term) >= loose_from and len(pairs & bigrams(t)) / len(pairs) >= min_share


def states_attribute(attribute: str, text: str) -> bool:
    """Whether ``text`` names the measured ``attribute``, a ratio as a percentage and a price in yuan."""
    if mentions(attribute, text, min_share=0.5, loose_from=3):  # "进口额" / "进口193.9亿元"
        return True
    if _RATIO.search(attribute) and re.search(r"[%％]|成", text):
        return True
    return bool(_MONEY.search(attribute) and "元" in text)


def english_coverage(question: str, text: str) -> float:
    """The share of an English question's content words that ``text`` (English) holds."""
    words = english_content_words(question)
    if not words:
        return 1.0
    have = {w.lower()[:5] for w in EN_WORD.findall(unicodedata.normalize("NFKC", text))}
    return sum(w in have for w in words) / len(words)


#: a line that labels rather than states: ends in a question mark, or is a "问：" line
_QUESTION_LINE = re.compile(r"[？?]\s*$|^\s*(?:问|Q)\s*[：:.]")


_STATEMENT_PUNCTUATION = re.compile(r"[。！；，,：:!;|]|[.!?]\s|[.!?]$")


def is_label(sentence: str) -> bool:
    """Whether ``sentence`` is a title, heading, question line or signature rather than a
    statement: it asks something, or it is a short line without a full stop or comma (a table row's
    cells count as clauses) ("甲州市2025年汽车和家电以旧换新补贴政策问答", "三、关于某片区城市更新
    项目", "甲州市公安局2025年11月28日")."""
    s = sentence.strip()
    if _QUESTION_LINE.search(s):
        return True
    words = EN_WORD.findall(s)
    if words and not re.search(rf"[{IDEOGRAPHS}]", s) and not re.search(r"[.!;]\s*$", s) and len(words) <= 15:
        # an English title: most of its words capitalised ("Port Group: First-Half 2025 Operations Update")
        if sum(w[0].isupper() for w in words) / len(words) >= 0.6:
            return True
    # a statement ends with a full stop; a title or heading neither ends with one nor has a comma
    return len(normalize(s)) <= 40 and not _STATEMENT_PUNCTUATION.search(s)


_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:\s*年|(?!\d))")


def years(text: str) -> set[str]:
    """The years ``text`` names ("2024年", "in 2024")."""
    return set(_YEAR.findall(unicodedata.normalize("NFKC", text)))


def document_years(title: str, source: str = "") -> set[str]:
    """The years a document is about: those its title names, else those its file name names
    ("2023_bulletin.pdf" whose first line is only the issuer's name)."""
    return years(title) or years(PurePath(source).stem)


def other_year(question: str, passage_text: str, title: str = "", source: str = "") -> bool:
    """Whether a passage speaks of other years than the one(s) the question asks about: "2024年全年
    集装箱吞吐量" is not answered by a passage on the first half of 2025. A passage that names no
    year speaks of its document's: the year its ``title`` (or file name) names, and the year before it (a report
    of a year reviews the one before: a 2025 work report's "新开工改造老旧小区8523个" is 2024's)."""
    asked = years(question)
    named = years(passage_text) or {str(int(y) + d) for y in document_years(title, source) for d in (0, -1)}
    return bool(asked and named and not asked & named)

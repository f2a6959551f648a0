"""The numbering grammar of documents: which marker opens a paragraph, and what number it carries.

Chinese official documents number their levels ``一、`` / ``（一）`` / ``1.`` / ``（1）`` (GB/T 9704),
laws and long reports add ``第一章`` / ``第一节`` / ``第一条``, technical documents use ``1.1``,
and Markdown has ``#`` headings. Each is a :class:`Marker` with a *scheme* (which kind of numbering)
and the numbers it carries, so the structure step can rank the schemes and notice restarts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.text import lexicon

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
CN_NUMERAL = "一二三四五六七八九十百零〇两"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"

#: how each scheme is shown to a user (``assistant index --explain``)
SCHEME_LABELS = {
    "chapter": "第一章",
    "part": "第一节",
    "article": "第一条",
    "cn-dun": "一、",
    "cn-paren": "（一）",
    "decimal": "1.",
    "arabic-paren": "（1）",
    "circled": "①",
    "markdown": "#",
    "question": "问：",
}

# "(三) " / "（三）" / "( 三 )" — the half-width forms come from extraction and are normalised
CN_PAREN = re.compile(rf"^[（(]\s*([{CN_NUMERAL}]+)\s*[）)]\s*")
ARABIC_PAREN = re.compile(r"^[（(]\s*(\d{1,2})\s*[）)]\s*")
CN_DUN = re.compile(rf"^([{CN_NUMERAL}]+)、")
CHAPTER = re.compile(rf"^第\s*([{CN_NUMERAL}]+|\d{{1,3}})\s*([章节条编部])\s*")
# "1." "1、" "1)" "1）" "1.2" "1.2.3": never a figure such as "1.5万" or "2025年"
DECIMAL = re.compile(r"^(\d{1,2}(?:[.．]\d{1,2}){0,3})(?:[.．、)）](?!\d)|(?=\s))\s*")
_DECIMAL_UNIT = re.compile(r"^[万亿千百十%‰倍个家项余多年月日号次位台]")
# "1.12月7日…" / "2.7:00起…": item 1 about a date or a time, not the figure 1.12 (nor "23.1：72.9", a ratio)
_ITEM_BEFORE_DATE = re.compile(r"^(\d{1,2})[.．、](?=\d{1,4}(?:[年月日号时]|[:：][0-5]\d(?![\d.．])))")
# a figure a line break cut: a ratio ("1：0.8：" + "1.2") or a date ("2023年" + "12月")
_OPEN_FIGURE = re.compile(r"\d\s*[:：∶年月]$")
# "问：" / "问1：" / "Q:" — a question of a Q&A document (its answer follows)
QUESTION = re.compile(r"^(?:问题?|提问|Q)\s*(\d{0,3})\s*[：:]", re.I)
CIRCLED = re.compile(rf"^([{_CIRCLED}])\s*")
MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
BULLET = re.compile(r"^[-*+•·●▪]\s+")
#: the caption of a table: "表1 …", "表一 …", "Table 2: …"
CAPTION = re.compile(r"^(?:表|Table\s*)\s*[\d一二三四五六七八九十]+", re.I)
#: the caption of a chart or a picture: "图1 …", "Figure 2: …"
FIGURE_CAPTION = re.compile(r"^(?:图|Figure\s*|Fig\.\s*)\s*[\d一二三四五六七八九十]+", re.I)
#: a line that gives the unit of a table or a chart: "单位：万吨", "Unit: tonnes"
UNIT_LINE = re.compile(
    # in brackets or not, the unit word may carry a short qualifier: "（货币单位：人民币百万元）"
    r"^[（(]?\s*[\u4e00-\u9fff]{0,4}?(?:"
    + "|".join(sorted(map(re.escape, lexicon.words("unit_headers")), key=len, reverse=True))
    + r")\s*[：:]"
)

#: a footnote mark in running text ("收入[7]40867元", "总值［2］"): a bracketed number after a character
FOOTNOTE_MARK = re.compile(r"(?<=\S)[ \t]*[\[［]\d{1,2}[\]］]")
#: the label a footnote opens with ("[1]本公报中数据为初步统计数。")
FOOTNOTE_LABEL = re.compile(r"^\s*[\[［]\d{1,2}[\]］]\s*(?=\S)")

_CHAPTER_SCHEMES = {"章": "chapter", "编": "chapter", "部": "chapter", "节": "part", "条": "article"}


@dataclass(frozen=True)
class Marker:
    """The numbering that opens a paragraph."""

    scheme: str  # a key of SCHEME_LABELS
    numbers: tuple[int, ...]  # (3,) for （三）, (1, 2) for 1.2; for Markdown the heading level; () unnumbered
    end: int  # where the marker ends in the paragraph

    @property
    def depth_key(self) -> str:
        """Schemes that nest by themselves (1. / 1.1 / 1.1.1) are one level per component count."""
        return f"{self.scheme}{len(self.numbers)}" if self.scheme == "decimal" else self.scheme

    @property
    def label(self) -> str:
        """How the level is written, for explanations (``1.1`` for a two-part decimal number)."""
        if self.scheme == "decimal":
            return ".".join("1" * len(self.numbers)) + ("." if len(self.numbers) == 1 else "")
        if self.scheme == "markdown":
            return "#" * self.numbers[0]
        return SCHEME_LABELS[self.scheme]


def cn_to_int(numeral: str) -> int:
    """Convert a Chinese numeral up to the hundreds (``十八`` -> 18, ``二十一`` -> 21)."""
    total, current = 0, 0
    for ch in numeral:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        elif ch in _CN_DIGITS:
            current = _CN_DIGITS[ch]
        else:
            raise ValueError(f"not a Chinese numeral: {numeral!r}")
    return total + current


def _number(text: str) -> int:
    return int(text) if text.isdigit() else cn_to_int(text)


def marker(paragraph: str) -> Marker | None:
    """The numbering marker that opens ``paragraph``, if any."""
    if m := MD_HEADING.match(paragraph):
        return Marker("markdown", (len(m.group(1)),), m.start(2))
    if m := CN_PAREN.match(paragraph):
        return Marker("cn-paren", (cn_to_int(m.group(1)),), m.end())
    if m := ARABIC_PAREN.match(paragraph):
        return Marker("arabic-paren", (int(m.group(1)),), m.end())
    if m := CN_DUN.match(paragraph):
        return Marker("cn-dun", (cn_to_int(m.group(1)),), m.end())
    if m := CHAPTER.match(paragraph):
        return Marker(_CHAPTER_SCHEMES[m.group(2)], (_number(m.group(1)),), m.end())
    if m := CIRCLED.match(paragraph):
        return Marker("circled", (_CIRCLED.index(m.group(1)) + 1,), m.end())
    if m := _ITEM_BEFORE_DATE.match(paragraph):
        return Marker("decimal", (int(m.group(1)),), m.end())
    if (m := DECIMAL.match(paragraph)) and not _DECIMAL_UNIT.match(paragraph[m.end() :]) and m.end() < len(paragraph):
        return Marker("decimal", tuple(int(n) for n in re.split(r"[.．]", m.group(1))), m.end())
    if m := QUESTION.match(paragraph):
        return Marker("question", (int(m.group(1)),) if m.group(1) else (), m.end())
    return None


def breaks_figure(prev: str, line: str) -> bool:
    """Whether a line break between ``prev`` and ``line`` falls inside a ratio, a date or a number
    (``1：0.8：`` / ``1.2``; ``2023年`` / ``12月``): ``line`` goes on with it and opens nothing."""
    return bool(_OPEN_FIGURE.search(prev.rstrip())) and line.lstrip()[:1].isdigit()


def strip_footnote_marks(text: str) -> str:
    """``text`` without footnote marks and without the label a footnote opens with (its text stays)."""
    return FOOTNOTE_MARK.sub("", FOOTNOTE_LABEL.sub("", text))


def starts_block(line: str) -> bool:
    """Whether a line opens a new paragraph by its look alone (a marker, a heading, a list bullet or
    a footnote's label)."""
    return marker(line) is not None or bool(BULLET.match(line)) or bool(FOOTNOTE_LABEL.match(line))

"""Text helpers shared by the extractive generator and the citation checker: normalisation,
sentence splitting, figures and named items, character bigrams and question keywords."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_SPACE = re.compile(r"\s+")
# a sentence ends at Chinese/full stop punctuation (plus any [n] markers right after it);
# an English full stop only counts before whitespace or the end, so "3.5%" stays whole
_SENTENCE = re.compile(r"[^。！？!?；;\n]*?(?:[。！？!?；;]|\.(?=\s|$)|$)(?:\s*\[\s*\d+(?:\s*[,，]\s*\d+)*\s*\])*", re.S)
_LIST_PREFIX = re.compile(r"^\s*(?:[-*•]|\d+[.)、])\s+")
_NUMBER = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?")
_TITLE = re.compile(r"《([^》]{1,60})》")
_QUOTED = re.compile(r"[“\"「]([^”\"」]{1,40})[”\"」]")
_CONTENT_CHAR = re.compile(r"[\u3400-\u9fffA-Za-z0-9]")

#: words that frame a question rather than name its topic
STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 对 为 有 中 把 被 等 将 要 也 都 就 而 或 吗 呢 吧 啊 呀 哪 那 这 "
    "什么 多少 哪些 哪个 如何 怎么 怎样 怎么样 为什么 是否 有没有 几 几个 请问 请 报告 报告中 "
    "提到 提出 介绍 说 讲 关于 方面 情况 内容 主要 一下 一些 有何 有哪些 目前 我国 国家 "
    "what which who how why when where does do did is are was were the a an of in on to for "
    "and or about report reports say says said mention mentioned please tell me its it their "
    "there this that these those with by from as at be been".split()
)


def normalize(text: str) -> str:
    """NFKC (full-width -> half-width) and no whitespace, so "1 557" and "１５５７" compare equal."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text))


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, each keeping its end punctuation and any ``[n]`` markers after it.

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


_MAGNITUDE = {"万": 10_000, "亿": 100_000_000}
_ASKS_FIGURE = re.compile(
    r"多少|几[个家项所座次种年]|数量|比例|比重|占比|how many|how much|what (?:share|percentage|proportion)|rate", re.I
)


def asks_for_figure(question: str) -> bool:
    """Whether ``question`` asks for a number ("多少", "how many", "what share")."""
    return bool(_ASKS_FIGURE.search(question))


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


def named_items(text: str) -> set[str]:
    """Book-title names 《…》 and quoted terms “…” in ``text``, normalised."""
    t = unicodedata.normalize("NFKC", text)
    return {normalize(x) for x in _TITLE.findall(t) + _QUOTED.findall(t)}


_PROPER = re.compile(r"[A-Za-z]{2,}|[\u4e00-\u9fff]{2,3}(?:省|自治区)|(?<![\u4e00-\u9fff])[\u4e00-\u9fff]{2}市")


def proper_names(text: str) -> set[str]:
    """Latin-script terms ("GDP", "AI") and province or city names ("广东省") in Chinese text:
    a claim naming them is only supported by a passage that names them too."""
    return {m.group(0) for m in _PROPER.finditer(unicodedata.normalize("NFKC", text))}


def content_chars(text: str) -> int:
    """Number of letters, digits and ideographs (punctuation and markers excluded)."""
    return len(_CONTENT_CHAR.findall(text))


def bigrams(text: str) -> set[str]:
    """Character bigrams over the content characters of ``text`` (the usual Chinese overlap unit)."""
    chars = "".join(_CONTENT_CHAR.findall(normalize(text).lower()))
    return {chars[i : i + 2] for i in range(len(chars) - 1)}


@lru_cache(maxsize=4096)
def keywords(text: str) -> tuple[str, ...]:
    """Topic words of a question or sentence: jieba search-mode tokens minus question framing."""
    import jieba

    jieba.setLogLevel(60)  # jieba logs its dictionary loading at INFO
    seen: dict[str, None] = {}
    for tok in jieba.cut_for_search(unicodedata.normalize("NFKC", text).lower()):
        if tok in STOPWORDS or not _CONTENT_CHAR.search(tok):
            continue
        if len(tok) == 1 and not tok.isdigit():
            continue  # single characters carry little topic (and match almost anything)
        seen[tok] = None
    return tuple(seen)

"""Words: normalisation, character bigrams, stop words, jieba tokens, named items and place names."""

from __future__ import annotations

import logging
import re
import unicodedata
from functools import lru_cache

from assistant.text import lexicon
from assistant.text.cjk import CONTENT_CHAR, IDEOGRAPHS

_SPACE = re.compile(r"\s+")
_TITLE = re.compile(r"《([^》]{1,60})》")
_QUOTED = re.compile(r"[“\"「]([^”\"」]{1,40})[”\"」]")
_WORD_CHAR = re.compile(r"\w")
#: Latin-script terms ("GDP", "AI") and Chinese province, region, city, county and prefecture names
_PROPER = re.compile(
    rf"[A-Za-z]{{2,}}|[{IDEOGRAPHS}]{{2,3}}(?:省|自治区)|(?<![{IDEOGRAPHS}])[{IDEOGRAPHS}]{{2}}[市县州]"
)

#: function words: they match everywhere and carry no topic (BM25 skips them)
STOPWORDS = lexicon.words("stopwords")
#: words that frame a question rather than name its topic (on top of the function words)
QUESTION_WORDS = STOPWORDS | lexicon.words("question_words")


def normalize(text: str) -> str:
    """NFKC (full-width -> half-width) and no whitespace, so "1 557" and "１５５７" compare equal."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text))


def bigrams(text: str) -> set[str]:
    """Character bigrams over the content characters of ``text`` (the usual Chinese overlap unit)."""
    chars = "".join(CONTENT_CHAR.findall(normalize(text).lower()))
    return {chars[i : i + 2] for i in range(len(chars) - 1)}


def named_items(text: str) -> set[str]:
    """Book-title names 《…》 and quoted terms “…” in ``text``, normalised."""
    t = unicodedata.normalize("NFKC", text)
    return {normalize(x) for x in _TITLE.findall(t) + _QUOTED.findall(t)}


def proper_names(text: str) -> set[str]:
    """Latin-script terms ("GDP", "AI") and place names ("广东省", "深圳市") in ``text``: a claim or
    question naming them is only supported by a passage that names them too."""
    return {m.group(0) for m in _PROPER.finditer(unicodedata.normalize("NFKC", text))}


_jieba_ready = False


def cut_for_search(text: str) -> list[str]:
    """jieba's search-mode segmentation (long compounds also yield the words inside them)."""
    import jieba

    global _jieba_ready
    if not _jieba_ready:
        # jieba logs "Building prefix dict..." at INFO on first use; it is not the user's business
        jieba.setLogLevel(logging.WARNING)
        _jieba_ready = True
    return list(jieba.cut_for_search(text))


@lru_cache(maxsize=4096)
def pos_tags(text: str) -> list[tuple[str, str]]:
    """jieba's words with their part of speech ("nr" person, "ns" place, "nt" organisation, "nz" other
    proper noun, "m" numeral …); cached, callers must not change the list."""
    import jieba.posseg

    cut_for_search("")  # sets jieba's logging up once
    return [(w.word, w.flag) for w in jieba.posseg.cut(text) if w.word.strip()]


def word_frequency(word: str) -> int | None:
    """How often jieba's dictionary counts ``word`` (None: not in it)."""
    import jieba

    cut_for_search("")
    jieba.dt.check_initialized()
    count = jieba.dt.FREQ.get(word)
    return int(count) if count is not None else None


def register_name(name: str, tag: str) -> None:
    """Teach jieba a name a document's title gives ("甲州市" is one word, a place), so questions and
    passages segment it whole. Cached segmentations are dropped."""
    import jieba

    if word_frequency(name):
        return
    jieba.add_word(name, freq=max(jieba.suggest_freq(name), 1000), tag=tag)
    pos_tags.cache_clear()
    keywords.cache_clear()


def cut_words(text: str) -> list[str]:
    """jieba's precise segmentation (each word once, compounds whole: "医疗保险", "人工智能")."""
    import jieba

    cut_for_search("")  # sets jieba's logging up once
    return [w for w in jieba.cut(text) if w.strip()]


#: symbolic terms jieba would cut into meaningless pieces: "1+N", "AI+", "5G", "C919", "1.76"
_SYMBOLIC = re.compile(
    r"(?<![A-Za-z0-9])(?:[A-Za-z0-9]+(?:[+×/&.-][A-Za-z0-9]+)+[+×]?|[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*[+×]"
    r"|[0-9]+[A-Za-z]+[0-9]*|[A-Za-z]+[0-9]+)(?![A-Za-z0-9])"
)
#: a Chinese word with a symbol: "人工智能+", "数据要素×" (its words still count on their own)
_SYMBOLIC_CJK = re.compile(rf"[{IDEOGRAPHS}]{{1,8}}[+×]")
_TERM_MARK = re.compile(r"[A-Za-z+×]")


def exact_terms(text: str) -> list[str]:
    """Terms a question or passage names exactly, lower-cased and NFKC-normalised: quoted terms
    (“小巨人”), book titles (《…》) and symbolic terms ("1+N", "AI+", "5G", "人工智能+"), in order.

    A question that quotes a term means that term: it must match as a whole, not as the pieces a
    word segmenter cuts it into ("1+N" would become "1", "+", "N", which match everywhere).
    """
    t = unicodedata.normalize("NFKC", text).lower()
    found = [normalize(x) for x in _TITLE.findall(t) + _QUOTED.findall(t)]
    # a plain number ("1.76", "2025-11") is a figure, not a term
    found += [m.group(0) for m in _SYMBOLIC.finditer(t) if _TERM_MARK.search(m.group(0))]
    found += _SYMBOLIC_CJK.findall(t)
    return [x for x in dict.fromkeys(found) if x and _WORD_CHAR.search(x)]


def tokenize(text: str) -> list[str]:
    """BM25 tokens: search-mode segmentation, lower-cased, without stop words and punctuation,
    plus each exact term (:func:`exact_terms`) as one whole token.

    Search mode also emits the short words inside long compounds (``新质生产力`` -> ``生产``,
    ``生产力``, ...), so a reworded question still meets the report's wording. A symbolic term is
    kept whole and not segmented (its pieces are noise); a quoted or titled term is kept whole *and*
    segmented, so "小巨人" matches a passage that quotes it and, more weakly, one that does not.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    tokens = exact_terms(text)
    # symbolic terms are taken out before segmenting (plain numbers stay: jieba keeps them)
    rest = _SYMBOLIC.sub(lambda m: " " if _TERM_MARK.search(m.group(0)) else m.group(0), text)
    for tok in cut_for_search(rest):
        tok = tok.strip()
        if tok and tok not in STOPWORDS and _WORD_CHAR.search(tok):
            tokens.append(tok)
    return tokens


@lru_cache(maxsize=4096)
def keywords(text: str) -> tuple[str, ...]:
    """Topic words of a question or sentence: search-mode tokens minus question framing and single
    characters (which carry little topic and match almost anything)."""
    seen: dict[str, None] = {}
    for tok in cut_for_search(unicodedata.normalize("NFKC", text).lower()):
        if tok in QUESTION_WORDS or not CONTENT_CHAR.search(tok):
            continue
        if len(tok) == 1 and not tok.isdigit():
            continue
        seen[tok] = None
    return tuple(seen)


def strip_framing(text: str) -> str:
    """``text`` without the words that frame a question ("是多少", "请问", "报告中"): its topic,
    as one string (word by word, so a framing word inside a longer word stays: "申请" keeps 请)."""
    words = cut_words(unicodedata.normalize("NFKC", text))
    return "".join(w for w in words if w.lower() not in QUESTION_WORDS and CONTENT_CHAR.search(w))

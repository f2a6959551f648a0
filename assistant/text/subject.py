"""What a document is about, read from its own title: the place, organisation, person or thing it
names, and the forms a text uses for it once the title has named it.

A statistical bulletin titled "X市2023年国民经济和社会发展统计公报" says "全市粮食总产量…", never "X市";
a provincial work report says 全省, a prefecture's 全州, a national report 全国 or 我国, a company's
公司 or 本集团; an encyclopedia article titled "马飚" says 马飚 or nothing at all. A question that
names X市 is about that bulletin's every passage, and a question about Y市 about none of them.

No word list of places: a place is what the grammar of administrative names (a name ending in
省, 市, 州, 县, 区 …) or jieba's part-of-speech tags (ns place, nt organisation, nr person) say
it is; the self-references of each kind of subject are language, in ``lexicon/zh.toml``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from pypinyin import lazy_pinyin

from assistant.text import lexicon
from assistant.text.cjk import IDEOGRAPHS, cjk_count
from assistant.text.words import bigrams, normalize, pos_tags, register_name, strip_framing, word_frequency

#: administrative suffixes, longest first: the last characters of a place's official name
ADMIN_SUFFIXES = tuple(sorted(lexicon.words("admin_suffixes", "zh"), key=len, reverse=True))
_ADMIN = "|".join(ADMIN_SUFFIXES)
#: a place's official name: two to ten characters ending in an administrative suffix
_PLACE = re.compile(rf"[{IDEOGRAPHS}]{{2,10}}?(?:{_ADMIN})")
#: a title this short names its subject directly (an encyclopedia entry, a product, a person)
_SHORT_TITLE = 12
#: a bracketed note after a short title: which of several things of that name it is
_DISAMBIGUATION = re.compile(r"\s*[(（][^()（）]{1,20}[)）]\s*$")
#: jieba's tags of names: person (nr, nrfg, nrt), place, organisation, other proper noun, Latin word
_ENTITY_TAG = re.compile(r"^(?:nr\w*|ns|nt|nz|eng)$")


#: a Latin word that is a name rather than an English word: an acronym or a code (GDP, N97, MIX4)
_CODE = re.compile(r"\d|[A-Z].*[A-Z]")


def is_entity_tag(tag: str) -> bool:
    """Whether jieba's part-of-speech ``tag`` marks a name (a person, place, organisation, other)."""
    return bool(_ENTITY_TAG.match(tag))


@dataclass(frozen=True)
class Subject:
    """A document's subject: its ``name`` as the title gives it, and every form that refers to it."""

    name: str
    forms: frozenset[str]
    #: place, organisation, nation, thing (a short title names it) or none
    kind: str
    #: the title is the name of what the document is about ("南京云锦", "林海峰"), whatever place or
    #: organisation it contains: a question about the document names it
    named_title: bool = False

    def named_by(self, term: str) -> bool:
        """Whether ``term`` (a name a question or claim uses) refers to this subject."""
        t = normalize(term).lower()
        if not t:
            return False
        if t in self.forms:
            return True
        # "安阳" / "安阳市" / "河南省安阳市": the name with or without its suffix or a parent place before
        # it ("甲州大学" is a university of 甲州, not 甲州)
        return any(len(f) >= 2 and (t.endswith(f) or f.startswith(t)) and _close(t, f)
                   for f in self.forms if f not in self._generic)

    @property
    def latin(self) -> frozenset[str]:
        """The subject's names in pinyin (安阳市 → anyang, anyangshi) and its English self-references
        (a nation's "china"): how an English question names it."""
        names = {f for f in self.forms if f not in self._generic and cjk_count(f)}
        out = {"".join(lazy_pinyin(f)) for f in names}
        if self.kind == "nation":
            out |= lexicon.words("self_reference.nation", "en")
        return frozenset(out)

    def named_in(self, text: str) -> bool:
        """Whether ``text`` (a question) names this subject: one of its forms, or most of its name
        ("泰王国国徽" names 泰国国徽, "浮龙化石" names 浮龙属)."""
        t = normalize(text).lower()
        if any(len(f) >= 2 and f in t for f in self.forms if f not in self._generic):
            return True
        name = normalize(self.name).lower()
        return len(name) >= 2 and _longest_common(name, t) >= max(2, math.ceil(_NAMED_SHARE * len(name)))

    @property
    def _generic(self) -> frozenset[str]:
        return generic_forms(self.kind, self.name)


NOBODY = Subject("", frozenset(), "none")
#: the share of a subject's name a question must repeat to name it
_NAMED_SHARE = 0.6


def _longest_common(a: str, b: str) -> int:
    """The length of the longest substring ``a`` and ``b`` share."""
    best = 0
    for i in range(len(a)):
        for j in range(i + best + 1, len(a) + 1):
            if a[i:j] in b:
                best = j - i
            else:
                break
    return best


def _close(a: str, b: str) -> bool:
    """A name and another form of it: most of the shorter one's character pairs are the longer one's."""
    short, long_ = sorted((a, b), key=len)
    pairs = bigrams(short)
    return not pairs or len(pairs & bigrams(long_)) / len(pairs) >= 0.5 and len(short) >= len(long_) // 3


def generic_forms(kind: str, name: str) -> frozenset[str]:
    """The words a text of this kind of subject uses for it: 全市/本市 for a city, 全国/我国 for a
    nation, 公司/本集团 for a company (``lexicon/zh.toml``)."""
    if kind == "place":
        suffix = next((s for s in ADMIN_SUFFIXES if name.endswith(s)), "")
        return lexicon.words(f"self_reference.{suffix[-1]}", "zh") if suffix else frozenset()
    if kind in ("nation", "organisation"):
        return lexicon.words(f"self_reference.{kind}", "zh")
    return frozenset()


@cache
def subject_of(title: str) -> Subject:
    """The subject a document's title names (:data:`NOBODY` when it names none)."""
    t = unicodedata.normalize("NFKC", title).strip()
    if not t:
        return NOBODY
    if any(marker in t for marker in lexicon.words("national_issuers", "zh")) and not _PLACE.search(t):
        forms = lexicon.words("self_reference.nation", "zh")
        return Subject(next(iter(sorted(forms))), frozenset(forms), "nation")
    found = _named_subject(t)
    # "夜来香 (夹竹桃科)": the brackets tell one 夜来香 from another; the subject is 夜来香
    whole = normalize(_DISAMBIGUATION.sub("", t)).lower()
    if len(whole) > _SHORT_TITLE:
        return found
    # a short title names its subject itself ("马飚", "德国环境与自然保护联盟"), whatever place it names;
    # a transliterated name is also called by its last part ("雅各布·克伦贝格尔" is 克伦贝格尔)
    forms = frozenset({whole, *(p for p in whole.split("·")[1:] if len(p) >= 2)})
    if found is NOBODY:
        return Subject(whole, forms, "thing", named_title=True)
    return Subject(found.name, found.forms | forms, found.kind, named_title=True)


#: a year or date a title opens with ("2024年甲州市…"): the period, not part of a name
_LEADING_DATE = re.compile(r"^\s*(?:\d{4}\s*(?:年度|年)?\s*(?:\d{1,2}\s*月)?)")


def _named_subject(title: str) -> Subject:
    """The first place or organisation a title names (:data:`NOBODY` when it names none)."""
    title = _LEADING_DATE.sub("", title)
    words = pos_tags(title)
    for i, (word, tag) in enumerate(words):
        if len(word) >= 2 and (_PLACE.fullmatch(word) or tag == "ns"):
            return _place(word)
        if tag == "nt" or any(word.endswith(s) for s in lexicon.words("organisation_suffixes", "zh")):
            # "湖南省政府", "甲州市/人民政府": an authority of a place speaks for the place
            before = "".join(w for w, _ in words[:i])
            inside = _PLACE.match(word)
            if _PLACE.fullmatch(before):
                return _place(before)
            if inside and len(inside.group(0)) >= 3:
                return _place(inside.group(0))
            return _organisation([w for w, _ in words[: i + 1]] if tag != "nt" else [word])
    found = _PLACE.search(title)
    return _place(found.group(0)) if found else NOBODY




def _organisation(words: list[str]) -> Subject:
    """An organisation named by ``words`` (its name's words up to its suffix: 比亚迪 股份 有限公司)."""
    name = normalize("".join(words))
    register_name(name, "nt")
    forms = {name.lower(), *generic_forms("organisation", name)}
    if len(words) > 1 and len(words[0]) >= 2:
        forms.add(normalize(words[0]).lower())  # its short name: 比亚迪
    return Subject(name, frozenset(forms), "organisation")


def _place(name: str) -> Subject:
    n = normalize(name)
    register_name(n, "ns")
    suffix = next((s for s in ADMIN_SUFFIXES if n.endswith(s)), "")
    if not suffix or len(n) - len(suffix) < 2:
        return Subject(n, frozenset({n}), "place")  # "甲州": a name whose suffix may be part of it
    short = n[: len(n) - len(suffix)]
    # an autonomous area lists its ethnic groups before its suffix ("甲地/苗族/侗族/自治州")
    words = [w for w, _ in pos_tags(short)]
    while len(words) > 1 and words[-1].endswith("族"):
        words.pop()
    shorter = "".join(words)
    forms = {n, short, *generic_forms("place", n)}
    if len(shorter) >= 2:
        forms |= {shorter, shorter + suffix[-1:]}
    return Subject(n, frozenset(forms), "place")


def named_entities(text: str) -> list[str]:
    """The names ``text`` gives that a passage must say (or be about) to answer it: places by the
    grammar of administrative names, people jieba finds outside its dictionary (or as a rare
    three-character name in it), organisations it tags, 《titles》 and Latin codes (GDP, N97);
    normalised, each once, in order. Precision first: jieba's dictionary tags many common words as
    names (晋升, 大桥), and a false name would refuse a right answer."""
    t = unicodedata.normalize("NFKC", text)
    found = [m.group(1) for m in re.finditer(r"《([^》]{1,40})》", t)]
    tags = pos_tags(t)
    found += places(tags)
    found += organisations(tags)
    found += [w for w, tag in tags if _is_name(w, tag)]
    return list(dict.fromkeys(normalize(x) for x in found if x.strip()))


#: a word jieba's dictionary lists this rarely, tagged a person, is a name rather than a word
_RARE = 5


def _is_name(word: str, tag: str) -> bool:
    if tag == "eng":
        return len(word) >= 2 and bool(_CODE.search(word))
    if tag.startswith("nr"):
        count = word_frequency(word)
        return 2 <= len(word) <= 4 and (count is None or (count <= _RARE and len(word) == 3))
    return tag == "nt" and len(word) >= 2


def organisations(tags: list[tuple[str, str]]) -> list[str]:
    """Organisations named by a place or a name and an organisation's word ("甲州/大学", "安阳市/
    统计局" is not: 统计局 is no organisation word of the lexicon)."""
    suffixes = lexicon.words("organisation_suffixes", "zh")
    out = []
    for (before, tag), (word, _) in zip(tags, tags[1:], strict=False):
        if word in suffixes and len(before) >= 2 and (tag in ("ns", "nr", "nz", "j") or _PLACE.fullmatch(before)):
            out.append(before + word)
    return out


def places(tags: list[tuple[str, str]]) -> list[str]:
    """Place names among tagged words: a word that is a place's official name ("安阳市": a name of
    two or more characters and an administrative suffix; "上市" is no place), or a country ("德国")."""
    out = []
    for word, tag in tags:
        suffix = next((s for s in ADMIN_SUFFIXES if word.endswith(s)), "")
        if suffix and len(word) - len(suffix) >= 2 and _PLACE.fullmatch(word) and tag.startswith(("n", "j")):
            out.append(word)
        elif tag == "ns" and len(word) == 2 and word.endswith("国"):
            out.append(word)
    return out


def said(term: str, text: str, title: str = "") -> bool:
    """Whether a passage (``text``: its section and text) of a document titled ``title`` says
    ``term``: in so many words, or as its document's subject ("安阳市" is said by every passage of
    X's bulletin that says 全市, and by every one that says nothing of a place)."""
    t = normalize(term).lower()
    return t in normalize(text).lower() or subject_of(title).named_by(t)


#: another name, given with a marker: "又称X", "简称“X”", "前身是X" (the name runs to the next mark)
_ALIAS_MARK = "|".join(sorted(map(re.escape, lexicon.words("alias_markers", "zh")), key=len, reverse=True))
_ALIAS_GIVEN = re.compile(rf"(?:{_ALIAS_MARK})(?:是|为)?[：:]?\s*[“\"《「]?([^，,。；;、”\"》」（）()]{{2,30}})")
_QUOTED_NAME = re.compile(r"[“\"「《]([^”\"」》]{1,40})[”\"」》]")


def items_of_kind(sentence: str, kind: str) -> list[str]:
    """The items of a kind a sentence states, in order: ``who`` people and organisations (jieba's
    nr/nt tags, names ending like an organisation's), ``where`` places, ``alias`` other names
    (given with a marker such as 又称, or quoted)."""
    t = unicodedata.normalize("NFKC", sentence)
    tags = pos_tags(t)
    if kind == "who":
        suffixes = tuple(lexicon.words("organisation_suffixes", "zh"))
        found = [w for w, tag in tags if len(w) >= 2 and (tag.startswith("nr") or tag == "nt" or w.endswith(suffixes))]
    elif kind == "where":
        found = places(tags) + [w for w, tag in tags if tag == "ns" and len(w) >= 2]
    elif kind == "alias":
        found = [m.group(1) for m in _ALIAS_GIVEN.finditer(t)] + [m.group(1) for m in _QUOTED_NAME.finditer(t)]
    else:
        found = []
    return list(dict.fromkeys(x.strip() for x in found if x.strip()))


def focus(question: str, titles: list[str] | tuple[str, ...]) -> str:
    """``question`` without the subject of the documents titled ``titles`` (and their other names for
    it): what it asks about that subject. "黄鳍紫鱼的身体是什么颜色的" over the article 黄鳍紫鱼 is
    "身体是什么颜色的": every sentence of that article is about 黄鳍紫鱼, the question's other words
    pick the one that answers. The question itself when nothing is left."""
    q = unicodedata.normalize("NFKC", question)
    names = {f for t in titles for f in subject_of(t).forms if len(f) >= 2}
    for name in sorted(names, key=len, reverse=True):
        q = re.sub(re.escape(name), "", q, flags=re.I)
    q = re.sub(r"^[的之在是，,、\s]+", "", q)
    return q if len(normalize(q)) >= 2 else question


#: the shortest phrase a question repeats from a passage that shows they speak of the same thing
_SHARED_PHRASE = 4


def shares_a_phrase(question: str, text: str) -> bool:
    """Whether ``question`` (its framing words set aside) repeats a phrase of ``text`` at least
    four characters long ("小艾瑞克·高登" from an article titled 埃里克·戈登)."""
    return _longest_common(normalize(strip_framing(question)).lower(), normalize(text).lower()) >= _SHARED_PHRASE


@cache
def _syllables() -> frozenset[str]:
    """Every pinyin syllable (without tones), from pypinyin's dictionary."""
    from pypinyin.pinyin_dict import pinyin_dict

    out = set()
    for readings in pinyin_dict.values():
        for r in readings.split(","):
            plain = "".join(c for c in unicodedata.normalize("NFKD", r) if not unicodedata.combining(c))
            out.add(plain.replace("ü", "v"))
    # interjections no name is spelt with ("嗯" n, "哦" o, "呣" m): with them, "Regulation" would parse
    return frozenset(out - {"n", "ng", "m", "hm", "hng", "o", "r", "ê"})


def _is_pinyin(word: str) -> bool:
    """Whether ``word`` (lower case) is a run of pinyin syllables ("zhoukou", "qiandongnan")."""
    syllables, n = _syllables(), len(word)
    ok = [True] + [False] * n
    for end in range(1, n + 1):
        ok[end] = any(ok[start] and word[start:end] in syllables for start in range(max(0, end - 6), end))
    return ok[n]


#: a capitalised word of an English sentence, with an optional possessive ("Zhoukou's")
_CAPITALISED = re.compile(r"(?<![A-Za-z])([A-Z][a-z]{2,})(?:'s)?\b")


def pinyin_names(question: str) -> list[str]:
    """The Chinese names an English question spells in pinyin ("Zhoukou", "Yunnan"), lower-cased:
    capitalised words (not the question's first) made only of pinyin syllables."""
    words = [m for m in _CAPITALISED.finditer(question) if m.start() > 0]
    return [m.group(1).lower() for m in words if _is_pinyin(m.group(1).lower())]


def said_in_english(name: str, text: str, title: str) -> bool:
    """Whether a passage of a document titled ``title`` says the pinyin ``name``: its text spells
    it, or it is (part of) the document subject's name in pinyin."""
    if name in text.lower() or name in title.lower():
        return True
    return any(name in form or (len(form) >= 4 and form in name) for form in subject_of(title).latin)

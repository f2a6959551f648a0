"""What a question is about, and whether a sentence is about it: the thing a figure question
counts ("多少个国家实验室" counts 国家实验室), the attribute it measures ("保有量是多少"), the
content words of an English question, and whether a line is a label (a title, heading, question
line or signature) rather than a statement.

An answer's figure must be about the question's subject: "累计建成1200余家5G工厂" does not say how
many 5G基站 there are, "新能源汽车产量8.7万辆" not what the 保有量 is, and "The port handled 86.4
million tonnes of cargo" not what the operating revenue was. These rules are checked on the
sentence a figure stands in (and its section heading), never on question-specific word lists.
"""

from __future__ import annotations

import re
import unicodedata

from assistant.text.cjk import IDEOGRAPHS
from assistant.text.words import STOPWORDS, bigrams, cut_for_search, cut_words, normalize

#: measure words between 多少/几 and the thing counted ("多少个国家实验室", "几座污水处理厂")
_MEASURE = set("个家项所座种名位张处件条台辆次户套部批类只间栋层架艘颗块")
#: where the counted phrase ends: punctuation, or a function word that starts the rest of the question
_PHRASE_END = re.compile(r"[？?，,。！!：:；;“”\"《》（）()、]|的|是|呢|吗|了")
#: the longest counted phrase kept (a longer one runs on into the rest of the question)
_MAX_PHRASE = 8
#: a figure question's closing: "X是多少", "X有多少", "X达到多少"; X's last word is the attribute measured
_ATTRIBUTE = re.compile(
    rf"([{IDEOGRAPHS}A-Za-z]{{2,}}?)(?:目前|现在|大概|大约|大致|约)?(?:是|为|达到了?|达)多少[？?]?$"
)
#: attribute words that name no particular quantity ("补贴标准是多少" is answered by "每辆补贴1万元")
_GENERIC_ATTRIBUTES = frozenset("标准 数量 数目 金额 水平 情况 数字 数据 结果 费用 多少 总额 总数 规模 多少钱".split())
#: ratio words, stated in an answer as a percentage ("缴费比例是多少" / "按缴费基数的20%缴费")
_RATIO = re.compile(r"比例|比重|占比|份额|[^效]率$")
#: money words, stated in an answer in yuan ("门票多少钱" / "60元")
_MONEY = re.compile(r"钱|价格|价钱|票价|售价|费用|金额")


def counted_thing(question: str) -> str:
    """The thing a figure question counts, normalised: "多少个国家实验室" -> "国家实验室",
    "多少万标箱" -> "万标箱"; "" when the question counts nothing named (a bare "多少", "多少钱")."""
    q = normalize(question)
    m = re.search(r"(?:多少|几)", q)
    if m is None:
        return ""
    rest = q[m.end():]
    while rest and rest[0] in _MEASURE:
        rest = rest[1:]
    end = _PHRASE_END.search(rest)
    phrase = rest[: end.start()] if end else rest
    if len(phrase) < 2 or "钱" in phrase:
        return ""
    return phrase[:_MAX_PHRASE]


def measured_attribute(question: str) -> str:
    """The attribute a "X是多少" question measures, as its last word: "新能源汽车保有量是多少万辆" ->
    "保有量"; "" when the question names none or a generic one ("补贴标准是多少")."""
    q = normalize(question)
    q = re.sub(r"(?:多少)(?:万|亿|千)?[^？?]{0,3}[？?]?$", "多少", q)  # "是多少万辆？" -> "是多少"
    m = _ATTRIBUTE.search(q)
    if m is None:
        return ""
    words = [w for w in cut_for_search(m.group(1)) if w.strip()]
    if not words:
        return ""
    last = max((w for w in words if m.group(1).endswith(w)), key=len, default=words[-1])
    if len(last) < 2 or last in _GENERIC_ATTRIBUTES or last in STOPWORDS:
        return ""
    return last


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


_EN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
#: words an English question frames itself with, on top of the stop words
_EN_FRAMING = frozenset(
    """when where why much many what which who whom whose how long often total whole year years first half
    according reports report document city chengzhou china chinese new per number amount figure level
    did does do was were is are be been the of in on at by for to from with and or its it this that
    any all some there their than into over under about approximately roughly exactly ever yet still""".split()
)


def english_content_words(text: str) -> list[str]:
    """The content words of an English question, lower-cased and crudely stemmed (first five letters)."""
    out = []
    for w in _EN_WORD.findall(unicodedata.normalize("NFKC", text)):
        w = w.lower().strip("'-")
        if len(w) < 3 or w in STOPWORDS or w in _EN_FRAMING:
            continue
        out.append(w[:5])
    return list(dict.fromkeys(out))


def english_coverage(question: str, text: str) -> float:
    """The share of an English question's content words that ``text`` (English) holds."""
    words = english_content_words(question)
    if not words:
        return 1.0
    have = {w.lower()[:5] for w in _EN_WORD.findall(unicodedata.normalize("NFKC", text))}
    return sum(w in have for w in words) / len(words)


#: a line that labels rather than states: ends in a question mark, or is a "问：" line
_QUESTION_LINE = re.compile(r"[？?]\s*$|^\s*(?:问|Q)\s*[：:.]")
_STATEMENT_PUNCTUATION = re.compile(r"[。！；，,：:!;|]|[.!?]\s|[.!?]$")


def is_label(sentence: str) -> bool:
    """Whether ``sentence`` is a title, heading, question line or signature rather than a
    statement: it asks something, or it is a short line without a full stop or comma (a table row's
    cells count as clauses) ("澄州市2025年汽车和家电以旧换新补贴政策问答", "三、关于青石片区城市更新
    项目", "澄州市公安局2025年11月28日")."""
    s = sentence.strip()
    if _QUESTION_LINE.search(s):
        return True
    words = _EN_WORD.findall(s)
    if words and not re.search(rf"[{IDEOGRAPHS}]", s) and not re.search(r"[.!;]\s*$", s) and len(words) <= 15:
        # an English title: most of its words capitalised ("Port Group: First-Half 2025 Operations Update")
        if sum(w[0].isupper() for w in words) / len(words) >= 0.6:
            return True
    # a statement ends with a full stop; a title or heading neither ends with one nor has a comma
    return len(normalize(s)) <= 40 and not _STATEMENT_PUNCTUATION.search(s)


def specific_terms(question: str) -> list[str]:
    """The long words of a Chinese question (four characters or more: "医疗保险", "人工智能",
    "新能源汽车"): specific enough that a sentence about the question names them."""
    words = [w for w in cut_words(normalize(question)) if len(w) >= 4 and not re.search(r"\d", w)]
    return [w for w in words if w not in STOPWORDS]


_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?:\s*年|(?!\d))")


def years(text: str) -> set[str]:
    """The years ``text`` names ("2024年", "in 2024")."""
    return set(_YEAR.findall(unicodedata.normalize("NFKC", text)))


def other_year(question: str, passage_text: str) -> bool:
    """Whether a passage speaks of other years than the one(s) the question asks about: "2024年全年
    集装箱吞吐量" is not answered by a passage on the first half of 2025."""
    asked = years(question)
    named = years(passage_text)
    return bool(asked and named and not asked & named)


#: an acronym in an English question ("GDP", "PPI"): a Chinese passage writes it the same way or not at all
_ACRONYM = re.compile(r"\b[A-Z]{2,6}\b")


def acronyms(question: str) -> set[str]:
    """The acronyms of an English question (two to six capitals), "I" and "AI"-like words included."""
    return set(_ACRONYM.findall(question))


_WHEN = r"(?:哪[一几]?天|什么时候|何时|几点)"
#: the act a date question asks the time of: "什么时候全部完工" -> 完工, "哪天之前交清" -> 交清
_EVENT_AFTER = re.compile(rf"{_WHEN}(?:之前|以前|之后|以后|前|后)?([{IDEOGRAPHS}]{{2,}})")
#: the thing a date question asks the time of: "公示期是哪几天" -> 公示期, "关门时间是几点" -> 关门
_EVENT_BEFORE = re.compile(rf"([{IDEOGRAPHS}]{{2,}}?)(?:时间|日期)?(?:是|为){_WHEN}")
#: the bounds of a period, which "11月15日至3月15日" states without naming them
#: and the acts that date a document, which its date line states alone ("落款日期是哪一天")
_PERIOD_WORDS = frozenset(
    "开始 结束 截止 到期 举行 进行 举办 开放 启动 实施 执行 落款 签署 印发 发布 发文 成文".split())


def dated_event(question: str) -> list[str]:
    """The words naming what a date question asks the time of (its act after "什么时候", its
    subject before "是哪天"), each a word a sentence giving that date names; the bounds of a period
    (开始, 结束, 截止) and generic words are left out."""
    q = normalize(question)
    out = []
    m = _EVENT_AFTER.search(q)
    if m:
        act = m.group(1).rstrip("的了呢吗啊")
        if len(act) >= 2:
            out.append(act[-2:])
    m = _EVENT_BEFORE.search(q)
    if m:
        words = [w for w in cut_words(m.group(1)) if len(w) >= 2]
        if words:
            out.append(words[-1])
    return [w for w in out if w not in _PERIOD_WORDS and w not in _GENERIC_ATTRIBUTES and w not in STOPWORDS
            and w not in {"时间", "日期", "时候", "哪天"}]

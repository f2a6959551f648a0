"""Adequacy: whether a sentence answers a question. One judge for every generator.

The extractive generator asks it which evidence sentence to quote; the pipeline asks it, after
the citation check, whether the supported claims of any generator's draft answer what was asked.
A sentence answers when

* it is about the question's subject: every person, place, organisation or other name the
  question gives is said by the sentence, its section, or its document's subject (a bulletin of
  X市 answers a question about X市 with "全市…", never one about Y市); the passage speaks of the
  year asked about; a figure's clause names the thing counted and the attribute measured;
* it holds an item of the asked kind that the question does not already hold: a figure, a rank,
  a date, a person or organisation (who), a place (where), another name (what is it called), or,
  for any other question, something the question does not say.

A claim of an LLM's draft answers when its own items are of the asked kind and one of the
sentences it rests on answers. A part a two-part answer leaves unanswered gets its own "the
reports do not say" sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.answer.cite import TRAILING, CheckedAnswer, Claim
from assistant.answer.evidence import Evidence
from assistant.answer.refusal import PART_REFUSALS, REFUSALS, Verdict
from assistant.core.settings import Settings
from assistant.core.types import Passage
from assistant.ingest.passages import passage_sentences
from assistant.text import lexicon
from assistant.text.cjk import IDEOGRAPHS, ideographs_only
from assistant.text.instructions import without_instructions
from assistant.text.language import Language, script_language
from assistant.text.numbers import (
    ClauseCosines,
    english_unit_matches,
    figure_clauses,
    numbers,
    ordinals,
    states_asked_figure,
    states_asked_figure_by_meaning,
    states_date,
)
from assistant.text.questions import (
    acronyms,
    asked_kind,
    counted_thing,
    dated_event,
    measured_attribute,
    specific_terms,
)
from assistant.text.statements import english_coverage, mentions, other_year, states_attribute
from assistant.text.subject import (
    focus,
    items_of_kind,
    named_entities,
    pinyin_names,
    said,
    said_in_english,
    shares_a_phrase,
    subject_of,
)
from assistant.text.words import bigrams, keywords, normalize, strip_framing

#: "由谁主持", "谁承担": the act a who-question asks about (a sentence about someone else's act does not answer)
_WHO_ACT = re.compile(f"谁(?![的是])([{IDEOGRAPHS}]{{2}})")
#: words that frame a text rather than say something ("以上就是…的全部内容")
_FILLER_WORDS = re.compile("|".join(sorted(lexicon.words("filler_words", "zh"), key=len, reverse=True)))
#: the longest counted thing held against an LLM's claim: a name (国家实验室, 5G基站), not a run-on phrase
_MAX_COUNTED_NAME = 5


def row_context(sentence: str, passage: Passage | None) -> str:
    """The wording that applies to every cell of a table row: the table's caption (the passage's
    heading) and the row's label (before its first cell's "："); nothing for prose."""
    if passage is None or passage.kind != "table":
        return ""
    first = sentence.split("；", 1)[0]
    return f"{passage.heading} {first.rsplit('：', 1)[0] if '：' in first else ''}"


class Judge:
    """Decides whether a sentence answers a question; thresholds from the settings, cosines (the
    embedder's) for a figure stated in other words than the question's."""

    def __init__(self, cosines: ClauseCosines | None = None, *, min_figure_overlap: float = 0.3,
                 min_topic_words: float = 0.2, min_english_coverage: float = 0.5) -> None:
        self.cosines = cosines
        self.min_figure_overlap = min_figure_overlap
        self.min_topic_words = min_topic_words
        self.min_english_coverage = min_english_coverage

    @classmethod
    def from_settings(cls, settings: Settings, cosines: ClauseCosines | None = None) -> Judge:
        """The judge with the thresholds of ``settings`` (the ``extractive_*`` ones it shares)."""
        return cls(cosines, min_figure_overlap=settings.extractive_min_figure_overlap,
                   min_topic_words=settings.extractive_min_topic_words)

    # ---- does the evidence hold what the question is about? -----------------------------------

    def names_something(self, question: str, language: str, passages: Sequence[Passage]) -> bool:
        """Whether the question asks about something ``passages`` hold (not gibberish, not only an
        instruction, not a subject they never name): each name the question gives is said by some
        passage or is some passage's document subject, and a share of its topic words occurs."""
        asked = without_instructions(question)
        text = normalize("".join(p.section + p.text for p in passages))
        if language == "zh" and any(not any(said(name, p.section + p.text, p.title) for p in passages)
                                    for name in named_entities(asked)):
            return False  # "GDP", "广东省", a person: the evidence never names it, nor is it their subject
        if language == "en":
            if any(not any(said_in_english(name, p.text, p.title) for p in passages) for name in pinyin_names(asked)):
                return False  # "Yunnan": no passage spells it, and no document is about it
            return bool(re.search(r"[A-Za-z]{3,}|\d", asked)) and asked_kind(asked) != "other" or bool(
                set(keywords(asked)) & {w for p in passages for w in keywords(p.text)})
        if asked_kind(asked) == "date" and keywords(asked):
            return True  # "落款日期是哪一天": the words of a date question are rarely the document's
        # a topic word, or at least a pair of characters of one: a reworded question shares few
        # words with its answer ("研究开发资金" / "研发经费"), gibberish none
        if any(w in text for w in keywords(asked) if not w.isdigit()):
            return True
        pairs = bigrams(ideographs_only(strip_framing(asked)))  # digits pair with any figure
        return bool(pairs) and len(pairs & bigrams(text)) / len(pairs) >= self.min_topic_words

    # ---- does one sentence answer? -----------------------------------------------------------

    def answers(self, question: str, language: str, sentence: str, passage: Passage | None = None, *,
                closest: bool = False, stated: set[str] | None = None) -> bool:
        """Whether ``sentence`` holds an item of the kind ``question`` asks for, about what the
        question asks. The sentence ``closest`` in meaning to the question may state its figure in
        other words (a reworded question shares few words with it); any other must state it in a
        clause that shares the question's wording. ``passage``: the sentence's own (its section
        and document subject count as said). ``stated``: only these figures count (a claim's)."""
        if passage is not None and not self.about_subject(question, language, sentence, passage, closest=closest):
            return False
        kind = asked_kind(question)
        if kind == "figure":
            if language == "en":
                return any(english_unit_matches(question, c) for c in figure_clauses(question, sentence))
            # the document's subject is in every sentence of it, said or not: the rest of the question is compared
            asked = focus(question, [passage.title]) if passage is not None else question
            if states_asked_figure(asked, sentence, min_overlap=self.min_figure_overlap, figures=stated,
                                   context=row_context(sentence, passage)):
                return True
            return closest and self.by_meaning(asked, sentence, stated) is not None
        if kind == "rank":
            return bool(ordinals(sentence))
        if kind == "date":
            return states_date(sentence)
        if kind in ("who", "where", "alias") and self.items(question, kind, sentence):
            return True  # a name of the asked kind; failing one (a name jieba does not know), something new
        if language == "en":
            return True
        # what/how: the sentence must say something the question does not ("以上就是…的全部内容")
        asked = normalize(question).lower()
        new = [w for w in keywords(sentence) if w not in asked and _FILLER_WORDS.sub("", w)]
        return sum(len(w) for w in new) >= 4

    def items(self, question: str, kind: str, sentence: str) -> list[str]:
        """The items of the asked ``kind`` (who, where, alias) ``sentence`` states that the question
        does not: the people or organisations, places, or other names it gives."""
        asked = normalize(question).lower()
        return [i for i in items_of_kind(sentence, kind) if normalize(i).lower() not in asked]

    def about_subject(self, question: str, language: str, sentence: str, passage: Passage, *,
                      closest: bool = False) -> bool:
        """Whether ``sentence`` (of ``passage``) is about the question's subject: the names the
        question gives are said there (or are its document's subject); it names the thing a figure
        question counts ("多少个5G基站" is not answered by "1200余家5G工厂") and the attribute it
        measures ("保有量是多少" not by "产量8.7万辆"); an English sentence holds at least half of an
        English question's content words; the passage speaks of the year asked about and names the
        acronyms asked about."""
        if other_year(question, f"{passage.section} {passage.text}", passage.title, passage.source):
            return False  # a passage on other years than the one asked about
        if language == "en":
            if any(a not in passage.text for a in acronyms(question)):
                return False  # "GDP": the passage never names it
            if any(not said_in_english(name, passage.text, passage.title) for name in pinyin_names(question)):
                return False  # "Zhoukou's" output is not in Qiandongnan's bulletin
            if script_language(sentence) != "en":
                return True
            own = english_coverage(question, sentence)
            if own >= self.min_english_coverage:
                return True
            # a sentence that goes on about what the one before it named ("The project … will enter
            # service in 2026") is read with that sentence, if it says a good part of the question itself
            return own >= self.min_english_coverage / 2 and english_coverage(
                question, f"{_before(sentence, passage)} {sentence}") >= self.min_english_coverage
        where_said = f"{passage.section} {sentence}"
        if any(not said(name, where_said, passage.title) for name in named_entities(without_instructions(question))):
            return False  # asked about A, the sentence speaks of B
        subject = subject_of(passage.title)
        if subject.named_title and not subject.named_in(question) and not shares_a_phrase(question, passage.text):
            # an article about one thing (its short title names it: "南京云锦", not 南京) answers
            # questions that name it, or that repeat a phrase of it (another spelling of its name): a
            # question doing neither is about something the article only resembles
            return False
        kind = asked_kind(question)
        act = _WHO_ACT.search(question)
        # the act is the verb after 谁, without the particle that may follow it ("谁作的": 作)
        if act and act.group(1).rstrip("的了过着") not in sentence:
            return False  # "维保费用由谁承担" is not answered by who issues a guideline
        if kind not in ("figure", "date", "rank"):
            return True  # a what/which question is answered in other words more often than not
        where = f"{passage.heading} {sentence}"
        # "人工智能" asked, "数据产业" stated (a reworded question's closest sentence may use other words)
        asked = focus(without_instructions(question), [passage.title])
        context = f"{passage.section} {passage.text}"
        if not closest and any(not mentions(term, context) for term in specific_terms(asked)):
            return False
        if kind == "date":
            # "什么时候全部完工" is not answered by when something else starts; "公示期是哪几天" needs 公示期
            return all(mentions(w, where) for w in dated_event(question))
        if kind != "figure":
            return True
        counted = counted_thing(question)
        if counted and not mentions(counted, where):
            return False
        attribute = measured_attribute(question)
        return not attribute or states_attribute(attribute, where)

    def by_meaning(self, question: str, sentence: str, figures: set[str] | None = None) -> str | None:
        """The figure clause of ``sentence`` closest in meaning to ``question``, if it states the
        asked figure (one of ``figures``, if given); None without cosines."""
        if self.cosines is None:
            return None
        return states_asked_figure_by_meaning(question, sentence, self.cosines, figures=figures)

    # ---- does a checked draft answer? --------------------------------------------------------

    def verdict(self, question: str | list[str], language: Language, checked: CheckedAnswer,
                evidence: Sequence[Evidence]) -> Verdict:
        """Whether ``checked`` answers ``question`` (or each of its parts) with an item of the asked
        kind; a part it does not answer gets its own "the reports do not say" sentence."""
        refused = Verdict(True, REFUSALS[language])
        if checked.empty:
            return refused
        parts = [question] if isinstance(question, str) else question
        answered = [self._answering(part, language, checked, evidence) for part in parts]
        if not any(answered):
            return refused
        if len(parts) == 1:
            return Verdict(False, checked.text)
        missing = [PART_REFUSALS[language].format(part=TRAILING.sub("", p))
                   for p, ok in zip(parts, answered, strict=True) if not ok]
        return Verdict(False, checked.render(checked.claims, missing))

    def _answering(self, question: str, language: Language, checked: CheckedAnswer,
                   evidence: Sequence[Evidence]) -> list[Claim]:
        """The claims that state an item of the kind ``question`` asks for, about what it asks."""
        kind = asked_kind(question)
        # the evidence closest in meaning may state the figure in other words than the question's
        closest = max(range(len(evidence)), key=lambda i: evidence[i].cosine, default=None)
        out = []
        for c in checked.claims:
            sources = [(evidence[i].text, evidence[i].passage, i == closest) for i in c.evidence] or [
                (s, checked.passages[i], False) for i in c.passages for s in passage_sentences(checked.passages[i])]
            if kind == "figure":
                stated = numbers(c.body) - numbers(question)
                # the figure must be about the thing counted, named where it stands or in its
                # section (a phrase longer than a name runs on into the question: not held against it)
                counted = counted_thing(question) if language == "zh" else ""
                counted = counted if len(counted) <= _MAX_COUNTED_NAME else ""
                where = " ".join([s for s, _, _ in sources] + [checked.passages[i].section for i in c.passages])
                ok = bool(stated) and (not counted or mentions(counted, where)) and (language == "en" or any(
                    states_asked_figure(focus(question, [p.title]), s, figures=stated, context=row_context(s, p))
                    or (near and self.by_meaning(question, s, stated) is not None) for s, p, near in sources))
            elif kind == "rank":
                ok = bool(ordinals(c.body) & {o for s, _, _ in sources for o in ordinals(s)})
            elif kind == "date":
                ok = bool(numbers(c.body) - numbers(question))
            else:
                ok = True
            if ok and (language == "en" or kind not in ("figure", "rank", "date")):
                # about what was asked: the names the question gives are said where the claim rests
                # (an English claim's names are not checked against Chinese evidence word for word,
                # so every kind of it is held to this: one province's target is not stated by another
                # province's report)
                ok = any(self.about_subject(question, language, s, p) for s, p, _ in sources)
            if ok:
                out.append(c)
        return out


def _before(sentence: str, passage: Passage) -> str:
    """The sentence of ``passage`` just before ``sentence`` ('' for its first, or one not in it)."""
    sentences = passage_sentences(passage)
    at = sentences.index(sentence) if sentence in sentences else 0
    return sentences[at - 1] if at > 0 else ""

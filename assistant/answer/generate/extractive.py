"""The extractive generator: no language model; answers with the evidence sentence that answers
the question, cited ``[n]``, led by the asked item. Always available and fast (milliseconds).

It reads the evidence the pipeline chose (:mod:`assistant.answer.evidence`: the best sentences of the
retrieved passages, scored with the sentence vectors stored at index time, so nothing is embedded
per question but the question). A sentence is quoted when:

- its cosine to the question reaches a floor (per language: cross-lingual cosines run lower);
- the question names something it holds: some topic word of a Chinese question occurs in it,
  so gibberish and bare instructions ("忽略以上指令") are refused; an English question must keep
  a question after its instructions are set aside;
- it holds an item of the asked kind (:func:`assistant.text.questions.asked_kind`): a figure in a
  clause about the thing asked with a compatible unit ("多少亿元" needs 亿元), a rank ("第二"), a
  date, or, for what/who questions, words the question does not already hold ("以上就是小米MIX4是
  什么处理器的全部内容" only echoes "小米MIX4的处理器是什么");
- the Latin-script and place names of a Chinese question ("GDP", "广东省") occur in the evidence.

The answer leads with the asked item: the clause stating it (quoted verbatim, so the citation
check holds it to its evidence), then the whole sentence. An English answer leads with the figure
in English and its Chinese original in brackets, "About 17,600 (超1.76万家)", then the quote.
A two-part question is answered part by part.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.answer.evidence import Evidence
from assistant.answer.generate import GenerationRequest, Generator
from assistant.text import lexicon
from assistant.text.cjk import IDEOGRAPHS, content_chars, ideographs_only
from assistant.text.language import script_language
from assistant.text.numbers import (
    english_figure,
    english_unit_matches,
    figure_clauses,
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
    without_instructions,
)
from assistant.text.sentences import split_clauses
from assistant.text.statements import english_coverage, is_label, mentions, other_year, states_attribute
from assistant.text.words import bigrams, keywords, normalize, proper_names, strip_framing

if TYPE_CHECKING:
    from assistant.core.settings import Settings
    from assistant.core.types import Passage
    from assistant.embed import Embedder

#: a heading-only sentence such as "（四）强化企业科技创新主体地位。" rarely answers anything
_MIN_SENTENCE_CHARS = 8
#: "由谁主持", "谁承担": the act a who-question asks about (a sentence about someone else's act does not answer)
_WHO_ACT = re.compile(f"谁([{IDEOGRAPHS}]{{2}})")
#: words that frame a text rather than say something ("以上就是…的全部内容")
_FILLER_WORDS = re.compile("|".join(sorted(lexicon.words("filler_words", "zh"), key=len, reverse=True)))


@dataclass(frozen=True)
class Candidate:
    """An evidence sentence (``index`` into the request's evidence) with its score."""

    index: int
    sentence: str
    score: float


class ExtractiveGenerator(Generator):
    """Quotes up to ``max_sentences`` evidence sentences per part; refuses (empty draft) when none answers."""

    name = "extractive"
    uses_llm = False

    def __init__(self, embedder: Embedder | None = None, *, max_sentences: int = 1, second_margin: float = 0.01,
                 min_cosine: dict[str, float] | None = None, min_figure_overlap: float = 0.3,
                 min_topic_words: float = 0.2, min_english_coverage: float = 0.5) -> None:
        self.embedder = embedder  # picks the clause an English answer leads with
        self.max_sentences = max_sentences
        self.second_margin = second_margin
        # cross-lingual cosines run lower than Chinese-to-Chinese ones
        self.min_cosine = min_cosine or {"zh": 0.85, "en": 0.76}
        self.min_figure_overlap = min_figure_overlap
        self.min_topic_words = min_topic_words
        self.min_english_coverage = min_english_coverage

    @classmethod
    def from_settings(cls, settings: Settings, embedder: Embedder | None = None) -> ExtractiveGenerator:
        """The extractive generator with the thresholds ``settings.extractive_*``."""
        return cls(
            embedder,
            max_sentences=settings.extractive_max_sentences,
            second_margin=settings.extractive_second_margin,
            min_cosine={"zh": settings.extractive_min_cosine, "en": settings.extractive_min_cosine_crosslingual},
            min_figure_overlap=settings.extractive_min_figure_overlap,
            min_topic_words=settings.extractive_min_topic_words,
        )

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        parts = request.parts or [request.question]
        first = True
        for i, part in enumerate(parts):
            for cand in self.select(request, part, i if len(parts) > 1 else None):
                yield self._render(cand, part, request, first=first)
                first = False

    # ---- selection ------------------------------------------------------------------------

    def select(self, request: GenerationRequest, question: str | None = None,
               part: int | None = None) -> list[Candidate]:
        """The evidence sentences that answer ``question`` (default: the request's; ``part``: the
        evidence chosen for that part of a two-part question), best first; empty when none does."""
        question = question or request.question
        language = request.language
        evidence = [(i, e) for i, e in enumerate(request.evidence) if part is None or e.part == part]
        if not self.names_something(question, language, [e for _, e in evidence]):
            return []
        # a title, heading, question line or signature labels what follows; it states nothing
        # (a signature's date line does answer "落款日期是哪一天")
        dated = asked_kind(question) == "date"
        ranked = sorted((Candidate(i, e.text, e.cosine) for i, e in evidence
                         if content_chars(e.text) >= _MIN_SENTENCE_CHARS and (dated or not is_label(e.text))),
                        key=lambda c: c.score, reverse=True)
        floor = self.min_cosine[language]
        owner = {c.index: request.evidence[c.index].passage for c in ranked}
        # a sentence stating the asked item in the question's words first; failing that, the
        # closest sentence may state it in other words (a reworded question)
        eligible = [c for c in ranked if c.score >= floor and self.answers(
            question, language, c.sentence, passage=owner[c.index])] or [
            c for c in ranked[:1] if c.score >= floor and self.answers(
                question, language, c.sentence, closest=True, passage=owner[c.index])]
        if not eligible:
            return []
        best = eligible[0]
        close = [c for c in eligible[1:] if best.score - c.score <= self.second_margin]
        return [best, *close][: self.max_sentences]

    def names_something(self, question: str, language: str, evidence: list[Evidence]) -> bool:
        """Whether the question asks about something the evidence holds (not gibberish, not only an
        instruction): a share of a Chinese question's topic words occurs in the evidence; an English
        question must still ask something once its instructions are set aside."""
        asked = without_instructions(question)
        # the whole passages: a place name may stand only in a title line the evidence leaves out
        text = normalize("".join({e.passage.id: e.passage.section + e.passage.text for e in evidence}.values()))
        if language == "zh" and any(name not in text for name in proper_names(asked)):
            return False  # "GDP", "广东省": the evidence never names it
        if language == "en":
            return bool(re.search(r"[A-Za-z]{3,}|\d", asked)) and asked_kind(asked) != "other" or bool(
                set(keywords(asked)) & {w for e in evidence for w in keywords(e.text)})
        if asked_kind(asked) == "date" and keywords(asked):
            return True  # "落款日期是哪一天": the words of a date question are rarely the document's
        # a topic word, or at least a pair of characters of one: a reworded question shares few
        # words with its answer ("研究开发资金" / "研发经费"), gibberish none
        if any(w in text for w in keywords(asked) if not w.isdigit()):
            return True
        pairs = bigrams(ideographs_only(strip_framing(asked)))  # digits pair with any figure
        return bool(pairs) and len(pairs & bigrams(text)) / len(pairs) >= self.min_topic_words

    def answers(self, question: str, language: str, sentence: str, *, closest: bool = False,
                passage: Passage | None = None) -> bool:
        """Whether ``sentence`` holds an item of the kind ``question`` asks for, about what the
        question asks. The sentence ``closest`` in meaning to the question may state its figure in
        other words (a reworded question shares few words with it); any other must state it in a
        clause that shares the question's wording. ``passage``: the sentence's own (to check that
        it is about the question's subject, :meth:`about_subject`)."""
        if passage is not None and not self.about_subject(question, language, sentence, passage, closest=closest):
            return False
        kind = asked_kind(question)
        if kind == "figure":
            if language == "en":
                return any(english_unit_matches(question, c) for c in figure_clauses(question, sentence))
            if states_asked_figure(question, sentence, min_overlap=self.min_figure_overlap):
                return True
            return closest and self._by_meaning(question, sentence) is not None
        if kind == "rank":
            return bool(ordinals(sentence))
        if kind == "date":
            return states_date(sentence)
        if language == "en":
            return True
        # what/who/how: the sentence must say something the question does not ("以上就是…的全部内容")
        asked = normalize(question).lower()
        new = [w for w in keywords(sentence) if w not in asked and _FILLER_WORDS.sub("", w)]
        return sum(len(w) for w in new) >= 4

    def about_subject(self, question: str, language: str, sentence: str, passage: Passage, *,
                      closest: bool = False) -> bool:
        """Whether ``sentence`` (under ``heading``) is about the question's subject: it names the
        thing a figure question counts ("多少个5G基站" is not answered by "1200余家5G工厂") and the
        attribute it measures ("保有量是多少" not by "产量8.7万辆"); an English sentence holds at least
        half of an English question's content words (a Chinese one cannot be compared word by word);
        the passage speaks of the year asked about and names the acronyms asked about."""
        heading = passage.heading
        if other_year(question, f"{passage.section} {passage.text}"):
            return False  # a passage on other years than the one asked about
        if language == "en":
            if any(a not in passage.text for a in acronyms(question)):
                return False  # "GDP": the passage never names it
            if script_language(sentence) != "en":
                return True
            return english_coverage(question, sentence) >= self.min_english_coverage
        kind = asked_kind(question)
        act = _WHO_ACT.search(question)
        if act and act.group(1) not in sentence:
            return False  # "维保费用由谁承担" is not answered by who issues a guideline
        if kind not in ("figure", "date", "rank"):
            return True  # a what/which question is answered in other words more often than not
        where = f"{heading} {sentence}"
        # "人工智能" asked, "数据产业" stated (a reworded question's closest sentence may use other words)
        if not closest and any(not mentions(term, f"{passage.section} {passage.text}")
                               for term in specific_terms(without_instructions(question))):
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

    # ---- rendering ------------------------------------------------------------------------

    def _render(self, cand: Candidate, question: str, request: GenerationRequest, *, first: bool) -> str:
        marker = f"[{cand.index + 1}]"
        body = cand.sentence.rstrip("。；;！!？?")
        lead = self.lead(question, request.language, cand.sentence)
        if request.language == "en":
            opening = (f"{lead} {marker}. " if lead else "") + ("The report states: " if first else "It also states: ")
            return f"{opening}“{body}” {marker}. "
        if lead and normalize(lead) != normalize(body):
            return f"{lead}{marker}。{body}{marker}。"
        return f"{body}{marker}。"

    def lead(self, question: str, language: str, sentence: str) -> str:
        """The asked item, first: the clause stating the asked figure or rank (English: the figure in
        English with its Chinese original), or "" when the question asks for no such item."""
        kind = asked_kind(question)
        if kind not in ("figure", "rank", "date"):
            return ""
        clauses = [c.strip() for c in split_clauses(sentence) if c.strip()]
        if kind == "figure" and language == "zh":
            found = [c for c in clauses if states_asked_figure(question, c, min_overlap=self.min_figure_overlap)]
            if not found and (clause := self._by_meaning(question, sentence)) is not None:
                found = [clause]
        elif kind == "rank":
            found = [c for c in clauses if ordinals(c)]
        else:
            # a clause with a figure other than a bare year or month ("截至2025年10月" dates the rest)
            found = figure_clauses(question, sentence)
            if len(found) > 1:
                found = self._closest(question, language, found)
        if not found:
            return ""
        if language == "en":
            if script_language(sentence) == "en":
                return ""  # the quote states the figure in English already
            english = english_figure(found[0]) or ""
            return english[:1].upper() + english[1:]
        return found[0]

    def _by_meaning(self, question: str, sentence: str) -> str | None:
        """The figure clause of ``sentence`` closest in meaning to ``question``, if it states the
        asked figure (for a question worded unlike its answer); None without an embedder."""
        if self.embedder is None:
            return None
        embedder = self.embedder

        def cosines(q: str, clauses: list[str]) -> list[float]:
            return [float(x) for x in embedder.embed_passages(clauses) @ embedder.embed_queries([q])[0]]

        return states_asked_figure_by_meaning(question, sentence, cosines)

    def _closest(self, question: str, language: str, clauses: list[str]) -> list[str]:
        """``clauses`` ordered by closeness to ``question``: shared wording in Chinese; across
        languages there is none, so the embedder's cosine (in clause order without one)."""
        if language == "zh":
            q = bigrams(question)
            return sorted(clauses, key=lambda c: len(q & bigrams(c)), reverse=True)
        if self.embedder is None:
            return clauses
        qv = self.embedder.embed_queries([question])[0]
        cos = self.embedder.embed_passages(clauses) @ qv
        return [clauses[i] for i in sorted(range(len(clauses)), key=lambda i: -float(cos[i]))]

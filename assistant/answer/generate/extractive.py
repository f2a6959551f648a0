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

from assistant.answer.adequacy import Judge
from assistant.answer.evidence import Evidence
from assistant.answer.generate import GenerationRequest, Generator
from assistant.ingest.passages import mostly_instruction
from assistant.text import lexicon
from assistant.text.cjk import IDEOGRAPHS, content_chars
from assistant.text.language import script_language
from assistant.text.numbers import (
    english_figure,
    figure_clauses,
    ordinals,
    states_asked_figure,
)
from assistant.text.questions import asked_kind
from assistant.text.sentences import split_clauses
from assistant.text.statements import is_label
from assistant.text.subject import focus
from assistant.text.words import bigrams, keywords, normalize

if TYPE_CHECKING:
    from assistant.core.settings import Settings
    from assistant.embed import Embedder

#: how much the share of the question's words a sentence says adds to its closeness in meaning
_WORDS_WEIGHT = 0.01
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
        self.judge = Judge(self._cosines if embedder is not None else None, min_figure_overlap=min_figure_overlap,
                           min_topic_words=min_topic_words, min_english_coverage=min_english_coverage)

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
        if not self.judge.names_something(question, language, list({e.passage.id: e.passage
                                                                     for _, e in evidence}.values())):
            return []
        # a title, heading, question line or signature labels what follows; it states nothing
        # (a signature's date line does answer "落款日期是哪一天")
        kind = asked_kind(question)
        dated = kind == "date"
        # a passage that is mostly orders to a reader or a model is never quoted, not even its facts
        kept = [(i, e) for i, e in evidence
                if content_chars(e.text) >= _MIN_SENTENCE_CHARS and (dated or not is_label(e.text))
                and not mostly_instruction(e.passage)]
        closeness = self._focused(question, [e for _, e in kept])
        # a name of the asked kind first (who, where, what is it called), then closeness to what is asked
        named = {i: bool(kind in ("who", "where", "alias") and self.judge.items(question, kind, e.text))
                 for i, e in kept}
        ranked = [Candidate(i, e.text, e.cosine) for (i, e), _ in sorted(
            zip(kept, closeness, strict=True), key=lambda x: (named[x[0][0]], x[1]), reverse=True)]
        floor = self.min_cosine[language]
        owner = {c.index: request.evidence[c.index].passage for c in ranked}
        # a sentence stating the asked item in the question's words first; failing that, the
        # closest sentence may state it in other words (a reworded question)
        eligible = [c for c in ranked if c.score >= floor and self.judge.answers(
            question, language, c.sentence, owner[c.index])] or [
            c for c in ranked[:1] if c.score >= floor and self.judge.answers(
                question, language, c.sentence, owner[c.index], closest=True)]
        if not eligible:
            return []
        best = eligible[0]
        close = [c for c in eligible[1:] if best.score - c.score <= self.second_margin]
        return [best, *close][: self.max_sentences]

    def _focused(self, question: str, evidence: list[Evidence]) -> list[float]:
        """How close each evidence sentence is to what the question asks of its document's subject
        (:func:`~assistant.text.subject.focus`: "黄鳍紫鱼的身体是什么颜色的" is compared as "身体是什么颜色的"
        over the article 黄鳍紫鱼, whose every sentence is about the fish); the stored cosine to the
        whole question without an embedder or a stored vector."""
        if self.embedder is None:
            return [e.cosine for e in evidence]
        asked = {e.passage.title: focus(question, [e.passage.title]) for e in evidence}
        texts = sorted({q for q in asked.values() if q != question})
        vectors = dict(zip(texts, self.embedder.embed_queries(texts), strict=True)) if texts else {}
        out = []
        for e in evidence:
            q = asked[e.passage.title]
            cosine = float(e.vector @ vectors[q]) if q in vectors and e.vector is not None else e.cosine
            # the question's own words, said in the sentence, break near-ties of meaning
            words = [w for w in keywords(q) if not w.isdigit()]
            said = sum(w in normalize(e.text).lower() for w in words) / len(words) if words else 0.0
            out.append(cosine + _WORDS_WEIGHT * said)
        return out

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
        if kind in ("who", "where", "alias") and language == "zh":
            # a name is the answer: lead with it ("张三与李四[1]。…" for "作者是谁")
            return "、".join(self.judge.items(question, kind, sentence)[:3])
        if kind not in ("figure", "rank", "date"):
            return ""
        clauses = [c.strip() for c in split_clauses(sentence) if c.strip()]
        if kind == "figure" and language == "zh":
            found = [c for c in clauses if states_asked_figure(question, c, min_overlap=self.min_figure_overlap)]
            if not found and (clause := self.judge.by_meaning(question, sentence)) is not None:
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

    def _cosines(self, question: str, clauses: list[str]) -> list[float]:
        """Cosine of ``question`` to each clause (the embedder's)."""
        assert self.embedder is not None
        return [float(x) for x in self.embedder.embed_passages(clauses) @ self.embedder.embed_queries([question])[0]]

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

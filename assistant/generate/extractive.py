"""The extractive generator: no language model, answers with the passage sentences that best
answer the question, each cited ``[n]``. Always available and fast (milliseconds).

Scoring: with an embedder (the retriever's multilingual e5), a sentence scores by its cosine to
the question; on the 71 answerable Chinese questions of evals/ this picks the gold sentence 65
times, against 62 for word overlap. Sentence vectors are cached, so after the first questions
only the question is embedded. Without an embedder a sentence scores by the rarity-weighted
share of the question's topic words it contains plus character-bigram overlap.

Refusing (empty draft) is the hard part without a language model, since cosine does not
separate "about the topic" from "answers it". Two rules: the best sentence must reach a floor,
and a question asking for a figure ("多少", "how many") is only answered by a sentence whose
figure stands in a clause about the thing asked (bigram overlap) with a compatible unit
("多少亿元" needs 亿元), and whose Latin-script and place names ("GDP", "广东省") occur in the
passages. English questions get an English-framed answer quoting the cited Chinese sentence
verbatim: translating without a language model would invent wording.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from assistant.generate import GenerationRequest, Generator
from assistant.text.cjk import content_chars
from assistant.text.figures import asks_for_figure, numbers, states_asked_figure
from assistant.text.sentences import split_sentences
from assistant.text.words import bigrams, keywords, proper_names

if TYPE_CHECKING:
    from assistant.embed import Embedder
    from assistant.settings import Settings

#: a heading-only first sentence such as "（四）强化企业科技创新主体地位。" rarely answers anything
_MIN_SENTENCE_CHARS = 8


@dataclass(frozen=True)
class Candidate:
    """A sentence of passage ``index`` (0-based) with its score."""

    index: int
    sentence: str
    score: float


class ExtractiveGenerator(Generator):
    """Picks up to ``max_sentences`` sentences; refuses (empty draft) when none answers."""

    name = "extractive"
    uses_llm = False

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        max_sentences: int = 2,
        second_margin: float = 0.01,
        min_lexical: float = 0.45,
        min_cosine: dict[str, float] | None = None,
        min_figure_overlap: float = 0.3,
        fallback_reach: dict[str, float] | None = None,
    ) -> None:
        self.embedder = embedder
        self.max_sentences = max_sentences
        self.second_margin = second_margin
        self.min_lexical = min_lexical
        # cross-lingual cosines run lower than Chinese-to-Chinese ones
        self.min_cosine = min_cosine or {"zh": 0.85, "en": 0.76}
        self.min_figure_overlap = min_figure_overlap
        self.fallback_reach = fallback_reach or {"zh": 1.0, "en": 0.01}
        self._vectors: dict[str, np.ndarray] = {}

    @classmethod
    def from_settings(cls, settings: Settings, embedder: Embedder | None = None) -> ExtractiveGenerator:
        """The extractive generator with the thresholds ``settings.extractive_*``."""
        return cls(
            embedder,
            max_sentences=settings.extractive_max_sentences,
            second_margin=settings.extractive_second_margin,
            min_lexical=settings.extractive_min_lexical,
            min_cosine={"zh": settings.extractive_min_cosine, "en": settings.extractive_min_cosine_crosslingual},
            min_figure_overlap=settings.extractive_min_figure_overlap,
            fallback_reach={"zh": settings.extractive_reach, "en": settings.extractive_reach_crosslingual},
        )

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        for i, cand in enumerate(self.select(request)):
            yield self._render(cand, request.language, first=i == 0)

    # ---- selection ------------------------------------------------------------------------

    def candidates(self, request: GenerationRequest) -> list[tuple[int, str]]:
        """All sentences of the passages long enough to carry a fact."""
        out = []
        for i, p in enumerate(request.passages):
            for s in split_sentences(p.text):
                if content_chars(s) >= _MIN_SENTENCE_CHARS:
                    out.append((i, s))
        return out

    def select(self, request: GenerationRequest) -> list[Candidate]:
        """The sentences to answer with, best first; empty when nothing answers the question."""
        pool = self.candidates(request)
        if not pool:
            return []
        if self.embedder is not None:
            scored, floor = self._score_semantic(request.question, pool), self.min_cosine[request.language]
        else:
            scored, floor = self._score_lexical(request.question, pool), self.min_lexical
        # best first; a sentence about the topic that lacks the asked figure is skipped, not final
        ranked = sorted(scored, key=lambda c: c.score, reverse=True)
        # how far below the top sentence an eligible one may be; across languages the figure
        # check is weak, so an English answer must come from (nearly) the top sentence
        reach = self.fallback_reach[request.language]
        eligible = [c for c in ranked if c.score >= max(floor, ranked[0].score - reach)
                    and self.answers_figure(request, c.sentence)]
        if not eligible:
            return []
        best = eligible[0]
        close = [c for c in eligible[1:] if best.score - c.score <= self._margin(best.score)]
        return [best, *close][: self.max_sentences]

    def _margin(self, best: float) -> float:
        return self.second_margin if self.embedder is not None else best * 0.15

    def answers_figure(self, request: GenerationRequest, sentence: str) -> bool:
        """For a question asking for a figure: does ``sentence`` state one about the thing asked?"""
        question = request.question
        context = "".join(p.text for p in request.passages)
        if request.language == "zh" and any(name not in context for name in proper_names(question)):
            return False  # "GDP", "广东省": the passages never name it
        if not asks_for_figure(question):
            return True
        if request.language == "en":
            # no word overlap across languages: any figure; the cosine floor decided already
            return bool(numbers(sentence) - numbers(question))
        return states_asked_figure(question, sentence, min_overlap=self.min_figure_overlap)

    def _score_lexical(self, question: str, pool: list[tuple[int, str]]) -> list[Candidate]:
        q_words = keywords(question)
        q_bigrams = bigrams(question)
        sent_words = [set(keywords(s)) for _, s in pool]
        n = len(pool)
        # rarer words identify the topic; "企业" in every sentence should not decide
        weight = {w: math.log(1 + n / (1 + sum(w in ws for ws in sent_words))) for w in q_words}
        total = sum(weight.values()) or 1.0
        out = []
        for (idx, sent), words in zip(pool, sent_words, strict=True):
            coverage = sum(weight[w] for w in q_words if w in words or w in sent) / total
            overlap = len(q_bigrams & bigrams(sent)) / (len(q_bigrams) or 1)
            score = 0.7 * coverage + 0.3 * overlap + 0.03 / (1 + idx)  # retrieval order breaks near-ties
            out.append(Candidate(idx, sent, score))
        return out

    def _score_semantic(self, question: str, pool: list[tuple[int, str]]) -> list[Candidate]:
        assert self.embedder is not None
        q = self.embedder.embed_queries([question])[0]
        missing = list(dict.fromkeys(s for _, s in pool if s not in self._vectors))
        if missing:
            for s, v in zip(missing, self.embedder.embed_passages(missing), strict=True):
                self._vectors[s] = v
        return [Candidate(idx, s, float(self._vectors[s] @ q) + 0.002 / (1 + idx)) for idx, s in pool]

    # ---- rendering ------------------------------------------------------------------------

    @staticmethod
    def _render(cand: Candidate, language: str, *, first: bool) -> str:
        marker = f"[{cand.index + 1}]"
        body = cand.sentence.rstrip("。；;！!？?")
        if language == "en":
            lead = "The report states: " if first else " It also states: "
            return f"{lead}“{body}” {marker}."
        return f"{body}{marker}。"


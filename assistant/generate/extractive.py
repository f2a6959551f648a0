"""The extractive generator: no language model, answers with the passage sentences that best
answer the question, each cited ``[n]``. Always available and fast (milliseconds).

Chinese questions: a sentence scores by the share of the question's topic words it contains
(weighted by their rarity among the candidate sentences), plus character-bigram overlap, a
bonus for figures when the question asks for a quantity, and a small prior for higher-ranked
passages. English questions over the Chinese report: when an embedder is available the
sentences are scored by cross-lingual cosine to the question (the e5 model is multilingual);
the answer is English-framed and quotes the cited Chinese sentences verbatim, since translating
without a language model would invent wording. When no sentence scores well enough the draft is
empty and the pipeline refuses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np


from assistant.generate import GenerationRequest, Generator
from assistant.sentences import bigrams, content_chars, keywords, numbers, split_sentences

if TYPE_CHECKING:
    from assistant.embed import Embedder

_QUANTITY = re.compile(r"多少|几|数量|规模|比例|比重|占比|增长|达到|how many|how much|number|percent|share|rate", re.I)
#: a heading-only first sentence such as "（四）强化企业科技创新主体地位。" rarely answers anything
_MIN_SENTENCE_CHARS = 8


@dataclass(frozen=True)
class Candidate:
    """A sentence of passage ``index`` (0-based) with its score."""

    index: int
    sentence: str
    score: float


class ExtractiveGenerator(Generator):
    """Picks up to ``max_sentences`` sentences; refuses (empty draft) below ``min_score``."""

    name = "extractive"
    uses_llm = False

    def __init__(
        self,
        embedder: Embedder | None = None,
        *,
        max_sentences: int = 2,
        second_ratio: float = 0.85,
        min_score: float = 0.45,
        min_cosine: float = 0.80,
    ) -> None:
        self.embedder = embedder
        self.max_sentences = max_sentences
        self.second_ratio = second_ratio
        self.min_score = min_score
        self.min_cosine = min_cosine

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        chosen = self.select(request)
        for i, cand in enumerate(chosen):
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
        if request.language == "en" and self.embedder is not None:
            scored, threshold = self._score_crosslingual(request.question, pool), self.min_cosine
        else:
            scored, threshold = self._score_lexical(request.question, pool), self.min_score
        scored.sort(key=lambda c: c.score, reverse=True)
        best = scored[0]
        if best.score < threshold:
            return []
        chosen = [best]
        for cand in scored[1:]:
            if len(chosen) >= self.max_sentences or cand.score < best.score * self.second_ratio:
                break
            chosen.append(cand)
        return chosen

    def _score_lexical(self, question: str, pool: list[tuple[int, str]]) -> list[Candidate]:
        q_words = keywords(question)
        q_bigrams = bigrams(question)
        q_numbers = numbers(question)
        wants_figure = bool(_QUANTITY.search(question))
        sent_words = [set(keywords(s)) for _, s in pool]
        n = len(pool)
        # rarer words identify the topic; "企业" in every sentence should not decide
        weight = {w: math.log(1 + n / (1 + sum(w in ws for ws in sent_words))) for w in q_words}
        total = sum(weight.values()) or 1.0
        out = []
        for (idx, sent), words in zip(pool, sent_words):
            coverage = sum(weight[w] for w in q_words if w in words or w in sent) / total
            overlap = len(q_bigrams & bigrams(sent)) / (len(q_bigrams) or 1)
            score = 0.7 * coverage + 0.3 * overlap
            nums = numbers(sent)
            if wants_figure and nums - q_numbers:
                score += 0.1
            if q_numbers and not (q_numbers <= nums):
                score -= 0.05 * len(q_numbers - nums)
            score += 0.03 / (1 + idx)  # retrieval order breaks near-ties
            out.append(Candidate(idx, sent, score))
        return out

    def _score_crosslingual(self, question: str, pool: list[tuple[int, str]]) -> list[Candidate]:
        assert self.embedder is not None
        q = self.embedder.embed_queries([question])[0]
        vecs = self.embedder.embed_passages([s for _, s in pool])
        cos = np.asarray(vecs @ q, dtype=float)
        q_numbers = numbers(question)
        out = []
        for (idx, sent), c in zip(pool, cos):
            bonus = 0.02 * len(q_numbers & numbers(sent)) + 0.005 / (1 + idx)
            out.append(Candidate(idx, sent, float(c) + bonus))
        return out

    # ---- rendering ------------------------------------------------------------------------

    @staticmethod
    def _render(cand: Candidate, language: str, *, first: bool) -> str:
        marker = f"[{cand.index + 1}]"
        body = cand.sentence.rstrip("。；;！!？?")
        if language == "en":
            lead = "The report states: " if first else " It also states: "
            return f"{lead}“{body}” {marker}."
        return f"{body}{marker}。"

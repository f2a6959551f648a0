"""Evidence: the sentences of the retrieved passages that answer the question.

After passage retrieval, every sentence of the context passages is scored against the question
and the best few are kept, in passage order. An LLM reads only those (numbered, under their
section headings) instead of whole passages, so its prompt is a third as long; the extractive
generator quotes from them; the citation check holds each answer sentence to the evidence it
cites. Citations still name passages: each evidence sentence knows its passage.

Scoring (measured on the 87 answerable questions of evals/, see docs/quality.md): a sentence
scores ``w * minmax(cosine) + (1 - w) * minmax(BM25)`` over the pool, where the cosine is the
question's to the sentence vector stored at index time (the sentence embedded after its section
heading, :mod:`assistant.sentence_index`) and BM25 is over the section and the sentence, with the
corpus's passage IDF. With w = 0.6 the top 4 sentences of the top 3 passages hold every gold
phrase for all 87 questions (dense alone .977, BM25 alone .954).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import NDArray

from assistant.fusion import minmax
from assistant.text.questions import asked_kind
from assistant.text.subject import is_label
from assistant.text.words import tokenize
from assistant.types import Hit, Passage

if TYPE_CHECKING:
    from assistant.settings import Settings

#: BM25's usual constants (the Lucene defaults bm25s uses for passages too)
_K1, _B = 1.5, 0.75


@dataclass(frozen=True)
class Evidence:
    """One evidence sentence of ``passage``, with its fused score and its cosine to the question."""

    passage: Passage
    text: str
    score: float
    cosine: float
    #: position of the sentence in its passage (keeps evidence in reading order)
    position: int = 0
    #: which part of a two-part question it was chosen for (``score`` and ``cosine`` are for that part)
    part: int = 0
    #: the sentence's vector as stored at index time (None for a whole passage)
    vector: NDArray[np.float32] | None = field(default=None, compare=False, repr=False)

    @property
    def heading(self) -> str:
        """The last part of the passage's section path."""
        return self.passage.section.split("›")[-1].strip()


@dataclass(frozen=True)
class Pool:
    """The candidate sentences of the context passages: text, passage, position and vector."""

    texts: list[str]
    passages: list[Passage]
    positions: list[int]
    vectors: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)


def bm25_scores(query: str, documents: Sequence[str], idf: Callable[[str], float]) -> np.ndarray:
    """BM25 of ``query`` against each of ``documents`` (short texts), with corpus IDF ``idf``."""
    q = tokenize(query)
    docs = [tokenize(d) for d in documents]
    if not q or not docs:
        return np.zeros(len(docs))
    avg = sum(len(d) for d in docs) / len(docs) or 1.0
    out = np.zeros(len(docs))
    for i, d in enumerate(docs):
        norm = _K1 * (1 - _B + _B * len(d) / avg)
        for term in set(q):
            tf = d.count(term)
            if tf:
                out[i] += idf(term) * tf * (_K1 + 1) / (tf + norm)
    return out


def select_evidence(question: str, query_vector: np.ndarray, pool: Pool, n: int, *, dense_weight: float,
                    idf: Callable[[str], float]) -> list[Evidence]:
    """The ``n`` best sentences of ``pool`` for ``question``, in passage order then sentence order.

    ``pool`` lists the sentences passage by passage in retrieval order; the result keeps that order
    (best passage first), which is the order an LLM reads best.
    """
    if not len(pool) or n <= 0:
        return []
    cosine = pool.vectors @ query_vector
    lexical = bm25_scores(question, [f"{p.section} {t}" for p, t in zip(pool.passages, pool.texts, strict=True)], idf)
    fused = dense_weight * minmax(cosine.astype(np.float64)) + (1 - dense_weight) * minmax(lexical) + 1e-9 * cosine
    best = sorted(np.argsort(-fused, kind="stable")[:n].tolist())
    return [Evidence(pool.passages[i], pool.texts[i], float(fused[i]), float(cosine[i]), pool.positions[i],
                     vector=pool.vectors[i]) for i in best]


def whole(passage: Passage) -> Evidence:
    """A whole passage as one piece of evidence (the check's fallback, and tests)."""
    return Evidence(passage, passage.text, 0.0, 0.0)


def passage_idf(tokenized: Sequence[Sequence[str]]) -> Callable[[str], float]:
    """BM25 IDF over a corpus of tokenized passages (a term the corpus lacks gets the rarest IDF)."""
    n = len(tokenized)
    df: dict[str, int] = {}
    for tokens in tokenized:
        for t in set(tokens):
            df[t] = df.get(t, 0) + 1
    rarest = math.log(1 + (n - 0.5) / 1.5)

    def idf(term: str) -> float:
        d = df.get(term)
        return rarest if d is None else math.log(1 + (n - d + 0.5) / (d + 0.5))

    return idf


class EvidenceSource(Protocol):
    """What gathering evidence needs from retrieval (:class:`assistant.retrieve.Retriever` fits)."""

    def search(self, query: str, k: int | None = None) -> list[Hit]: ...

    def evidence(self, query: str, passages: list[Passage], n: int) -> list[Evidence]: ...


def gather(retriever: EvidenceSource, settings: Settings, parts: list[str], hits: list[Hit], noise: list[Passage],
           *, for_llm: bool) -> tuple[list[Evidence], list[Passage]]:
    """The evidence sentences for each part of a question, in order, and the passages they were
    chosen from. One part: the best sentences of the retrieved passages (an LLM reads the top
    ``context_passages``; the extractive generator all of them). A two-part question: each part
    is retrieved on its own and gets its own sentences (a sentence chosen for both parts appears
    once per part: its scores are per part)."""
    s = settings
    if len(parts) == 1:
        context = [h.passage for h in (hits[: s.context_passages] if for_llm else hits)] + noise
        if for_llm:
            return retriever.evidence(parts[0], context, s.evidence_sentences), context
        return _statements(parts[0], retriever.evidence(parts[0], context, 2 * s.extractive_evidence_sentences),
                           s.extractive_evidence_sentences), context
    out: list[Evidence] = []
    passages: dict[str, Passage] = {}
    for i, part in enumerate(parts):
        context = [h.passage for h in retriever.search(part, s.context_passages)] + noise
        passages.update((p.id, p) for p in context)
        out += [replace(e, part=i) for e in retriever.evidence(part, context, s.evidence_sentences_per_part)]
    return out, list(passages.values())


def _statements(question: str, evidence: list[Evidence], n: int) -> list[Evidence]:
    """The ``n`` best of ``evidence`` that state something, in their order: the extractive
    generator never quotes a title, heading or question line, so they would only take the place of
    a sentence it could quote (a date question keeps them: a signature's date line answers it)."""
    if asked_kind(question) != "date":
        evidence = [e for e in evidence if not is_label(e.text)]
    best = set(sorted(range(len(evidence)), key=lambda i: -evidence[i].score)[:n])
    return [e for i, e in enumerate(evidence) if i in best]

"""Evidence: the sentences of the retrieved passages that answer the question.

After passage retrieval, every sentence of the context passages is scored against the question
and the best few are kept, in passage order. An LLM reads only those (numbered, under their
section headings) instead of whole passages, so its prompt is a third as long; the extractive
generator quotes from them; the citation check holds each answer sentence to the evidence it
cites. Citations still name passages: each evidence sentence knows its passage.

Scoring: a sentence scores ``w * minmax(cosine) + (1 - w) * minmax(BM25)`` over the pool, where
the cosine is the question's to the sentence vector stored at index time (the sentence embedded
after its section heading, :mod:`assistant.storage.sentence_index`) and BM25 is over the section
and the sentence, with the corpus's passage IDF: the two together find the answering sentence
more often than either alone (docs/quality.md).
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from assistant.core.fusion import minmax
from assistant.core.settings import Settings
from assistant.core.types import Hit, Passage
from assistant.embed import Embedder
from assistant.ingest.passages import passage_sentences
from assistant.storage.index import Index
from assistant.storage.sentence_index import sentence_embed_text
from assistant.storage.stores import bm25_text
from assistant.storage.stores.bm25 import BM25Index
from assistant.text.instructions import is_instruction
from assistant.text.questions import asked_kind
from assistant.text.statements import is_label
from assistant.text.words import tokenize

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
        return self.passage.heading


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
    """A whole passage as one piece of evidence (the check's fallback, and tests), without the
    instructions it holds: a document's orders support nothing."""
    sentences = passage_sentences(passage)
    if not any(is_instruction(s) for s in sentences):
        return Evidence(passage, passage.text, 0.0, 0.0)
    return Evidence(passage, "".join(s for s in sentences if not is_instruction(s)), 0.0, 0.0)


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


class SentenceSpace:
    """The sentences of one index build as vectors: what the evidence step scores and the
    citation check measures claims against.

    Sentences of indexed passages come with the build (:mod:`assistant.storage.sentence_index`);
    those of a passage the build does not hold (a build swapped out mid-request, a test's passage)
    are embedded on first use and kept. ``query_vector`` embeds a question (the retriever's, so a
    question is embedded once per ask)."""

    def __init__(self, index: Index, embedder: Embedder, settings: Settings,
                 query_vector: Callable[[str], np.ndarray]) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.query_vector = query_vector
        self._rows = {p.id: i for i, p in enumerate(index.passages)}
        self._embedded: dict[str, tuple[list[str], np.ndarray]] = {}
        self._lock = threading.Lock()

    def evidence(self, query: str, passages: list[Passage], n: int) -> list[Evidence]:
        """The ``n`` sentences of ``passages`` that best answer ``query`` (:func:`select_evidence`)."""
        return select_evidence(query, self.query_vector(query), self.pool(passages), n,
                               dense_weight=self.settings.evidence_dense_weight, idf=self.idf)

    def pool(self, passages: list[Passage]) -> Pool:
        """The sentences of ``passages`` with their vectors: the build's, or embedded now."""
        stored = self.index.sentences
        texts: list[str] = []
        owners: list[Passage] = []
        positions: list[int] = []
        vectors: list[np.ndarray] = []
        for p in passages:
            row = self._rows.get(p.id)
            if stored is not None and row is not None and self.index.passages[row] == p:
                span = stored.of(row)
                sentences, vecs = [stored.texts[i] for i in span], stored.vectors[list(span)]
            else:
                sentences, vecs = self._sentences_of(p)
            # a document's orders ("ignore all previous instructions…") are data, never evidence:
            # no model reads them, no answer quotes them
            keep = [i for i, s in enumerate(sentences) if not is_instruction(s)]
            texts += [sentences[i] for i in keep]
            owners += [p] * len(keep)
            positions += keep
            vectors.append(vecs[keep])
        matrix = np.concatenate(vectors) if vectors else np.zeros((0, self.embedder.dim), dtype=np.float32)
        return Pool(texts, owners, positions, matrix)

    def sentence_similarity(self, text: str, evidence: Sequence[Evidence]) -> tuple[list[float], float]:
        """Cosine of ``text`` (embedded as a query) to each evidence sentence, and its median cosine
        to all the build's sentences: how close an unrelated sentence of these reports usually is."""
        q = self.query_vector(text)
        vectors = np.stack([e.vector if e.vector is not None else self._vector_of(e) for e in evidence])
        stored = self.index.sentences
        every = stored.vectors if stored is not None and len(stored) else self.index.vectors
        return [float(x) for x in vectors @ q], float(np.median(every @ q))

    def clause_cosines(self, question: str, clauses: list[str]) -> list[float]:
        """Cosine of ``question`` to each clause (embedded now: clauses are not stored)."""
        return [float(x) for x in self.embedder.embed_passages(clauses) @ self.query_vector(question)]

    @cached_property
    def idf(self) -> Callable[[str], float]:
        """BM25 IDF of a term over the build's passages (evidence is scored with the corpus's
        statistics): the saved BM25 index's, else counted once from the passages."""
        saved = getattr(self.index.store, "bm25", None)
        if isinstance(saved, BM25Index):
            return saved.idf()
        return passage_idf([tokenize(bm25_text(p)) for p in self.index.passages])

    def _sentences_of(self, passage: Passage) -> tuple[list[str], np.ndarray]:
        with self._lock:
            cached = self._embedded.get(passage.hash)
        if cached is None:
            sentences = passage_sentences(passage)
            vecs = (self.embedder.embed_passages([sentence_embed_text(passage, s) for s in sentences]) if sentences
                    else np.zeros((0, self.embedder.dim), dtype=np.float32))
            cached = (sentences, np.asarray(vecs, dtype=np.float32))
            with self._lock:
                self._embedded[passage.hash] = cached
        return cached

    def _vector_of(self, e: Evidence) -> np.ndarray:
        """The vector of an evidence unit without a stored one (a whole passage, a test's sentence)."""
        row = self._rows.get(e.passage.id)
        if row is not None and e.text == e.passage.text:
            return np.asarray(self.index.vectors[row])
        return np.asarray(self.embedder.embed_passages([sentence_embed_text(e.passage, e.text)])[0])


class Search(Protocol):
    """A passage search (:meth:`assistant.answer.retrieve.Retriever.search` fits)."""

    def __call__(self, query: str, k: int) -> list[Hit]: ...


def noise_passages(passages: Sequence[Passage], query: str, exclude: list[Hit], n: int, seed: int) -> list[Passage]:
    """``n`` random passages not among ``exclude`` (noise-robustness evals). Seeded per query:
    reruns give the same noise, different questions different noise."""
    if n <= 0:
        return []
    taken = {h.passage.id for h in exclude}
    pool = [p for p in passages if p.id not in taken]
    return random.Random(f"{seed}:{query}").sample(pool, min(n, len(pool)))


def gather(search: Search, space: SentenceSpace, settings: Settings, parts: list[str], hits: list[Hit],
           noise: list[Passage], *, for_llm: bool) -> tuple[list[Evidence], list[Passage]]:
    """The evidence sentences for each part of a question, in order, and the passages they were
    chosen from. One part: the best sentences of the retrieved passages (an LLM reads the top
    ``context_passages``; the extractive generator all of them). A two-part question: each part
    is retrieved on its own and gets its own sentences (a sentence chosen for both parts appears
    once per part: its scores are per part)."""
    s = settings
    if len(parts) == 1:
        context = [h.passage for h in (hits[: s.context_passages] if for_llm else hits)] + noise
        if for_llm:
            return space.evidence(parts[0], context, s.evidence_sentences), context
        return _statements(parts[0], space.evidence(parts[0], context, 2 * s.extractive_evidence_sentences),
                           s.extractive_evidence_sentences), context
    out: list[Evidence] = []
    passages: dict[str, Passage] = {}
    for i, part in enumerate(parts):
        context = [h.passage for h in search(part, s.context_passages)] + noise
        passages.update((p.id, p) for p in context)
        out += [replace(e, part=i) for e in space.evidence(part, context, s.evidence_sentences_per_part)]
    return out, list(passages.values())


def _statements(question: str, evidence: list[Evidence], n: int) -> list[Evidence]:
    """The ``n`` best of ``evidence`` that state something, in their order: the extractive
    generator never quotes a title, heading or question line, so they would only take the place of
    a sentence it could quote (a date question keeps them: a signature's date line answers it)."""
    if asked_kind(question) != "date":
        evidence = [e for e in evidence if not is_label(e.text)]
    best = set(sorted(range(len(evidence)), key=lambda i: -evidence[i].score)[:n])
    return [e for i, e in enumerate(evidence) if i in best]

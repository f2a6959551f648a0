"""Hybrid retrieval: dense (FAISS cosine) plus BM25 over jieba tokens, fused by
:mod:`assistant.fusion` (``settings.fusion``; weighted with dense weight 0.8 is best on
``evals/questions.jsonl``: English questions were expected to need dense alone, but the Latin
tokens they share with the report (``5G``, ``AI``, figures) make BM25 help them slightly too, so
one weight serves both languages).

Every :class:`~assistant.types.Hit` carries ``scores['dense']``, the query's cosine to that
passage, whatever the fusion: the answer pipeline refuses when the best one is below
``settings.min_relevance``.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from assistant.embed import Embedder
from assistant.errors import IndexMismatchError, InvalidInputError
from assistant.evidence import Evidence, Pool, passage_idf, select_evidence
from assistant.fusion import FUSIONS, fuse, ranks
from assistant.index import Index, check_compatible
from assistant.inputs import check_k, check_question
from assistant.sentence_index import passage_sentences, sentence_embed_text
from assistant.settings import Settings
from assistant.text.words import exact_terms, normalize, tokenize
from assistant.types import Hit, Passage

if TYPE_CHECKING:
    from assistant.langchain_retriever import LangChainRetriever

# ---- BM25 ---------------------------------------------------------------------------------------


def bm25_text(passage: Passage) -> str:
    """What BM25 indexes: the section path too, so heading words (``未来产业``) match the item."""
    return f"{passage.section}\n{passage.text}"


class BM25Index:
    """BM25 (bm25s, Lucene variant) over the index's passages."""

    def __init__(self, passages: list[Passage]) -> None:
        import bm25s

        self._bm25 = bm25s.BM25()
        tokenized = [tokenize(bm25_text(p)) for p in passages]
        self._bm25.index(tokenized, show_progress=False)
        #: the corpus's IDF, also used to score evidence sentences (assistant/evidence.py)
        self.idf = passage_idf(tokenized)
        # query tokens outside the vocabulary are dropped up front (some bm25s versions reject them)
        self._vocab: set[str] | None = set(getattr(self._bm25, "vocab_dict", None) or ()) or None
        self._lock = threading.Lock()
        self.size = len(passages)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for ``query`` (zeros when no query token is in the corpus)."""
        tokens = tokenize(query)
        if self._vocab is not None:
            tokens = [t for t in tokens if t in self._vocab]
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        with self._lock:
            return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)


# ---- retriever --------------------------------------------------------------------------------


class Retriever:
    """Finds the passages of an :class:`~assistant.index.Index` that answer a question."""

    #: candidates taken from each list before fusion (the whole index when it is smaller)
    pool_size = 100
    #: query vectors kept (first in, first out); 0 turns the cache off (latency benchmarks)
    query_cache_size = 256

    def __init__(self, index: Index, embedder: Embedder, settings: Settings) -> None:
        # the same refusal load_index gives, for an index and embedder that were loaded separately
        check_compatible(index.manifest, settings, embedder.model_id)
        if embedder.dim != index.manifest.dim:
            raise IndexMismatchError(
                f"embedder {embedder.model_id} gives {embedder.dim}-dim vectors, "
                f"the index holds {index.manifest.dim}-dim ones"
            )
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.bm25 = BM25Index(index.passages)
        self._query_cache: dict[str, np.ndarray] = {}
        self._cache_lock = threading.Lock()
        self._rows: dict[str, int] | None = None  # passage id -> row of the index's vectors
        self._lowered: list[str] | None = None  # normalised, lower-cased passage texts (exact terms)
        # sentences and vectors of passages the index does not hold (embedded once, on first use)
        self._sentence_cache: dict[str, tuple[list[str], np.ndarray]] = {}

    @property
    def passages(self) -> list[Passage]:
        return self.index.passages

    def search(self, query: str, k: int | None = None, fusion: str | None = None) -> list[Hit]:
        """The ``k`` best passages for ``query`` (default ``settings.k``), best first.

        ``fusion`` overrides ``settings.fusion`` for this call (benchmarks compare methods).
        ``Hit.scores`` holds ``dense`` (cosine), ``bm25`` (raw score), their ranks in each
        list and ``fused``. Raises InvalidInputError for an empty query or a bad ``k``.
        """
        query = check_question(query, self.settings.max_question_chars)
        k = check_k(k, self.settings.k, self.settings.max_k)
        method = fusion or self.settings.fusion
        if method not in FUSIONS:
            raise InvalidInputError(f"unknown fusion {method!r}; choose one of: {', '.join(FUSIONS)}")
        qvec = self._query_vector(query)
        bm25_all = self.bm25.scores(query)
        candidates = self._candidates(qvec, bm25_all)
        dense = self.index.vectors[candidates] @ qvec
        bm25 = bm25_all[candidates]
        fused = fuse(dense, bm25, method, dense_weight=self.settings.fusion_dense_weight, rrf_k=self.settings.rrf_k)
        dense_rank, bm25_rank = ranks(dense), ranks(bm25)
        exact = self._exact_share(query, candidates)
        # a passage holding more of the question's exact terms ("1+N", “小巨人”) ranks first: a
        # quoted term means that term, however strongly embeddings prefer a passage without it
        order = np.lexsort((-fused, -exact))[:k]
        return [
            Hit(
                passage=self.index.passages[candidates[i]],
                score=float(fused[i]),
                rank=rank,
                scores={
                    "dense": float(dense[i]),
                    "bm25": float(bm25[i]),
                    "dense_rank": float(dense_rank[i]),
                    "bm25_rank": float(bm25_rank[i]),
                    "fused": float(fused[i]),
                    "exact": float(exact[i]),
                },
            )
            for rank, i in enumerate(order, start=1)
        ]

    def _exact_share(self, query: str, candidates: np.ndarray) -> np.ndarray:
        """Per candidate, the share of the query's exact terms its section and text contain."""
        terms = exact_terms(query)
        if not terms:
            return np.zeros(len(candidates))
        if self._lowered is None:
            self._lowered = [normalize(bm25_text(p)).lower() for p in self.index.passages]
        lowered = self._lowered
        return np.array([sum(t in lowered[row] for t in terms) / len(terms) for row in candidates])

    def _query_vector(self, query: str) -> np.ndarray:
        # a chat re-asks, an eval compares fusions on one question: embed each query once
        if self.query_cache_size <= 0:
            return np.asarray(self.embedder.embed_queries([query])[0])
        with self._cache_lock:
            cached = self._query_cache.get(query)
        if cached is not None:
            return cached
        vector = np.asarray(self.embedder.embed_queries([query])[0])
        with self._cache_lock:
            if len(self._query_cache) >= self.query_cache_size:
                self._query_cache.pop(next(iter(self._query_cache)))
            self._query_cache[query] = vector
        return vector

    def _candidates(self, qvec: np.ndarray, bm25_all: np.ndarray) -> np.ndarray:
        n = len(self.index)
        if n <= self.pool_size:
            return np.arange(n)
        dense_rows = [row for row, _ in self.index.search(qvec, self.pool_size)]
        bm25_rows = np.argsort(-bm25_all, kind="stable")[: self.pool_size]
        return np.unique(np.concatenate([np.asarray(dense_rows, dtype=np.int64), bm25_rows]))

    def similarity(self, text: str, passages: list[Passage]) -> list[float]:
        """Cosine of ``text`` (embedded as a query) to each passage, reusing the index's passage
        vectors (passages not in the index are embedded now)."""
        q = self._query_vector(text)
        if self._rows is None:
            self._rows = {p.id: i for i, p in enumerate(self.index.passages)}
        if all(p.id in self._rows for p in passages):
            vectors = self.index.vectors[[self._rows[p.id] for p in passages]]
        else:
            vectors = self.embedder.embed_passages([p.text for p in passages])
        return [float(x) for x in np.asarray(vectors @ q)]

    def evidence(self, query: str, passages: list[Passage], n: int) -> list[Evidence]:
        """The ``n`` sentences of ``passages`` that best answer ``query`` (:mod:`assistant.evidence`),
        scored with the sentence vectors stored at index time."""
        return select_evidence(query, self._query_vector(query), self.sentence_pool(passages), n,
                               dense_weight=self.settings.evidence_dense_weight, idf=self.bm25.idf)

    def sentence_pool(self, passages: list[Passage]) -> Pool:
        """The sentences of ``passages`` with their vectors: the index's, or (for a passage the
        index does not hold, or an index built before sentence vectors) embedded now and kept."""
        if self._rows is None:
            self._rows = {p.id: i for i, p in enumerate(self.index.passages)}
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
                sentences, vecs = self._embedded_sentences(p)
            texts += sentences
            owners += [p] * len(sentences)
            positions += list(range(len(sentences)))
            vectors.append(vecs)
        matrix = np.concatenate(vectors) if vectors else np.zeros((0, self.embedder.dim), dtype=np.float32)
        return Pool(texts, owners, positions, matrix)

    def _embedded_sentences(self, passage: Passage) -> tuple[list[str], np.ndarray]:
        with self._cache_lock:
            cached = self._sentence_cache.get(passage.hash)
        if cached is None:
            sentences = passage_sentences(passage)
            vecs = (self.embedder.embed_passages([sentence_embed_text(passage, s) for s in sentences]) if sentences
                    else np.zeros((0, self.embedder.dim), dtype=np.float32))
            cached = (sentences, np.asarray(vecs, dtype=np.float32))
            with self._cache_lock:
                self._sentence_cache[passage.hash] = cached
        return cached

    def sentence_similarity(self, text: str, evidence: Sequence[Evidence]) -> tuple[list[float], float]:
        """Cosine of ``text`` (embedded as a query) to each evidence sentence, and its median cosine
        to all the index's sentences: how close an unrelated sentence of these reports usually is."""
        q = self._query_vector(text)
        vectors = np.stack([e.vector if e.vector is not None else self._unit_vector(e) for e in evidence])
        stored = self.index.sentences
        every = stored.vectors if stored is not None and len(stored) else self.index.vectors
        return [float(x) for x in vectors @ q], float(np.median(every @ q))

    def clause_cosines(self, question: str, clauses: list[str]) -> list[float]:
        """Cosine of ``question`` to each clause (embedded now: clauses are not stored)."""
        return [float(x) for x in self.embedder.embed_passages(clauses) @ self._query_vector(question)]

    def _unit_vector(self, e: Evidence) -> np.ndarray:
        """The vector of an evidence unit without a stored one (a whole passage, a test's sentence)."""
        if self._rows is None:
            self._rows = {p.id: i for i, p in enumerate(self.index.passages)}
        row = self._rows.get(e.passage.id)
        if row is not None and e.text == e.passage.text:
            return np.asarray(self.index.vectors[row])
        return np.asarray(self.embedder.embed_passages([sentence_embed_text(e.passage, e.text)])[0])

    def noise(self, query: str, exclude: list[Hit], n: int, seed: int) -> list[Passage]:
        """``n`` random passages not among ``exclude`` (noise-robustness evals). Seeded per query:
        reruns give the same noise, different questions different noise."""
        if n <= 0:
            return []
        taken = {h.passage.id for h in exclude}
        pool = [p for p in self.index.passages if p.id not in taken]
        return random.Random(f"{seed}:{query}").sample(pool, min(n, len(pool)))

    def as_langchain_retriever(self, k: int | None = None) -> LangChainRetriever:
        """This retriever behind LangChain's ``BaseRetriever`` interface (``invoke(query)``)."""
        # langchain_core takes ~1 s to import: only callers of the adapter pay for it
        from assistant.langchain_retriever import LangChainRetriever

        return LangChainRetriever(retriever=self, k=check_k(k, self.settings.k, self.settings.max_k))

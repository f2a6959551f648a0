"""Hybrid retrieval: dense (FAISS cosine) plus BM25 over jieba tokens, fused by
:mod:`assistant.core.fusion` (``settings.fusion``; one weight serves both languages: the Latin
tokens an English question shares with a Chinese report, ``5G``, ``AI`` and figures, make BM25
help it too). The dense score fused is a passage's best sentence's cosine less a per-language
offset (:func:`_dense_signal`); ``fusion="dense"`` and ``scores['dense']`` stay the passage's own
cosine.

Every :class:`~assistant.core.types.Hit` carries ``scores['dense']``, the query's cosine to that
passage, whatever the fusion: the answer pipeline refuses when the best one is below
``settings.min_relevance``.

With a store that searches text itself (Milvus, ``assistant/storage/stores/milvus.py``), BM25 runs in
the store (its BM25 over jieba tokens) instead of here. How ``rrf`` and ``weighted`` fuse there is
``settings.milvus_fusion``: ``here`` (the default) takes the store's dense and BM25 candidates and
fuses them here, by the same method and best-sentence dense signal as above; ``rrf`` and
``weighted`` are the store's own hybrid search with that ranker (its dense list ranked by passage
vectors). The hits have the same shape, their ``dense`` cosine computed from the build's vectors.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from functools import cached_property
from typing import Any

import numpy as np
from cachetools import LRUCache

from assistant.core.errors import IndexMismatchError, InvalidInputError
from assistant.core.fusion import FUSIONS, fuse, ranks
from assistant.core.settings import Settings
from assistant.core.types import Hit, Passage
from assistant.embed import Embedder
from assistant.storage.index import Index, check_compatible
from assistant.storage.stores import RowScore, TextStore, bm25_text, rows_of_documents
from assistant.storage.stores.bm25 import BM25Index
from assistant.text.language import script_language
from assistant.text.words import exact_terms, normalize

#: query vectors kept, and whole results per (query, k, fusion, documents); least recently used out
QUERY_CACHE_SIZE = 256
RESULT_CACHE_SIZE = 1024


class Retriever:
    """Finds the passages of an :class:`~assistant.storage.index.Index` that answer a question.

    Inputs are trusted: :class:`~assistant.answer.pipeline.Assistant` validates a question and
    ``k`` once, at the edge of the pipeline. ``cache=False`` turns the query and result caches
    off (evals and latency benchmarks time every search).
    """

    #: candidates taken from each list before fusion (the whole index when it is smaller)
    pool_size = 100

    def __init__(self, index: Index, embedder: Embedder, settings: Settings, *, cache: bool = True) -> None:
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
        self.cache = cache
        # a store that searches text does BM25 itself: no second copy of the text index here
        self.text_store: TextStore | None = index.store if isinstance(index.store, TextStore) else None
        self.bm25: BM25Index | None = None
        if self.text_store is None:
            # the FAISS store keeps the build's BM25 index; builds made before that get one now
            saved = getattr(index.store, "bm25", None)
            self.bm25 = saved if isinstance(saved, BM25Index) else BM25Index.build(index.passages)
        self._vectors: LRUCache[str, np.ndarray] = LRUCache(QUERY_CACHE_SIZE)
        self._results: LRUCache[tuple[Any, ...], list[Hit]] = LRUCache(RESULT_CACHE_SIZE)
        self._lock = threading.Lock()

    @property
    def passages(self) -> list[Passage]:
        return self.index.passages

    def search(
        self, query: str, k: int, fusion: str | None = None, documents: Collection[str] | None = None
    ) -> list[Hit]:
        """The ``k`` best passages for ``query``, best first.

        ``fusion`` overrides ``settings.fusion`` for this call (benchmarks compare methods);
        ``documents`` keeps only passages of those documents (``Passage.source``).
        ``Hit.scores`` holds ``dense`` (cosine), ``bm25`` (raw score), their ranks in each
        list and ``fused``. An unknown ``fusion`` is an InvalidInputError.
        """
        method = fusion or self.settings.fusion
        if method not in FUSIONS:
            raise InvalidInputError(f"unknown fusion {method!r}; choose one of: {', '.join(FUSIONS)}")
        # many users ask the same questions (the chat's examples, an FAQ): a repeat costs a look-up
        key = (query, k, method, None if documents is None else frozenset(documents))
        with self._lock:
            cached = self._results.get(key) if self.cache else None
        if cached is not None:
            return list(cached)
        hits = self._search(query, k, method, documents)
        if self.cache:
            with self._lock:
                self._results[key] = hits
        return list(hits)

    def query_vector(self, query: str) -> np.ndarray:
        """``query`` embedded as a query (kept: a chat re-asks, the evidence step embeds it again)."""
        with self._lock:
            cached = self._vectors.get(query) if self.cache else None
        if cached is not None:
            return cached
        vector = np.asarray(self.embedder.embed_queries([query])[0])
        if self.cache:
            with self._lock:
                self._vectors[query] = vector
        return vector

    def _search(self, query: str, k: int, method: str, documents: Collection[str] | None) -> list[Hit]:
        qvec = self.query_vector(query)
        if self.text_store is not None:
            return self._search_store(self.text_store, qvec, query, k, method, documents)
        assert self.bm25 is not None
        bm25_all = self.bm25.scores(query)
        allowed = None if documents is None else rows_of_documents(self.index.passages, documents)
        candidates = _candidates(self.index, self.pool_size, qvec, bm25_all, allowed, documents)
        if not len(candidates):
            return []
        return self._fused_hits(qvec, query, k, method, candidates, bm25_all[candidates])

    def _fused_hits(self, qvec: np.ndarray, query: str, k: int, method: str, candidates: np.ndarray,
                    bm25: np.ndarray) -> list[Hit]:
        """The ``k`` best of ``candidates`` (rows) by ``method``, from their cosines and BM25 scores."""
        dense = np.asarray(self.index.vectors[candidates] @ qvec)
        # "dense" alone stays the store's plain vector search (the baseline, the same in every store)
        signal = dense if method == "dense" else _dense_signal(self.index, self._languages, qvec, candidates, dense)
        fused = fuse(signal, bm25, method, dense_weight=self.settings.fusion_dense_weight, rrf_k=self.settings.rrf_k)
        dense_rank, bm25_rank = ranks(signal), ranks(bm25)
        exact = _exact_share(self._lowered, query, candidates)
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

    @cached_property
    def _languages(self) -> np.ndarray:
        """The language each passage of the index is written in, by script (the dense offset)."""
        return np.array([script_language(p.text) for p in self.index.passages])

    @cached_property
    def _lowered(self) -> list[str]:
        """Each passage's title, section and text, normalised and lower-cased (exact terms)."""
        return [normalize(bm25_text(p)).lower() for p in self.index.passages]

    def _search_store(
        self, store: TextStore, qvec: np.ndarray, query: str, k: int, method: str, documents: Collection[str] | None
    ) -> list[Hit]:
        """Dense, BM25 or fused search done by the store; the cosines come from the build's vectors."""
        found: list[RowScore]
        if method == "dense":
            found = store.search(qvec, k, documents)
        elif method == "bm25":
            found = store.search_text(query, k, documents)
        elif self.settings.milvus_fusion == "here":
            return self._search_store_fused(store, qvec, query, k, method, documents)
        else:
            found = store.search_hybrid(qvec, query, k, self.settings.milvus_fusion, documents)
        rows = np.asarray([row for row, _ in found], dtype=np.int64)
        dense = np.asarray(self.index.vectors[rows] @ qvec, dtype=np.float64) if len(rows) else np.zeros(0)
        hits = []
        for rank, ((row, score), cosine) in enumerate(zip(found, dense, strict=True), start=1):
            scores = {"dense": float(cosine), "fused": float(score)}
            if method == "bm25":
                scores["bm25"] = float(score)
            hits.append(Hit(passage=self.index.passages[row], score=float(score), rank=rank, scores=scores))
        # exact terms first here too, within what the store returned (it ranks by its own scores)
        exact = _exact_share(self._lowered, query, rows)
        ordered = [hits[i] for i in np.lexsort((np.arange(len(hits)), -exact))] if len(hits) else hits
        return [Hit(passage=h.passage, score=h.score, rank=r, scores=h.scores) for r, h in enumerate(ordered, start=1)]

    def _search_store_fused(self, store: TextStore, qvec: np.ndarray, query: str, k: int, method: str,
                            documents: Collection[str] | None) -> list[Hit]:
        """The store's dense and BM25 candidates, fused here by ``method`` as the FAISS path fuses them.

        Milvus's own rankers rank its dense list by passage vectors; here a candidate's dense score is
        its best sentence's (:func:`_dense_signal`), as without Milvus, so the ranking does not hang on
        how closely a passage vector stands for its passage (a vector made from its sentences' lies
        closer to its neighbours': Milvus's RRF then lost gold passages the FAISS path kept). A BM25
        score is the magnitude of the store's distance (Milvus Lite gives it negated); a candidate
        outside the store's BM25 list scores 0.
        """
        pool = max(k, self.pool_size)
        dense_found = store.search(qvec, pool, documents)
        text_found = store.search_text(query, pool, documents)
        rows = [row for row, _ in dense_found] + [row for row, _ in text_found]
        candidates = np.unique(np.asarray(rows, dtype=np.int64))
        if not len(candidates):
            return []
        text_score = {row: abs(score) for row, score in text_found}
        bm25 = np.asarray([text_score.get(row, 0.0) for row in candidates.tolist()])
        return self._fused_hits(qvec, query, k, method, candidates, bm25)


def _candidates(index: Index, pool_size: int, qvec: np.ndarray, bm25_all: np.ndarray, allowed: np.ndarray | None,
                documents: Collection[str] | None) -> np.ndarray:
    """The rows fusion scores: every passage of a small index (or of the allowed documents), else
    the union of the dense and the BM25 top ``pool_size``."""
    n = len(index)
    if allowed is None and n <= pool_size:
        return np.arange(n)
    if allowed is not None and len(allowed) <= pool_size:
        return allowed
    dense_rows = [row for row, _ in index.search(qvec, pool_size, documents)]
    if allowed is None:
        bm25_rows = _top(bm25_all, pool_size)
    else:
        bm25_rows = allowed[_top(bm25_all[allowed], pool_size)]
    return np.unique(np.concatenate([np.asarray(dense_rows, dtype=np.int64), bm25_rows]))


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` highest positive scores (any order; fewer when fewer are positive).

    BM25 gives most passages of a large corpus 0 (no query term): those are no BM25 candidates
    (the dense list brings its own), and partitioning a vector of mostly equal zeros was the
    slowest step of a query at 1e5 passages (~4 ms), so only the positive scores are partitioned.
    """
    positive = np.flatnonzero(scores > 0)
    if len(positive) <= n:
        return positive
    return positive[np.argpartition(scores[positive], len(positive) - n)[len(positive) - n :]]


def _dense_signal(index: Index, languages: np.ndarray, qvec: np.ndarray, candidates: np.ndarray,
                  cosine: np.ndarray) -> np.ndarray:
    """The dense score fused per candidate: its best sentence's cosine (a passage's own where
    the index holds no sentences), less the median over the candidates in the same language.

    A passage states the answer in one sentence, which a whole-passage vector dilutes; and an
    English question scores every English passage higher than any Chinese one (a per-language
    offset, not relevance), so over a mixed corpus it found the English document's passages
    first whatever it asked (docs/quality.md has the recall before and after)."""
    best = cosine.astype(np.float64)
    sentences = index.sentences
    if sentences is not None and len(sentences):
        # only the candidates' sentences (a few hundred), not every sentence of the index: at
        # 1e5 passages scoring all ~350k sentences per query cost more than the whole search
        starts = sentences.starts[candidates]
        counts = sentences.starts[candidates + 1] - starts
        has = counts > 0
        if has.any():
            first, sizes = starts[has], counts[has]
            ends = np.cumsum(sizes)
            # the sentence numbers of every candidate with sentences, candidate after candidate
            rows = np.repeat(first - (ends - sizes), sizes) + np.arange(int(ends[-1]))
            best[has] = np.maximum.reduceat(sentences.vectors[rows] @ qvec, ends - sizes)
    languages = languages[candidates]
    for language in set(languages.tolist()):
        same = languages == language
        best[same] -= float(np.median(best[same]))
    return best


def _exact_share(lowered: list[str], query: str, candidates: np.ndarray) -> np.ndarray:
    """Per candidate, the share of the query's exact terms its section and text contain."""
    terms = exact_terms(query)
    if not terms:
        return np.zeros(len(candidates))
    return np.array([sum(t in lowered[row] for t in terms) / len(terms) for row in candidates])

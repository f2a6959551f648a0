"""Hybrid retrieval: dense (FAISS cosine) plus BM25 over jieba tokens, fused by
:mod:`assistant.fusion` (``settings.fusion``; weighted with dense weight 0.7 is best over both
eval corpora: English questions were expected to need dense alone, but the Latin tokens they share
with the report (``5G``, ``AI``, figures) make BM25 help them slightly too, so one weight serves
both languages). The dense score fused is a passage's best sentence's cosine less a per-language
offset (:meth:`Retriever._dense_signal`); ``fusion="dense"`` and ``scores['dense']`` stay the
passage's own cosine.

Every :class:`~assistant.types.Hit` carries ``scores['dense']``, the query's cosine to that
passage, whatever the fusion: the answer pipeline refuses when the best one is below
``settings.min_relevance``.

With a store that searches text itself (Milvus, ``assistant/store/milvus.py``), BM25 and the
fusion run in the store (its BM25 over jieba tokens; ``rrf`` and ``weighted`` both mean its
hybrid search with the ranker ``settings.milvus_fusion``) instead of here; the hits have the
same shape, their ``dense`` cosine computed from the build's vectors.
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from assistant.embed import Embedder
from assistant.errors import IndexMismatchError, InvalidInputError
from assistant.evidence import Evidence, Pool, passage_idf, select_evidence
from assistant.fusion import FUSIONS, fuse, ranks
from assistant.index import Index, check_compatible
from assistant.inputs import check_k, check_question
from assistant.sentence_index import passage_sentences, sentence_embed_text
from assistant.settings import Settings
from assistant.store import RowScore, TextStore, bm25_text, rows_of_documents
from assistant.store.bm25 import BM25Index
from assistant.text.language import script_language
from assistant.text.words import exact_terms, normalize, tokenize
from assistant.types import Hit, Passage

if TYPE_CHECKING:
    from assistant.langchain_retriever import LangChainRetriever

# ---- retriever --------------------------------------------------------------------------------


class Retriever:
    """Finds the passages of an :class:`~assistant.index.Index` that answer a question."""

    #: candidates taken from each list before fusion (the whole index when it is smaller)
    pool_size = 100
    #: query vectors kept, and whole results per (query, k, fusion), least recently used first
    #: out; 0 turns the caches off (latency benchmarks)
    query_cache_size = 256
    result_cache_size = 1024

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
        # a store that searches text does BM25 itself: no second copy of the text index here
        self.text_store: TextStore | None = index.store if isinstance(index.store, TextStore) else None
        self.bm25: BM25Index | None = None
        if self.text_store is None:
            # the FAISS store keeps the build's BM25 index; builds made before that get one now
            saved = getattr(index.store, "bm25", None)
            self.bm25 = saved if isinstance(saved, BM25Index) else BM25Index.build(index.passages)
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._results: OrderedDict[tuple[str, int, str, frozenset[str] | None], list[Hit]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._rows: dict[str, int] | None = None  # passage id -> row of the index's vectors
        self._lowered: list[str] | None = None  # normalised, lower-cased passage texts (exact terms)
        # sentences and vectors of passages the index does not hold (embedded once, on first use)
        self._sentence_cache: dict[str, tuple[list[str], np.ndarray]] = {}
        self._idf: Callable[[str], float] | None = None
        self._languages: np.ndarray | None = None  # script language of each passage (the dense offset)

    @property
    def passages(self) -> list[Passage]:
        return self.index.passages

    def search(
        self, query: str, k: int | None = None, fusion: str | None = None, documents: Collection[str] | None = None
    ) -> list[Hit]:
        """The ``k`` best passages for ``query`` (default ``settings.k``), best first.

        ``fusion`` overrides ``settings.fusion`` for this call (benchmarks compare methods);
        ``documents`` keeps only passages of those documents (``Passage.source``).
        ``Hit.scores`` holds ``dense`` (cosine), ``bm25`` (raw score), their ranks in each
        list and ``fused``. Raises InvalidInputError for an empty query or a bad ``k``.
        """
        query = check_question(query, self.settings.max_question_chars)
        k = check_k(k, self.settings.k, self.settings.max_k)
        method = fusion or self.settings.fusion
        if method not in FUSIONS:
            raise InvalidInputError(f"unknown fusion {method!r}; choose one of: {', '.join(FUSIONS)}")
        # many users ask the same questions (the chat's examples, an FAQ): a repeat costs a look-up
        key = (query, k, method, None if documents is None else frozenset(documents))
        cached = _get(self._results, key, self._cache_lock)
        if cached is not None:
            return list(cached)
        hits = self._search(query, k, method, documents)
        _put(self._results, key, hits, self.result_cache_size, self._cache_lock)
        return list(hits)

    def _search(self, query: str, k: int, method: str, documents: Collection[str] | None) -> list[Hit]:
        qvec = self._query_vector(query)
        if self.text_store is not None:
            return self._search_store(self.text_store, qvec, query, k, method, documents)
        assert self.bm25 is not None
        bm25_all = self.bm25.scores(query)
        allowed = None if documents is None else rows_of_documents(self.index.passages, documents)
        candidates = self._candidates(qvec, bm25_all, allowed, documents)
        if not len(candidates):
            return []
        dense = self.index.vectors[candidates] @ qvec
        bm25 = bm25_all[candidates]
        # "dense" alone stays the store's plain vector search (the baseline, the same in every store)
        signal = dense if method == "dense" else self._dense_signal(qvec, candidates, dense)
        fused = fuse(signal, bm25, method, dense_weight=self.settings.fusion_dense_weight, rrf_k=self.settings.rrf_k)
        dense_rank, bm25_rank = ranks(signal), ranks(bm25)
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

    def _dense_signal(self, qvec: np.ndarray, candidates: np.ndarray, cosine: np.ndarray) -> np.ndarray:
        """The dense score fused per candidate: its best sentence's cosine (a passage's own where
        the index holds no sentences), less the median over the candidates in the same language.

        A passage states the answer in one sentence, which a whole-passage vector dilutes; and an
        English question scores every English passage higher than any Chinese one (a per-language
        offset, not relevance), so over a mixed corpus it found the English document's passages
        first whatever it asked. Measured on evals/chengzhou (one English document of ten):
        recall@5 .896 -> .979 (English questions .842 -> .947); evals/questions.jsonl stays 1.00,
        recall@1 .885 -> .943."""
        best = cosine.astype(np.float64)
        sentences = self.index.sentences
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
        languages = self._passage_languages()[candidates]
        for language in set(languages.tolist()):
            same = languages == language
            best[same] -= float(np.median(best[same]))
        return best

    def _passage_languages(self) -> np.ndarray:
        """The language each passage of the index is written in, by script (computed once)."""
        if self._languages is None or len(self._languages) != len(self.index.passages):
            self._languages = np.array([script_language(p.text) for p in self.index.passages])
        return self._languages

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
        cached = _get(self._query_cache, query, self._cache_lock)
        if cached is not None:
            return cached
        vector = np.asarray(self.embedder.embed_queries([query])[0])
        _put(self._query_cache, query, vector, self.query_cache_size, self._cache_lock)
        return vector

    def _search_store(
        self, store: TextStore, qvec: np.ndarray, query: str, k: int, method: str, documents: Collection[str] | None
    ) -> list[Hit]:
        """Dense, BM25 or fused search done by the store; the cosines come from the build's vectors."""
        found: list[RowScore]
        if method == "dense":
            found = store.search(qvec, k, documents)
        elif method == "bm25":
            found = store.search_text(query, k, documents)
        else:
            # how Milvus fuses is its own setting: its rankers measured differently from ours
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
        exact = self._exact_share(query, rows)
        ordered = [hits[i] for i in np.lexsort((np.arange(len(hits)), -exact))] if len(hits) else hits
        return [Hit(passage=h.passage, score=h.score, rank=r, scores=h.scores) for r, h in enumerate(ordered, start=1)]

    def _candidates(
        self, qvec: np.ndarray, bm25_all: np.ndarray, allowed: np.ndarray | None, documents: Collection[str] | None
    ) -> np.ndarray:
        n = len(self.index)
        if allowed is None and n <= self.pool_size:
            return np.arange(n)
        if allowed is not None and len(allowed) <= self.pool_size:
            return allowed
        dense_rows = [row for row, _ in self.index.search(qvec, self.pool_size, documents)]
        if allowed is None:
            bm25_rows = _top(bm25_all, self.pool_size)
        else:
            bm25_rows = allowed[_top(bm25_all[allowed], self.pool_size)]
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
                               dense_weight=self.settings.evidence_dense_weight, idf=self.idf())

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

    def idf(self) -> Callable[[str], float]:
        """BM25 IDF of a term over the index's passages (evidence sentences are scored with the
        corpus's statistics): from the saved BM25 index, else (a store that does BM25 itself)
        counted once from the passages."""
        if self._idf is None:
            if self.bm25 is not None:
                self._idf = self.bm25.idf()
            else:
                self._idf = passage_idf([tokenize(bm25_text(p)) for p in self.index.passages])
        return self._idf

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


K = TypeVar("K")
V = TypeVar("V")


def _get(cache: OrderedDict[K, V], key: K, lock: threading.Lock) -> V | None:
    with lock:
        value = cache.get(key)
        if value is not None:
            cache.move_to_end(key)
        return value


def _put(cache: OrderedDict[K, V], key: K, value: V, size: int, lock: threading.Lock) -> None:
    if size <= 0:
        return
    with lock:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > size:
            cache.popitem(last=False)

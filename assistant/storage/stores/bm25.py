"""BM25 (bm25s, Lucene variant) over jieba tokens: the lexical half of the FAISS store.

Built once with the index and saved in the build folder (``bm25/``): tokenising 1e5 passages
with jieba takes minutes on 2 cores, which a process should not pay at every start.
(The Milvus store has BM25 of its own, a function over its text field.)
"""

from __future__ import annotations

import math
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from assistant.core.errors import IndexCorruptError
from assistant.core.types import Passage
from assistant.storage.stores import bm25_text
from assistant.text.words import tokenize

FOLDER = "bm25"
#: from this many passages tokenising is spread over the CPUs (jieba is single-threaded Python)
PARALLEL_FROM = 50_000
#: the token of every passage of a corpus without words (see :meth:`BM25Index.build`)
NO_WORDS = "\x00"


class BM25Index:
    """BM25 scores of every passage of a build for a query."""

    def __init__(self, model: object, size: int) -> None:
        self._bm25: object = model  # bm25s.BM25 (untyped)
        # term -> column of the score matrix; query tokens outside the vocabulary are dropped
        self._vocab: dict[str, int] = dict(getattr(model, "vocab_dict", None) or {})
        # bm25s keeps every passage's score per term as a CSC matrix (one column per term): a
        # query's scores are the sum of its terms' columns, read here straight from the arrays.
        # bm25s's get_scores does the same but also converts tokens and checks ids per call
        # (and is not thread-safe with numba); BM25L/BM25+ add a non-occurrence score, which
        # only bm25s's own path knows, so those variants go through it.
        matrix = getattr(model, "scores", None)
        plain = isinstance(matrix, dict) and getattr(model, "nonoccurrence_array", None) is None
        self._data = np.asarray(matrix["data"]) if plain else None  # type: ignore[index]
        self._indices = np.asarray(matrix["indices"]) if plain else None  # type: ignore[index]
        self._indptr = np.asarray(matrix["indptr"]) if plain else None  # type: ignore[index]
        self._lock = threading.Lock()
        self.size = size

    @classmethod
    def build(cls, passages: list[Passage]) -> BM25Index:
        """Tokenise and index ``passages`` (title, section path and text: :func:`~.bm25_text`)."""
        import bm25s

        texts = [bm25_text(p) for p in passages]
        tokens = _tokenize_all(texts)
        if tokens and not any(tokens):
            # bm25s divides by the mean passage length: passages without a single word (symbols only,
            # an upload's) each get a token that no query tokenises to, and every query scores zero
            tokens = [[NO_WORDS] for _ in tokens]
        model = bm25s.BM25()
        model.index(tokens, show_progress=False)
        return cls(model, len(passages))

    def save(self, folder: Path) -> None:
        """Write the index under ``folder/bm25/``."""
        self._bm25.save(str(folder / FOLDER), show_progress=False)  # type: ignore[attr-defined]

    @classmethod
    def load(cls, folder: Path, size: int) -> BM25Index:
        """Read the index saved by :meth:`save` for a build of ``size`` passages."""
        import bm25s

        try:
            model = bm25s.BM25.load(str(folder / FOLDER), show_progress=False)
        except (OSError, ValueError, KeyError) as exc:
            raise IndexCorruptError(f"unreadable BM25 index in {folder / FOLDER}: {str(exc)[:200]}") from exc
        return cls(model, size)

    def idf(self) -> Callable[[str], float]:
        """BM25 IDF of a term over the indexed passages (document frequencies read from the index;
        a term the corpus lacks gets the rarest IDF), as :func:`assistant.answer.evidence.passage_idf`."""
        model = self._bm25
        indptr = np.asarray(model.scores["indptr"])  # type: ignore[attr-defined]
        vocab: dict[str, int] = dict(getattr(model, "vocab_dict", None) or {})
        n = self.size

        def idf(term: str) -> float:
            token = vocab.get(term)
            d = int(indptr[token + 1] - indptr[token]) if token is not None and token + 1 < len(indptr) else 0
            d = max(d, 1)  # a term the corpus lacks counts as the rarest one
            return math.log(1 + (n - d + 0.5) / (d + 0.5))

        return idf

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for ``query`` (zeros when no query token is in the corpus)."""
        tokens = tokenize(query)
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        if not self._vocab:  # a bm25s without vocab_dict: its own token lookup
            with self._lock:
                return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)  # type: ignore[attr-defined]
        ids = [self._vocab[t] for t in tokens if t in self._vocab]
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        if self._data is None or self._indices is None or self._indptr is None:
            with self._lock:
                return np.asarray(self._bm25.get_scores(ids), dtype=np.float32)  # type: ignore[attr-defined]
        indptr = self._indptr
        # the postings of the query's terms (a repeated term counts twice, as in bm25s), summed per
        # passage in C: no Python loop over passages, one allocation of the size of the corpus
        rows = np.concatenate([self._indices[indptr[t] : indptr[t + 1]] for t in ids])
        values = np.concatenate([self._data[indptr[t] : indptr[t + 1]] for t in ids])
        return np.bincount(rows, weights=values, minlength=self.size).astype(np.float32)


def _tokenize_chunk(texts: list[str]) -> list[list[str]]:
    return [tokenize(t) for t in texts]


def _tokenize_all(texts: list[str]) -> list[list[str]]:
    """BM25 tokens of every text; on large corpora in one process per CPU (measured ~2x on 2 cores)."""
    workers = os.cpu_count() or 1
    if len(texts) < PARALLEL_FROM or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return _tokenize_chunk(texts)
    size = -(-len(texts) // (workers * 4))
    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    # fork: the children inherit jieba's loaded dictionary instead of loading it again
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return [tokens for part in pool.map(_tokenize_chunk, chunks) for tokens in part]

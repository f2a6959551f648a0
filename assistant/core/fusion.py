"""Fusing dense (cosine) and BM25 scores of the same candidates into one ranking.

Methods (``settings.fusion``; :data:`FUSIONS` is the one list of their names):

- ``dense``: cosine only;
- ``bm25``: BM25 only;
- ``rrf``: reciprocal-rank fusion, ``1/(rrf_k + rank)`` summed over both lists;
- ``weighted``: min-max normalised scores over the candidates, mixed as
  ``w * dense + (1 - w) * bm25``.

``benchmarks/bench_retrieval.py`` measures them (weighted with w = 0.8 is the default).
"""

from __future__ import annotations

import numpy as np

from assistant.core.errors import InvalidInputError

#: the fusion methods ``settings.fusion`` and ``Retriever.search(fusion=...)`` accept
FUSIONS = ("dense", "bm25", "rrf", "weighted")


def minmax(values: np.ndarray) -> np.ndarray:
    """Scale scores to 0..1 over the candidates, so cosines and BM25 scores can be mixed."""
    lo, hi = float(values.min()), float(values.max())
    if hi - lo <= 1e-12:
        # all equal (e.g. BM25 found nothing): no signal, so no contribution
        return np.zeros_like(values)
    return (values - lo) / (hi - lo)


def ranks(values: np.ndarray) -> np.ndarray:
    """1-based rank of each value, highest first."""
    order = np.argsort(-values, kind="stable")
    out = np.empty(len(values), dtype=np.int64)
    out[order] = np.arange(1, len(values) + 1)
    return out


def fuse(dense: np.ndarray, bm25: np.ndarray, method: str, *, dense_weight: float, rrf_k: int) -> np.ndarray:
    """Fused score per candidate (higher is better) from its cosine and BM25 score."""
    if method == "dense":
        return dense.astype(np.float64)
    if method == "bm25":
        # BM25 alone, really alone (a diagnostic and a benchmark baseline): passages it scores
        # equally, e.g. all zero for an English question, stay in corpus order
        return bm25.astype(np.float64)
    if method == "rrf":
        rrf = 1.0 / (rrf_k + ranks(dense))
        # a passage BM25 gave nothing gets no BM25 vote
        rrf = rrf + np.where(bm25 > 0, 1.0 / (rrf_k + ranks(bm25)), 0.0)
        return rrf + 1e-9 * dense
    if method == "weighted":
        mixed = dense_weight * minmax(dense.astype(np.float64)) + (1.0 - dense_weight) * minmax(bm25.astype(np.float64))
        return mixed + 1e-9 * dense
    raise InvalidInputError(f"unknown fusion {method!r}; choose one of: {', '.join(FUSIONS)}")

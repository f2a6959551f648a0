"""Metric functions: pure, small, and each testable on constructed cases.

Retrieval metrics take the ranked passage texts and the gold phrases; answer metrics take the
answer text and the key facts. Everything is matched in :func:`~.dataset.squash` form.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from assistant.evaluation.dataset import squash
from assistant.text.markers import strip_markers

# full-width forms an answer may use where the accepted variant uses ASCII (and vice versa)
_FULLWIDTH = str.maketrans({"％": "%", "，": ",", "．": ".", "（": "(", "）": ")"})


def _norm(text: str) -> str:
    return squash(text.translate(_FULLWIDTH))


def gold_rank(hit_texts: Sequence[str], phrase: str) -> int | None:
    """1-based rank of the first hit whose text contains ``phrase``; ``None`` when none does."""
    needle = squash(phrase)
    for rank, text in enumerate(hit_texts, start=1):
        if needle in squash(text):
            return rank
    return None


def recall_at_k(hit_texts: Sequence[str], gold: Sequence[str], k: int) -> float:
    """Share of the gold phrases whose passage is among the first ``k`` hits."""
    if not gold:
        raise ValueError("recall is undefined without gold phrases")
    found = sum(1 for phrase in gold if (r := gold_rank(hit_texts, phrase)) is not None and r <= k)
    return found / len(gold)


def reciprocal_rank(hit_texts: Sequence[str], gold: Sequence[str]) -> float:
    """1 / rank of the best-ranked gold passage (0 when no gold passage was retrieved)."""
    ranks = [r for phrase in gold if (r := gold_rank(hit_texts, phrase)) is not None]
    return 1.0 / min(ranks) if ranks else 0.0


def facts_found(answer: str, key_facts: Sequence[Sequence[str]]) -> list[bool]:
    """For each key fact, whether the answer states one of its accepted variants."""
    text = _norm(strip_markers(answer))
    return [any(_norm(v) in text for v in fact) for fact in key_facts]


def key_fact_scores(answer: str, key_facts: Sequence[Sequence[str]]) -> tuple[bool, float]:
    """(all facts stated, share of facts stated) for one answer."""
    found = facts_found(answer, key_facts)
    if not found:
        raise ValueError("key-fact accuracy is undefined without key facts")
    return all(found), sum(found) / len(found)


def mean(values: Iterable[float]) -> float | None:
    """Arithmetic mean; ``None`` for no values (a metric that does not apply, not a zero)."""
    vals = list(values)
    return sum(vals) / len(vals) if vals else None


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) with linear interpolation, as numpy's default."""
    vals = sorted(values)
    if not vals:
        return None
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    pos = (len(vals) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return vals[lo] + (vals[hi] - vals[lo]) * (pos - lo)

"""Refusing: what the assistant says when the reports do not answer, and the retrieval floor
checked before generating (nothing close enough to answer from)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from assistant.core.types import Hit
from assistant.text.language import Language

#: what the assistant says when the reports do not answer the question
REFUSALS: dict[str, str] = {
    "zh": "报告中没有提到这一点。",
    "en": "The reports do not say.",
}
#: said for one part of a two-part question that the reports do not answer
PART_REFUSALS: dict[str, str] = {
    "zh": "关于“{part}”，报告中没有提到。",
    "en": "On “{part}”, the reports do not say.",
}


@dataclass(frozen=True)
class Verdict:
    """Whether a checked answer answers the question, and the text to show."""

    refused: bool
    text: str


def top_cosine(hits: Iterable[Hit]) -> float:
    """What the retrieval floor is compared with: the best dense cosine among the hits (a hit
    without a dense score, from BM25 alone, counts with its fused score)."""
    return max((h.scores.get("dense", h.score) for h in hits), default=float("-inf"))


def too_weak(top_cosine: float, language: Language, *, floor: float, floor_crosslingual: float) -> bool:
    """Whether retrieval found nothing close enough to answer from (checked before generating):
    the best passage's cosine is under the floor for the question's language (cross-lingual
    cosines to Chinese passages run lower, hence a second floor for English questions)."""
    return top_cosine < (floor if language == "zh" else floor_crosslingual)

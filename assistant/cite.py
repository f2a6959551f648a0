"""Citation checking and repair after generation: citations are checked, never trusted.

For every sentence of the draft:

* the figures (numbers, dates, percentages) and named items (《…》 titles, “…” terms, Latin
  terms such as GDP, province and city names) it states
  must occur in the cited passage (after whitespace and full/half-width normalisation), and
* the rest must overlap the passage: character bigrams for Chinese (a bare figure such as "77%"
  has no rest: the figure alone must occur); an English sentence over a
  Chinese passage is checked by the Chinese it quotes, else by the embedder's cross-lingual
  cosine when one is given (without one, only its figures and named items can be checked and it
  must state at least one).

A marker that fails is moved to the retrieved passage that best supports the sentence;
out-of-range markers are treated the same way; a sentence without markers gets one when a
passage supports it. A sentence that no passage supports is DROPPED from the answer and recorded
in ``dropped``: a visibly-marked unsupported claim would still be read as an answer, and the
product's promise is that everything shown comes from the report. Markers are then renumbered
1..n in order of first use, so they point only at the citations returned.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from assistant.text.cjk import cjk_count, content_chars, ideographs_only
from assistant.text.figures import asks_for_figure, numbers, states_asked_figure
from assistant.text.language import Language, detect_language
from assistant.text.markers import format_markers, parse_markers
from assistant.text.sentences import split_sentences
from assistant.text.words import bigrams, named_items, normalize, proper_names
from assistant.types import Citation, Hit, Passage, Source

#: cosine of an English sentence to each passage, same order (the embedder's, when available)
Similarity = Callable[[str, list[Passage]], list[float]]

#: what the assistant says when the reports do not answer the question
REFUSALS: dict[str, str] = {
    "zh": "报告中没有提到这一点。",
    "en": "The reports do not say.",
}

_TRAILING = re.compile(r"[\s。.！!？?；;，,：:]+$")
#: a model's own "the passages don't say" sentence: not a claim to check, and not a dropped one
_REFUSAL_LIKE = re.compile(
    r"没有提到|未提到|没有提及|未提及|没有说明|未说明|无法回答"
    r"|do(?:es)? not (?:say|mention)|(?:doesn't|don't) (?:say|mention)|not mentioned",
    re.I,
)
#: fragments shorter than this (content characters) state nothing and are skipped silently
_MIN_CLAIM_CHARS = 4


@dataclass
class CheckedAnswer:
    """The repaired answer: ``text`` cites ``[k]`` for ``cited[k-1]`` (a 0-based passage index)."""

    text: str
    cited: list[int] = field(default_factory=list)
    sentences: dict[int, list[str]] = field(default_factory=dict)  # passage index -> its sentences
    dropped: list[str] = field(default_factory=list)
    repaired: int = 0  # markers moved, added or removed

    @property
    def empty(self) -> bool:
        return not self.cited

    def citations(self, passages: list[Passage], scores: dict[str, float]) -> list[Citation]:
        """Citation ``k`` for marker ``[k]``: the passage ``cited[k-1]`` with its retrieval score."""
        return [
            Citation(**Source.of(passages[i], scores.get(passages[i].id, 0.0)).model_dump(), marker=k)
            for k, i in enumerate(self.cited, start=1)
        ]

    def support(self) -> dict[int, list[str]]:
        """Marker -> the answer sentences it supports."""
        return {k: self.sentences.get(i, []) for k, i in enumerate(self.cited, start=1)}


class CitationChecker:
    """Checks claims against passages; thresholds come from the settings."""

    def __init__(self, *, min_overlap: float = 0.5, min_crosslingual: float = 0.75,
                 similarity: Similarity | None = None) -> None:
        self.min_overlap = min_overlap
        self.min_crosslingual = min_crosslingual
        self.similarity = similarity

    # ---- one claim against one passage --------------------------------------------------------

    def facts_match(self, claim: str, passage: Passage) -> bool:
        """Every figure and named item of ``claim`` occurs in ``passage``."""
        text = normalize(passage.section + passage.text)
        if not numbers(claim) <= numbers(text, expand=True):
            return False
        english = detect_language(claim) == "en"
        if not english and any(name not in text for name in proper_names(claim)):
            return False  # "广东省有超1.76万家…": the passage counts the whole country
        for item in named_items(claim):
            # an English sentence may quote English words; only Chinese names are checkable
            if english and not cjk_count(item):
                continue
            if item not in text:
                return False
        return True

    def overlap(self, claim: str, passage: Passage) -> float:
        """Share of the claim's character bigrams found in the passage (Chinese part only for
        an English claim)."""
        if detect_language(claim) == "en":
            claim = ideographs_only(claim)
        grams = bigrams(claim)
        if not grams:
            return 0.0
        return len(grams & bigrams(passage.text)) / len(grams)

    def scores(self, claim: str, passages: list[Passage]) -> list[float]:
        """Support of ``claim`` by each passage: a score >= 0 when supported, -1 when not."""
        english = detect_language(claim) == "en" and cjk_count(claim) < _MIN_CLAIM_CHARS
        cos: list[float] | None = None
        if english and self.similarity is not None:
            cos = self.similarity(claim, passages)
        out = []
        for i, p in enumerate(passages):
            if not self.facts_match(claim, p):
                out.append(-1.0)
            elif not english:
                ov = self.overlap(claim, p)
                out.append(ov if ov >= self.min_overlap else -1.0)
            elif cos is not None:
                out.append(cos[i] if cos[i] >= self.min_crosslingual else -1.0)
            else:
                # no cross-lingual model: a checked figure or name is the only evidence we have
                stated = numbers(claim) or {x for x in named_items(claim) if cjk_count(x)}
                out.append(0.5 if stated else -1.0)
        return out

    # ---- the whole draft ----------------------------------------------------------------------

    def check(self, draft: str, passages: list[Passage], language: Language) -> CheckedAnswer:
        """Check, repair, drop and renumber the citations of ``draft`` over ``passages``
        (marker ``[i]`` in the draft refers to ``passages[i-1]``)."""
        result = CheckedAnswer(text="")
        kept: list[tuple[str, str, list[int]]] = []  # (body, end punctuation, passage indices)
        for sentence in split_sentences(draft):
            claim, markers = parse_markers(sentence)
            bare_figure = content_chars(claim) < _MIN_CLAIM_CHARS and bool(numbers(claim))
            if (content_chars(claim) < _MIN_CLAIM_CHARS and not bare_figure) or (
                _REFUSAL_LIKE.search(claim) and not numbers(claim)
            ):
                continue
            if claim.rstrip().endswith(("？", "?")):
                # small models echo the question back; it overlaps the passage but answers nothing
                result.dropped.append(sentence)
                continue
            # a bare figure ("77%", "62家", the 1.5B's favourite answer) has no wording to
            # overlap: it is supported where the figure itself occurs
            support = [0.5 if self.facts_match(claim, p) else -1.0 for p in passages] if bare_figure \
                else self.scores(claim, passages)
            good = [m - 1 for m in markers if 1 <= m <= len(passages) and support[m - 1] >= 0]
            if not good:
                best = max(range(len(passages)), key=lambda i: support[i], default=None)
                if best is None or support[best] < 0:
                    result.dropped.append(sentence)
                    continue
                good = [best]
            if good != [m - 1 for m in markers]:
                result.repaired += 1
            body = _TRAILING.sub("", claim)
            tail = claim[len(body):]
            end = next((c for c in tail if c in "。.！!？?"), "." if language == "en" else "。")
            kept.append((body, end, good))
        order: dict[int, int] = {}
        parts = []
        for body, end, idxs in kept:
            for i in idxs:
                order.setdefault(i, len(order) + 1)
                result.sentences.setdefault(i, []).append(body)
            marks = format_markers([order[i] for i in idxs])
            parts.append(f"{body} {marks}{end}" if language == "en" else f"{body}{marks}{end}")
        result.cited = list(order)
        result.text = (" " if language == "en" else "").join(parts)
        return result


# ---- refusal rules ------------------------------------------------------------------------------


def top_cosine(hits: Iterable[Hit]) -> float:
    """What the retrieval floor is compared with: the best dense cosine among the hits (a hit
    without a dense score, from BM25 alone, counts with its fused score)."""
    return max((h.scores.get("dense", h.score) for h in hits), default=float("-inf"))


def too_weak(top_cosine: float, language: Language, *, floor: float, floor_crosslingual: float) -> bool:
    """Whether retrieval found nothing close enough to answer from (checked before generating):
    the best passage's cosine is under the floor for the question's language (cross-lingual
    cosines to Chinese passages run lower, hence a second floor for English questions)."""
    return top_cosine < (floor if language == "zh" else floor_crosslingual)


def states_asked_figure_in(question: str, language: Language, checked: CheckedAnswer, passages: list[Passage]) -> bool:
    """For a question asking for a figure: does the checked answer state one, and (Chinese)
    does the figure stand in a cited passage clause about what was asked?

    Catches "用了 个量子比特[1]" (a restated question around a missing figure) and
    "共有11家国家新兴产业创新中心[1]" for "多少个国家实验室" (a true figure about
    something else), which the sentence-level check cannot see. Other questions pass.
    """
    if not asks_for_figure(question):
        return True
    stated = numbers(parse_markers(checked.text)[0]) - numbers(question)
    if not stated or language == "en":
        return bool(stated)
    return any(
        states_asked_figure(question, sentence, figures=stated)
        for i in checked.cited
        for sentence in split_sentences(passages[i].text)
    )


def refuses(question: str, language: Language, checked: CheckedAnswer, passages: list[Passage]) -> bool:
    """Whether a checked draft must become "the reports do not say": nothing survived the check,
    or a figure question got no supported figure about what was asked."""
    return checked.empty or not states_asked_figure_in(question, language, checked, passages)

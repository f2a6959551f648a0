"""Citation checking and repair after generation: citations are checked, never trusted.

A draft cites evidence sentences (``[n]`` is ``evidence[n-1]``, see :mod:`assistant.answer.evidence`). For
every sentence of the draft:

* the figures (numbers, dates, percentages) and named items (《…》 titles, “…” terms, Latin terms
  such as GDP, province and city names) it states must occur in the cited evidence (after
  whitespace and full/half-width normalisation), and
* its meaning must match the evidence. Chinese: its character bigrams overlap the evidence
  (``min_overlap``), or, for a paraphrase in other words, a quarter of its topic words occur in the
  evidence and the evidence is closer to it than the claim's usual sentence is (a cosine margin
  over the claim's median cosine to all the index's sentences, which tells a paraphrase from a
  random pair). English (over Chinese evidence): it must carry something checkable — a figure (by
  value: 17,600 = 1.76万), an ordinal ("second" = 第二) or a Chinese term in brackets that the
  evidence holds — and the evidence must be closer to it than its median sentence: cosine alone
  cannot tell a right English claim from noise (docs/quality.md has the measurements).

A marker that fails is moved to the evidence that best supports the sentence, then to the whole
passage of an evidence sentence (a claim may join two sentences of one passage); a sentence that
nothing supports is DROPPED and recorded in ``dropped``: a visibly-marked unsupported claim would
still be read as an answer. Markers are renumbered 1..n by passage in order of first use:
citations name passages, and each carries the evidence sentences its claims rest on.

Whether the checked claims answer what was asked is :mod:`assistant.answer.adequacy`'s to decide.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from assistant.answer.evidence import Evidence, whole
from assistant.core.types import Citation, Passage, Source
from assistant.text.cjk import cjk_count, content_chars, ideographs_only
from assistant.text.instructions import is_instruction
from assistant.text.language import Language, detect_language
from assistant.text.markers import format_markers, parse_markers
from assistant.text.numbers import (
    numbers,
    ordinals,
)
from assistant.text.sentences import split_sentences
from assistant.text.statements import document_years
from assistant.text.subject import named_entities, said
from assistant.text.words import bigrams, keywords, named_items, normalize

#: cosines of a claim to each evidence sentence, and the claim's median cosine to all the index's
#: sentences (its "noise level"); the retriever's, when an embedder is loaded
Similarity = Callable[[str, Sequence[Evidence]], tuple[list[float], float]]

TRAILING = re.compile(r"[\s。.！!？?；;，,：:]+$")
#: a model's own "the passages don't say" sentence: not a claim to check, and not a dropped one
_REFUSAL_LIKE = re.compile(
    r"没有提到|未提到|没有提及|未提及|没有说明|未说明|无法回答"
    r"|do(?:es)? not (?:say|mention)|(?:doesn't|don't) (?:say|mention)|not mentioned",
    re.I,
)
#: fragments shorter than this (content characters) state nothing and are skipped silently
_MIN_CLAIM_CHARS = 4
#: a Chinese paraphrase needs this share of its topic words in the evidence (right paraphrases
#: .29-.92, the best sentence for a noise claim up to .5 but never with the cosine margin too)
_PARAPHRASE_WORDS = 0.25


@dataclass
class Claim:
    """A kept sentence of the draft: its text, end punctuation and what supports it."""

    body: str
    end: str
    passages: list[int]  # indexes into CheckedAnswer.passages
    evidence: list[int]  # indexes into the evidence (empty when only a whole passage supports it)


@dataclass
class CheckedAnswer:
    """The repaired answer: ``text`` cites ``[k]`` for ``passages[cited[k-1]]``."""

    text: str
    passages: list[Passage] = field(default_factory=list)
    cited: list[int] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    repaired: int = 0  # markers moved, added or removed
    language: Language = "zh"

    @property
    def empty(self) -> bool:
        return not self.cited

    def render(self, claims: Sequence[Claim], extra: Sequence[str] = ()) -> str:
        """``claims`` (and ``extra`` plain sentences) as answer text, markers numbered by ``cited``."""
        order = {i: k for k, i in enumerate(self.cited, start=1)}
        parts = []
        for c in claims:
            marks = format_markers([order[i] for i in c.passages])
            parts.append(f"{c.body} {marks}{c.end}" if self.language == "en" else f"{c.body}{marks}{c.end}")
        return (" " if self.language == "en" else "").join([*parts, *extra])

    def citations(self, evidence: Sequence[Evidence], scores: dict[str, float]) -> list[Citation]:
        """Citation ``k`` for marker ``[k]``: the passage with its retrieval score and the evidence
        sentences the answer rests on (the chat highlights them); its location is where those
        sentences stand (the page that says it, of a passage running over two)."""
        out = []
        for k, i in enumerate(self.cited, start=1):
            p = self.passages[i]
            used = dict.fromkeys(evidence[e].text for c in self.claims for e in c.evidence
                                 if evidence[e].passage.id == p.id)
            source = Source.of(p, scores.get(p.id, 0.0)).model_copy(update={"location": p.located(list(used))})
            out.append(Citation(**dict(source), marker=k, evidence=list(used)))
        return out

    def support(self) -> dict[int, list[str]]:
        """Marker -> the answer sentences it supports."""
        return {k: [c.body for c in self.claims if i in c.passages] for k, i in enumerate(self.cited, start=1)}


class CitationChecker:
    """Checks claims against evidence; thresholds come from the settings."""

    def __init__(self, *, min_overlap: float = 0.5, min_margin: float = 0.03, min_crosslingual: float = 0.75,
                 min_crosslingual_margin: float = 0.0, similarity: Similarity | None = None) -> None:
        self.min_overlap = min_overlap
        self.min_crosslingual = min_crosslingual
        self.min_margin = min_margin
        self.min_crosslingual_margin = min_crosslingual_margin
        self.similarity = similarity

    def using(self, similarity: Similarity | None) -> CitationChecker:
        """This checker measuring paraphrases with ``similarity`` (one index build's cosines)."""
        bound = copy.copy(self)
        bound.similarity = similarity
        return bound

    # ---- one claim against one piece of evidence ---------------------------------------------

    def facts_match(self, claim: str, unit: Evidence) -> bool:
        """Every figure and named item of ``claim`` occurs in ``unit`` (its section included)."""
        text = normalize(unit.passage.section + unit.text)
        # the year its document's title (or file name) names is said by every passage of it ("全年全州生产总值…" of
        # the 2023 bulletin states 2023's figure)
        if not numbers(claim) <= numbers(text, expand=True) | document_years(unit.passage.title, unit.passage.source):
            return False
        english = detect_language(claim) == "en"
        if not english and any(not said(name, text, unit.passage.title) for name in named_entities(claim)):
            return False  # "广东省有超1.76万家…": the passage counts the whole country
        for item in named_items(claim):
            # an English sentence may quote English words; only Chinese names are checkable
            if english and not cjk_count(item):
                continue
            if item not in text:
                return False
        return not english or all(normalize(t) in text for t in _bracketed_chinese(claim))

    def overlap(self, claim: str, unit: Evidence) -> float:
        """Share of the claim's character bigrams found in the evidence (Chinese part only for
        an English claim)."""
        if detect_language(claim) == "en" and detect_language(unit.text) == "zh":
            claim = ideographs_only(claim)  # across languages only the Chinese it quotes can overlap
        grams = bigrams(claim)
        if not grams:
            return 0.0
        return len(grams & bigrams(unit.text)) / len(grams)

    def scores(self, claim: str, units: Sequence[Evidence]) -> list[float]:
        """Support of ``claim`` by each unit: a score >= 0 when supported, -1 when not."""
        # an English claim over Chinese evidence (the cross-lingual rules); over English evidence
        # it is checked like a Chinese claim over Chinese evidence; unit by unit, as a mixed corpus
        # gives evidence in both languages
        matches = [self.facts_match(claim, u) for u in units]
        if not any(matches):
            return [-1.0] * len(units)
        if detect_language(claim) == "en" and cjk_count(claim) < _MIN_CLAIM_CHARS:
            chinese = [detect_language(u.text) == "zh" for u in units]
            if any(chinese):
                across = self._english_scores(claim, units, [m and z for m, z in zip(matches, chinese, strict=True)])
                if all(chinese):
                    return across
                within = self._same_language_scores(
                    claim, units, [m and not z for m, z in zip(matches, chinese, strict=True)])
                return [max(a, w) for a, w in zip(across, within, strict=True)]
        return self._same_language_scores(claim, units, matches)

    def _same_language_scores(self, claim: str, units: Sequence[Evidence], matches: list[bool]) -> list[float]:
        """Support of a claim by evidence in its own language: shared wording, else a paraphrase."""
        if not any(matches):
            return [-1.0] * len(units)
        out = [self.overlap(claim, u) if ok else -1.0 for u, ok in zip(units, matches, strict=True)]
        if any(x >= self.min_overlap for x in out):
            return [x if x >= self.min_overlap else -1.0 for x in out]
        return self._paraphrase_scores(claim, units, out)

    def _paraphrase_scores(self, claim: str, units: Sequence[Evidence], overlaps: list[float]) -> list[float]:
        """A Chinese claim in other words: enough of its topic words in the evidence, and the
        evidence closer to it than the claim's usual sentence."""
        words = [w for w in keywords(claim) if not w.isdigit()]
        if self.similarity is None or not words:
            return [-1.0] * len(units)
        cos, noise = self.similarity(claim, units)
        out = []
        for u, ov, c in zip(units, overlaps, cos, strict=True):
            share = sum(w in normalize(u.text) for w in words) / len(words)
            out.append(ov if ov >= 0 and share >= _PARAPHRASE_WORDS and c - noise >= self.min_margin else -1.0)
        return out

    def _english_scores(self, claim: str, units: Sequence[Evidence], matches: list[bool]) -> list[float]:
        out = []
        cos: list[float] | None = None
        noise = 0.0
        if self.similarity is not None:
            cos, noise = self.similarity(claim, units)
        for i, u in enumerate(units):
            if not matches[i] or not _checkable(claim, u):
                out.append(-1.0)
            elif cos is None:
                out.append(0.5)  # no cross-lingual model: the checked item is all the evidence we have
            else:
                close = cos[i] >= self.min_crosslingual and cos[i] - noise >= self.min_crosslingual_margin
                out.append(cos[i] if close else -1.0)
        return out

    # ---- the whole draft ----------------------------------------------------------------------

    def check(self, draft: str, evidence: Sequence[Evidence], language: Language) -> CheckedAnswer:
        """Check, repair, drop and renumber the citations of ``draft`` (``[i]`` cites
        ``evidence[i-1]``); ``evidence`` may also be whole passages (:func:`assistant.answer.evidence.whole`)."""
        passages = list({e.passage.id: e.passage for e in evidence}.values())
        index = {p.id: i for i, p in enumerate(passages)}
        wholes = [whole(p) for p in passages]
        result = CheckedAnswer(text="", passages=passages, language=language)
        for sentence in split_sentences(draft):
            claim, markers = parse_markers(sentence)
            bare_figure = content_chars(claim) < _MIN_CLAIM_CHARS and bool(numbers(claim))
            if (content_chars(claim) < _MIN_CLAIM_CHARS and not bare_figure) or (
                _REFUSAL_LIKE.search(claim) and not numbers(claim)
            ):
                continue
            if claim.rstrip().endswith(("？", "?")) or is_instruction(claim):
                # small models echo the question back (it overlaps the passage but answers nothing);
                # an order, whoever wrote it, is never an answer
                result.dropped.append(sentence)
                continue
            cited = [m - 1 for m in markers if 1 <= m <= len(evidence)]
            used = self._support(claim, bare_figure, cited, evidence, wholes)
            if used is None:
                result.dropped.append(sentence)
                continue
            units, on_passage = used
            if on_passage:
                ps, ev = units, []
            else:
                ps, ev = list(dict.fromkeys(index[evidence[u].passage.id] for u in units)), units
            if ev != cited:
                result.repaired += 1
            body = TRAILING.sub("", claim)
            tail = claim[len(body):]
            end = next((c for c in tail if c in "。.！!？?"), "." if language == "en" else "。")
            if language == "en":  # a Chinese full stop after an English sentence
                end = {"。": ".", "！": "!", "？": "?"}.get(end, end)
            result.claims.append(Claim(body, end, ps, ev))
        for c in result.claims:
            for i in c.passages:
                if i not in result.cited:
                    result.cited.append(i)
        result.text = result.render(result.claims)
        return result

    def _support(self, claim: str, bare_figure: bool, cited: list[int], evidence: Sequence[Evidence],
                 wholes: list[Evidence]) -> tuple[list[int], bool] | None:
        """Which evidence supports ``claim`` (indexes, False), or which whole passages (indexes,
        True): the cited evidence if it does, else the best evidence, else the best passage."""
        for units, on_passage in ((evidence, False), (wholes, True)):
            # a bare figure ("77%", the 1.5B's favourite answer) has no wording to overlap: it is
            # supported where the figure itself occurs
            support = [0.5 if self.facts_match(claim, u) else -1.0 for u in units] if bare_figure \
                else self.scores(claim, units)
            if not on_passage:
                good = [i for i in cited if support[i] >= 0]
                if good:
                    return good, False
                if len(cited) > 1:  # one claim over two cited sentences: "A是63.2%，B占30%以上[1][2]"
                    joined = _join([evidence[i] for i in cited])
                    if (self.facts_match(claim, joined) if bare_figure else self.scores(claim, [joined])[0]) >= 0:
                        return cited, False
            best = max(range(len(units)), key=lambda i: support[i], default=None)
            if best is not None and support[best] >= 0:
                return [best], on_passage
        return None

# ---- helpers ----------------------------------------------------------------------------------

_BRACKETED = re.compile(r"[(（]([^()（）]{1,40})[)）]")


def _bracketed_chinese(claim: str) -> list[str]:
    """Chinese originals an English claim gives in brackets: "about 17,600 (超1.76万家)"."""
    return [m for m in _BRACKETED.findall(claim) if cjk_count(m) >= 2]


def _checkable(claim: str, unit: Evidence) -> bool:
    """Whether an English claim states something the evidence can confirm: a figure, an ordinal,
    or a Chinese term in brackets (facts_match has checked that they occur)."""
    text = unit.passage.section + unit.text
    return bool(numbers(claim) or _bracketed_chinese(claim)
                or (ordinals(claim) & ordinals(text)) or any(cjk_count(x) for x in named_items(claim)))


def _join(units: Sequence[Evidence]) -> Evidence:
    first = units[0]
    return Evidence(first.passage, "".join(u.text for u in units), first.score, first.cosine, first.position)

"""An independent grounding judge for citation recall and precision (ALCE-style).

It deliberately shares no code with ``assistant/answer/cite.py`` (the checker that repairs citations
inside ``ask()``): a judge that reused the repairer would grade its own homework.

How it judges whether passages support a sentence (markers stripped):

1. **Numbers.** Every figure in the sentence (``56%``, ``1.76万``, ``17,600``, ``5.86 trillion``,
   years) must occur, by value, in the passages. Chinese units (万, 亿, 万亿) and English scale
   words (thousand … trillion) are expanded, so ``17,600`` matches ``1.76万``.
2. **Wording.** In a Chinese sentence, the words around each figure must also stand around
   that figure in a passage (small models attach a right figure to the wrong noun), and the
   sentence must be mostly contained in the passages: the share of its
   character bigrams that occur in them must reach ``min_containment``.
3. **Meaning across languages.** An English sentence over Chinese passages shares no bigrams,
   so it instead needs a multilingual-embedding cosine of at least ``min_cosine`` with some
   sentence or clause of the passages. Without an embedder the judge cannot vouch for an English
   sentence and says "unsupported" (a conservative failure, visible in the metrics).

Per answer, ALCE's definitions apply: citation recall is the share of sentences supported by
the union of the passages they cite (a sentence citing nothing is unsupported); a citation is
precise when its sentence is supported and the citation either supports it alone or is needed
(the other citations alone do not).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

_MARKER = re.compile(r"\[\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*\]")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
_CONTENT = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fffA-Za-z0-9]")
_ZH_NUMBER = re.compile(r"(\d+(?:,\d{3})*(?:\.\d+)?)\s*(万亿|亿|万|千)?")
_EN_NUMBER = re.compile(r"(\d+(?:,\d{3})*(?:\.\d+)?)\s*(trillion|billion|million|thousand)?", re.IGNORECASE)
_CLAUSE = re.compile(r"[，,、：:]")
_CLAUSE_END = re.compile(r"(?<=[。！？!?；;])")
_SCALE = {
    "千": 1e3, "万": 1e4, "亿": 1e8, "万亿": 1e12,
    "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12,
}
# a sentence ends at Chinese terminal punctuation, or at . ! ? followed by space/end (not 5.86)
# (closing quotes stay with the sentence they close: “…1557家。” [1] is one sentence)
_SENT_END = re.compile(r"(?:[。！？!?；;]|[.](?=[\s”’」』\"]|$|\[))[”’」』\"）)]*")


class QueryEmbedder(Protocol):
    """What the judge needs from an embedder: L2-normalised vectors for short texts."""

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...


def is_english(text: str) -> bool:
    """True when Latin letters outnumber CJK characters."""
    return len(_LATIN.findall(text)) > len(_CJK.findall(text))


def _key(value: float) -> float:
    return float(f"{value:.6g}")


def number_values(text: str) -> set[float]:
    """Every value a figure in ``text`` can stand for, with and without its scale word."""
    values: set[float] = set()
    for pattern in (_ZH_NUMBER, _EN_NUMBER):
        for m in pattern.finditer(text):
            base = float(m.group(1).replace(",", ""))
            values.add(_key(base))
            if m.group(2):
                values.add(_key(base * _SCALE[m.group(2).lower()]))
    return values


def required_numbers(sentence: str) -> list[float]:
    """The value each figure of the sentence asserts (scale words applied)."""
    pattern = _EN_NUMBER if is_english(sentence) else _ZH_NUMBER
    out = []
    for m in pattern.finditer(sentence):
        base = float(m.group(1).replace(",", ""))
        out.append(_key(base * _SCALE[m.group(2).lower()]) if m.group(2) else _key(base))
    return out


def _context_grams(text: str) -> set[str]:
    """Bigrams of a window of text, without all-digit ones (a figure's neighbours, not the figure)."""
    chars = "".join(_CONTENT.findall(text)).lower()
    return {chars[i : i + 2] for i in range(len(chars) - 1)} - {
        g for g in (chars[i : i + 2] for i in range(len(chars) - 1)) if g.isdigit()
    }


def unbound_figures(sentence: str, passages: Sequence[str], window: int = 6, min_share: float = 1 / 3) -> list[float]:
    """Figures of a Chinese sentence that stand next to other words than in the passages.

    Small models recombine: "我国共有1900余家国家实验室" takes the right figure from a passage
    about enterprise technology centres. Both the figure and most of the words occur in the
    passage, so overall overlap passes; but the words around the figure (``window`` characters
    each side) must also occur in a passage sentence that states the same figure (at least
    ``min_share`` of their bigrams). A swap inside one passage sentence that states several
    figures ("专精特新“小巨人”企业1900余家") is not caught.
    """
    found: list[float] = []
    for m in _ZH_NUMBER.finditer(sentence):
        value = _key(float(m.group(1).replace(",", "")) * (_SCALE[m.group(2)] if m.group(2) else 1))
        mine = (
            _context_grams(sentence[max(0, m.start() - window) : m.start()])
            | _context_grams(sentence[m.end() : m.end() + window])
        )
        if not mine:
            continue
        stating = [u for p in passages for u in _CLAUSE_END.split(p) if value in _scaled_values(u)]
        best = max((len(mine & _context_grams(u)) / len(mine) for u in stating), default=0.0)
        if best < min_share:
            found.append(value)
    return found


def _scaled_values(text: str) -> set[float]:
    out = set()
    for m in _ZH_NUMBER.finditer(text):
        base = float(m.group(1).replace(",", ""))
        out.add(_key(base * _SCALE[m.group(2)]) if m.group(2) else _key(base))
    return out


def _bigrams(text: str) -> set[str]:
    chars = "".join(_CONTENT.findall(text)).lower()
    return {chars[i : i + 2] for i in range(len(chars) - 1)} if len(chars) > 1 else {chars}


def containment(sentence: str, passages: Sequence[str]) -> float:
    """Share of the sentence's character bigrams that occur in the passages."""
    grams = _bigrams(sentence)
    if not grams:
        return 0.0
    pool: set[str] = set().union(*(_bigrams(p) for p in passages)) if passages else set()
    return len(grams & pool) / len(grams)


def split_sentences(text: str) -> list[tuple[str, list[int]]]:
    """Split an answer into sentences, each with the citation markers attached to it.

    Markers may stand before or after the closing punctuation (``…56%[1]。`` or ``…56%。[1]``);
    markers that follow the punctuation belong to the sentence they close.
    """
    pieces: list[tuple[str, list[int]]] = []
    pos = 0
    for m in _SENT_END.finditer(text):
        end = m.end()
        tail = re.match(r"(\s*\[\s*\d+(?:\s*[,，、]\s*\d+)*\s*\])+", text[end:])
        if tail:
            end += tail.end()
        pieces.append((text[pos:end], []))
        pos = end
    if text[pos:].strip():
        pieces.append((text[pos:], []))
    out: list[tuple[str, list[int]]] = []
    for raw, _ in pieces:
        markers = [int(n) for m in _MARKER.finditer(raw) for n in re.split(r"\s*[,，、]\s*", m.group(1))]
        clean = _MARKER.sub("", raw).strip()
        if _CONTENT.search(clean):
            out.append((clean, list(dict.fromkeys(markers))))
    return out


@dataclass(frozen=True)
class Verdict:
    """Whether passages support a sentence, and the evidence behind the decision."""

    supported: bool
    missing_numbers: tuple[float, ...]
    containment: float
    cosine: float | None
    reason: str


@dataclass
class CitationScore:
    """ALCE citation recall and precision for one answer."""

    sentences: int = 0
    supported_sentences: int = 0
    citations: int = 0
    precise_citations: int = 0
    details: list[dict[str, object]] = field(default_factory=list)

    @property
    def recall(self) -> float | None:
        return self.supported_sentences / self.sentences if self.sentences else None

    @property
    def precision(self) -> float | None:
        return self.precise_citations / self.citations if self.citations else None


class GroundingJudge:
    """Decides whether passages support a sentence (see the module docstring for how)."""

    def __init__(
        self, embedder: QueryEmbedder | None = None, *, min_containment: float = 0.5, min_cosine: float = 0.82
    ) -> None:
        self.embedder = embedder
        self.min_containment = min_containment
        self.min_cosine = min_cosine
        self._cache: dict[str, np.ndarray] = {}

    # -- embeddings (cached: the same passages are judged again and again)
    def _vectors(self, texts: list[str]) -> np.ndarray:
        assert self.embedder is not None
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            for t, v in zip(todo, self.embedder.embed_queries(todo), strict=True):
                self._cache[t] = np.asarray(v, dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    def _cosine(self, sentence: str, passages: Sequence[str]) -> float | None:
        if self.embedder is None:
            return None
        # compare with sentences and clauses of the passages: a whole passage (or a long
        # sentence listing several figures) dilutes the one clause that carries the claim
        sentences = [s for p in passages for s, _ in split_sentences(p)]
        clauses = [c for s in sentences for c in _CLAUSE.split(s) if len(_CONTENT.findall(c)) >= 4]
        units = list(dict.fromkeys(sentences + clauses)) or list(passages)
        if not units:
            return 0.0
        sims = self._vectors(units) @ self._vectors([sentence])[0]
        return float(np.max(sims))

    def verdict(self, sentence: str, passages: Sequence[str]) -> Verdict:
        """Judge one sentence (markers stripped or not) against the passages it cites."""
        sentence = _MARKER.sub("", sentence).strip()
        pool = set().union(*(number_values(p) for p in passages)) if passages else set()
        missing = tuple(v for v in required_numbers(sentence) if v not in pool)
        cont = containment(sentence, passages)
        if not passages:
            return Verdict(False, missing, cont, None, "cites nothing")
        if missing:
            return Verdict(False, missing, cont, None, "a figure is not in the cited passages")
        if not is_english(sentence):
            if unbound := unbound_figures(sentence, passages):
                return Verdict(
                    False, tuple(unbound), cont, None, "a figure is attached to other words than in the passages"
                )
            ok = cont >= self.min_containment
            return Verdict(ok, missing, cont, None, "wording overlaps" if ok else "wording does not overlap")
        cos = self._cosine(sentence, passages)
        if cos is None:
            return Verdict(False, missing, cont, None, "English sentence and no embedder to compare meaning")
        ok = cos >= self.min_cosine
        return Verdict(ok, missing, cont, cos, "meaning matches" if ok else "meaning does not match")

    def supports(self, sentence: str, passages: Sequence[str]) -> bool:
        """True when ``passages`` together support ``sentence``."""
        return self.verdict(sentence, passages).supported

    def score_answer(self, answer: str, cited: Mapping[int, str]) -> CitationScore:
        """Citation recall and precision of one answer; ``cited`` maps marker -> passage text.

        A marker that is not in ``cited`` points at nothing and supports nothing.
        """
        score = CitationScore()
        for sentence, markers in split_sentences(answer):
            texts = {m: cited[m] for m in markers if m in cited}
            joint = self.supports(sentence, list(texts.values()))
            score.sentences += 1
            score.supported_sentences += joint
            score.citations += len(markers)
            precise = 0
            if joint:
                for m in markers:
                    if m not in texts:
                        continue
                    rest = [t for n, t in texts.items() if n != m]
                    if self.supports(sentence, [texts[m]]) or not (rest and self.supports(sentence, rest)):
                        precise += 1
            score.precise_citations += precise
            score.details.append({"sentence": sentence, "markers": markers, "supported": joint, "precise": precise})
        return score

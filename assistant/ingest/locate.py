"""Where each passage stands in its document: its text found among the places the reader kept.

A passage is made from repaired text (lines joined, footnote marks and stray spaces dropped, a
table written out row by row), so it is not a slice of the file's text. It is found by its
characters instead: letters, digits and CJK characters, NFKC-normalised and case-folded, with
spaces and punctuation left out on both sides.

1. Every run of ``GRAM`` characters of the passage that is rare enough in the document is looked
   up, and grown both ways as far as passage and document agree: stretches that match exactly.
2. The stretches that follow one another in both texts and hold the most characters (a skip in the
   document costs a little) are where the passage stands; among near-equals (a passage whose text
   occurs twice), the one nearest where the previous passage ended.
3. Within that part of the document, what the passage says again is found too (a table's rows,
   printed and then written out with their labels). A table is looked for among table lines.

From the document characters found come

- PDF: the pages, and one box per line the passage covers (split where its characters leave a
  wide gap, as between the cells of a table row), each with the passage's characters it holds;
- DOCX: the first and last paragraph of the body, and the pages its page breaks put them on;
- HTML: the anchor of the heading the passage starts under;
- text: the first and last line.

A passage found for less than ``MIN_FOUND`` of its characters (and fewer than ``MIN_FOUND_CHARS``)
gets no location at all: none is better than a wrong one.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from assistant.core.types import Box, Location, Passage
from assistant.ingest.document import Glyph, Place

#: characters in a run looked up in the document
GRAM = 4
#: the fewest characters that agree in a row for a stretch to count (a passage shorter than that: all of it)
MIN_RUN = 6
#: the most characters one text may skip between two stretches of the same passage (a footnote
#: block between the two halves of a paragraph broken by a page, a table a passage is written around)
MAX_SKIP = 1_500
#: a skip of this many document characters costs a character of the chain's score
SKIP_COST = 50
#: the longest runs of a passage a chain is made from
MAX_RUNS = 120
#: a run found more often than this in the searched text is not looked up (too common to place anything)
MAX_OCCURRENCES = 64
#: a passage gets a location when this share of its characters is found, or at least MIN_FOUND_CHARS of them
MIN_FOUND = 0.3
MIN_FOUND_CHARS = 40
#: how far back (in passage lengths) a table's piece looks for the caption and header it repeats
TABLE_REACH = 3
#: chains whose characters come this close to the best one's are told apart by nearness to the previous passage
NEAR_BEST = 0.95
#: the text searched first for a passage: this far back and ahead of where the previous one ended
WINDOW_BACK = 4_000
WINDOW_AHEAD = 40_000
#: a gap this wide (in ems) between two matched characters of a line starts a new box
BOX_GAP = 1.5
#: passage characters at most this many apart (the punctuation and spaces between) are one span of a box
SPAN_GAP = 3
#: decimals kept of box coordinates (hundredths of a point)
DECIMALS = 2


def keys(text: str) -> list[tuple[int, str]]:
    """The characters of ``text`` as they are compared, each with its offset in ``text``."""
    out: list[tuple[int, str]] = []
    for i, ch in enumerate(text):
        if "\u4e00" <= ch <= "\u9fff":  # the common CJK ideographs: NFKC leaves them as they are
            out.append((i, ch))
            continue
        if ch.isascii():
            if ch.isalnum():
                out.append((i, ch.lower()))
            continue
        if not ch.isalnum():
            continue
        for c in unicodedata.normalize("NFKC", ch).casefold():
            if c.isalnum():
                out.append((i, c))
    return out


@dataclass(frozen=True)
class _Stream:
    """The document's characters as compared, and for each the place and the character it comes from."""

    text: str
    place: list[int]
    offset: list[int]
    table: list[bool]

    @classmethod
    def of(cls, places: Sequence[Place]) -> _Stream:
        chars: list[str] = []
        place: list[int] = []
        offset: list[int] = []
        table: list[bool] = []
        for n, p in enumerate(places):
            for i, c in keys(p.text):
                chars.append(c)
                place.append(n)
                offset.append(i)
                table.append(p.table)
        return cls("".join(chars), place, offset, table)


class _Grams:
    """Where each run of ``GRAM`` characters occurs in ``text[lo:hi]``."""

    def __init__(self, text: str, lo: int, hi: int) -> None:
        self.lo, self.hi = lo, hi
        found: defaultdict[str, list[int]] = defaultdict(list)
        for j in range(lo, max(lo, hi - GRAM + 1)):
            found[text[j : j + GRAM]].append(j)
        self.found = found

    def covers(self, lo: int, hi: int) -> bool:
        return self.lo <= lo and hi <= self.hi


def _match(grams: _Grams, stream: _Stream, passage: str, cursor: int, *, table: bool = False) -> dict[int, int]:
    """Passage character index -> stream index, for the characters found (see the module docstring).

    A ``table`` is looked for among the lines of tables, when the reader marked any. Its piece
    repeats the caption and header, which stand before the first piece's rows: they are looked
    for that far back too.
    """
    if len(passage) < GRAM:
        return _exact(stream.text, passage, grams.lo, grams.hi, cursor)
    candidates: dict[int, list[int]] = {}
    for i in range(len(passage) - GRAM + 1):
        where = grams.found.get(passage[i : i + GRAM])
        if where and len(where) <= MAX_OCCURRENCES:
            candidates[i] = where
    if table:  # a table stands among the lines of a table (when the reader knows them), not in the prose about it
        tabled = {i: kept for i, js in candidates.items() if (kept := [j for j in js if stream.table[j]])}
        candidates = tabled or candidates
    matched: dict[int, int] = {}
    for i, j, n in _chain(_runs(candidates, passage, stream.text), cursor):
        for t in range(n):
            matched.setdefault(i + t, j + t)
    if not matched:
        return {}
    # what the passage says twice (a table's rows, printed and then written out with their labels)
    # is found again inside the stretch of the document already matched
    lo, hi = min(matched.values()), max(matched.values())
    reach = lo - TABLE_REACH * len(passage) if table else lo
    for i, js in candidates.items():
        if i in matched:
            continue
        inside = [j for j in js if (lo <= j or (reach <= j and stream.table[j])) and j + GRAM - 1 <= hi]
        for t in range(GRAM) if inside else ():
            matched.setdefault(i + t, inside[-1] + t)
    return matched


Run = tuple[int, int, int]  # passage index, stream index, characters


def _runs(candidates: dict[int, list[int]], passage: str, stream: str) -> list[Run]:
    """Stretches where passage and document agree character for character, long enough to count:
    each found from a run of characters that is rare in the document, and grown both ways as far
    as the two texts agree (through runs too common to look up)."""
    runs: list[Run] = []
    reached: dict[int, int] = {}  # offset (stream - passage) -> the passage index its last run reached
    for i in sorted(candidates):
        for j in candidates[i]:
            if reached.get(j - i, -1) > i:
                continue  # inside a run found already
            start, end = i, i + GRAM
            while start > 0 and j - (i - start) > 0 and passage[start - 1] == stream[j - (i - start) - 1]:
                start -= 1
            while end < len(passage) and j + (end - i) < len(stream) and passage[end] == stream[j + (end - i)]:
                end += 1
            reached[j - i] = end
            if end - start >= min(MIN_RUN, len(passage)):
                runs.append((start, j - (i - start), end - start))
    return sorted(runs)


def _chain(runs: list[Run], cursor: int) -> list[Run]:
    """The runs that follow one another in both texts with the most characters between them (the
    one starting nearest ``cursor`` among near-equals): where the passage stands."""
    if not runs:
        return []
    if len(runs) > MAX_RUNS:  # the chain is made of the long ones; this keeps the search quadratic in a bound
        runs = sorted(sorted(runs, key=lambda r: -r[2])[:MAX_RUNS])
    score: list[int] = []
    before: list[int] = []  # the run each one follows in its best chain (-1: none)
    first: list[int] = []  # where that chain starts in the stream
    for r, (i, j, n) in enumerate(runs):
        best, previous = 0, -1
        for q in range(r):
            qi, qj, qn = runs[q]
            skip = j - qj - qn  # document characters between the two runs (negative: they overlap)
            if qi >= i or qj >= j or skip < -GRAM or skip > MAX_SKIP or i - qi - qn > MAX_SKIP:
                continue  # does not come before this run in both texts, or too far before it
            gain = score[q] - (skip // SKIP_COST if skip > 0 else 0)
            if gain > best:
                best, previous = gain, q
        score.append(best + n)
        before.append(previous)
        first.append(first[previous] if previous >= 0 else j)
    top = max(score)
    end = min((r for r in range(len(runs)) if score[r] >= NEAR_BEST * top), key=lambda r: abs(first[r] - cursor))
    chain: list[Run] = []
    while end >= 0:
        chain.append(runs[end])
        end = before[end]
    return chain[::-1]


def _exact(stream: str, passage: str, lo: int, hi: int, cursor: int) -> dict[int, int]:
    """A short passage (fewer characters than a run): its occurrence nearest ``cursor``."""
    if not passage:
        return {}
    hits: list[int] = []
    j = stream.find(passage, lo, hi)
    while j >= 0 and len(hits) < MAX_OCCURRENCES:
        hits.append(j)
        j = stream.find(passage, j + 1, hi)
    if not hits:
        return {}
    start = min(hits, key=lambda j: abs(j - cursor))
    return {i: start + i for i in range(len(passage))}


def locate(places: Sequence[Place], passages: Sequence[Passage]) -> list[Passage]:
    """``passages`` (of one document, in document order) with their locations among ``places``."""
    if not places:
        return list(passages)
    stream = _Stream.of(places)
    n = len(stream.text)
    prepared = []
    for p in passages:
        compared = keys(p.text)
        prepared.append(("".join(c for _, c in compared), [i for i, _ in compared]))
    cursor = 0
    window: _Grams | None = None
    matches: list[dict[int, int]] = []
    for passage, (text, _) in zip(passages, prepared, strict=True):
        lo, hi = max(0, cursor - WINDOW_BACK), min(n, cursor + WINDOW_AHEAD)
        if window is None or not window.covers(lo, min(n, cursor + WINDOW_AHEAD // 2)):
            window = _Grams(stream.text, lo, hi)
        matched = _match(window, stream, text, cursor, table=passage.kind == "table")
        if not _enough(matched, text):
            matched = {}  # looked for again in the whole document below
        else:
            cursor = max(matched.values()) + 1
        matches.append(matched)
    if any(not m and text for m, (text, _) in zip(matches, prepared, strict=True)):
        everywhere = _Grams(stream.text, 0, n)
        cursor = 0
        for k, (passage, (text, _)) in enumerate(zip(passages, prepared, strict=True)):
            if matches[k] or not text:
                cursor = max(matches[k].values()) + 1 if matches[k] else cursor
                continue
            matched = _match(everywhere, stream, text, cursor, table=passage.kind == "table")
            matches[k] = matched if _enough(matched, text) else {}
    out = []
    for passage, (_, offsets), matched in zip(passages, prepared, matches, strict=True):
        found: defaultdict[int, list[int]] = defaultdict(list)
        for i, j in matched.items():
            found[j].append(offsets[i])
        out.append(replace(passage, location=_location(places, stream, found, passage.text) if found else None))
    return out


def _enough(matched: dict[int, int], text: str) -> bool:
    return len(matched) >= min(MIN_FOUND * len(text), MIN_FOUND_CHARS) and len(matched) > 0


def _location(places: Sequence[Place], stream: _Stream, found: dict[int, list[int]], text: str) -> Location | None:
    """The location of the stream characters ``found`` (stream index -> the passage text offsets it stands for)."""
    by_place: defaultdict[int, list[tuple[int, list[int]]]] = defaultdict(list)  # place -> (char in place, offsets)
    for j in sorted(found):
        by_place[stream.place[j]].append((stream.offset[j], found[j]))
    held = [places[k] for k in sorted(by_place)]
    boxes = tuple(box for k in sorted(by_place) for box in _boxes(places[k], by_place[k], text))
    pages = tuple(sorted({b.page for b in boxes} or {p.page for p in held if p.page is not None}))
    lines = _range(p.line for p in held)
    paragraphs = _range(p.paragraph for p in held)
    anchor = next((p.anchor for p in held if p.anchor), None)
    if not (pages or lines or paragraphs or anchor):
        return None
    return Location(pages=pages, boxes=boxes, lines=lines, paragraphs=paragraphs, anchor=anchor)


def _range(values: Iterable[int | None]) -> tuple[int, int] | None:
    known = [v for v in values if v is not None]
    return (min(known), max(known)) if known else None


def _boxes(place: Place, chars: list[tuple[int, list[int]]], text: str) -> list[Box]:
    """The boxes of the matched characters of one line, with the passage's punctuation next to them:
    one per run without a wide gap."""
    if place.page is None or place.box is None:
        return []
    if not place.glyphs:  # an OCR line: its box as a whole
        x0, y0, x1, y1 = place.box
        return [_box(place.page, x0, y0, x1, y1, [o for _, offsets in chars for o in offsets])]
    held = dict(chars)
    for at, offsets in chars:
        for step in (-1, 1):
            if at + step not in held:  # the end of a stretch: punctuation may follow
                for mark_at, offset in _marks(place.glyphs, at, min(offsets), text, step):
                    held.setdefault(mark_at, [offset])
    runs: list[list[tuple[Glyph, list[int]]]] = []
    for at in sorted(held):
        glyph = place.glyphs[at]
        if not runs or glyph.x0 - runs[-1][-1][0].x1 > BOX_GAP * max(glyph.size, 1.0):
            runs.append([])
        runs[-1].append((glyph, held[at]))
    _, bottom, _, top = place.box
    return [_box(place.page, min(g.x0 for g, _ in run), bottom, max(g.x1 for g, _ in run), top,
                 [o for _, offsets in run for o in offsets]) for run in runs]


def _marks(glyphs: Sequence[Glyph], at: int, offset: int, text: str, step: int) -> list[tuple[int, int]]:
    """The punctuation next to glyph ``at`` (passage character ``offset``), going ``step``, that the
    passage has there too (``。`` ending a sentence, ``《`` opening a title): (glyph, passage offset)."""
    out: list[tuple[int, int]] = []
    at, offset = at + step, offset + step
    while 0 <= at < len(glyphs) and 0 <= offset < len(text):
        if text[offset].isspace():
            offset += step
            continue
        ch = text[offset]
        if ch.isalnum() or glyphs[at].ch != ch:
            break
        out.append((at, offset))
        at, offset = at + step, offset + step
    return out


def _box(page: int, x0: float, y0: float, x1: float, y1: float, offsets: list[int]) -> Box:
    return Box(page=page, x0=round(x0, DECIMALS), y0=round(y0, DECIMALS), x1=round(x1, DECIMALS),
               y1=round(y1, DECIMALS), spans=_spans(offsets))


def _spans(offsets: list[int]) -> tuple[tuple[int, int], ...]:
    """Character offsets as ranges ``[start, end)``; offsets a punctuation mark or a space apart are one range."""
    out: list[list[int]] = []
    for o in sorted(set(offsets)):
        if out and o <= out[-1][1] + SPAN_GAP:
            out[-1][1] = o + 1
        else:
            out.append([o, o + 1])
    return tuple((a, b) for a, b in out)

"""Repair of page layout: the text lines of PDF pages into paragraphs.

A PDF holds lines placed on pages, not paragraphs. This module

- drops running headers, footers and page numbers: lines in the top or bottom band of the page
  that repeat from page to page (digits ignored, so ``第 3 页`` repeats), and lone page numbers;
- joins lines that the layout broke: a line continues the previous one unless the font size
  changes, it is indented (a first line) or the previous line stopped short of its column's right
  edge (a last line), or it opens a numbered item after a finished sentence — so paragraphs flow
  on across columns and pages;
- turns larger fonts into heading levels (the largest is level 1), a date alone excepted;
- keeps captions (``表2 …``, ``图1 …``) and unit lines (``单位：万吨``) apart from the prose around them.

Tables are found before, by :mod:`assistant.ingest.pagetables`: each stands in the flow of lines as
one line holding the table.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from assistant.ingest.document import Block, Glyph, Table
from assistant.ingest.markers import CAPTION, FIGURE_CAPTION, UNIT_LINE, breaks_figure, starts_block
from assistant.ingest.paragraphs import ends_sentence, join_lines
from assistant.text.numbers import DATES

#: share of the page height at the top and at the bottom where running headers and footers live
BAND = 0.09
#: a line this much larger than the body font is a heading
HEADING_RATIO = 1.12
HEADING_MAX_CHARS = 100
#: lines whose sizes differ by more than this share of the body size are not one paragraph
SIZE_STEP = 0.1
_PAGE_NUMBER = re.compile(
    r"^(?:第\s*)?[-–—]?\s*\d{1,4}\s*[-–—]?\s*(?:页)?(?:\s*[/／]\s*\d{1,4}|\s*共\s*\d{1,4}\s*页)?$"
    r"|^(?:page|p\.)\s*\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$",
    re.I,
)


@dataclass
class Line:
    """One text line of a page, in PDF coordinates (points, y upwards); ``glyphs`` where the reader knows them."""

    text: str
    x0: float
    x1: float
    bottom: float
    top: float
    size: float
    page: int
    table: Table | None = None  # a table standing in the flow of lines
    ocr: bool = False  # read by OCR: its size is estimated from glyph heights, too rough for heading levels
    glyphs: tuple[Glyph, ...] = ()


@dataclass(frozen=True)
class Rule:
    """A straight line the page draws (a table's rule), from (x0, y0) to (x1, y1) with x0 <= x1, y0 <= y1."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def horizontal(self) -> bool:
        return self.y1 - self.y0 <= self.x1 - self.x0


@dataclass
class Page:
    """A page's size, its lines in reading order and the rules it draws."""

    number: int
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)


def _running_key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def _in_band(line: Line, page: Page) -> bool:
    middle = (line.top + line.bottom) / 2
    return middle > page.height * (1 - BAND) or middle < page.height * BAND


def drop_running_lines(pages: list[Page]) -> int:
    """Remove running headers, footers and page numbers from ``pages``; returns how many lines went."""
    seen: Counter[str] = Counter()
    for page in pages:
        seen.update({_running_key(ln.text) for ln in page.lines if _in_band(ln, page)})
    repeated = {key for key, n in seen.items() if n >= max(2, len(pages) // 2)}
    dropped = 0
    for page in pages:
        keep = []
        for line in page.lines:
            running = _in_band(line, page) and (
                _running_key(line.text) in repeated or _PAGE_NUMBER.match(line.text.strip())
            )
            dropped += bool(running)
            if not running:
                keep.append(line)
        page.lines = keep
    return dropped


# ---- lines into paragraphs --------------------------------------------------------------------------


def _body_size(lines: list[Line]) -> float:
    weights: Counter[float] = Counter()
    for ln in lines:
        weights[round(ln.size * 2) / 2] += len(ln.text)
    return weights.most_common(1)[0][0] if weights else 10.0


@dataclass(frozen=True)
class _Column:
    left: float
    right: float


def _columns(lines: list[Line], body: float) -> list[_Column]:
    """Text columns, from the left edges of body-size lines (a cluster of edges is a column)."""
    edges = sorted(ln.x0 for ln in lines if abs(ln.size - body) < 0.5 and ln.table is None)
    clusters: list[list[float]] = []
    for x in edges:
        if clusters and x - clusters[-1][-1] <= 3 * body:
            clusters[-1].append(x)
        else:
            clusters.append([x])
    columns = []
    for cluster in (c for c in clusters if len(c) >= 3):
        left = cluster[0]
        members = [ln.x1 for ln in lines if left - body <= ln.x0 <= cluster[-1] + 0.5 and ln.table is None]
        right = sorted(members)[int(0.95 * (len(members) - 1))]
        columns.append(_Column(left, right))
    if not columns:  # too few lines to see columns: the text block's own edges
        text = [ln for ln in lines if ln.table is None]
        columns.append(_Column(min(ln.x0 for ln in text), max(ln.x1 for ln in text)))
    return columns


def _column_of(line: Line, columns: list[_Column]) -> _Column:
    fits = [c for c in columns if c.left - line.size <= line.x0 and line.x1 <= c.right + 2 * line.size]
    return max(fits, key=lambda c: c.left) if fits else _Column(line.x0, line.x1)


def _continues(prev: Line, line: Line, columns: list[_Column], body: float) -> bool:
    """Whether ``line`` carries on the paragraph that ``prev`` is in."""
    if prev.table is not None or line.table is not None:
        return False
    if abs(prev.size - line.size) > (0.3 if line.ocr or prev.ocr else SIZE_STEP) * body:
        return False  # a heading begins or ends
    col, prev_col = _column_of(line, columns), _column_of(prev, columns)
    indented = line.x0 - col.left > 0.6 * line.size
    short = prev_col.right - prev.x1 > 2 * prev.size
    new_item = starts_block(line.text) and ends_sentence(prev.text) and not breaks_figure(prev.text, line.text)
    # a caption ("图1 …", "表2 …") or a unit line ("单位：万吨") is a line of its own, not prose
    apart = _stands_apart(line.text) or UNIT_LINE.match(prev.text.strip()) is not None
    return not (indented or short or new_item or apart)


def _stands_apart(text: str) -> bool:
    text = text.strip()
    return any(p.match(text) for p in (CAPTION, FIGURE_CAPTION, UNIT_LINE))


def paragraphs(pages: list[Page]) -> list[Block]:
    """The paragraphs and tables of ``pages`` in reading order, with heading levels from font sizes."""
    lines = [ln for page in pages for ln in page.lines if ln.text.strip() or ln.table is not None]
    if not lines:
        return []
    body = _body_size([ln for ln in lines if ln.table is None])
    columns = _columns(lines, body)
    groups: list[list[Line]] = []
    for line in lines:
        if groups and _continues(groups[-1][-1], line, columns, body):
            groups[-1].append(line)
        else:
            groups.append([line])
    sizes = sorted({round(g[0].size * 2) / 2 for g in groups if _is_heading(g, body)}, reverse=True)
    blocks = []
    for group in groups:
        first = group[0]
        if first.table is not None:
            blocks.append(Block("", table=first.table, page=first.page))
            continue
        text = group[0].text.strip()
        for ln in group[1:]:
            text = join_lines(text, ln.text.strip())
        level = sizes.index(round(first.size * 2) / 2) + 1 if _is_heading(group, body) else None
        blocks.append(Block(text, heading=level, page=first.page))
    return blocks


def _is_heading(group: list[Line], body: float) -> bool:
    first = group[0]
    length = sum(len(ln.text) for ln in group)
    if first.table is not None or first.ocr or length > HEADING_MAX_CHARS:
        return False
    # a date alone ("2024年4月29日" under a title) dates the document, it heads nothing
    return first.size >= body * HEADING_RATIO and not DATES.fullmatch(" ".join(ln.text for ln in group).strip())

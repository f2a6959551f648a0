"""Tables on PDF pages, read from where the characters stand and the rules drawn around them.

A table is found two ways, merged where they meet:

- **ruled**: rules (drawn lines, cell edges) that touch one another, with at least one vertical and
  two horizontal ones, box a table in whatever its cells say;
- **aligned**: a run of lines that each break into cells at wide gaps, with a figure in a cell after
  the first, and whose figures line up in a column: tables drawn without rules, or with horizontal
  rules only.

Inside its box the lines are grouped into rows by baseline (between the rules, when the table rules
every row, so that a wrapped cell stays whole) and the cells into columns: the x-ranges that the
body rows' cells cover, split further where a vertical rule runs between them. The rows above the
first row of figures are the header (several of them make a multi-level header: a column is named
by its header cells from the top down). The caption (``表3 …``) and a ``单位：…`` line next to the
table go with it. Row labels nest by indentation (after a ``#`` or a short ``其中：`` lead-in), so
each row knows the group it belongs to. A table that goes on at the top of the next page, with
the same columns and no caption of its own, is continued there.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from assistant.ingest.document import Glyph, Table
from assistant.ingest.markers import CAPTION, UNIT_LINE, strip_footnote_marks
from assistant.ingest.pagelines import Line, Page, Rule
from assistant.ingest.paragraphs import ends_sentence
from assistant.ingest.repair import normalise_paragraph
from assistant.text import lexicon
from assistant.text.cjk import is_cjk

#: a gap this wide (in ems) between two characters of a line separates two cells
CELL_GAP = 0.8
#: a gap this wide (in ems) between two non-CJK characters is a space
SPACE_GAP = 0.15
#: how far (in ems) positions may differ and still line up
ALIGN = 0.6
#: share of a table's rows whose figures must line up for an unruled run of lines to be a table
MIN_ALIGNED = 0.6
#: a rule spanning this share of a table's width separates its rows
WIDE_RULE = 0.6
#: header lines looked for above the first row of figures of an unruled table
MAX_HEADER_LINES = 3
#: how far (in ems) above a table its caption or unit line may stand
CAPTION_DISTANCE = 4.0
#: a page drawing more rules than this holds a drawing: its tables are found by their aligned figures
MAX_RULES = 400
#: a label-only line closer than this share of the table's row pitch to a row with figures is part of its label
WRAP_PITCH = 0.75

_FIGURE = re.compile(r"^[-−–+]?(?:\d[\d,，]*(?:\.\d+)?|\.\d+)\S{0,3}$")
_YEAR = re.compile(r"^(?:19|20)\d\d年?$")
_PLACEHOLDER = {"-", "—", "–", "…", "/", "×", "--", "——"}
# a row label's lead-in before its indentation counts: "#", "其中：", "在总计中："
_LEAD_IN = re.compile(r"^(?:[#＃]+|[^：:\s]{1,6}[：:])\s*(?=\S)")


@dataclass(frozen=True)
class Span:
    """The characters of one cell on one line."""

    text: str
    x0: float
    x1: float
    indent: float  # where the label starts after a lead-in ("其中：" / "#"): its indentation
    bottom: float  # the line it stands on


def spans(glyphs: tuple[Glyph, ...] | list[Glyph], size: float) -> list[Span]:
    """A line's characters (left to right) cut into cells at gaps of at least ``CELL_GAP`` ems."""
    out: list[Span] = []
    run: list[Glyph] = []
    for g in sorted(glyphs, key=lambda g: g.x0):
        if run and g.x0 - run[-1].x1 > CELL_GAP * size:
            out.append(_span(run, size))
            run = []
        run.append(g)
    if run:
        out.append(_span(run, size))
    return out


def _span(run: list[Glyph], size: float) -> Span:
    text = run[0].ch
    for prev, g in zip(run, run[1:], strict=False):
        spaced = g.x0 - prev.x1 > SPACE_GAP * size and not (is_cjk(prev.ch) or is_cjk(g.ch))
        text += (" " if spaced else "") + g.ch
    lead = _LEAD_IN.match(text)
    indent = run[0].x0
    if lead:
        # the first glyph after the lead-in (the match counts characters, spaces included)
        chars = len(lead.group(0).replace(" ", ""))
        indent = run[min(chars, len(run) - 1)].x0
    return Span(text, run[0].x0, run[-1].x1, indent, min(g.bottom for g in run))


def is_figure(text: str) -> bool:
    """A cell that states a figure (``902.61``, ``-3.2``, ``1900余家``) or stands for none (``—``)."""
    return bool(_FIGURE.match(text)) or text in _PLACEHOLDER


def _row_like(cells: list[Span]) -> bool:
    """A line of a table's body: a label, then cells of which one at least is a figure (not all of
    them years: ``指标 2022年 2023年`` heads columns)."""
    figures = [c.text for c in cells[1:] if _FIGURE.match(c.text)]
    return (
        len(cells) >= 2
        and bool(figures)
        and not all(_YEAR.match(f) for f in figures)
        and not ends_sentence(cells[-1].text.rstrip("%‰"))
    )


def _line_size(line: Line) -> float:
    return line.size if line.size > 0 else 10.0


# ---- finding a table's lines -------------------------------------------------------------------------


@dataclass
class _Region:
    """The lines of one table on one page, and what stands around them."""

    page: Page
    lines: list[Line]  # header and body lines, in page order
    caption: Line | None = None
    unit: Line | None = None
    weak: bool = False  # a lone row at the top of a page: a table only if it continues one
    rows: list[_Row] = field(default_factory=list)
    bands: list[tuple[float, float]] = field(default_factory=list)
    header: int = 0  # how many of ``rows`` are header rows

    @property
    def taken(self) -> list[Line]:
        return [*self.lines, *(x for x in (self.caption, self.unit) if x is not None)]


@dataclass
class _Row:
    """One row of a table: its cells' spans per column (filled in once the columns are known)."""

    spans: list[Span]
    bottom: float
    top: float
    size: float
    page: int
    cells: list[list[Span]] = field(default_factory=list)

    def near(self, other: _Row, distance: float) -> bool:
        """Whether ``other``'s last line stands less than ``distance`` under this row's last line."""
        return self.page == other.page and 0 < self.bottom - other.bottom < distance

    def text(self, column: int) -> str:
        return strip_footnote_marks(_join([s.text for s in self.cells[column]]))


def _join(parts: list[str]) -> str:
    text = ""
    for part in parts:
        if text and part:
            text += "" if (is_cjk(text[-1]) or is_cjk(part[0])) else " "
        text += part
    return text


def _touch(a: Rule, b: Rule, tol: float = 2.0) -> bool:
    return a.x0 - tol <= b.x1 and b.x0 - tol <= a.x1 and a.y0 - tol <= b.y1 and b.y0 - tol <= a.y1


def _ruled_boxes(rules: list[Rule]) -> list[tuple[float, float, float, float]]:
    """Boxes (x0, bottom, x1, top) of groups of touching rules with a vertical and two horizontal ones."""
    if len(rules) > MAX_RULES:
        return []  # a drawing (a chart, a map), not the rules of tables
    groups: list[list[Rule]] = []
    for rule in rules:
        joined = [g for g in groups if any(_touch(rule, r) for r in g)]
        merged = [rule, *(r for g in joined for r in g)]
        groups = [g for g in groups if not any(g is j for j in joined)] + [merged]
    boxes = []
    for g in groups:
        horizontal = sum(r.horizontal for r in g)
        if horizontal >= 2 and len(g) - horizontal >= 1:
            boxes.append((min(r.x0 for r in g), min(r.y0 for r in g), max(r.x1 for r in g), max(r.y1 for r in g)))
    return boxes


def _inside(line: Line, box: tuple[float, float, float, float]) -> bool:
    x0, bottom, x1, top = box
    middle = (line.bottom + line.top) / 2
    return bottom <= middle <= top and line.x0 >= x0 - 2 and line.x1 <= x1 + 2


def _right(span: Span) -> float:
    return span.x1


def _middle(span: Span) -> float:
    return (span.x0 + span.x1) / 2


def _left(span: Span) -> float:
    return span.x0


def _aligned(lines: list[Line]) -> bool:
    """Whether the figures of ``lines`` line up: a right edge, centre or left edge most rows share."""
    rows = [[c for c in spans(ln.glyphs, _line_size(ln))[1:] if _FIGURE.match(c.text)] for ln in lines]
    size = statistics.median(_line_size(ln) for ln in lines)
    for edge in (_right, _middle, _left):
        positions = sorted(edge(c) for row in rows for c in row)
        for p in positions:
            shared = sum(any(abs(edge(c) - p) <= ALIGN * size for c in row) for row in rows)
            if shared >= max(2, MIN_ALIGNED * len(rows)):
                return True
    return False


def _aligned_runs(page: Page) -> list[tuple[list[Line], bool]]:
    """Runs of table body lines (row-like lines whose figures line up, and short label lines between
    them), each with whether it is weak: a lone row at the top of a page, which may go on with the
    last page's table."""
    lines = page.lines
    index = {id(ln): i for i, ln in enumerate(lines)}
    row_like = [bool(ln.glyphs) and not ln.ocr and _row_like(spans(ln.glyphs, _line_size(ln))) for ln in lines]
    runs: list[tuple[list[Line], bool]] = []
    i = 0
    while i < len(lines):
        if not row_like[i]:
            i += 1
            continue
        run = [lines[i]]
        j = i + 1
        while j < len(lines):
            prev, line = run[-1], lines[j]
            if line.top > prev.bottom + 3 * _line_size(prev) or line.bottom > prev.top:
                break  # not the next line down
            if row_like[j]:
                run.append(line)
            elif j + 1 < len(lines) and row_like[j + 1] and _label_line(line, run):
                run.append(line)  # a group label or a wrapped label between rows
            else:
                break
            j += 1
        body = [ln for ln in run if row_like[index[id(ln)]]]
        if len(body) >= 2 and _aligned(body):
            runs.append((run, False))
        elif not any(ln.text.strip() for ln in lines[:i]):
            runs.append((run, True))
        i = j
    return runs


def _label_line(line: Line, run: list[Line]) -> bool:
    x0 = min(ln.x0 for ln in run)
    x1 = max(ln.x1 for ln in run)
    return (
        bool(line.glyphs)
        and not ends_sentence(line.text)
        and line.x0 >= x0 - _line_size(line)
        and line.x1 <= x0 + 0.6 * (x1 - x0)
    )


def _regions(page: Page) -> list[_Region]:
    """The tables of one page, as the lines each takes (not yet cut into rows and columns)."""
    index = {id(ln): i for i, ln in enumerate(page.lines)}
    found: list[_Region] = []
    for box in _ruled_boxes(page.rules):
        inside = [ln for ln in page.lines if ln.glyphs and _inside(ln, box)]
        prose = sum(ends_sentence(ln.text) and len(ln.text) >= 20 for ln in inside)
        if len(inside) >= 2 and prose * 3 <= len(inside):
            found.append(_Region(page, inside))
    for run, weak in _aligned_runs(page):
        ids = {id(ln) for ln in run}
        overlapping = [r for r in found if any(id(ln) in ids for ln in r.lines)]
        if overlapping:
            region = overlapping[0]
            region.lines = sorted({id(ln): ln for ln in [*region.lines, *run]}.values(), key=lambda ln: index[id(ln)])
            continue
        region = _Region(page, list(run), weak=weak)
        _add_header_lines(region, index)
        found.append(region)
    for region in found:
        _add_caption(region, index)
    return sorted(found, key=lambda r: index[id(r.lines[0])])


def _wide_rules(page: Page, x0: float, x1: float) -> list[Rule]:
    return [r for r in page.rules if r.horizontal and min(r.x1, x1) - max(r.x0, x0) >= WIDE_RULE * (x1 - x0)]


def _add_header_lines(region: _Region, index: dict[int, int]) -> None:
    """Take the header lines above an unruled table's first row: short, unfinished, within its width."""
    lines = region.page.lines
    first = region.lines[0]
    x0, x1 = min(ln.x0 for ln in region.lines), max(ln.x1 for ln in region.lines)
    rules = _wide_rules(region.page, x0, x1)
    taken: list[Line] = []
    i = index[id(first)] - 1
    top = first
    while i >= 0 and len(taken) < MAX_HEADER_LINES:
        line = lines[i]
        size = _line_size(line)
        crossed = any(top.top <= r.y0 <= line.bottom for r in rules)
        if (
            not line.glyphs
            or line.table is not None
            or line.bottom < top.top - 1
            or line.bottom - top.top > 2.5 * size
            or CAPTION.match(line.text.strip())
            or UNIT_LINE.match(line.text.strip())
            or ends_sentence(line.text)
            or line.x0 < x0 - 2 * size
            or line.x1 > x1 + 2 * size
            or len(spans(line.glyphs, size)) < 2
            or (crossed and taken)
        ):
            break
        taken.insert(0, line)
        top = line
        i -= 1
    region.lines = taken + region.lines


def _add_caption(region: _Region, index: dict[int, int]) -> None:
    """The caption (``表3 …``) and unit line (``单位：万吨``) just above the table, or else just below it."""
    lines = region.page.lines
    first, last = index[id(region.lines[0])], index[id(region.lines[-1])]
    top = max(ln.top for ln in region.lines)
    for i in range(first - 1, max(first - 3, -1), -1):
        line = lines[i]
        text = line.text.strip()
        if line.table is not None or line.bottom - top > CAPTION_DISTANCE * _line_size(line) or line.bottom < top - 1:
            break
        if region.unit is None and UNIT_LINE.match(text):
            region.unit = line
        elif region.caption is None and CAPTION.match(text):
            region.caption = line
            break
        else:
            break
        top = line.top
    if region.caption is None and last + 1 < len(lines):
        below = lines[last + 1]
        bottom = min(ln.bottom for ln in region.lines)
        if CAPTION.match(below.text.strip()) and 0 <= bottom - below.top <= CAPTION_DISTANCE * _line_size(below):
            region.caption = below


# ---- rows and columns ----------------------------------------------------------------------------------


def _cut(region: _Region) -> bool:
    """Cut a region into rows and columns; False when it turns out not to be a table."""
    rows = _rows(region)
    if len(rows) < (1 if region.weak else 2):
        return False
    header = next((i for i, row in enumerate(rows) if _row_like(row.spans)), None)
    if header is None:  # no row of figures: a ruled table of words, its first row the header
        header = 1 if len(rows) >= 2 else 0
    # a rule across the table under the header ends it, even above rows without figures
    x0, x1 = min(ln.x0 for ln in region.lines), max(ln.x1 for ln in region.lines)
    ruled = [i for i in range(1, header + 1) if any(
        rows[i].top <= r.y0 <= rows[i - 1].bottom for r in _wide_rules(region.page, x0, x1)
    )]
    header = ruled[0] if ruled else header
    body = rows[header:]
    size = statistics.median(r.size for r in rows)
    bands = _bands(body, size)
    bands = _split_at_rules(bands, body, region, size)
    if len(bands) < 2 or not body:
        return False
    for i in range(len(rows) - 1, -1, -1):  # bottom up: an upper header row is placed over the one below it
        row = rows[i]
        below = rows[i + 1].cells if i + 1 < header else []
        row.cells = _assign_upper(row.spans, bands, below) if below else _assign(row.spans, bands, spanning=i < header)
    labelled = sum(bool(row.cells[0]) and not is_figure(row.text(0)) for row in body)
    if labelled * 2 < len(body):
        return False  # a table names its rows: figures alone (a chart's axis) are not one
    region.rows, region.bands, region.header = rows, bands, header
    return True


def _rows(region: _Region) -> list[_Row]:
    """The region's lines grouped by baseline, top to bottom; between rules when every row is ruled."""
    groups: list[tuple[list[Glyph], float, float, list[float]]] = []
    for line in sorted(region.lines, key=lambda ln: -ln.top):
        middle = (line.bottom + line.top) / 2
        if groups and groups[-1][1] <= middle <= groups[-1][2]:
            glyphs, bottom, top, sizes = groups[-1]
            groups[-1] = ([*glyphs, *line.glyphs], min(bottom, line.bottom), max(top, line.top), [*sizes, line.size])
        else:
            groups.append((list(line.glyphs), line.bottom, line.top, [line.size]))
    x0 = min(ln.x0 for ln in region.lines)
    x1 = max(ln.x1 for ln in region.lines)
    bottom = min(g[1] for g in groups)
    top = max(g[2] for g in groups)
    cuts = sorted({round(r.y0, 1) for r in _wide_rules(region.page, x0, x1) if bottom < r.y0 < top}, reverse=True)
    if len(cuts) >= 2 and len(cuts) + 1 >= 0.5 * len(groups):
        # every row ruled: the lines between two rules are one row (a cell may wrap)
        banded: dict[int, tuple[list[Glyph], float, float, list[float]]] = {}
        for glyphs, b, t, sizes in groups:
            key = sum((b + t) / 2 < y for y in cuts)
            if key in banded:
                g0, b0, t0, s0 = banded[key]
                banded[key] = ([*g0, *glyphs], min(b0, b), max(t0, t), [*s0, *sizes])
            else:
                banded[key] = (glyphs, b, t, sizes)
        groups = [banded[k] for k in sorted(banded)]
    rows = []
    for glyphs, b, t, sizes in groups:
        size = statistics.median(s if s > 0 else 10.0 for s in sizes)
        lines = _by_line(glyphs, size)
        rows.append(_Row([sp for line in lines for sp in spans(line, size)], b, t, size, region.page.number))
    return rows


def _by_line(glyphs: list[Glyph], size: float) -> list[list[Glyph]]:
    """The glyphs of one row, by the line they stand on (a wrapped cell has several), top down."""
    lines: list[list[Glyph]] = []
    for g in sorted(glyphs, key=lambda g: -(g.bottom + g.top) / 2):
        middle = (g.bottom + g.top) / 2
        if lines and abs(middle - (lines[-1][0].bottom + lines[-1][0].top) / 2) <= 0.5 * size:
            lines[-1].append(g)
        else:
            lines.append([g])
    return lines


def _bands(body: list[_Row], size: float) -> list[tuple[float, float]]:
    """Columns: the x-ranges the body rows' cells cover, merged where they overlap."""
    intervals = sorted((s.x0, s.x1) for row in body for s in row.spans)
    bands: list[tuple[float, float]] = []
    for x0, x1 in intervals:
        if bands and x0 <= bands[-1][1] + 0.3 * size:
            bands[-1] = (bands[-1][0], max(bands[-1][1], x1))
        else:
            bands.append((x0, x1))
    return bands


def _split_at_rules(
    bands: list[tuple[float, float]], body: list[_Row], region: _Region, size: float
) -> list[tuple[float, float]]:
    """Split a column where a vertical rule runs down the body between its cells."""
    bottom, top = min(r.bottom for r in body), max(r.top for r in body)
    xs = sorted(
        (r.x0 + r.x1) / 2
        for r in region.page.rules
        if not r.horizontal and min(r.y1, top) - max(r.y0, bottom) >= 0.5 * (top - bottom)
    )
    cells = [s for row in body for s in row.spans]
    for x in xs:
        out = []
        for b0, b1 in bands:
            crossed = any(s.x0 < x - 1 and s.x1 > x + 1 for s in cells)
            left = [s.x1 for s in cells if b0 <= s.x0 and s.x1 <= x]
            right = [s.x0 for s in cells if x <= s.x0 and s.x1 <= b1 + 1]
            if b0 + 1 < x < b1 - 1 and not crossed and left and right:
                out += [(b0, max(left)), (min(right), b1)]
            else:
                out.append((b0, b1))
        bands = out
    return bands


def _assign_upper(row: list[Span], bands: list[tuple[float, float]], below: list[list[Span]]) -> list[list[Span]]:
    """An upper header row's cells by column. A cell heads the run of columns it is centred over
    (``2023年`` over ``绝对数`` and ``增长``), each column placed where its cell in the header row
    ``below`` stands (or its own middle); a cell wrapped above its own column heads that one alone."""
    cells: list[list[Span]] = [[] for _ in bands]
    refs = [(c[0].x0 + c[0].x1) / 2 if c else (b0 + b1) / 2 for c, (b0, b1) in zip(below, bands, strict=True)]
    spans_ = sorted(row, key=lambda s: s.x0)
    for k, span in enumerate(spans_):
        low = (spans_[k - 1].x1 + span.x0) / 2 if k else float("-inf")
        high = (span.x1 + spans_[k + 1].x0) / 2 if k + 1 < len(spans_) else float("inf")
        middle = (span.x0 + span.x1) / 2
        inside = [i for i, ref in enumerate(refs) if low <= ref <= high]
        if not inside:
            continue
        nearest = min(inside, key=lambda i: abs(refs[i] - middle))
        windows = [
            inside[a : b + 1]
            for a in range(len(inside))
            for b in range(a, len(inside))
            if inside[a] <= nearest <= inside[b] and inside[b] - inside[a] == b - a
        ]
        best = min(windows, key=lambda w: (abs(sum(refs[i] for i in w) / len(w) - middle), len(w)))
        for i in best:
            cells[i].append(span)
    return cells


def _assign(row: list[Span], bands: list[tuple[float, float]], *, spanning: bool) -> list[list[Span]]:
    """A row's spans by column: each to the column it overlaps most; a header cell to every column it spans."""
    cells: list[list[Span]] = [[] for _ in bands]
    for s in row:
        overlaps = [min(s.x1, b1) - max(s.x0, b0) for b0, b1 in bands]
        covered = [i for i, (b0, b1) in enumerate(bands) if overlaps[i] >= 0.5 * max(b1 - b0, 1.0)]
        if spanning and len(covered) > 1:
            for i in covered:
                cells[i].append(s)
            continue
        best = max(range(len(bands)), key=lambda i: (overlaps[i], -abs((s.x0 + s.x1) / 2 - sum(bands[i]) / 2)))
        if overlaps[best] <= 0:  # between two columns: the nearer one
            best = min(range(len(bands)), key=lambda i: abs((s.x0 + s.x1) / 2 - sum(bands[i]) / 2))
        cells[best].append(s)
    return cells


# ---- the table -------------------------------------------------------------------------------------------


def _label_columns(body: list[_Row], header: list[str]) -> int:
    """Leading columns whose cells are mostly words, not figures, up to a unit column (at least one;
    a serial column and the next)."""
    units = lexicon.words("unit_headers")
    count = 0
    for column in range(len(header) - 1):
        if column and header[column].replace(" ", "") in units:
            break
        cells = [row.text(column) for row in body if row.cells[column]]
        figures = sum(is_figure(c) for c in cells)
        serial = cells == [str(n) for n in range(1, len(cells) + 1)] and column == 0
        if cells and figures * 2 >= len(cells) and not serial:
            break
        count += 1
    return max(count, 1)


def _unwrap(body: list[_Row], labels: int) -> list[_Row]:
    """Join a label that wrapped onto a line of its own to the row it belongs to (closer than rows stand)."""
    if len(body) < 3:
        return body
    steps = [a.top - b.top for a, b in zip(body, body[1:], strict=False) if a.page == b.page]
    if not steps:
        return body
    pitch = statistics.median(steps)
    out: list[_Row] = []
    for i, row in enumerate(body):
        valueless = not any(row.cells[c] for c in range(labels, len(row.cells)))
        if valueless and out and out[-1].near(row, WRAP_PITCH * pitch):
            above = out[-1]
            if any(above.cells[c] for c in range(labels, len(above.cells))):
                for c in range(labels):
                    above.cells[c] = [*above.cells[c], *row.cells[c]]
                above.bottom = row.bottom
                continue
        below = body[i + 1] if i + 1 < len(body) else None
        if valueless and below is not None and row.near(below, WRAP_PITCH * pitch):
            for c in range(labels):
                below.cells[c] = [*row.cells[c], *below.cells[c]]
            below.top = row.top
            continue
        out.append(row)
    return out


def _labels(body: list[_Row], labels: int) -> list[str]:
    """Each body row's label, with the labels of the rows it is indented under (`` › ``-joined)."""
    firsts = [row.cells[0][0] if row.cells[0] else None for row in body]
    starts = [s.indent for s in firsts if s is not None]
    size = statistics.median(row.size for row in body)
    centres = [(s.x0 + s.x1) / 2 for s in firsts if s is not None]
    centred = bool(starts) and max(centres) - min(centres) < 0.3 * size < size < max(starts) - min(starts)
    out: list[str] = []
    stack: list[tuple[float, str]] = []  # (indentation, label) of the groups above
    for row in body:
        cells = row.cells[0]
        own = _join([s.text for s in cells])
        group = ""
        # "在总计中：  轻工业": a group label before the row's own, which starts where other rows' labels do
        same_line = len(cells) >= 2 and abs(cells[-1].bottom - cells[0].bottom) <= 0.5 * size
        if same_line and any(abs(cells[-1].x0 - x) <= ALIGN * size for x in starts):
            group, own = _join([s.text for s in cells[:-1]]), cells[-1].text
        rest = " ".join(row.text(c) for c in range(1, labels) if row.cells[c])
        own = " ".join(x for x in (own, rest) if x)
        indent = (cells[-1].indent if group else cells[0].indent) if cells else 0.0
        if centred:
            out.append(own)
            continue
        if group:
            stack = [(x, text) for x, text in stack if x < cells[0].x0 - ALIGN * size]
            stack.append((cells[0].x0, group))
        stack = [(x, text) for x, text in stack if x < indent - ALIGN * size]
        if not own:
            # a row without a label (a header repeated mid-table) heads nothing
            out.append("")
            continue
        out.append(" › ".join([text for _, text in stack] + [own]))
        valueless = not any(row.cells[c] for c in range(labels, len(row.cells)))
        # a row without figures heads the rows below it, even those as far in as itself
        stack.append((indent - (ALIGN + 0.5) * size if valueless else indent, own))
    return out


def _table(group: list[_Region]) -> Table:
    """The table a region and its continuations on the next pages hold."""
    first = group[0]
    bands = first.bands
    header_rows = first.rows[: first.header]
    body: list[_Row] = []
    for region in group:
        rows = region.rows[region.header :]
        if region is not first:  # its columns, mapped onto the first part's by position
            for row in rows:
                row.cells = _assign([s for cell in row.cells for s in cell], bands, spanning=False)
        body += rows
    printed_header = [tuple(row.text(c) for c in range(len(bands))) for row in header_rows]
    names = [" ".join(h[c] for h in printed_header if h[c]) for c in range(len(bands))]
    labels = _label_columns(body, names)
    body = _unwrap(body, labels)
    caption, unit = _caption(first)
    printed = tuple([*printed_header, *(tuple(row.text(c) for c in range(len(bands))) for row in body)])
    return Table(printed, caption, len(header_rows), labels, tuple(_labels(body, labels)), unit)


def _caption(region: _Region) -> tuple[str, str]:
    """The caption's text and the unit line's (a unit standing at the right end of the caption line counts)."""
    unit = region.unit.text.strip() if region.unit is not None else ""
    if region.caption is None:
        return "", unit
    cells = spans(region.caption.glyphs, _line_size(region.caption)) if region.caption.glyphs else []
    if len(cells) >= 2 and UNIT_LINE.match(cells[-1].text) and not unit:
        return _caption_text(" ".join(c.text for c in cells[:-1])), cells[-1].text
    return _caption_text(region.caption.text), normalise_paragraph(unit)


def _caption_text(text: str) -> str:
    """``表 3 2023 年…`` -> ``表3 2023年…``: the number, one space, the title without spaces at Chinese."""
    text = text.strip()
    found = CAPTION.match(text)
    if found is None:
        return normalise_paragraph(text)
    title = normalise_paragraph(text[found.end() :])
    return " ".join(x for x in (re.sub(r"\s+", "", found.group(0)), title) if x)


def _holds(region: _Region, line: Line) -> bool:
    return any(ln is line for ln in region.taken)


def _header_text(region: _Region) -> list[str]:
    return [_join([s.text for s in row.spans]) for row in region.rows[: region.header]]


def _continues(prev: _Region, region: _Region) -> bool:
    """Whether ``region`` (at the top of its page) goes on with ``prev`` (at the end of the page before)."""
    if region.caption is not None or region.page.number != prev.page.number + 1:
        return False
    if not (_holds(prev, prev.page.lines[-1]) and _holds(region, region.page.lines[0])):
        return False  # the old part ends its page, the new one starts its own
    if region.header and _header_text(region) != _header_text(prev):
        return False  # a header of its own, not the old one repeated
    # every column of the new part stands over a column of the old one
    return all(any(min(b1, c1) > max(b0, c0) for c0, c1 in prev.bands) for b0, b1 in region.bands)


def find_tables(pages: list[Page]) -> int:
    """Replace the lines of each table on ``pages`` by one line holding the table; returns how many there are."""
    groups: list[list[_Region]] = []
    for page in pages:
        for region in _regions(page):
            if not _cut(region):
                continue
            if groups and _continues(groups[-1][-1], region):
                groups[-1].append(region)
            elif not region.weak:
                groups.append([region])
    for group in groups:
        table = _table(group)
        first = group[0]
        lines = [ln for region in group for ln in region.lines]
        taken = {id(ln) for region in group for ln in region.taken}
        size = statistics.median(ln.size for ln in lines)
        row = Line(
            "",
            min(ln.x0 for ln in first.lines),
            max(ln.x1 for ln in first.lines),
            min(ln.bottom for ln in first.lines),
            max(ln.top for ln in first.lines),
            size,
            first.page.number,
            table=table,
        )
        at = min(i for i, ln in enumerate(first.page.lines) if id(ln) in taken)
        for region in group:
            region.page.lines = [ln for ln in region.page.lines if id(ln) not in taken]
        first.page.lines.insert(at, row)
    return len(groups)

"""What readers hand to the rest of ingestion: a document as text, or as blocks the format delimited."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.core.settings import Settings


@dataclass(frozen=True)
class Table:
    """A table as rows of cell texts (its header rows first), with the caption it was given (``表1 …``).

    ``label_columns`` leading columns name each row; ``labels`` (when the reader saw the rows'
    indentation) give each body row's name with the groups it stands under
    (``粮食 › 其中：谷物 › 玉米``); ``unit`` is what a ``单位：…`` line says of the whole table.
    """

    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    header_rows: int = 1
    label_columns: int = 1
    labels: tuple[str, ...] = ()
    unit: str = ""

    @property
    def header(self) -> tuple[str, ...]:
        """Each column's name: its header cells from the top down (a multi-level header), repeats dropped."""
        width = max((len(r) for r in self.rows), default=0)
        names = []
        for column in range(width):
            parts: list[str] = []
            for row in self.rows[: self.header_rows]:
                cell = row[column] if column < len(row) else ""
                if cell and (not parts or parts[-1] != cell):
                    parts.append(cell)
            names.append(" ".join(parts))
        return tuple(names)

    @property
    def body(self) -> tuple[tuple[str, ...], ...]:
        """The rows below the header."""
        return self.rows[self.header_rows :]

    def label_count(self) -> int:
        """How many leading columns name a row (a column of serial numbers 1, 2, 3 … and the next one)."""
        first = [row[0] for row in self.body if row and row[0]]
        serial = len(first) >= 2 and first == [str(n) for n in range(1, len(first) + 1)]
        width = len(self.header)
        return min(max(self.label_columns, 2 if serial and width > 2 else 1), max(width - 1, 1))

    def unit_column(self) -> int | None:
        """The column that gives each row's unit (its header is ``单位``), if any."""
        from assistant.text import lexicon

        names = lexicon.words("unit_headers")
        found = [i for i, name in enumerate(self.header) if i >= self.label_count() and name.replace(" ", "") in names]
        return found[0] if found else None

    def row_label(self, index: int) -> str:
        """The name of body row ``index``: its label (with its groups, when known)."""
        if index < len(self.labels) and self.labels[index]:
            return self.labels[index]
        row = self.body[index]
        return " ".join(cell for cell in row[: self.label_count()] if cell)

    def names_columns(self, index: int) -> bool:
        """Whether body row ``index`` names the columns of the rows below it: no label, and cells that
        hold words or dates but no figure (a table's second part "2024年12月31日 | 2023年12月31日 | 增减")."""
        from assistant.text.numbers import DATES

        row = self.body[index]
        count = self.label_count()
        values = [cell for cell in row[count:] if cell]
        if any(row[:count]) or len(values) < 2:
            return False
        return not any(re.search(r"\d", DATES.sub("", cell)) for cell in values)

    def column_names(self, index: int) -> tuple[str, ...]:
        """The names of the columns of body row ``index``: the last row above it that names them
        (:meth:`names_columns`), else the table's header."""
        return self._column_names[index]

    @functools.cached_property
    def _column_names(self) -> tuple[tuple[str, ...], ...]:
        """:meth:`column_names` of every body row, found in one pass down the table."""
        header = current = self.header
        names = []
        for index, row in enumerate(self.body):
            names.append(current)
            if self.names_columns(index):
                current = tuple(row[c] if c < len(row) and row[c] else name for c, name in enumerate(header))
        return tuple(names)

    def record(self, index: int) -> str:
        """Body row ``index`` written out: ``label：column value unit；column value unit`` ('' without values)."""
        row = self.body[index]
        if self.names_columns(index):
            return ""
        header = self.column_names(index)
        unit_at = self.unit_column()
        parts = []
        for column in range(self.label_count(), len(row)):
            value = row[column]
            if column == unit_at or not value:
                continue
            name = header[column] if column < len(header) else ""
            unit = "" if _states_unit(name) else row[unit_at] if unit_at is not None else _single_unit(self.unit)
            unit = unit if value[-1:].isdigit() else ""  # "27.66%", "-0.24个百分点" carry their own
            parts.append(" ".join(x for x in (name, value + unit) if x))
        if not parts:
            return ""
        label = self.row_label(index)
        return f"{label}：{'；'.join(parts)}" if label else "；".join(parts)

    def head_lines(self) -> list[str]:
        """What every piece of the table repeats: the caption, the unit line, the header."""
        lines = [x for x in (self.caption, self.unit) if x]
        if self.header_rows and any(self.header):
            lines.append(" | ".join(self.header))
        return lines

    def row_lines(self, index: int) -> tuple[str, str]:
        """Body row ``index`` as printed (its cells, space-separated) and as :meth:`record` writes it."""
        return " ".join(cell for cell in self.body[index] if cell), self.record(index)

    def text(self, rows: range | None = None) -> str:
        """The head lines; the rows as printed, one a line; then the rows written out with their labels."""
        rows = rows if rows is not None else range(len(self.body))
        printed = [self.row_lines(i)[0] for i in rows]
        records = [r for r in (self.row_lines(i)[1] for i in rows) if r]
        return "\n".join(line for line in [*self.head_lines(), *printed, *records] if line)


def _states_unit(name: str) -> bool:
    """Whether a column's name carries its own unit (``产量（万吨）``, ``增长%``)."""
    return any(ch in name for ch in "（(%‰")


def _single_unit(unit_line: str) -> str:
    """The unit a ``单位：万吨`` line gives, when it gives one (``单位：元，%`` gives several: none)."""
    unit = re.split(r"[：:]", unit_line, maxsplit=1)[-1].strip().rstrip("）)") if unit_line else ""
    return "" if re.search(r"[，,、；;\s]", unit) else unit


@dataclass(frozen=True)
class Glyph:
    """One visible character of a PDF page and its box, in PDF coordinates (points, y upwards)."""

    ch: str
    x0: float
    x1: float
    bottom: float
    top: float
    size: float


@dataclass(frozen=True)
class Place:
    """A run of a document's text as it stands in the file, and where that is.

    A PDF line (its page, its box, and a glyph per character of ``text`` when the reader knows
    them), a DOCX paragraph or table (its place in the body, 1-based, and the page its page breaks
    put it on), an HTML block (the ``id`` of the heading it stands under), a line of a text file.
    :mod:`assistant.ingest.locate` finds each passage's text among them.
    """

    text: str
    page: int | None = None
    #: (x0, bottom, x1, top) in PDF points
    box: tuple[float, float, float, float] | None = None
    #: one per character of ``text`` (PDF lines read from the text layer; OCR lines have none)
    glyphs: tuple[Glyph, ...] = ()
    paragraph: int | None = None
    line: int | None = None
    anchor: str | None = None
    #: part of a table (its caption, header or rows)
    table: bool = False


@dataclass(frozen=True)
class Block:
    """One paragraph of a document (or a table) as its reader found it.

    ``heading`` is the heading level the format itself states (1 = top; 0 = the document title):
    a DOCX heading style, an HTML ``<hN>``, a larger font in a PDF. Plain text states none.
    """

    text: str
    heading: int | None = None
    table: Table | None = None
    page: int | None = None


@dataclass
class Document:
    """A read document: plain ``text`` (split into paragraphs later) or the ``blocks`` its format delimits."""

    reader: str  # text | pdf | docx | html (+ocr when the PDF's text came from OCR)
    text: str | None = None
    blocks: list[Block] = field(default_factory=list)
    pages: int | None = None
    #: what the reader repaired or dropped, for explanations ("dropped 8 running header/footer lines")
    notes: list[str] = field(default_factory=list)
    #: the document's text where it stands, in reading order (what passages are located in)
    places: list[Place] = field(default_factory=list)


@dataclass(frozen=True)
class ReadOptions:
    """Limits and options of the readers (built from :class:`~assistant.core.settings.Settings`)."""

    max_bytes: int = 50 * 1024 * 1024
    max_pages: int = 1000
    max_unpacked_bytes: int = 200 * 1024 * 1024
    #: PDF: unpacked content one page may draw, and the whole document (assistant/ingest/limits.py)
    max_page_content_bytes: int = 32 * 1024 * 1024
    max_content_bytes: int = 256 * 1024 * 1024
    #: DOCX: unpacked word/document.xml, and cells a table may have (a merged cell once per column it spans)
    max_xml_bytes: int = 32 * 1024 * 1024
    max_table_cells: int = 50_000
    #: passages one document may give
    max_passages: int = 2000
    #: read in a worker process stopped after this many seconds (None: in this process, unbounded)
    max_seconds: float | None = None
    #: the worker's memory (address space) in bytes (None: unbounded)
    max_memory_bytes: int | None = None
    ocr: bool = False
    ocr_languages: str = "chi_sim+eng"
    ocr_dpi: int = 200
    #: show a progress bar while OCR runs (it takes minutes a page)
    progress: bool = False

    @classmethod
    def from_settings(cls, settings: Settings, *, progress: bool = False) -> ReadOptions:
        """The options the settings describe (``ASSISTANT_MAX_DOCUMENT_BYTES``, ``ASSISTANT_OCR`` …)."""
        return cls(
            max_bytes=settings.max_document_bytes,
            max_pages=settings.max_pages,
            max_unpacked_bytes=settings.max_unpacked_bytes,
            max_page_content_bytes=settings.max_page_content_bytes,
            max_content_bytes=settings.max_content_bytes,
            max_xml_bytes=settings.max_docx_xml_bytes,
            max_table_cells=settings.max_table_cells,
            max_passages=settings.max_passages,
            max_seconds=settings.max_reading_seconds or None,
            max_memory_bytes=settings.max_reading_memory_bytes or None,
            ocr=settings.ocr,
            ocr_languages=settings.ocr_languages,
            ocr_dpi=settings.ocr_dpi,
            progress=progress,
        )

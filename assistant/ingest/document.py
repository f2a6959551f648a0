"""What readers hand to the rest of ingestion: a document as text, or as blocks the format delimited."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Table:
    """A table as rows of cell texts, with the caption it was given (``表1 …``), if any."""

    rows: tuple[tuple[str, ...], ...]
    caption: str = ""

    def text(self) -> str:
        """The caption on the first line, then one line per row, cells separated by `` | ``."""
        lines = [" | ".join(cell for cell in row) for row in self.rows if any(row)]
        return "\n".join([self.caption, *lines] if self.caption else lines)


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

"""What readers hand to the rest of ingestion: a document as text, or as blocks the format delimited."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.core.settings import Settings


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


@dataclass(frozen=True)
class ReadOptions:
    """Limits and options of the readers (built from :class:`~assistant.core.settings.Settings`)."""

    max_bytes: int = 50 * 1024 * 1024
    max_pages: int = 1000
    max_unpacked_bytes: int = 200 * 1024 * 1024
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
            ocr=settings.ocr,
            ocr_languages=settings.ocr_languages,
            ocr_dpi=settings.ocr_dpi,
            progress=progress,
        )

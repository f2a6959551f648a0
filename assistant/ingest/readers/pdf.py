"""PDF: text lines from pypdfium2, tables from pdfplumber, OCR with tesseract for pages without text.

pypdfium2 reads the text in the order it was written, which keeps sentences whole in multi-column
layouts, and gives each character's box and font size; :mod:`assistant.ingest.pagelines` turns
the lines into paragraphs. pdfplumber finds ruled tables cleanly (it mixes columns in running
text, so it is used for nothing else), and only on pages that draw enough lines to hold one.

A page has no usable text when it has almost no characters (a scan) or when most of its
characters come from fonts without a Unicode map (the glyphs print but say nothing). Such pages
are read by OCR when ``ocr`` is on, and refused with a clear error when the whole document is
like that and OCR is off.
"""

from __future__ import annotations

import ctypes
import statistics
from pathlib import Path
from typing import Any

from assistant.core.errors import DocumentTooLargeError, UnreadableDocumentError
from assistant.ingest.document import Document, ReadOptions, Table
from assistant.ingest.pagelines import Line, Page, drop_running_lines, paragraphs, place_tables

#: a page with fewer non-space characters than this has no text layer worth reading
MIN_PAGE_CHARS = 10
#: a page whose characters are unmapped at least this often has no usable text
MAX_UNMAPPED_SHARE = 0.3
#: drawn paths a page needs before pdfplumber is asked for its tables (ruled tables draw many)
MIN_TABLE_PATHS = 4


def _open(path: Path) -> Any:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            raise UnreadableDocumentError(
                f"{path.name} is a password-protected PDF; remove the password and add it again"
            ) from exc
        if exc.err_code == pdfium_c.FPDF_ERR_SECURITY:
            raise UnreadableDocumentError(f"{path.name} uses a PDF security handler that cannot be opened") from exc
        raise UnreadableDocumentError(f"{path.name} is not a readable PDF (damaged or truncated): {exc}") from exc


class _PageText:
    """The characters of one page: text lines, how many there are, how many lack a Unicode map."""

    def __init__(self, page: Any, number: int) -> None:
        import pypdfium2.raw as pdfium_c

        textpage = page.get_textpage()
        try:
            count = textpage.count_chars()
            self.chars = 0
            self.unmapped = 0
            self.lines: list[Line] = []
            left, bottom, right, top = (ctypes.c_double() for _ in range(4))
            current: list[tuple[str, float, float, float, float, float]] = []
            high = 0
            for i in range(count):
                code = pdfium_c.FPDFText_GetUnicode(textpage.raw, i)
                if 0xD800 <= code < 0xDC00:  # a character beyond the BMP comes as a surrogate pair
                    high = code
                    continue
                if 0xDC00 <= code < 0xE000 and high:
                    code, high = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00), 0
                ch = chr(code)
                if ch == "\n":
                    self._flush(current, number)
                    current = []
                    continue
                if ch in "\r\x00" or ch == "\ufffe":
                    continue
                if not ch.isspace():
                    self.chars += 1
                    self.unmapped += pdfium_c.FPDFText_HasUnicodeMapError(textpage.raw, i) == 1
                pdfium_c.FPDFText_GetCharBox(textpage.raw, i, left, right, bottom, top)
                size = pdfium_c.FPDFText_GetFontSize(textpage.raw, i)
                current.append((ch, left.value, right.value, bottom.value, top.value, size))
            self._flush(current, number)
        finally:
            textpage.close()

    def _flush(self, chars: list[tuple[str, float, float, float, float, float]], number: int) -> None:
        visible = [c for c in chars if not c[0].isspace()]
        if not visible:
            return
        text = "".join(c[0] for c in chars).strip()
        size = statistics.median(c[5] for c in visible)
        self.lines.append(
            Line(
                text,
                min(c[1] for c in visible),
                max(c[2] for c in visible),
                min(c[3] for c in visible),
                max(c[4] for c in visible),
                size,
                number,
            )
        )

    def usable(self, images: int) -> bool:
        """False for a page of images with (almost) no text (a scan), or of mostly unmapped glyphs."""
        scanned = self.chars < MIN_PAGE_CHARS and images > 0
        return not scanned and self.unmapped <= MAX_UNMAPPED_SHARE * self.chars


def _tables(path: Path, page_index: int, height: float) -> list[tuple[Table, tuple[float, float, float, float]]]:
    """Ruled tables of one page with their boxes in PDF coordinates (pdfplumber measures from the top)."""
    import pdfplumber

    from assistant.ingest.paragraphs import join_lines

    out = []
    with pdfplumber.open(str(path), pages=[page_index + 1]) as pdf:
        for found in pdf.pages[0].find_tables():
            rows = []
            for row in found.extract():
                cells = []
                for cell in row:
                    parts = [p.strip() for p in (cell or "").split("\n") if p.strip()]
                    text = parts[0] if parts else ""
                    for part in parts[1:]:
                        text = join_lines(text, part)
                    cells.append(text)
                rows.append(tuple(cells))
            if len(rows) < 2:
                continue  # a ruled box around text is not a table
            x0, top, x1, bottom = found.bbox
            out.append((Table(tuple(rows)), (x0, height - bottom, x1, height - top)))
    return out


def _object_count(page: Any, kind: str) -> int:
    """How many objects of a kind (PATH, IMAGE) a page draws."""
    import pypdfium2.raw as pdfium_c

    return sum(1 for _ in page.get_objects(filter=[getattr(pdfium_c, f"FPDF_PAGEOBJ_{kind}")], max_depth=2))


def read_pdf(path: Path, options: ReadOptions) -> Document:
    """Read a PDF into blocks (see the module docstring); CorpusError for what cannot be read."""
    pdf = _open(path)
    try:
        count = len(pdf)
        if count == 0:
            raise UnreadableDocumentError(f"{path.name} is a PDF without pages")
        if count > options.max_pages:
            raise DocumentTooLargeError(
                f"{path.name} has {count} pages; documents may have at most {options.max_pages} (ASSISTANT_MAX_PAGES)"
            )
        pages: list[Page] = []
        unreadable: list[int] = []
        unmapped = chars = 0
        for index in range(count):
            page = pdf[index]
            try:
                width, height = page.get_size()
                text = _PageText(page, index + 1)
                chars += text.chars
                unmapped += text.unmapped
                usable = text.usable(_object_count(page, "IMAGE"))
                if not usable:
                    unreadable.append(index)
                tables = (
                    _tables(path, index, height) if usable and _object_count(page, "PATH") >= MIN_TABLE_PATHS else []
                )
                pages.append(Page(index + 1, width, height, text.lines if usable else [], tables))
            finally:
                page.close()
    finally:
        pdf.close()

    notes: list[str] = []
    if unreadable:
        why = (
            f"{unmapped} of {chars} characters come from fonts without a Unicode map"
            if unmapped > chars * MAX_UNMAPPED_SHARE
            else "its pages hold images of text (a scan) and no text layer"
        )
        if options.ocr:
            from assistant.ingest.readers.ocr import ocr_pages

            for index, lines in ocr_pages(path, unreadable, options).items():
                pages[index].lines = lines
            notes.append(f"OCR read page{'s' * (len(unreadable) > 1)} {_page_list(unreadable)}")
        elif len(unreadable) == count:
            raise UnreadableDocumentError(
                f"{path.name} has no usable text layer: {why}. Set ASSISTANT_OCR=true to read it with tesseract "
                "(apt-get install tesseract-ocr tesseract-ocr-chi-sim; 1-3 minutes a page), or add a text version"
            )
        else:
            notes.append(
                f"page{'s' * (len(unreadable) > 1)} {_page_list(unreadable)} have no usable text "
                "(set ASSISTANT_OCR=true)"
            )

    if not any(page.lines for page in pages):
        raise UnreadableDocumentError(
            f"{path.name} holds no text: its {count} page{'s are' if count > 1 else ' is'} blank"
        )
    dropped = drop_running_lines(pages)
    if dropped:
        notes.append(f"dropped {dropped} running header/footer/page-number lines")
    for page in pages:
        place_tables(page)
    reader = "pdf+ocr" if unreadable and options.ocr else "pdf"
    return Document(reader=reader, blocks=paragraphs(pages), pages=count, notes=notes)


def _page_list(indexes: list[int]) -> str:
    shown = ", ".join(str(i + 1) for i in indexes[:10])
    return shown + (f" and {len(indexes) - 10} more" if len(indexes) > 10 else "")

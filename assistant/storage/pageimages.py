"""Pages of the collection's documents as PNG images, with a passage's boxes marked; cached on disk.

A PDF's page is drawn with pypdfium2 at the width asked for (the height follows the page's shape),
the passage's boxes on that page filled in translucent yellow and outlined. Each image is kept in
the cache folder (``ASSISTANT_PAGE_CACHE_DIR``, by default ``page-images/`` in the index folder)
under the document's sha256, the page, the width and a hash of the boxes drawn: a replaced
document, or a passage cut differently, never gets an old picture. The cache is bounded
(``ASSISTANT_PAGE_CACHE_MAX_MB``); the images used least recently go first.

A Word document has no pages of its own: its pages are drawn from the PDF LibreOffice (``soffice``)
converts it to, when LibreOffice is installed, and the passage is marked where its text stands in
that PDF. Without it, and for HTML and text, there are no page images (:class:`NoPageImagesError`).
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.core.errors import InvalidInputError, NoPageImagesError, PageNotFoundError, UnreadableDocumentError
from assistant.core.fsio import fsync_path
from assistant.core.settings import Settings
from assistant.core.types import Box, Passage
from assistant.storage.documents import DocumentInfo

MIN_WIDTH = 200
MAX_WIDTH = 2000
#: the marks: a translucent fill and an opaque outline (RGBA), the outline's width in pixels
FILL = (255, 214, 0, 96)
OUTLINE = (230, 120, 0, 255)
OUTLINE_WIDTH = 2
#: zlib level of the PNGs: 3 writes a text page about twice as fast as the default 6, and smaller
PNG_COMPRESSION = 3
#: seconds LibreOffice may take to convert a document
CONVERT_TIMEOUT = 180
#: what the formats without pages are called in the message that says so
_NO_PAGES = {"html": "an HTML page", "text": "a text file", "markdown": "a Markdown file"}


@dataclass(frozen=True)
class PageImage:
    """A drawn page: the PNG file, which page of how many, and whether it came from the cache."""

    path: Path
    page: int
    pages: int
    cached: bool
    #: the boxes marked on it
    marked: int


def check_width(width: int) -> int:
    """``width`` when it is within bounds (InvalidInputError otherwise)."""
    if not MIN_WIDTH <= width <= MAX_WIDTH:
        raise InvalidInputError(f"width must be from {MIN_WIDTH} to {MAX_WIDTH} pixels, got {width}")
    return width


def converter() -> str | None:
    """The LibreOffice program that converts Word documents to PDF, if one is installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


class PageImages:
    """Page images of the documents in ``settings.corpus_dir``, cached in ``settings.page_cache``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.folder = settings.page_cache
        self.max_bytes = settings.page_cache_max_mb * 1024 * 1024

    def render(self, document: DocumentInfo, page: int, *, width: int | None = None,
               passage: Passage | None = None) -> PageImage:
        """Page ``page`` (1-based) of ``document``, ``width`` pixels wide, ``passage``'s boxes marked.

        Raises PageNotFoundError for a page the document does not have or a passage of another
        document, NoPageImagesError for a document without pages, InvalidInputError for a bad width.
        """
        width = check_width(width if width is not None else self.settings.page_image_width)
        if passage is not None and passage.source != document.source:
            raise PageNotFoundError(f"passage {passage.id!r} is not in document {document.id!r}")
        pdf_path, converted = self._pdf(document)
        pages = _page_count(pdf_path)
        if not 1 <= page <= pages:
            raise PageNotFoundError(
                f"document {document.id!r} has {pages} page{'s' * (pages != 1)}; there is no page {page}"
            )
        boxes = self._boxes(pdf_path, passage, converted, page) if passage is not None else []
        mark = hashlib.sha256(json.dumps([b.model_dump(mode="json") for b in boxes]).encode()).hexdigest()[:16]
        name = f"{document.sha256}-p{page}-w{width}-{mark if boxes else 'plain'}.png"
        target = self.folder / document.sha256[:2] / name
        if target.is_file():
            os.utime(target)  # used now: the last to be pruned
            return PageImage(target, page, pages, cached=True, marked=len(boxes))
        png = draw(pdf_path, page, width, boxes)
        _store(target, png)
        self._prune(keep=target)
        return PageImage(target, page, pages, cached=False, marked=len(boxes))

    # ---- the PDF a document is drawn from -------------------------------------------------------

    def _pdf(self, document: DocumentInfo) -> tuple[Path, bool]:
        """The PDF that holds the document's pages, and whether it is a conversion."""
        path = self.settings.corpus_dir / document.source
        if document.type.startswith("pdf"):
            return path, False
        if document.type != "docx":
            what = _NO_PAGES.get(document.type, f"a {document.type} document")
            raise NoPageImagesError(f"{document.id} is {what}, which has no pages to draw")
        program = converter()
        if program is None:
            raise NoPageImagesError(
                f"{document.id} is a Word document: its pages are drawn from the PDF LibreOffice converts it to, "
                "and LibreOffice is not installed (apt-get install libreoffice-writer); no page images"
            )
        target = self.folder / "converted" / f"{document.sha256}.pdf"
        if not target.is_file():
            _convert(program, path, target)
        return target, True

    def _boxes(self, pdf_path: Path, passage: Passage, converted: bool, page: int) -> list[Box]:
        """The passage's boxes on ``page``: from its location, or (a converted document) found in the PDF."""
        location = passage.location
        if converted:
            from assistant.ingest import ReadOptions, read_document
            from assistant.ingest.locate import locate

            places = read_document(pdf_path, ReadOptions.from_settings(self.settings)).places
            location = locate(places, [passage])[0].location
        return [b for b in (location.boxes if location is not None else ()) if b.page == page]

    # ---- the cache ------------------------------------------------------------------------------

    def _prune(self, keep: Path) -> None:
        """Remove the least recently used images while the cache holds more than its bound."""
        files = [(p.stat(), p) for p in self.folder.glob("*/*.png")]
        total = sum(stat.st_size for stat, _ in files)
        for stat, path in sorted(files, key=lambda f: f[0].st_mtime):
            if total <= self.max_bytes:
                break
            if path != keep:
                path.unlink(missing_ok=True)
                total -= stat.st_size


def _store(target: Path, data: bytes) -> None:
    """Put ``data`` in the cache as ``target``, whole or not at all (a request drawing the same page
    at the same time writes the same bytes)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_bytes(data)
        fsync_path(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _convert(program: str, source: Path, target: Path) -> None:
    """``source`` converted to the PDF ``target`` by LibreOffice (in a scratch folder, then moved in)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        # a profile folder of its own: a LibreOffice already running for the user would take the job and exit
        command = [program, f"-env:UserInstallation=file://{scratch}/profile", "--headless", "--convert-to", "pdf",
                   "--outdir", scratch, str(source)]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=CONVERT_TIMEOUT)
        except (OSError, subprocess.SubprocessError) as exc:
            raise NoPageImagesError(f"LibreOffice could not convert {source.name} to PDF: {exc}") from exc
        made = Path(scratch) / f"{source.stem}.pdf"
        if not made.is_file():
            raise NoPageImagesError(f"LibreOffice did not convert {source.name} to PDF")
        os.replace(made, target)


def _open(path: Path) -> Any:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise UnreadableDocumentError(f"{path.name} cannot be opened to draw its pages: {exc}") from exc


def _page_count(path: Path) -> int:
    pdf = _open(path)
    try:
        return len(pdf)
    finally:
        pdf.close()


def draw(path: Path, page: int, width: int, boxes: Sequence[Box] = ()) -> bytes:
    """Page ``page`` of the PDF at ``path`` as PNG bytes, ``width`` pixels wide, ``boxes`` marked."""
    import pypdfium2.raw as pdfium_c
    from PIL import Image, ImageDraw

    pdf = _open(path)
    try:
        sheet = pdf[page - 1]
        try:
            image = sheet.render(scale=width / sheet.get_size()[0], may_draw_forms=True).to_pil().convert("RGB")
            size = image.size
            corners = []
            x, y = ctypes.c_int(), ctypes.c_int()
            for box in boxes:
                points = []
                for px, py in ((box.x0, box.y1), (box.x1, box.y0)):
                    # page space to pixels, through the page's crop box and rotation
                    pdfium_c.FPDF_PageToDevice(sheet.raw, 0, 0, size[0], size[1], 0, px, py, x, y)
                    points.append((x.value, y.value))
                (ax, ay), (bx, by) = points
                corners.append((min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)))
        finally:
            sheet.close()
    finally:
        pdf.close()
    if corners:
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        pen = ImageDraw.Draw(overlay)
        for corner in corners:
            pen.rectangle(corner, fill=FILL, outline=OUTLINE, width=OUTLINE_WIDTH)
        image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=PNG_COMPRESSION)
    return out.getvalue()

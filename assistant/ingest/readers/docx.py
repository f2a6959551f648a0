"""DOCX: paragraphs with their heading styles, and tables with their captions, in document order (python-docx).

The archive is checked before python-docx opens it: a DOCX is a zip file, and a small one can
unpack to gigabytes (a zip bomb), so the members' declared sizes are added up first and compared
with ``max_unpacked_bytes``. Page headers and footers live in other parts of the package and are
not read, so they never reach the text.

Where the text stands is kept too: each paragraph and table of the body by its place (1-based, a
table counting as one) and the page it is on. A DOCX has no pages of its own; the page is what the
document's page breaks say: the breaks Word recorded where its last layout started a page
(``w:lastRenderedPageBreak``) when it holds any, else the explicit ones (a page break, a paragraph
set to start a page, a section that starts on a new page).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from assistant.core.errors import DocumentTooLargeError, UnreadableDocumentError
from assistant.ingest.document import Block, Document, Place, ReadOptions, Table
from assistant.ingest.markers import CAPTION
from assistant.ingest.paragraphs import join_lines

#: members a DOCX may hold (real ones have a few dozen; a zip bomb may have millions)
MAX_MEMBERS = 10_000
#: how much a member may shrink when compressed before it counts as a bomb (text XML reaches ~20-50)
MAX_RATIO = 200
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.I)
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def check_archive(path: Path, options: ReadOptions) -> None:
    """Refuse a DOCX whose members would unpack to more than the limit (checked from the zip directory)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableDocumentError(f"{path.name} is a damaged .docx (not a readable zip archive): {exc}") from exc
    if len(members) > MAX_MEMBERS:
        raise DocumentTooLargeError(
            f"{path.name} holds {len(members)} files; a .docx holds a few dozen (refused as a zip bomb)"
        )
    total = sum(m.file_size for m in members)
    if total > options.max_unpacked_bytes:
        raise DocumentTooLargeError(
            f"{path.name} would unpack to {total / 1024 / 1024:.0f} MB, more than "
            f"{options.max_unpacked_bytes / 1024 / 1024:.0f} MB (ASSISTANT_MAX_UNPACKED_BYTES): refused as a zip bomb"
        )
    for m in members:
        if m.file_size > 10 * 1024 * 1024 and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            raise DocumentTooLargeError(
                f"{path.name}: {m.filename} expands {m.file_size // max(m.compress_size, 1)}-fold "
                "(refused as a zip bomb)"
            )


def _text(paragraph: Any) -> str:
    lines = [ln.strip() for ln in paragraph.text.split("\n") if ln.strip()]
    text = lines[0] if lines else ""
    for line in lines[1:]:
        text = join_lines(text, line)
    return text


class _Styles:
    """The paragraph styles by id, looked up once: python-docx finds a paragraph's default style by
    scanning every style, for every paragraph (seconds per thousand paragraphs)."""

    def __init__(self, document: Any) -> None:
        from docx.enum.style import WD_STYLE_TYPE

        styles = document.styles
        self.by_id = {s.style_id: s for s in styles if s.type == WD_STYLE_TYPE.PARAGRAPH}
        self.default = styles.default(WD_STYLE_TYPE.PARAGRAPH)

    def of(self, paragraph: Any) -> Any:
        """The style of ``paragraph`` (the default paragraph style when it names none, or one that does not exist)."""
        return self.by_id.get(paragraph._p.style, self.default)  # noqa: SLF001 (no public API)


def _outline_level(value: str | None) -> int | None:
    try:
        level = int(value or "9")
    except ValueError:
        return None  # not a number: no outline level (Word ignores it too)
    return level + 1 if 0 <= level < 9 else None


def _level(paragraph: Any, style: Any) -> int | None:
    """The heading level a paragraph's style or outline level states (0 = Title)."""
    name = (style.name or "") if style is not None else ""
    if name.lower() in ("title", "标题"):
        return 0
    if m := _HEADING_STYLE.match(name):
        return int(m.group(1))
    for element in (paragraph._p.pPr, style.element.pPr if style is not None else None):  # noqa: SLF001 (no public API)
        outline = (
            element.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}outlineLvl")
            if element is not None
            else None
        )
        if outline is not None:
            return _outline_level(outline.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}val"))
    return None


def _is_caption(style: Any, text: str) -> bool:
    return ((style.name or "").lower() == "caption" if style is not None else False) or bool(
        CAPTION.match(text) and len(text) <= 80
    )


def _table(table: Any) -> tuple[tuple[str, ...], ...]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:  # noqa: SLF001 (a merged cell repeats; keep it once)
                continue
            previous = cell._tc  # noqa: SLF001
            cells.append(" ".join(_text(p) for p in cell.paragraphs if p.text.strip()))
        rows.append(tuple(cells))
    return tuple(rows)


def read_docx(path: Path, options: ReadOptions) -> Document:
    """Read a Word document into blocks (see the module docstring)."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table as DocxTable

    check_archive(path, options)
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise UnreadableDocumentError(f"{path.name} is a damaged .docx: {exc}") from exc
    except Exception as exc:  # lxml raises its own syntax errors for broken XML parts
        if type(exc).__module__.startswith("lxml"):
            raise UnreadableDocumentError(f"{path.name} is a damaged .docx (broken XML): {exc}") from exc
        raise
    styles = _Styles(document)
    blocks: list[Block] = []
    caption: str | None = None  # a caption paragraph waiting for the table after it
    for part in document.iter_inner_content():
        if isinstance(part, DocxTable):
            rows = _table(part)
            if caption is None and blocks and blocks[-1].heading is None and CAPTION.match(blocks[-1].text):
                caption = blocks.pop().text
            blocks.append(Block("", table=Table(rows, caption or "")))
            caption = None
            continue
        text = _text(part)
        if not text:
            continue
        if caption is not None:
            blocks.append(Block(caption))
            caption = None
        style = styles.of(part)
        if _is_caption(style, text):
            caption = text
            continue
        blocks.append(Block(text, heading=_level(part, style)))
    if caption is not None:
        blocks.append(Block(caption))
    if not blocks:
        raise UnreadableDocumentError(f"{path.name} is a .docx without text")
    return Document(reader="docx", blocks=blocks, places=places(document.element.body))


def places(body: Any) -> list[Place]:
    """The text of each paragraph and table of ``body`` with its place and page (see the module docstring).

    A paragraph a page break runs through is two places, one on each page. A document without any
    page break says nothing about pages: its places have none.
    """
    rendered = next(body.iter(f"{W}lastRenderedPageBreak"), None) is not None
    out: list[Place] = []
    page = 1
    number = 0
    for part in body:
        if part.tag not in (f"{W}p", f"{W}tbl"):
            continue
        number += 1
        table = part.tag == f"{W}tbl"
        if not rendered and not table and _true(part.find(f"{W}pPr/{W}pageBreakBefore")) and out:
            page += 1
        text: list[str] = []
        for element in part.iter(f"{W}t", f"{W}br", f"{W}lastRenderedPageBreak"):
            tag = element.tag
            if tag == f"{W}t":
                text.append(element.text or "")
                continue
            if tag == f"{W}lastRenderedPageBreak" if rendered else element.get(f"{W}type") == "page":
                if "".join(text).strip():
                    out.append(Place("".join(text), page=page, paragraph=number, table=table))
                text = []
                page += 1
        if "".join(text).strip():
            out.append(Place("".join(text), page=page, paragraph=number, table=table))
        if not rendered and not table and _new_page_section(part.find(f"{W}pPr/{W}sectPr")):
            page += 1  # the section this paragraph ends is followed by one that starts a new page
    if page == 1:  # no page breaks at all: which page a paragraph is on is not known
        return [replace(p, page=None) for p in out]
    return out


def _true(element: Any) -> bool:
    """Whether an on/off property is set (present, and not ``w:val="false"``/``"0"``)."""
    return element is not None and element.get(f"{W}val", "true") not in ("false", "0", "off")


def _new_page_section(element: Any) -> bool:
    """Whether a section ends here and the next one starts on a new page (the default section break)."""
    if element is None:
        return False
    kind = element.find(f"{W}type")
    return kind is None or kind.get(f"{W}val", "nextPage") != "continuous"

"""PDF: text lines and drawn rules from pypdfium2, OCR with tesseract for pages without text.

pypdfium2 reads the text in the order it was written, which keeps sentences whole in multi-column
layouts, and gives each character's box and font size. :mod:`assistant.ingest.pagetables` finds
the tables (ruled or not) from where the characters stand and the rules the page draws, and
:mod:`assistant.ingest.pagelines` turns the other lines into paragraphs.

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
from assistant.ingest.document import Document, Glyph, Place, ReadOptions
from assistant.ingest.pagelines import Line, Page, Rule, drop_running_lines, paragraphs
from assistant.ingest.pagetables import find_tables
from assistant.text.cjk import is_cjk

#: a page with fewer non-space characters than this has no text layer worth reading
MIN_PAGE_CHARS = 10
#: a page whose characters are unmapped at least this often has no usable text
MAX_UNMAPPED_SHARE = 0.3
#: a drawn path at most this thick (points) is a rule; one shorter than RULE_MIN_LENGTH is a mark, not a rule
RULE_MAX_WIDTH = 4.0
RULE_MIN_LENGTH = 8.0
#: half the height (in ems) a character counts as, around its middle, when telling lines apart
LINE_CORE = 0.35
#: a line break pdfium reports before a character at most this far (in ems) right of the last one
#: on the same baseline is no line break
JOIN_GAP = 1.0
#: a raised character smaller than this share of its line's size is a superscript
SUPERSCRIPT = 0.8
_MARK_CHARS = set("0123456789[]［］,，*")


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
    """The characters of one page: text lines, how many there are, how many lack a Unicode map.

    A character's size is its font size times the scale of its text matrix (a PDF may write 1-point
    text scaled up tenfold, or 320-point text scaled down), so sizes compare across pages. A
    character outside its clipping path does not print and is left out. pdfium breaks lines where
    the text flow does; a line that runs on to another baseline (a heading under the last line of
    a paragraph, two rows of a table) is broken there too.
    """

    def __init__(self, page: Any, number: int) -> None:
        import pypdfium2.raw as pdfium_c

        textpage = page.get_textpage()
        try:
            count = pdfium_c.FPDFText_CountChars(textpage.raw)
            self.chars = 0
            self.unmapped = 0
            self.lines: list[Line] = []
            box = _CharBox(textpage.raw)
            current: list[tuple[str, Glyph | None]] = []
            current_bottom, current_top = 0.0, -1.0  # the ink the line holds so far, up and down
            pending = False
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
                    pending = True  # pdfium's line break: kept unless the next character goes on on this line
                    continue
                if ch in "\r\x00" or ch == "\ufffe":
                    continue
                if ch.isspace():
                    current.append((ch, None))
                    continue
                self.chars += 1
                self.unmapped += pdfium_c.FPDFText_HasUnicodeMapError(textpage.raw, i) == 1
                glyph = box.glyph(i, ch)
                if glyph is None:
                    continue  # clipped away: not on the page as printed
                # the glyph's height, at least most of an em (a dash or a full stop has little ink)
                middle, half = (glyph.bottom + glyph.top) / 2, LINE_CORE * glyph.size
                low, high_ = min(glyph.bottom, middle - half), max(glyph.top, middle + half)
                other_line = current_top > current_bottom and (high_ < current_bottom or low > current_top)
                if other_line or (pending and not _goes_on(current, glyph)):
                    # another baseline (a line the text flow ran on to), or a break pdfium saw where a
                    # raised footnote digit or a new text object does not end the line
                    self._flush(current, number)
                    current, current_bottom, current_top = [], 0.0, -1.0
                pending = False
                current.append((ch, glyph))
                current_bottom = low if current_top < current_bottom else min(current_bottom, low)
                current_top = max(current_top, high_)
            self._flush(current, number)
        finally:
            textpage.close()

    def _flush(self, chars: list[tuple[str, Glyph | None]], number: int) -> None:
        chars = _without_superscript_marks(chars)
        glyphs = tuple(g for _, g in chars if g is not None)
        if not glyphs:
            return
        text = "".join(ch for ch, _ in chars).strip()
        size = statistics.median(g.size for g in glyphs)
        self.lines.append(
            Line(
                text,
                min(g.x0 for g in glyphs),
                max(g.x1 for g in glyphs),
                min(g.bottom for g in glyphs),
                max(g.top for g in glyphs),
                size,
                number,
                glyphs=glyphs,
            )
        )

    def usable(self, page: Any) -> bool:
        """False for a page of images with (almost) no text (a scan), or of mostly unmapped glyphs."""
        scanned = self.chars < MIN_PAGE_CHARS and _object_count(page, "IMAGE") > 0
        return not scanned and self.unmapped <= MAX_UNMAPPED_SHARE * self.chars


def _goes_on(current: list[tuple[str, Glyph | None]], glyph: Glyph) -> bool:
    """Whether ``glyph`` carries on the line ``current`` holds: just right of its last character."""
    last = next((g for _, g in reversed(current) if g is not None), None)
    return last is not None and -0.5 * last.size <= glyph.x0 - last.x1 <= JOIN_GAP * max(last.size, glyph.size)


def _without_superscript_marks(chars: list[tuple[str, Glyph | None]]) -> list[tuple[str, Glyph | None]]:
    """A line without its footnote marks: small raised digits (or ``[7]``) right after a word or a
    full stop, which would otherwise run into the figure after them (``收入⁷40867元``)."""
    glyphs = [g for _, g in chars if g is not None]
    if len(glyphs) < 3:
        return chars
    size = statistics.median(g.size for g in glyphs)
    base = statistics.median(g.bottom for g in glyphs if g.size >= 0.9 * size)
    out: list[tuple[str, Glyph | None]] = []
    previous = ""  # the last visible character kept, or "^" inside a mark
    for ch, g in chars:
        raised = g is not None and g.size < SUPERSCRIPT * size and g.bottom > base + 0.25 * size
        if raised and ch in _MARK_CHARS and (previous == "^" or (previous and is_cjk(previous))):
            previous = "^"
            continue
        if g is not None:
            previous = ch
        out.append((ch, g))
    return out


class _CharBox:
    """Box, effective size and visibility of the characters of one text page.

    A text object draws its characters in one font, at one size, through one clipping path: those
    are looked up once per object.
    """

    def __init__(self, textpage: Any) -> None:
        import pypdfium2.raw as pdfium_c

        self._c = pdfium_c
        self._textpage = textpage
        self._box = [ctypes.c_double() for _ in range(4)]
        self._matrix = pdfium_c.FS_MATRIX()
        self._loose = pdfium_c.FS_RECTF()
        self._objects: dict[int, tuple[float, tuple[float, float, float, float] | None]] = {}

    def glyph(self, index: int, ch: str) -> Glyph | None:
        """The glyph of character ``index``, or None when its clipping path hides it.

        Across, the glyph spans its advance (a full-width comma its whole em, so gaps between
        characters are the spacing the layout put there); up and down, its ink (so a raised
        footnote digit or the next line's characters do not overlap a line they are not on).
        """
        c = self._c
        left, right, bottom, top = self._box
        c.FPDFText_GetCharBox(self._textpage, index, left, right, bottom, top)
        loose = self._loose
        if c.FPDFText_GetLooseCharBox(self._textpage, index, loose) and loose.right > loose.left:
            x0, x1 = loose.left, loose.right
        else:
            x0, x1 = left.value, right.value
        size, clip = self._object(index)
        if clip is not None:
            x, y = (left.value + right.value) / 2, (bottom.value + top.value) / 2
            if not (clip[0] - 1 <= x <= clip[2] + 1 and clip[1] - 1 <= y <= clip[3] + 1):
                return None
        return Glyph(ch, x0, x1, bottom.value, top.value, size)

    def _object(self, index: int) -> tuple[float, tuple[float, float, float, float] | None]:
        """The size of character ``index`` in points, and the box of its clipping path (None: no clip)."""
        c = self._c
        obj = c.FPDFText_GetTextObject(self._textpage, index)
        key = ctypes.cast(obj, ctypes.c_void_p).value or 0
        found = self._objects.get(key) if key else None
        if found is None:
            size = c.FPDFText_GetFontSize(self._textpage, index)
            if c.FPDFText_GetMatrix(self._textpage, index, self._matrix):
                m = self._matrix
                scale = abs(m.a * m.d - m.b * m.c) ** 0.5
                size *= scale if scale > 0 else 1.0
            found = (size, _clip_box(c, obj) if key else None)
            if key:
                self._objects[key] = found
        return found


def _clip_box(c: Any, obj: Any) -> tuple[float, float, float, float] | None:
    """The intersection of the boxes of an object's clipping paths (None when it has none)."""
    clip = c.FPDFPageObj_GetClipPath(obj)
    if not clip:
        return None
    box: tuple[float, float, float, float] | None = None
    x, y = ctypes.c_float(), ctypes.c_float()
    for p in range(c.FPDFClipPath_CountPaths(clip)):
        xs, ys = [], []
        for s in range(c.FPDFClipPath_CountPathSegments(clip, p)):
            if c.FPDFPathSegment_GetPoint(c.FPDFClipPath_GetPathSegment(clip, p, s), x, y):
                xs.append(x.value)
                ys.append(y.value)
        if not xs:
            continue
        here = (min(xs), min(ys), max(xs), max(ys))
        if box is not None:
            here = (max(box[0], here[0]), max(box[1], here[1]), min(box[2], here[2]), min(box[3], here[3]))
        box = here
    return box


def _rules(page: Any) -> list[Rule]:
    """The straight lines a page draws: thin paths, and the edges of drawn rectangles (table cells)."""
    import pypdfium2.raw as pdfium_c

    rules: list[Rule] = []
    x, y = ctypes.c_float(), ctypes.c_float()
    matrix = pdfium_c.FS_MATRIX()
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    for i in range(pdfium_c.FPDFPage_CountObjects(page.raw)):
        # the raw API: a page of text draws thousands of objects, and only its paths matter here
        obj = pdfium_c.FPDFPage_GetObject(page.raw, i)
        if pdfium_c.FPDFPageObj_GetType(obj) != pdfium_c.FPDF_PAGEOBJ_PATH:
            continue
        if not pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
            continue
        x0, y0, x1, y1 = left.value, bottom.value, right.value, top.value
        w, h = x1 - x0, y1 - y0
        if max(w, h) < RULE_MIN_LENGTH:
            continue
        if min(w, h) <= RULE_MAX_WIDTH:  # a line, or a thin filled bar
            mid = (y0 + y1) / 2 if w >= h else (x0 + x1) / 2
            rules.append(Rule(x0, mid, x1, mid) if w >= h else Rule(mid, y0, mid, y1))
            continue
        segments = pdfium_c.FPDFPath_CountSegments(obj)
        if segments <= 5:  # a rectangle: its four edges
            edges = [Rule(x0, y0, x1, y0), Rule(x0, y1, x1, y1), Rule(x0, y0, x0, y1), Rule(x1, y0, x1, y1)]
            rules += [e for e in edges if max(e.x1 - e.x0, e.y1 - e.y0) >= RULE_MIN_LENGTH]
            continue
        # a path of many segments (a grid drawn in one go): its axis-parallel straight pieces
        pdfium_c.FPDFPageObj_GetMatrix(obj, matrix)
        points: list[tuple[float, float]] = []
        for s in range(segments):
            segment = pdfium_c.FPDFPath_GetPathSegment(obj, s)
            if not pdfium_c.FPDFPathSegment_GetPoint(segment, x, y):
                continue
            px = matrix.a * x.value + matrix.c * y.value + matrix.e
            py = matrix.b * x.value + matrix.d * y.value + matrix.f
            if pdfium_c.FPDFPathSegment_GetType(segment) == pdfium_c.FPDF_SEGMENT_LINETO and points:
                (ax, ay) = points[-1]
                if abs(ax - px) <= RULE_MAX_WIDTH or abs(ay - py) <= RULE_MAX_WIDTH:
                    rule = Rule(min(ax, px), min(ay, py), max(ax, px), max(ay, py))
                    if max(rule.x1 - rule.x0, rule.y1 - rule.y0) >= RULE_MIN_LENGTH:
                        rules.append(rule)
            points.append((px, py))
    return rules


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
                usable = text.usable(page)
                if not usable:
                    unreadable.append(index)
                lines, rules = (text.lines, _rules(page)) if usable else ([], [])
                pages.append(Page(index + 1, width, height, lines, rules))
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
    lines = [line for page in pages for line in page.lines]  # before tables take theirs
    find_tables(pages)
    kept = {id(line) for page in pages for line in page.lines}
    places = [_place(line, table=id(line) not in kept) for line in lines]
    reader = "pdf+ocr" if unreadable and options.ocr else "pdf"
    return Document(reader=reader, blocks=paragraphs(pages), pages=count, notes=notes, places=places)


def _place(line: Line, *, table: bool) -> Place:
    """A line where it stands: its page, its box, and its glyphs (an OCR line has only its box)."""
    box = (line.x0, line.bottom, line.x1, line.top)
    if line.glyphs:
        return Place("".join(g.ch for g in line.glyphs), page=line.page, box=box, glyphs=line.glyphs, table=table)
    return Place(line.text, page=line.page, box=box, table=table)


def _page_list(indexes: list[int]) -> str:
    shown = ", ".join(str(i + 1) for i in indexes[:10])
    return shown + (f" and {len(indexes) - 10} more" if len(indexes) > 10 else "")

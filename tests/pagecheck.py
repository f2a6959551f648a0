"""Checks of passage locations against pypdfium2's own text, and of drawn page images.

None of this uses the reader that made the locations: the words of a passage are found in the
page's text as pypdfium2 extracts it, their boxes are pypdfium2's character boxes, and a marked
page image is compared pixel by pixel with the same page drawn without marks.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops

from assistant.core.types import Box, Passage
from assistant.text.sentences import split_sentences

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1 in PDF points


@dataclass(frozen=True)
class PageWords:
    """The characters of one page as pypdfium2 reads them: text (no whitespace) and a box per character."""

    text: str
    boxes: list[Rect]


def page_words(pdf: Path) -> list[PageWords]:
    """Every page's characters, whitespace left out, each with its loose box."""
    import pypdfium2 as pdfium

    out = []
    document = pdfium.PdfDocument(str(pdf))
    try:
        for page in document:
            textpage = page.get_textpage()
            chars, boxes = [], []
            for i in range(textpage.count_chars()):
                ch = textpage.get_text_range(i, 1)
                if ch.strip():
                    chars.append(ch)
                    boxes.append(textpage.get_charbox(i, loose=True))
            out.append(PageWords("".join(chars), boxes))
            textpage.close()
            page.close()
    finally:
        document.close()
    return out


def words_of(passage: Passage, pages: list[PageWords]) -> dict[int, list[Rect]]:
    """Page -> the boxes of the passage's characters on it: each of its sentences found whole in a page's
    text, in order (a sentence a page break cuts is looked for piece by piece: its clauses, their
    halves; a table cell by cell)."""
    found: dict[int, list[Rect]] = {}
    cursor = [(0, 0)]  # (page index, character) after the last piece found: the next is looked for from there
    if passage.kind == "table":  # its caption, then each cell as printed (the rows written out are not printed)
        lines = passage.text.splitlines()
        _find(lines[0], pages, found, cursor)
        for line in (ln for ln in lines[1:] if "：" not in ln):  # a row written out reads "label：column value"
            for cell in re.split(r"\s*\|\s*|\s+", line):
                _find(cell, pages, found, cursor, least=2)
        return found
    for unit in split_sentences(passage.text):
        _find_parts(unit, pages, found, cursor)
    return found


def _find_parts(text: str, pages: list[PageWords], found: dict[int, list[Rect]], cursor: list[tuple[int, int]]) -> None:
    """``text`` whole, or else its clauses, or else its halves (where a page break cuts it)."""
    if _find(text, pages, found, cursor):
        return
    clauses = [c for c in re.split(r"(?<=[，、；：])", text) if c]
    if len(clauses) > 1:
        for clause in clauses:
            _find_parts(clause, pages, found, cursor)
    elif len(text) >= 8:
        _find_parts(text[: len(text) // 2], pages, found, cursor)
        _find_parts(text[len(text) // 2 :], pages, found, cursor)


def _find(text: str, pages: list[PageWords], found: dict[int, list[Rect]], cursor: list[tuple[int, int]],
          least: int = 4) -> bool:
    wanted = "".join(text.split())
    if len(wanted) < least:
        return False
    start_page, start = cursor[0]
    for index in range(len(pages)):
        # from the cursor on, then (a table's lines, written out again) from the start
        number = (start_page + index) % len(pages)
        page = pages[number]
        at = page.text.find(wanted, start if index == 0 else 0)
        if at >= 0:
            found.setdefault(number + 1, []).extend(page.boxes[at : at + len(wanted)])
            cursor[0] = (number, at + len(wanted))
            return True
    return False


def area(rects: list[Rect]) -> float:
    return sum(max(0.0, r[2] - r[0]) * max(0.0, r[3] - r[1]) for r in rects)


def rect(box: Box) -> Rect:
    return (box.x0, box.y0, box.x1, box.y1)


def inside(point: tuple[float, float], rects: list[Rect], slack: float = 0.5) -> bool:
    x, y = point
    return any(r[0] - slack <= x <= r[2] + slack and r[1] - slack <= y <= r[3] + slack for r in rects)


def centre(r: Rect) -> tuple[float, float]:
    return (r[0] + r[2]) / 2, (r[1] + r[3]) / 2


def line_union(rects: list[Rect]) -> list[Rect]:
    """Character boxes merged into one box per line and run (what a reader's eye calls the words' box)."""
    out: list[list[float]] = []
    for r in sorted(rects, key=lambda r: (-round(centre(r)[1]), r[0])):
        last = out[-1] if out else None
        same_line = last is not None and abs(centre(r)[1] - (last[1] + last[3]) / 2) < 0.5 * (r[3] - r[1])
        if last is not None and same_line and r[0] - last[2] < (r[3] - r[1]):
            last[0], last[1], last[2], last[3] = min(last[0], r[0]), min(last[1], r[1]), max(last[2], r[2]), max(
                last[3], r[3])
        else:
            out.append(list(r))
    return [(a, b, c, d) for a, b, c, d in out]


# ---- page images ---------------------------------------------------------------------------------


def png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image.convert("RGB")


def marked_pixels(marked: Image.Image, plain: Image.Image) -> set[tuple[int, int]]:
    """The pixels where a marked page differs from the same page drawn without marks (in any colour)."""
    assert marked.size == plain.size
    red, green, blue = ImageChops.difference(marked, plain).split()
    diff = ImageChops.lighter(ImageChops.lighter(red, green), blue).point(lambda v: 255 if v > 24 else 0)
    width, height = diff.size
    data = diff.tobytes()
    return {(i % width, i // width) for i, v in enumerate(data) if v}


def pixel_rects(boxes: list[Box], page_height: float, scale: float, pad: int = 3) -> list[tuple[int, int, int, int]]:
    """Boxes in PDF points as pixel rectangles of an image drawn at ``scale`` (y downwards), ``pad`` wider."""
    return [(int(b.x0 * scale) - pad, int((page_height - b.y1) * scale) - pad,
             int(b.x1 * scale) + pad, int((page_height - b.y0) * scale) + pad) for b in boxes]


def in_pixel_rects(point: tuple[int, int], rects: list[tuple[int, int, int, int]]) -> bool:
    x, y = point
    return any(r[0] <= x <= r[2] and r[1] <= y <= r[3] for r in rects)

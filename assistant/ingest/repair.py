"""Undo what text extraction broke, paragraph by paragraph.

- a page break inside a paragraph (the text continues after a blank line), sometimes with the
  character at the break repeated (``因地制宜`` + ``宜激发``);
- half-width item markers (``(三) `` -> ``（三）``);
- footnote marks in the running text (``收入[7]40867元``) and the labels footnotes open with;
- whitespace next to Chinese characters (``1900 余家`` -> ``1900余家``): Chinese has none, so any
  there is extraction noise. Markdown heading lines keep theirs: ``# 资料 1`` is syntax and a title.

PDF pages have their own damage (running headers, lines broken by the layout): see
:mod:`assistant.ingest.pagelines`.
"""

from __future__ import annotations

import re

from assistant.ingest.document import Block, Table
from assistant.ingest.markers import ARABIC_PAREN, CAPTION, CN_DUN, CN_PAREN, MD_HEADING, marker, strip_footnote_marks
from assistant.ingest.paragraphs import ends_sentence, split_paragraphs
from assistant.text.cjk import CJK_TEXT, is_cjk

_SPACED_SCHEMES = ("decimal", "chapter", "part", "article")
_PAGE_NUMBER = re.compile(
    r"^(?:[-–—]+\s*\d{1,4}\s*[-–—]+|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?|\d{1,4}\s*/\s*\d{1,4}"
    r"|page\s+\d{1,4}(?:\s+of\s+\d{1,4})?)$",
    re.I,
)
_SPACE_AT_CJK = re.compile(rf"(?<=[{CJK_TEXT}])\s+|\s+(?=[{CJK_TEXT}])")


def is_structural(paragraph: str) -> bool:
    """Whether ``paragraph`` opens with a numbering marker or is a Markdown heading."""
    return marker(paragraph) is not None


def join_page_breaks(paragraphs: list[str]) -> list[str]:
    """Join paragraphs that a page break split mid-sentence.

    A paragraph continues into the next when it does not end a sentence, is not itself a
    heading, is long enough to be body text (titles, addressees and signatures are short)
    and the next one does not start a new item or section. When the same CJK character
    stands on both sides of the break (``因地制宜`` + ``宜激发``) extraction duplicated it,
    and one copy is dropped.
    """
    out: list[str] = []
    for para in paragraphs:
        if out:
            prev = out[-1]
            continues = (
                not (len(out) == 1 and len(prev) <= 120)  # the title line
                and not ends_sentence(prev)
                and len(prev) >= 20
                and not MD_HEADING.match(prev)
                and not (CN_DUN.match(prev) and len(prev) < 40)
                and not (prev[0] in "（(" and prev[-1] in "）)")  # a parenthesised line is whole: "（…通过）"
                and not is_structural(para)
            )
            if continues:
                if prev[-1] == para[0] and is_cjk(para[0]):
                    para = para[1:]
                out[-1] = prev + para
                continue
        out.append(para)
    return out


def normalise_paragraph(paragraph: str) -> str:
    """Full-width item markers, no whitespace next to CJK characters (``1900 余家`` -> ``1900余家``),
    no footnote marks (``收入[7]40867元`` -> ``收入40867元``; a footnote keeps its text, not its label)."""
    paragraph = strip_footnote_marks(paragraph.strip())
    if md := MD_HEADING.match(paragraph):
        return f"{md.group(1)} {' '.join(md.group(2).split())}"
    found = marker(paragraph)
    if found is not None and found.scheme in _SPACED_SCHEMES and paragraph[found.end - 1].isspace():
        # "1.1 目的", "第一章 总则": the space after the number is how the heading is written, not noise
        head = paragraph[: found.end].strip()
        return f"{head} {normalise_paragraph(paragraph[found.end :])}"
    if m := CN_PAREN.match(paragraph):
        paragraph = f"（{m.group(1)}）" + paragraph[m.end() :]
    elif m := ARABIC_PAREN.match(paragraph):
        paragraph = f"（{m.group(1)}）" + paragraph[m.end() :]
    paragraph = _SPACE_AT_CJK.sub("", paragraph)
    return re.sub(r"[ \t]{2,}", " ", paragraph)


def is_page_number(paragraph: str) -> bool:
    """Whether a paragraph is only a page number, as exports leave them (``— 3 —``, ``第3页``, ``3 / 12``)."""
    return bool(_PAGE_NUMBER.match(paragraph.strip()))


def _cells(row: str) -> tuple[str, ...]:
    return tuple(_SPACE_AT_CJK.sub("", " ".join(cell.split())) for cell in row.split("\t"))


def _tables(paragraphs: list[str]) -> list[Block]:
    """Runs of tab-separated rows with the same number of cells become tables (a caption line before one joins it)."""
    out: list[Block] = []
    rows: list[tuple[str, ...]] = []
    for para in [*paragraphs, ""]:
        cells = _cells(para) if "\t" in para else ()
        if len(cells) >= 2 and (not rows or len(cells) == len(rows[0])):
            rows.append(cells)
            continue
        if rows:
            caption = out.pop().text if out and out[-1].table is None and CAPTION.match(out[-1].text) else ""
            out.append(Block("", table=Table(tuple(rows), caption)))
            rows = [cells] if len(cells) >= 2 else []
            if rows:
                continue
        if para:
            out.append(Block(para))
    return out


def repair_blocks(paragraphs: list[str]) -> list[Block]:
    """Repair the paragraphs of a text: page numbers dropped, tab-separated tables found, each paragraph
    normalised, and paragraphs a page break split joined again (never across a table)."""
    blocks = _tables([p for p in paragraphs if not is_page_number(p)])
    out: list[Block] = []
    run: list[str] = []
    for block in [*blocks, None]:
        if block is None or block.table is not None:
            out += [Block(p) for p in join_page_breaks([q for q in (normalise_paragraph(p) for p in run) if q])]
            run = []
            if block is not None:
                out.append(block)
        else:
            run.append(block.text)
    return out


def repair_paragraphs(paragraphs: list[str]) -> list[str]:
    """Normalise each paragraph, then join those a page break split (text without tables)."""
    return [b.text for b in repair_blocks(paragraphs) if b.table is None]


def repair_text(text: str) -> list[str]:
    """Clean paragraphs of an extracted plain-text document, in order."""
    return repair_paragraphs(split_paragraphs(text).paragraphs)

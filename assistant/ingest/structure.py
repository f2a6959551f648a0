"""Find a document's outline: title, front matter, nested headings and numbered items, closing, signature.

Headings come from three places, ranked in this order:

1. levels the format states: a DOCX heading style, an HTML ``<hN>``, a larger PDF font, a Markdown
   ``#`` (level 0 is the document title);
2. numbering markers (``一、`` / ``（一）`` / ``1.`` / ``1.1`` / ``（1）`` / ``第一章`` …), one level
   per scheme in the order the schemes first appear, as a reader infers them;
3. in a document with neither, short lines without sentence punctuation followed by body text
   (the titles of a news digest).

A numbered paragraph that is short and ends without punctuation is a *heading*; one with body text
(``（一）完善政策体系。推动……``) is an *item*. Numbering restarts under each parent naturally: the
tree is built with a stack. The first paragraph is the title when it is one (a Title style, a
unique top-level heading, or a short line without sentence punctuation). Short unpunctuated lines
at the very end are the signature; when every other item is one paragraph, the paragraphs after
the last item are the closing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from assistant.core.types import SECTION_SEP
from assistant.ingest.document import Block, Table
from assistant.ingest.markers import MD_HEADING, Marker, marker
from assistant.ingest.paragraphs import ends_sentence, join_lines

#: a numbered paragraph up to this long without sentence punctuation is a heading, not an item
HEADING_MAX_CHARS = 80
#: a paragraph a format marks as a heading but longer than this is body text in a big font
EXPLICIT_HEADING_MAX_CHARS = 100
#: longest line that can be a title, an implicit heading or a signature line
TITLE_MAX_CHARS = 120
#: most lines a cover page may hold for them to be read as the title
COVER_MAX_LINES = 4
IMPLICIT_HEADING_MAX_CHARS = 40
SIGNATURE_MAX_CHARS = 30


@dataclass(eq=False)
class Node:
    """A heading, a numbered item or a table, with the body paragraphs that follow it."""

    kind: str  # heading | item | table
    text: str  # the paragraph as it reads in a passage (Markdown '#' removed)
    rank: tuple[int, int]
    marker: Marker | None = None
    table: Table | None = None
    body: list[str] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    parent: Node | None = None

    @property
    def numbers(self) -> tuple[int, ...] | None:
        """The number its marker carries (``None`` for unnumbered headings and tables)."""
        if self.marker is None or self.marker.scheme == "markdown" or not self.marker.numbers:
            return None
        return self.marker.numbers

    @property
    def title(self) -> str:
        """Its name in a section path: a heading's text, an item's first clause."""
        if self.kind == "table" and self.table is not None:
            return self.table.caption
        if self.kind == "heading":
            return self.text
        head = re.split(r"[。；;]", self.text, maxsplit=1)[0]
        return head if len(head) <= 60 else head[:60] + "…"

    def path(self) -> str:
        """The section path: the titles from the top-level ancestor down to this node."""
        names: list[str] = []
        node: Node | None = self
        while node is not None:
            if node.title:
                names.append(node.title)
            node = node.parent
        return SECTION_SEP.join(reversed(names))

    def walk(self) -> Iterator[Node]:
        """This node and its descendants, in document order."""
        yield self
        for child in self.children:
            yield from child.walk()


_PARAGRAPH_LAYOUTS = {
    "blank-line": "paragraphs separated by blank lines",
    "single-newline": "one paragraph per line",
    "mixed": "paragraphs separated by blank lines in places, by single newlines in others",
    "marked-up": "paragraphs as marked up",
    "page-lines": "page lines joined into paragraphs",
}


@dataclass(frozen=True)
class Layout:
    """What ingestion found in a document, for ``assistant index --explain``."""

    reader: str
    paragraphs: str  # blank-line | single-newline | mixed (text); marked-up (DOCX, HTML); page-lines (PDF)
    levels: tuple[str, ...]  # heading levels from the top, e.g. ("一、", "（一）")
    restarts: tuple[str, ...]  # levels whose numbering starts again under a new parent
    title: str | None
    tables: int = 0
    pages: int | None = None
    closing: bool = False
    signature: bool = False
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line: reader, paragraph layout, heading levels, and the parts found."""
        parts = [self.reader, _PARAGRAPH_LAYOUTS.get(self.paragraphs, self.paragraphs)]
        if self.pages is not None:
            parts.insert(1, f"{self.pages} page{'s' if self.pages != 1 else ''}")
        parts.append("levels: " + " > ".join(self.levels) if self.levels else "no headings (cut at paragraphs)")
        if self.restarts:
            parts.append("numbering restarts: " + ", ".join(self.restarts))
        parts.append(f"title {self.title!r}" if self.title else "no title")
        parts += [f"{self.tables} table(s)"] * bool(self.tables)
        parts += ["closing"] * self.closing + ["signature"] * self.signature
        return "; ".join(parts + list(self.notes))


@dataclass
class Outline:
    """A document's structure, ready to be cut into passages."""

    title: str
    front: list[str]  # the paragraphs before the first heading or item (the title paragraph first, if any)
    nodes: list[Node]  # top-level nodes
    closing: list[str]
    signature: list[str]
    layout: Layout

    def walk(self) -> Iterator[Node]:
        """Every node in document order."""
        for node in self.nodes:
            yield from node.walk()


# ---- classifying paragraphs ---------------------------------------------------------------------


def _heading_text(block: Block) -> str:
    md = MD_HEADING.match(block.text)
    return md.group(2) if md else block.text


def _explicit_level(block: Block) -> int | None:
    """A heading level the format states, or a Markdown heading's."""
    if block.table is not None:
        return None
    if block.heading is not None:
        return block.heading if len(block.text) <= EXPLICIT_HEADING_MAX_CHARS else None
    md = MD_HEADING.match(block.text)
    return len(md.group(1)) if md else None


def _is_title_line(text: str) -> bool:
    return marker(text) is None and not ends_sentence(text) and len(text) <= TITLE_MAX_CHARS


class _Ranks:
    """Turns each structural paragraph into a rank: format levels first, then numbering schemes in order seen."""

    _EXPLICIT = {
        "pdf": "larger font, level {}",
        "pdf+ocr": "larger font, level {}",
        "docx": "Heading {} style",
        "html": "<h{}>",
    }

    def __init__(self, reader: str) -> None:
        self.schemes: dict[str, int] = {}
        self.labels: dict[tuple[int, int], str] = {}
        self.explicit_label = self._EXPLICIT.get(reader, "heading {}")

    def explicit(self, level: int, block: Block) -> tuple[int, int]:
        rank = (0, level)
        md = MD_HEADING.match(block.text)
        self.labels.setdefault(rank, md.group(1) if md else self.explicit_label.format(level))
        return rank

    def numbered(self, m: Marker) -> tuple[int, int]:
        rank = (1, self.schemes.setdefault(m.depth_key, len(self.schemes)))
        self.labels.setdefault(rank, m.label)
        return rank


def _implicit_headings(paragraphs: list[str]) -> set[int]:
    """Indexes of short unpunctuated lines followed by longer text, in a document with no other headings."""
    found = set()
    for i, text in enumerate(paragraphs[:-1]):
        nxt = paragraphs[i + 1]
        if (
            len(text) <= IMPLICIT_HEADING_MAX_CHARS
            and not ends_sentence(text)
            and len(nxt) > 2 * len(text)
            and ends_sentence(nxt)
        ):
            found.add(i)
    return found


# ---- the outline ----------------------------------------------------------------------------------


def detect(
    blocks: list[Block],
    *,
    fallback_title: str,
    reader: str = "text",
    paragraphs: str = "marked-up",
    pages: int | None = None,
    notes: tuple[str, ...] = (),
) -> Outline:
    """The outline of a document's (repaired) blocks; ``fallback_title`` names a document without a title."""
    blocks = [b for b in blocks if b.text.strip() or b.table is not None]
    cover = _cover(blocks)
    title_at = 0 if cover else _title_index(blocks)
    if cover:
        title = functools.reduce(join_lines, [_heading_text(b) for b in blocks[:cover]])
    else:
        title = _heading_text(blocks[title_at]) if title_at is not None else fallback_title
    ranks = _Ranks(reader)
    front: list[str] = [] if title_at is None else [title]
    roots: list[Node] = []
    stack: list[Node] = []
    start = cover or (0 if title_at is None else 1)
    has_structure = any(_explicit_level(b) or marker(b.text) for b in blocks[start:] if b.table is None)
    implicit = set() if has_structure else {start + i for i in _implicit_headings([b.text for b in blocks[start:]])}

    for i, block in enumerate(blocks[start:], start=start):
        node = _node(block, ranks, implicit=i in implicit)
        if node is None:
            # text after a table outside any section follows the table, not the front matter
            after_table = roots[-1].body if roots and roots[-1].kind == "table" else front
            (stack[-1].body if stack else after_table).append(block.text)
            continue
        if node.kind == "table":
            (stack[-1].children if stack else roots).append(node)
            node.parent = stack[-1] if stack else None
            continue
        while stack and stack[-1].rank >= node.rank:
            stack.pop()
        node.parent = stack[-1] if stack else None
        (node.parent.children if node.parent else roots).append(node)
        stack.append(node)

    outline = Outline(title, front, roots, [], [], Layout(reader, paragraphs, (), (), None))
    _split_tail(outline)
    outline.layout = Layout(
        reader=reader,
        paragraphs=paragraphs,
        levels=tuple(ranks.labels[r] for r in sorted(ranks.labels)),
        restarts=_restarts(outline, ranks),
        title=title if title_at is not None else None,
        tables=sum(n.kind == "table" for n in outline.walk()),
        pages=pages,
        closing=bool(outline.closing),
        signature=bool(outline.signature),
        notes=notes,
    )
    return outline


def _cover(blocks: list[Block]) -> int:
    """How many blocks make a cover page: a first page holding nothing but a few title lines
    (an issuer's name over "2024年年度报告"), whose lines together are the document's title; 0 without one."""
    first = blocks[0].page if blocks else None
    if first is None:
        return 0
    on_cover = [b for b in blocks if b.page == first]
    if not 2 <= len(on_cover) <= COVER_MAX_LINES or len(on_cover) == len(blocks):
        return 0
    if any(b.table is not None or not _is_title_line(b.text) for b in on_cover):
        return 0
    return len(on_cover) if sum(len(b.text) for b in on_cover) <= TITLE_MAX_CHARS else 0


def _title_index(blocks: list[Block]) -> int | None:
    if not blocks or blocks[0].table is not None:
        return None
    first = blocks[0]
    if first.heading == 0:
        return 0
    level = _explicit_level(first)
    if level is not None:
        # a top-level heading that occurs once is the document's title, not a section
        others = [lv for b in blocks[1:] if (lv := _explicit_level(b)) is not None]
        return 0 if all(lv > level for lv in others) else None
    return 0 if _is_title_line(first.text) else None


def _node(block: Block, ranks: _Ranks, *, implicit: bool) -> Node | None:
    if block.table is not None:
        return Node("table", block.table.text(), (9, 0), table=block.table)
    level = _explicit_level(block)
    text = _heading_text(block)
    if level is not None:
        m = marker(text)
        return Node("heading", text, ranks.explicit(max(level, 1), block), marker=m)
    m = marker(block.text)
    if m is not None:
        heading = not ends_sentence(block.text) and len(block.text) <= HEADING_MAX_CHARS
        return Node("heading" if heading else "item", block.text, ranks.numbered(m), marker=m)
    if implicit:
        ranks.labels.setdefault((2, 0), "short lines")
        return Node("heading", block.text, (2, 0))
    return None


def _restarts(outline: Outline, ranks: _Ranks) -> tuple[str, ...]:
    """Levels whose numbers repeat in the document (numbering that starts again under each parent)."""
    seen: dict[tuple[int, int], set[tuple[int, ...]]] = {}
    restarted: set[tuple[int, int]] = set()
    for node in outline.walk():
        if node.numbers is None:
            continue
        numbers = seen.setdefault(node.rank, set())
        if node.numbers in numbers:
            restarted.add(node.rank)
        numbers.add(node.numbers)
    return tuple(ranks.labels[r] for r in sorted(restarted))


def _is_signature_line(paragraph: str) -> bool:
    return len(paragraph) <= SIGNATURE_MAX_CHARS and not ends_sentence(paragraph)


def _split_tail(outline: Outline) -> None:
    """Peel the signature (and the closing after the last item) off the end of the document."""
    texts = [n for n in outline.walk() if n.kind != "table"]
    last = texts[-1] if texts else None
    final = outline.nodes[-1] if outline.nodes else None
    if last is None and final is not None:  # no headings: the text after the last table ends the document
        if not final.body:
            return
        last = final
    elif last is not None and (last.children or (final is not None and final.kind == "table")):
        return  # the document ends in a nested list or a table: no tail to peel
    body = last.body if last is not None else outline.front
    keep = 0 if last is not None and last.kind == "item" else 1
    start = len(body)
    while start - 1 >= keep and _is_signature_line(body[start - 1]):
        start -= 1
    outline.signature = body[start:]
    del body[start:]
    items = [n for n in texts if n.kind == "item"]
    if last is not None and last.kind == "item" and body and all(not n.body for n in items[:-1]) and len(items) > 1:
        outline.closing = body[:]
        body.clear()

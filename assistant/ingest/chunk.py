"""Cut an outline into passages, each with a stable id and a section path.

- The front matter is one passage (``#preamble``), unless it is only the title.
- A heading without text of its own leads the first passage below it (so no passage is a bare
  heading); a heading with text makes a passage of that text.
- An item is a passage with the paragraphs that follow it; its sub-items join it when everything
  fits in ``max_chars``, and are passages of their own otherwise.
- A table is a passage of its own: its caption, then one row per line (a long one is split between
  rows, each piece with the caption and the header row).
- A document with no headings at all is cut at its paragraphs; a short lead-in line (a title, an
  addressee) leads the paragraph after it.
- The closing and the signature are passages of their own.
- A passage longer than ``max_chars`` is split at sentence ends (``-p1``, ``-p2``…), each piece
  keeping the section path.

Ids are ``<file stem>#<place>``: ``#item-09`` for item （九）, ``#s02`` for section 二、,
``#s01-02`` for the second unnumbered subheading of the first. When numbering restarts (items
（一）（二） under each of 一、 and 二、), the repeated ids are qualified by their parent:
``#s02-item-01``. Ids depend only on the document's own structure, so they are the same on
every run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from assistant.core.types import SECTION_SEP, Passage
from assistant.ingest.document import Table
from assistant.ingest.paragraphs import ends_sentence
from assistant.ingest.structure import Node, Outline
from assistant.text.sentences import split_lossless

#: a line this short that does not finish a sentence leads the next paragraph (documents without headings)
LEAD_IN_MAX_CHARS = 40


@dataclass
class Unit:
    """The paragraphs of one passage-to-be (before splitting at ``max_chars``)."""

    local_id: str
    kind: str
    section: str
    paragraphs: list[str]
    table: Table | None = None


def pieces(paragraphs: list[str], max_chars: int) -> list[str]:
    """Pack sentences into pieces of at most ``max_chars`` (a single longer sentence stays whole)."""
    text = "\n".join(paragraphs)
    if len(text) <= max_chars:
        return [text]
    out: list[str] = []
    current = ""
    for paragraph_no, paragraph in enumerate(paragraphs):
        for i, sentence in enumerate(split_lossless(paragraph)):
            glue = "\n" if (i == 0 and paragraph_no > 0 and current) else ""
            if current and len(current.rstrip()) + len(glue) + len(sentence.rstrip()) > max_chars:
                out.append(current.rstrip())
                current, glue = "", ""
            current += glue + sentence
    if current.strip():
        out.append(current.rstrip())
    return out


# ---- ids ------------------------------------------------------------------------------------------


def _ordinals(outline: Outline) -> dict[Node, tuple[int, ...]]:
    """Numbers of unnumbered headings: their place among their unnumbered siblings."""
    out: dict[Node, tuple[int, ...]] = {}
    for siblings in [outline.nodes, *(n.children for n in outline.walk())]:
        count = 0
        for node in siblings:
            if node.kind != "table" and node.numbers is None:
                count += 1
                out[node] = (count,)
    return out


def node_ids(outline: Outline) -> dict[Node, str]:
    """The local id of every heading and item: its own number, qualified by its parent's id where it repeats."""
    ordinals = _ordinals(outline)
    nodes = [n for n in outline.walk() if n.kind != "table"]

    def numbers(node: Node) -> str:
        return "-".join(f"{n:02d}" for n in (node.numbers or ordinals[node]))

    def key(node: Node) -> str:
        return f"s{numbers(node)}" if node.kind == "heading" else f"item-{numbers(node)}"

    counts = Counter(key(n) for n in nodes)
    # a level whose numbers repeat (restart under each parent), or whose ids would collide with
    # another level's, is qualified by the parent throughout, so that its ids read alike
    by_rank: dict[tuple[int, int], Counter[str]] = {}
    for n in nodes:
        by_rank.setdefault(n.rank, Counter())[numbers(n)] += 1
    restarted = {rank for rank, seen in by_rank.items() if max(seen.values()) > 1}
    restarted |= {n.rank for n in nodes if counts[key(n)] > 1}
    ids: dict[Node, str] = {}
    for node in nodes:  # document order: a parent gets its id before its children
        parent = node.parent
        if parent is None or node.rank not in restarted:
            ids[node] = key(node)
        elif parent.kind == node.kind:
            ids[node] = f"{ids[parent]}-{numbers(node)}"
        else:
            ids[node] = f"{ids[parent]}-{key(node)}"
    return ids


def _dedupe(units: list[Unit]) -> None:
    """Ids still shared (a list that restarts without a new parent) get ``-2``, ``-3`` in document order."""
    seen: Counter[str] = Counter()
    for unit in units:
        seen[unit.local_id] += 1
        if seen[unit.local_id] > 1:
            unit.local_id = f"{unit.local_id}-{seen[unit.local_id]}"


# ---- units ------------------------------------------------------------------------------------------


def _subtree_text(node: Node) -> list[str]:
    out = [node.text, *node.body]
    for child in node.children:
        out += _subtree_text(child)
    return out


def _absorbs_children(node: Node, max_chars: int) -> bool:
    """An item takes its sub-items in when they are all items and everything fits in one passage."""
    descendants = list(node.walk())[1:]
    return (
        node.kind == "item"
        and bool(descendants)
        and all(d.kind == "item" for d in descendants)
        and len("\n".join(_subtree_text(node))) <= max_chars
    )


def units(outline: Outline, max_chars: int) -> list[Unit]:
    """The passages-to-be of an outline, in document order (see the module docstring)."""
    title = outline.title
    out: list[Unit] = []
    pending: list[str] = []  # heading lines waiting for the first passage below them
    front = outline.front
    title_only = len(front) <= 1 and (not front or front[0] == title)
    paragraph_count = 0

    def by_paragraph(lead: list[str], paragraphs: list[str], section: str) -> None:
        nonlocal paragraph_count
        for group in _lead_ins(lead, paragraphs):
            paragraph_count += 1
            out.append(Unit(f"para-{paragraph_count:03d}", "paragraph", section, group))

    if not any(n.kind != "table" for n in outline.walk()):  # no headings: cut at paragraphs
        by_paragraph(*((front[:1], front[1:]) if outline.layout.title else ([], front)), title)
    elif title_only:
        pending = list(front)
    else:
        out.append(Unit("preamble", "preamble", title, list(front)))
    ids = node_ids(outline)
    tables = 0
    skip: set[Node] = set()
    for node in outline.walk():
        if node in skip:
            continue
        if node.kind == "table":
            tables += 1
            section = SECTION_SEP.join(s for s in (node.parent.path() if node.parent else title, node.title) if s)
            out.append(Unit(f"table-{tables:02d}", "table", section, [node.text], table=node.table))
            by_paragraph([], node.body, node.parent.path() if node.parent else title)
            continue
        if node.kind == "heading" and not node.body:
            pending.append(node.text)
            continue
        lead, pending = pending, []
        paragraphs = [*lead, node.text, *node.body]
        if _absorbs_children(node, max_chars):
            paragraphs = [*lead, *_subtree_text(node)]
            skip.update(list(node.walk())[1:])
        kind = "item" if node.kind == "item" or node.numbers is not None else "paragraph"
        out.append(Unit(ids[node], kind, node.path(), paragraphs))
    if pending:  # headings with nothing after them: keep them as a passage of their own
        out.append(Unit("section-end", "paragraph", pending[-1], pending))
    if outline.closing:
        out.append(Unit("closing", "closing", title, outline.closing))
    if outline.signature:
        out.append(Unit("signature", "signature", title, outline.signature))
    units_ = [u for u in out if u.paragraphs]
    _dedupe(units_)
    return units_


def _lead_ins(pending: list[str], paragraphs: list[str]) -> list[list[str]]:
    """Paragraphs as passages, each short lead-in line (title, addressee, label) joined to the next."""
    out: list[list[str]] = []
    for para in paragraphs:
        pending.append(para)
        is_lead_in = len(para) <= LEAD_IN_MAX_CHARS and (not ends_sentence(para) or para.endswith(("：", ":")))
        if not is_lead_in:
            out.append(pending)
            pending = []
    if pending:
        out.append(pending)
    return out


def table_pieces(table: Table, max_chars: int) -> list[str]:
    """A table's text (:meth:`Table.text`), split between rows when longer than ``max_chars``.

    Each piece repeats the caption, the unit line and the header, and holds its rows twice: as
    printed, then written out with their labels, so every figure stands with its row and column.
    """
    text = table.text()
    if len(text) <= max_chars or len(table.body) < 2:
        return [text]
    head = len("\n".join(table.head_lines()))
    out: list[str] = []
    start, size = 0, head
    for i in range(len(table.body)):
        printed, record = table.row_lines(i)
        grows = len(printed) + 1 + (len(record) + 1 if record else 0)
        if i > start and size + grows > max_chars:
            out.append(table.text(range(start, i)))
            start, size = i, head
        size += grows
    return [*out, table.text(range(start, len(table.body)))]


def passages(outline: Outline, source: str, max_chars: int) -> list[Passage]:
    """Passages of one document: :func:`units` split at ``max_chars``, with ids ``<stem>#<place>``."""
    stem = Path(source).stem
    out: list[Passage] = []
    for unit in units(outline, max_chars):
        parts = table_pieces(unit.table, max_chars) if unit.table else pieces(unit.paragraphs, max_chars)
        for n, piece in enumerate(parts, start=1):
            local = unit.local_id if len(parts) == 1 else f"{unit.local_id}-p{n}"
            out.append(Passage(id=f"{stem}#{local}", source=source, section=unit.section, text=piece, kind=unit.kind,
                               title=outline.title))
    return out

"""HTML: the page's main text with trafilatura (navigation, sidebars and footers left out), headings kept.

trafilatura's XML output keeps the article's structure: ``<head rend="h2">`` headings, ``<p>``
paragraphs, ``<list>`` items and ``<table>`` rows. A table's ``<caption>`` comes back as a first
row with a single filled cell; it is turned back into the caption.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.core.errors import UnreadableDocumentError
from assistant.ingest.document import Block, Document, ReadOptions, Table
from assistant.ingest.paragraphs import join_lines


def _text(element: Any) -> str:
    lines = [ln.strip() for ln in "".join(element.itertext()).split("\n") if ln.strip()]
    text = lines[0] if lines else ""
    for line in lines[1:]:
        text = join_lines(text, line)
    return text


def _table(element: Any) -> Table:
    rows = [tuple(_text(cell) for cell in row.iter("cell")) for row in element.iter("row")]
    caption = ""
    if rows and sum(bool(c) for c in rows[0]) == 1 and rows[0][0] and len(rows) > 1:
        caption, rows = rows[0][0], rows[1:]
    return Table(tuple(rows), caption)


def _blocks(element: Any) -> list[Block]:
    out: list[Block] = []
    for child in element:
        tag = child.tag
        if tag == "head":
            rend = child.get("rend", "h2")
            level = int(rend[1]) if len(rend) == 2 and rend[0] == "h" and rend[1].isdigit() else 2
            out.append(Block(_text(child), heading=level))
        elif tag == "table":
            out.append(Block("", table=_table(child)))
        elif tag == "list":
            out.extend(Block(_text(item)) for item in child.iter("item"))
        elif tag in ("p", "quote", "code"):
            out.append(Block(_text(child)))
        elif tag in ("div", "main", "section"):
            out.extend(_blocks(child))
    return [b for b in out if b.text or b.table is not None]


def read_html(path: Path, html: str, options: ReadOptions) -> Document:
    """Read a web page's main text into blocks (see the module docstring)."""
    import trafilatura
    from lxml import etree

    extracted = trafilatura.extract(
        html,
        output_format="xml",
        include_tables=True,
        include_comments=False,
        include_images=False,
        include_links=False,
        include_formatting=False,
        favor_recall=True,
        deduplicate=False,
    )
    if not extracted:
        raise UnreadableDocumentError(f"{path.name}: no main text found in the HTML page")
    root = etree.fromstring(extracted.encode("utf-8"))
    main = root.find("main")
    blocks = _blocks(main if main is not None else root)
    if not blocks:
        raise UnreadableDocumentError(f"{path.name}: no main text found in the HTML page")
    return Document(reader="html", blocks=blocks)

"""HTML: the page's main text with trafilatura (navigation, sidebars and footers left out), headings kept.

trafilatura's XML output keeps the article's structure: ``<head rend="h2">`` headings, ``<p>``
paragraphs, ``<list>`` items and ``<table>`` rows. A table's ``<caption>`` comes back as a first
row with a single filled cell; it is turned back into the caption.

trafilatura drops the markup's ``id`` attributes, so the anchors of the page's headings are read
from the page itself (a heading's ``id``, an anchor inside it, or the ``id`` of the section it
opens) and matched to the extracted headings by their text: each block is kept with the anchor of
the heading it stands under, which is where a link to a passage can point.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.core.errors import UnreadableDocumentError
from assistant.ingest.document import Block, Document, Place, ReadOptions, Table
from assistant.ingest.locate import keys
from assistant.ingest.paragraphs import join_lines

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


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
    return Document(reader="html", blocks=blocks, places=places(blocks, _anchors(html)))


def _key(text: str) -> str:
    return "".join(c for _, c in keys(text))


def _anchors(html: str) -> list[tuple[str, str | None]]:
    """Every heading of the page as (its text as compared, its anchor or None), in page order."""
    from lxml import etree
    from lxml import html as lxml_html

    try:
        root = lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    out: list[tuple[str, str | None]] = []
    for heading in root.iter(*_HEADINGS):
        anchor = heading.get("id") or next(
            (e.get("id") or e.get("name") for e in heading.iterdescendants() if e.get("id") or e.get("name")), None
        )
        parent = heading.getparent()
        if anchor is None and parent is not None and parent.get("id") and parent.index(heading) == 0:
            anchor = parent.get("id")  # <section id="…"><h2>…: the section is what a link points at
        out.append((_key(heading.text_content()), anchor))
    return out


def places(blocks: list[Block], anchors: list[tuple[str, str | None]]) -> list[Place]:
    """Each block's text with the anchor of the heading it stands under (the page's headings in order)."""
    out: list[Place] = []
    anchor: str | None = None
    at = 0  # headings of the page before this one are not looked at again
    for block in blocks:
        if block.heading is not None:
            key = _key(block.text)
            found = next((n for n in range(at, len(anchors)) if anchors[n][0] == key), None)
            if found is not None:
                anchor, at = anchors[found][1], found + 1
        if block.table is not None:
            rows = [block.table.caption, *(" ".join(row) for row in block.table.rows)]
            out.append(Place("\n".join(rows), anchor=anchor, table=True))
        else:
            out.append(Place(block.text, anchor=anchor))
    return out

r"""Plain text and Markdown: the text as it is; paragraphs are found by :mod:`assistant.ingest.paragraphs`.

Each line is kept with its number (1-based, counted as an editor counts them: at ``\n``, ``\r\n``
or ``\r``), so a passage can say which lines it comes from.
"""

from __future__ import annotations

import re
from pathlib import Path

from assistant.core.errors import UnreadableDocumentError
from assistant.ingest.document import Document, Place

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def read_text(path: Path, text: str) -> Document:
    """A text document (raises CorpusError when it holds only whitespace)."""
    if not text.strip():
        raise UnreadableDocumentError(f"{path.name} is empty (only whitespace)")
    places = [Place(line, line=n) for n, line in enumerate(_LINE_BREAK.split(text), start=1) if line.strip()]
    return Document(reader="markdown" if path.suffix.lower() in (".md", ".markdown") else "text", text=text,
                    places=places)

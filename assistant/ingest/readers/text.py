"""Plain text and Markdown: the text as it is; paragraphs are found by :mod:`assistant.ingest.paragraphs`."""

from __future__ import annotations

from pathlib import Path

from assistant.core.errors import UnreadableDocumentError
from assistant.ingest.document import Document


def read_text(path: Path, text: str) -> Document:
    """A text document (raises CorpusError when it holds only whitespace)."""
    if not text.strip():
        raise UnreadableDocumentError(f"{path.name} is empty (only whitespace)")
    return Document(reader="markdown" if path.suffix.lower() in (".md", ".markdown") else "text", text=text)

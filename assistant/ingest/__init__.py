"""Documents in, citable passages out.

One module per step: :mod:`~assistant.ingest.read` picks a reader by the file's content
(:mod:`~assistant.ingest.readers`: text/Markdown, PDF, DOCX, HTML), :mod:`~assistant.ingest.repair`
and :mod:`~assistant.ingest.pagelines` undo extraction damage, :mod:`~assistant.ingest.paragraphs`
finds paragraphs in plain text, :mod:`~assistant.ingest.structure` finds the outline (title,
headings, numbered items, closing, signature) and :mod:`~assistant.ingest.chunk` cuts it into
passages with stable ids and section paths.
"""

from assistant.core.types import SECTION_SEP
from assistant.ingest.corpus import (
    IngestedDocument,
    OnRead,
    check_unique,
    chunk_report,
    corpus_files,
    ingest_file,
    load_corpus,
    read_all,
    readers_for,
)
from assistant.ingest.document import ReadOptions
from assistant.ingest.markers import cn_to_int
from assistant.ingest.read import SUFFIXES, read_document
from assistant.ingest.repair import repair_text
from assistant.ingest.structure import Layout

__all__ = [
    "SECTION_SEP",
    "SUFFIXES",
    "IngestedDocument",
    "Layout",
    "OnRead",
    "ReadOptions",
    "check_unique",
    "chunk_report",
    "cn_to_int",
    "corpus_files",
    "ingest_file",
    "load_corpus",
    "read_all",
    "read_document",
    "readers_for",
    "repair_text",
]

"""``assistant docs [--json]``: list the documents of the collection."""

from __future__ import annotations

import argparse
import json

from assistant.commands import Subparsers
from assistant.core.settings import Settings
from assistant.storage.documents import DocumentInfo, list_documents

DESCRIPTION = """\
List the documents in the corpus folder (ASSISTANT_CORPUS_DIR): id, source file, type, passages
in the index, pages (PDF), date added (UTC; the file's time for files put in the folder by hand)
and sha256. A document whose passages read "-" is not in the index as it is now (added or changed
by hand since the last build: `assistant index` indexes it).

--json prints {"documents": [{"id", "source", "type", "passages", "pages", "added", "sha256",
"bytes", "indexed"}, ...]}, the same as GET /v1/documents.

examples:
  assistant docs
  assistant docs --json
"""


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "docs", help="list the documents: id, file, type, passages, pages, date added, sha256",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    documents = list_documents(settings)  # files, catalog and manifest: no model is loaded
    if args.json:
        print(json.dumps({"documents": [d.model_dump() for d in documents]}, ensure_ascii=False, indent=2))
    else:
        print(format_table(documents) if documents else f"no documents in {settings.corpus_dir}")
    return 0


def format_table(documents: list[DocumentInfo]) -> str:
    """One line per document, columns aligned; the hash shortened to 12 characters (--json has it whole)."""
    header = ("id", "source", "type", "passages", "pages", "added", "sha256")
    rows = [header] + [
        (d.id, d.source, d.type, _dash(d.passages), _dash(d.pages), d.added.replace("+00:00", "Z"), d.sha256[:12])
        for d in documents
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    table = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    warnings = [f"warning: {d.id}: {_count(d.instruction_passages, 'passage')} of instructions to a reader or "
                "a model, kept but never used as evidence" for d in documents if d.instruction_passages]
    return "\n".join(table + warnings)


def describe(doc: DocumentInfo) -> str:
    """``report (pdf, 4 pages, 23 passages)``."""
    parts = [doc.type] + ([_count(doc.pages, "page")] if doc.pages else []) + (
        [_count(doc.passages, "passage")] if doc.passages is not None else ["not indexed"])
    if doc.instruction_passages:
        parts.append(f"{_count(doc.instruction_passages, 'passage')} of instructions to a reader or model, "
                     "never used")
    return f"{doc.id} ({', '.join(parts)})"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _dash(value: int | None) -> str:
    return "-" if value is None else str(value)

"""``assistant add FILE… [--replace] [--json]``: add documents to the collection and index them."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from assistant.commands import Subparsers, add_command
from assistant.commands.docs import describe
from assistant.core.errors import InvalidInputError
from assistant.core.settings import Settings
from assistant.embed import load_embedder
from assistant.storage.documents import ChangeReport, DocumentCollection, NewDocument
from assistant.storage.lifecycle import refuse_mismatch_early

DESCRIPTION = """\
Copy documents (.pdf, .docx, .html, .txt, .md; the type is checked by content) into the corpus
folder (ASSISTANT_CORPUS_DIR) and index them, in one change: only the new documents are read and
only their passages embedded; the new index replaces the old one atomically. If anything fails —
a file that cannot be read, an interrupted run — nothing is added and the previous index stays.
A running server (`assistant serve`) answers from the new index at its next request.

A document's id is its file name without the extension. Adding an id that exists is refused
(exit code 2) unless --replace is given: then the old document is replaced in the same change.
A file whose bytes a document holds already (the same sha256, under any name) is not added again:
that document is named instead.

Each document is read in a worker process with limits (ASSISTANT_MAX_PAGE_CONTENT_BYTES,
ASSISTANT_MAX_CONTENT_BYTES, ASSISTANT_MAX_DOCX_XML_BYTES, ASSISTANT_MAX_TABLE_CELLS,
ASSISTANT_MAX_PASSAGES, ASSISTANT_MAX_READING_SECONDS, ASSISTANT_MAX_READING_MEMORY_BYTES): a
document over one is refused with exit code 3 and a message naming the setting.

exit codes: 0 added, 2 bad arguments or the id exists, 3 a file cannot be read (damaged,
password-protected, empty, too large, not a supported type), 4 the index does not fit the settings.

examples:
  assistant add report.pdf
  assistant add minutes.docx page.html --json
  assistant add report.pdf --replace
"""


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "add",
                         "add documents to the corpus and index them (only their passages are embedded)", DESCRIPTION)
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="documents to add")
    parser.add_argument("--replace", action="store_true", help="replace a document with the same id")
    parser.add_argument("--json", action="store_true", help="print what changed as JSON on stdout")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars and no summary")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        raise InvalidInputError(f"not a file: {', '.join(missing)}")
    refuse_mismatch_early(settings)  # before loading a model for an index that cannot take the change
    collection = _collection(settings, args)
    report = collection.add([NewDocument.of(f) for f in args.files], replace=args.replace)
    _print(report, settings, args)
    return 0


def _collection(settings: Settings, args: argparse.Namespace) -> DocumentCollection:
    embedder = load_embedder(settings.embedding_model, settings.embedding_batch_size)
    progress = not args.quiet and not args.json and sys.stderr.isatty()
    return DocumentCollection(settings, embedder, progress=progress, notify=lambda m: print(m, file=sys.stderr))


def _print(report: ChangeReport, settings: Settings, args: argparse.Namespace) -> None:
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    elif not args.quiet:
        for doc in report.removed:
            print(f"replaced {describe(doc)}")
        for doc in report.added:
            print(f"added {describe(doc)}")
        for doc in report.duplicates:
            print(f"already there {describe(doc)}: a file held the same bytes, so it was not added again")
        if not report.changed:
            return
        b = report.build
        print(f"index: {b.passages} passages, {b.embedded} embedded, {b.reused} reused, {b.seconds:.1f} s "
              f"({settings.index_dir})")

"""``assistant remove DOC_ID [--json]``: remove a document from the collection and the index."""

from __future__ import annotations

import argparse
import json
import sys

from assistant.commands import Subparsers, add_command
from assistant.commands.docs import describe
from assistant.core.settings import Settings
from assistant.embed import load_embedder
from assistant.storage.documents import DocumentCollection
from assistant.storage.lifecycle import refuse_mismatch_early

DESCRIPTION = """\
Remove a document (its id is what `assistant docs` lists: the file name without the extension)
from the corpus folder and its passages from the index, in one change: the new index replaces the
old one atomically, with nothing re-embedded. A running server stops citing the document at its
next request. The last document cannot be removed (an index needs passages).

exit codes: 0 removed, 2 no such document (or the last one), 4 the index does not fit the settings.

examples:
  assistant remove report
  assistant remove report --json
"""


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "remove", "remove a document from the corpus and the index", DESCRIPTION)
    parser.add_argument("doc_id", metavar="DOC_ID", help="the document's id (see `assistant docs`)")
    parser.add_argument("--json", action="store_true", help="print what changed as JSON on stdout")
    parser.add_argument("--quiet", "-q", action="store_true", help="no summary")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    refuse_mismatch_early(settings)
    embedder = load_embedder(settings.embedding_model, settings.embedding_batch_size)
    collection = DocumentCollection(settings, embedder, notify=lambda m: print(m, file=sys.stderr))
    report = collection.remove(args.doc_id)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    elif not args.quiet:
        b = report.build
        print(f"removed {describe(report.removed[0])}")
        print(f"index: {b.passages} passages, {b.seconds:.1f} s ({settings.index_dir})")
    return 0

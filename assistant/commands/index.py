"""``assistant index [--rebuild]``: build or refresh the FAISS index of the corpus."""

from __future__ import annotations

import argparse
import sys

from assistant.commands import Subparsers
from assistant.embed import load_embedder
from assistant.indexing import build_from_corpus
from assistant.settings import Settings

DESCRIPTION = """\
Read the reports in the corpus folder (ASSISTANT_CORPUS_DIR), cut them into passages and index
them in ASSISTANT_INDEX_DIR with the embedding model ASSISTANT_EMBEDDING_MODEL.

Passages whose content did not change keep their vectors; only new or changed ones are
embedded. The new index replaces the old one atomically: if the build is interrupted, the
previous index stays usable. An index made with another model or other chunking settings is
replaced as a whole.
"""


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "index",
        help="build or refresh the search index of the corpus",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--rebuild", action="store_true", help="re-embed every passage instead of reusing unchanged ones"
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings()
    progress = not args.quiet and sys.stderr.isatty()
    embedder = load_embedder(settings.embedding_model, settings.embedding_batch_size)
    report = build_from_corpus(settings, embedder, rebuild=args.rebuild, progress=progress, notify=_stderr)
    if not args.quiet:
        print(
            f"indexed {report.passages} passages from {settings.corpus_dir} into {settings.index_dir}: "
            f"{report.embedded} embedded, {report.reused} reused, {report.seconds:.1f} s "
            f"(model {embedder.model_id})"
        )
    return 0


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)

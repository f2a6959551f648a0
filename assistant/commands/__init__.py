"""The ``assistant`` subcommands, one module each, each exposing ``register(subparsers)``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeAlias

#: what ``register`` receives: the parser's subcommand collection
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_command(subparsers: Subparsers, name: str, help: str, description: str) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` shows ``description`` as written (its own line breaks kept)."""
    return subparsers.add_parser(name, help=help, description=description,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)


def add_corpus_options(parser: argparse.ArgumentParser) -> None:
    """``--corpus`` and ``--index-dir``, shared by the commands that run question sets
    (resolved by :func:`assistant.evaluation.evalset.open_eval_set`)."""
    parser.add_argument("--corpus", type=Path, metavar="DIR",
                        help="the documents the questions are about "
                             "(default: the set's header's, else ASSISTANT_CORPUS_DIR)")
    parser.add_argument("--index-dir", type=Path, metavar="DIR",
                        help="its index (default: the configured index for the configured corpus, else DIR.index "
                        "beside the corpus folder; built on first use)")

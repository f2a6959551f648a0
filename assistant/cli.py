"""The ``assistant`` command line. Each subcommand lives in ``assistant/commands/<name>.py``
and exposes ``register(subparsers)``; this module builds the one :class:`Settings` of the run,
wires the commands and translates errors into exit codes."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from assistant.core.errors import AssistantError
from assistant.core.printable import PrintableWriter, printable
from assistant.core.settings import Settings
from assistant.storage.collections import CollectionStore

#: subcommand modules, in the order ``--help`` lists them
COMMANDS = (
    "index", "add", "remove", "docs", "search", "ask", "show", "log", "models", "serve", "mcp", "eval", "calibrate",
    "collections",
)
#: the commands that take ``--collection NAME`` (``log`` filters by it; the others run on that collection)
COLLECTION_COMMANDS = ("add", "remove", "docs", "index", "search", "ask", "eval", "calibrate", "log")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description=(
            "Answer questions only from the reports in the corpus folder, citing the passages used. "
            "Settings come from ASSISTANT_* environment variables or a .env file (see README)."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"assistant.commands.{name}")
        module.register(sub)
    for name in COLLECTION_COMMANDS:
        sub.choices[name].add_argument(
            "--collection", metavar="NAME", default=None,
            help="the collection (`assistant collections list`; default: 'default', the configured corpus)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # what a command prints comes from strangers too (questions, answers, documents): never a
    # terminal escape sequence or control character (assistant/core/printable.py)
    stdout, sys.stdout = sys.stdout, PrintableWriter(sys.stdout)
    try:
        # the one Settings of this run, from ASSISTANT_* variables and .env, passed to the command
        settings = Settings()
        if getattr(args, "collection", None) is not None and args.command != "log":
            # the collection's folders, calibration and overrides: the command runs on it as on the corpus
            settings = CollectionStore(settings).settings_for(args.collection)
            if getattr(args, "corpus", None) is None and hasattr(args, "index_dir"):
                # eval and calibrate: the collection's documents and index, whatever a question set's header says
                args.corpus, args.index_dir = settings.corpus_dir, args.index_dir or settings.index_dir
                if args.collection != "default" and getattr(args, "labels", ()) is None:
                    args.labels = []  # the default judge samples name passages of the configured corpus only
        return int(args.func(args, settings) or 0)
    except AssistantError as exc:
        print(f"error: {printable(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except ValidationError as exc:
        # Settings() is built from ASSISTANT_* variables and .env: name the bad ones plainly.
        problems = "; ".join(
            f"ASSISTANT_{'_'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        print(f"error: invalid settings: {problems}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of our output went away (`assistant index --explain F | head`): stop quietly,
        # and keep Python from complaining again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
        return 141
    finally:
        sys.stdout = stdout


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

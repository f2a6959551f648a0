"""``assistant collections list|create NAME|delete NAME [--yes]|info NAME``: the knowledge bases of
this installation, each with its own documents, index, calibration and settings."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from assistant.commands import Subparsers, add_command
from assistant.core.errors import InvalidInputError
from assistant.core.settings import Settings
from assistant.storage.collections import NAME_RULE, OVERRIDABLE, CollectionStore
from assistant.storage.documents import list_documents
from assistant.storage.index import live_build_name

DESCRIPTION = f"""\
Several knowledge bases beside each other: a collection is a name ({NAME_RULE}), its documents, its
index, its calibration and its own settings ({', '.join(OVERRIDABLE)}). They live in
ASSISTANT_COLLECTIONS_DIR (default: collections/ beside the index folder). The configured corpus
(ASSISTANT_CORPUS_DIR, ASSISTANT_INDEX_DIR) is the collection 'default', where it is.

Every command that reads or changes documents takes --collection NAME (add, remove, docs, index,
search, ask, eval, calibrate; log filters by it). A server serves them all: `collection` in the API,
`model: "report-assistant/NAME"` in chat completions, the selector in the chat.

examples:
  assistant collections create policies --set k=8
  assistant add --collection policies notices/*.pdf
  assistant ask --collection policies "申报截止日期是哪天？"
  assistant collections info policies
  assistant collections delete policies --yes
"""


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "collections", "list, create, delete and describe collections", DESCRIPTION)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the collections, one a line (--json: as JSON)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=run_list)
    create = actions.add_parser("create", help="a new, empty collection")
    create.add_argument("name", metavar="NAME")
    create.add_argument("--set", action="append", default=[], metavar="SETTING=VALUE",
                        help=f"a setting of its own, repeatable (any of: {', '.join(OVERRIDABLE)})")
    create.set_defaults(func=run_create)
    delete = actions.add_parser("delete", help="remove a collection: its documents, index and calibration")
    delete.add_argument("name", metavar="NAME")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(func=run_delete)
    info = actions.add_parser("info", help="where a collection lives, its documents, index build and settings")
    info.add_argument("name", metavar="NAME")
    info.add_argument("--json", action="store_true")
    info.set_defaults(func=run_info)


def describe(store: CollectionStore, name: str) -> dict[str, Any]:
    """What ``info`` shows of a collection."""
    record = store.record(name)
    settings = store.settings_for(name)
    return {"name": name, "created_at": record.created_at, "corpus_dir": str(settings.corpus_dir),
            "index_dir": str(settings.index_dir), "documents": len(list_documents(settings)),
            "index_build": live_build_name(settings.index_dir), "settings": record.settings,
            "calibrated": settings.calibrated}


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    store = CollectionStore(settings)
    store.migrate()
    rows = [describe(store, name) for name in store.names()]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        build = row["index_build"] or "(no index yet)"
        print(f"{row['name']:<24} {row['documents']:>4} documents  {build}")
    return 0


def run_create(args: argparse.Namespace, settings: Settings) -> int:
    overrides: dict[str, Any] = {}
    for item in args.set:
        key, equals, value = item.partition("=")
        if not equals:
            raise InvalidInputError(f"--set takes SETTING=VALUE, got {item!r}")
        overrides[key.strip()] = value.strip()
    store = CollectionStore(settings)
    store.migrate()
    store.create(args.name, overrides)
    print(f"created the collection {args.name!r} in {store.folder(args.name)}; add documents with "
          f"`assistant add --collection {args.name} FILE...`", file=sys.stderr)
    return 0


def run_delete(args: argparse.Namespace, settings: Settings) -> int:
    store = CollectionStore(settings)
    if not args.yes:
        if not sys.stdin.isatty():
            raise InvalidInputError("deleting a collection removes its documents and index: add --yes to confirm")
        reply = input(f"delete the collection {args.name!r}, its documents and its index? [y/N] ")
        if reply.strip().lower() not in ("y", "yes"):
            print("not deleted", file=sys.stderr)
            return 1
    store.delete(args.name)
    print(f"deleted the collection {args.name!r}", file=sys.stderr)
    return 0


def run_info(args: argparse.Namespace, settings: Settings) -> int:
    row = describe(CollectionStore(settings), args.name)
    if args.json:
        print(json.dumps(row, ensure_ascii=False, indent=2))
    else:
        for key, value in row.items():
            print(f"{key:<12} {value}")
    return 0

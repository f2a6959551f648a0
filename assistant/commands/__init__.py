"""The ``assistant`` subcommands, one module each, each exposing ``register(subparsers)``."""

from __future__ import annotations

import argparse
from typing import TypeAlias

#: what ``register`` receives: the parser's subcommand collection
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

"""``assistant mcp``: the MCP server over stdio, for desktop clients and IDE assistants that start it."""

from __future__ import annotations

import argparse

from assistant.commands import Subparsers
from assistant.core.settings import Settings


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "mcp", help="serve the reports to MCP clients over stdio (tools: search, ask, documents, passages)",
        description="Speak the Model Context Protocol on stdin/stdout until the client closes it; logs go to "
                    "stderr. The same server runs over HTTP at /mcp inside `assistant serve`.",
    )
    parser.set_defaults(func=_mcp)


def _mcp(args: argparse.Namespace, settings: Settings) -> int:
    # imported here: the other subcommands should not pay for loading the MCP SDK
    import anyio

    from assistant.api.mcp import serve_stdio

    anyio.run(serve_stdio, settings)
    return 0

"""``assistant serve``: the HTTP API and the browser chat in one process."""

from __future__ import annotations

import argparse

from assistant.commands import Subparsers
from assistant.core.settings import Settings


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "serve", help="serve the HTTP API (/v1, /docs), MCP (/mcp) and the chat page (/ui)",
        description="Serve the API and the chat. Binds 127.0.0.1 unless --host says otherwise.",
    )
    parser.add_argument("--host", default=None, help="interface to bind (default: ASSISTANT_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default: ASSISTANT_PORT or 8000)")
    parser.set_defaults(func=_serve)


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    # imported here: the other subcommands should not pay for loading the web stack
    from assistant.api.server import run

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = settings.with_changes(**overrides)
    base = f"http://{_url_host(settings.host)}:{settings.port}"
    print(f"chat:     {base}/ui\nAPI docs: {base}/docs\nMCP:      {base}/mcp", flush=True)
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not settings.api_secrets:
        print(
            "warning: listening beyond this machine without ASSISTANT_API_KEYS; "
            "/v1 and /mcp are open to anyone who can reach them"
        )
    run(settings)
    return 0


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return "127.0.0.1"  # the wildcard is not an address a browser can open
    return f"[{host}]" if ":" in host else host

"""The ``Host`` allow-list (``ASSISTANT_ALLOWED_HOSTS``), as ASGI middleware over every route.

A server on 127.0.0.1 without API keys trusts whoever can reach it, which a web page in the
user's browser can do by DNS rebinding: its own name resolves to 127.0.0.1, and the browser
sends that name in ``Host``. Refusing names the operator did not list closes this for the API
and for the chat (gradio's routes, file upload included). Bound to a loopback address, the
default list is the loopback names; bound to anything else, every name is accepted unless the
operator lists some.
"""

from __future__ import annotations

import ipaddress

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.api.errors import error_body

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    """Whether a bind address only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def default_allowed_hosts(bind_host: str, configured: list[str]) -> list[str]:
    """The operator's list, else the loopback names on a loopback bind address, else ``["*"]``."""
    if configured:
        return configured
    return list(LOOPBACK_NAMES) if is_loopback(bind_host) else ["*"]


def host_name(header: str) -> str:
    """``"Example.com:8000"`` -> ``"example.com"``, ``"[::1]:8000"`` -> ``"::1"`` (port and case dropped)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    name = header.rsplit(":", 1)[0] if header.count(":") == 1 else header
    return name.rstrip(".")


def matches(name: str, allowed: list[str]) -> bool:
    """Whether ``name`` is on the list: exact names, ``*`` (anything) or ``*.example.com`` (sub-domains)."""
    for pattern in allowed:
        pattern = pattern.strip().lower().rstrip(".")
        if pattern == "*" or pattern == name:
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


class HostCheckMiddleware:
    """400 for an HTTP or WebSocket request whose ``Host`` is not allowed."""

    def __init__(self, app: ASGIApp, allowed: list[str]) -> None:
        self.app = app
        self.allowed = [h.strip().lower().strip("[]") for h in allowed if h.strip()]
        self.any = "*" in self.allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or self.any:
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        if matches(host_name(header), self.allowed):
            await self.app(scope, receive, send)
            return
        message = ("the Host header names a server this one does not serve; "
                   "the operator can allow more names with ASSISTANT_ALLOWED_HOSTS")
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        await JSONResponse(error_body("invalid_host", message), status_code=400)(scope, receive, send)

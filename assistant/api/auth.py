"""Optional API keys (``ASSISTANT_API_KEYS``): bearer tokens for the ``/v1`` routes, the password of the chat."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.api.errors import error_body

# auto_error=False: with no keys configured the routes are open, so a missing header is fine;
# declaring the scheme still gives /docs its "Authorize" button
_bearer = HTTPBearer(auto_error=False, description="one of ASSISTANT_API_KEYS, when keys are configured")


def key_matches(supplied: str, keys: list[SecretStr]) -> bool:
    """Whether ``supplied`` is one of ``keys``, compared in constant time."""
    matched = False
    for key in keys:
        # compare against every key, without short-circuiting, so timing reveals nothing
        matched |= hmac.compare_digest(supplied.encode(), key.get_secret_value().encode())
    return matched


def bearer_token(scope: Scope) -> str | None:
    """The token of a request's ``Authorization: Bearer`` header (None: no such header)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


def key_id(key: str) -> str:
    """What logs record for an API key: a name that does not reveal it (``key:`` and 16 hex
    characters of its sha256; keys are long random strings, so the digest cannot be reversed)."""
    return "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]


class ChatLogin:
    """The chat page's login check: any user name, and one of the API keys as the password.

    It remembers the id of the key each user name logged in with, so that the question log can
    name the chat's clients as it names the API's (a user name reused with another key takes
    that key's id)."""

    def __init__(self, keys: list[SecretStr]) -> None:
        self.keys = keys
        self._key_ids: dict[str, str] = {}

    def __call__(self, user: str, password: str) -> bool:
        if not key_matches(password, self.keys):
            return False
        self._key_ids[user] = key_id(password)
        return True

    def client(self, user: str | None) -> str | None:
        """The id of the key ``user`` logged in with (None: not logged in)."""
        return self._key_ids.get(user) if user is not None else None


def require_api_key(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Let the request through when no keys are configured or it carries one of them, else 401."""
    keys = request.app.state.settings.api_secrets
    if keys and not key_matches(credentials.credentials if credentials else "", keys):
        reason = "invalid API key" if credentials else "missing 'Authorization: Bearer KEY' header"
        raise HTTPException(401, reason, headers={"WWW-Authenticate": "Bearer"})
    if keys and credentials:
        request.state.client = key_id(credentials.credentials)  # who asked, for the question log


class KeyedApp:
    """An ASGI app behind the API keys, as the ``/v1`` routes are (for an endpoint that is not a FastAPI
    route: the MCP server at ``/mcp``): 401 without one of the keys, and the key's id in the request's
    state (``client``, for the question log) with one."""

    def __init__(self, app: ASGIApp, keys: list[SecretStr]) -> None:
        self.app = app
        self.keys = keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.keys:
            supplied = bearer_token(scope)
            if supplied is None or not key_matches(supplied, self.keys):
                reason = "invalid API key" if supplied is not None else "missing 'Authorization: Bearer KEY' header"
                response = JSONResponse(error_body("unauthorized", reason), status_code=401,
                                        headers={"WWW-Authenticate": "Bearer"})
                await response(scope, receive, send)
                return
            scope.setdefault("state", {})["client"] = key_id(supplied)
        await self.app(scope, receive, send)

"""Optional API keys (``ASSISTANT_API_KEYS``): bearer tokens for the ``/v1`` routes, the password of the chat."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
from starlette.exceptions import HTTPException

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


def chat_login(keys: list[SecretStr]) -> Callable[[str, str], bool]:
    """The chat page's login check: any user name, and one of the API keys as the password."""
    return lambda _user, password: key_matches(password, keys)


def require_api_key(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Let the request through when no keys are configured or it carries one of them, else 401."""
    keys = request.app.state.settings.api_keys
    if keys and not key_matches(credentials.credentials if credentials else "", keys):
        reason = "invalid API key" if credentials else "missing 'Authorization: Bearer KEY' header"
        raise HTTPException(401, reason, headers={"WWW-Authenticate": "Bearer"})

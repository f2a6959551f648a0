"""Optional bearer-token access for the ``/v1`` routes (``ASSISTANT_API_KEYS``)."""

from __future__ import annotations

import hmac

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

# auto_error=False: with no keys configured the routes are open, so a missing header is fine;
# declaring the scheme still gives /docs its "Authorize" button
_bearer = HTTPBearer(auto_error=False, description="one of ASSISTANT_API_KEYS, when keys are configured")


def require_api_key(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> None:
    """Let the request through when no keys are configured or it carries one of them, else 401."""
    keys = request.app.state.settings.api_keys
    if not keys:
        return
    supplied = (credentials.credentials if credentials else "").encode()
    matched = False
    for key in keys:
        # compare against every key, without short-circuiting, so timing reveals nothing
        matched |= hmac.compare_digest(supplied, key.get_secret_value().encode())
    if not matched:
        reason = "invalid API key" if credentials else "missing 'Authorization: Bearer KEY' header"
        raise HTTPException(401, reason, headers={"WWW-Authenticate": "Bearer"})

"""Translation of errors into the API's one JSON error shape: ``{"error": {"type", "message"}}``.

The shape is a subset of OpenAI's, so the official ``openai`` client surfaces our messages too.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.core.errors import AssistantError, BusyError
from assistant.core.redact import public_message, redact

#: error types for plain HTTP errors (auth, size, unknown route) that carry no exception class
_HTTP_TYPES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    413: "payload_too_large", 429: "rate_limited",
}


def error_type(exc: AssistantError) -> str:
    """``IndexMissingError`` -> ``"index_missing"``: a stable, machine-readable error type."""
    name = type(exc).__name__.removesuffix("Error") or "Assistant"
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def error_body(kind: str, message: str) -> dict[str, Any]:
    """The JSON body of every error response (and of ``event: error`` in streams)."""
    return {"error": {"type": kind, "message": message}}


def assistant_error_body(exc: AssistantError) -> dict[str, Any]:
    """The body for ``exc``, its message made fit for a client (:func:`~assistant.core.redact.public_message`)."""
    return error_body(error_type(exc), public_message(exc))


def error_headers(exc: AssistantError) -> dict[str, str]:
    """``Retry-After`` for errors that say when to come back."""
    return {"Retry-After": str(exc.retry_after)} if isinstance(exc, BusyError) else {}


def error_response(exc: AssistantError) -> JSONResponse:
    """The whole response for ``exc``: status, error shape, ``Retry-After`` when it applies."""
    return JSONResponse(assistant_error_body(exc), status_code=exc.http_status, headers=error_headers(exc))


def validation_message(exc: RequestValidationError) -> tuple[str, str]:
    """A one-line message naming each bad field and its bound, e.g. ``k: Input should be ... 20``."""
    problems: list[str] = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            reason = (err.get("ctx") or {}).get("error", "malformed")
            return "invalid_json", f"request body is not valid JSON ({reason}, at character {err['loc'][-1]})"
        # drop the leading "body" so the location reads like the JSON the caller sent
        loc = ".".join(str(part) for part in err.get("loc", ()) if part != "body") or "body"
        message = err.get("msg", "invalid")
        if err.get("type") == "string_pattern_mismatch" and (err.get("ctx") or {}).get("pattern") == r"\S":
            message = "must not be blank"  # the schema's way of saying it (see api/schemas.py)
        problems.append(f"{loc}: {message}")
    return "invalid_input", "; ".join(problems)


async def _on_assistant_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AssistantError)
    return error_response(exc)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    kind, message = validation_message(exc)
    return JSONResponse(error_body(kind, message), status_code=422)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    kind = _HTTP_TYPES.get(exc.status_code, "http_error")
    return JSONResponse(error_body(kind, redact(str(exc.detail))), status_code=exc.status_code, headers=exc.headers)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises it after this handler, so the server log gets the traceback; the caller
    # gets the API's error shape, not plain text
    return JSONResponse(error_body("internal", "internal error; the server log has the details"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers; called once by :func:`assistant.api.create_app`."""
    app.add_exception_handler(Exception, _on_unexpected)
    app.add_exception_handler(AssistantError, _on_assistant_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)

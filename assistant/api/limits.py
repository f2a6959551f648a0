"""A request-body size limit as plain ASGI middleware.

It checks ``Content-Length`` up front and also counts the bytes actually received, because a
chunked upload carries no length and a client may lie about it. Upload routes get their own,
larger limit (:class:`UploadLimit`): the JSON limit would refuse any document, and reading an
upload whole before judging its size would let a client fill the server's memory or disk.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: bytes an upload body may carry beyond the file itself: the multipart boundaries and part headers
MULTIPART_SLACK = 64 * 1024


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once the body passes the limit.

    It is an ``HTTPException`` on purpose: FastAPI turns any other exception met while reading
    the body into a generic 400, but lets this one through to the 413 handler.
    """

    def __init__(self, limit: int, what: str = "request body", setting: str = "") -> None:
        named = f" ({setting})" if setting else ""
        super().__init__(413, f"{what} is larger than the limit of {limit} bytes{named}")


@dataclass(frozen=True)
class UploadLimit:
    """The body limit of one upload route: ``max_bytes`` of document, plus the multipart framing."""

    path: str
    max_bytes: int
    #: how the 413 message names what is too large, and the setting that sets the limit
    what: str = "upload"
    setting: str = "ASSISTANT_MAX_UPLOAD_BYTES"

    @property
    def body_bytes(self) -> int:
        return self.max_bytes + MULTIPART_SLACK


class BodySizeLimitMiddleware:
    """Answer 413 to any HTTP request whose body is larger than ``max_bytes`` (or its route's upload limit)."""

    def __init__(self, app: ASGIApp, max_bytes: int, uploads: Sequence[UploadLimit] = ()) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.uploads = {u.path: u for u in uploads}

    def _limit(self, scope: Scope) -> tuple[int, BodyTooLarge]:
        upload = self.uploads.get(scope.get("path", ""))
        if upload is not None:
            return upload.body_bytes, BodyTooLarge(upload.max_bytes, upload.what, upload.setting)
        return self.max_bytes, BodyTooLarge(self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, too_large = self._limit(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._reject(send, too_large)
            return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            # routes normally render it through the 413 handler; this catches plain ASGI apps
            if started:
                raise
            await self._reject(send, too_large)

    async def _reject(self, send: Send, error: BodyTooLarge) -> None:
        body = json.dumps({"error": {"type": "payload_too_large", "message": error.detail}}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        # the client may still be sending; closing lets the server drop the rest of the body
        headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

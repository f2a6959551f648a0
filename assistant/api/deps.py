"""Request-scoped access to what the lifespan built (no module globals)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import Request

from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.pipeline import Assistant


def get_assistant(request: Request) -> Assistant:
    """The one :class:`~assistant.pipeline.Assistant`, built in the app's lifespan."""
    return request.app.state.assistant  # type: ignore[no-any-return]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]

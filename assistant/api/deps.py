"""Request-scoped access to what the lifespan built (no module globals)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from fastapi import Request

from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.pipeline import Assistant


def get_assistant(request: Request) -> Assistant:
    """The one :class:`~assistant.pipeline.Assistant`, built in the app's lifespan."""
    return cast("Assistant", request.app.state.assistant)


def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)

"""Request-scoped access to what the lifespan built (no module globals)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from fastapi import Request

from assistant.core.settings import Settings

if TYPE_CHECKING:
    from assistant.answer.pipeline import Assistant
    from assistant.api.collections import Registry, Use
    from assistant.api.workers import Workers
    from assistant.questionlog import QuestionLog


def get_assistant(request: Request) -> Assistant:
    """The assistant of the collection ``default``, built in the app's lifespan."""
    return cast("Assistant", request.app.state.assistant)


def get_collections(request: Request) -> Registry:
    """The server's collections (built in the app's lifespan)."""
    return cast("Registry", request.app.state.collections)


def use_collection(request: Request, name: str | None) -> Use:
    """A hold on collection ``name`` (None: ``default``) for this request's key: 404 for one it may not see."""
    return get_collections(request).use(name, get_client(request))


def get_settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def get_question_log(request: Request) -> QuestionLog:
    """The question log, opened in the app's lifespan."""
    return cast("QuestionLog", request.app.state.question_log)


def get_client(request: Request) -> str | None:
    """The id of the API key the request carries (None without keys): the log's ``client``."""
    return cast("str | None", getattr(request.state, "client", None))


def get_workers(request: Request) -> Workers:
    """The app's thread pools (quick work, language models) and answer time-out."""
    return cast("Workers", request.app.state.workers)

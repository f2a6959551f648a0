"""The FastAPI application factory: API routes, error translation, limits, and the chat at ``/ui``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool

from assistant import __version__
from assistant.api.auth import ChatLogin, require_api_key
from assistant.api.errors import install_error_handlers
from assistant.api.limits import BodySizeLimitMiddleware
from assistant.api.routes import ask, chat, feedback, meta, search
from assistant.api.schemas import build_schemas
from assistant.errors import AssistantError
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.pipeline import Assistant

log = logging.getLogger(__name__)

DESCRIPTION = """Answers questions **only from the reports** in the corpus, citing the passages used.

* `POST /v1/ask` — a checked, cited answer (JSON, or server-sent events with `"stream": true`)
* `POST /v1/search` — retrieval only
* `POST /v1/chat/completions` — OpenAI-compatible; citations in the extra field `citations`
* `POST /v1/feedback` — thumbs up or down on an answer (by the `answer_id` every answer carries)
* the chat page is at [`/ui`](/ui)

When `ASSISTANT_API_KEYS` is set, every `/v1` route needs `Authorization: Bearer KEY`.
Errors are `{"error": {"type", "message"}}` with a fitting status code."""


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    """Build the app. The assistant (index, models) is built in the lifespan unless one is given."""
    settings = settings or Settings()  # fields come from the environment

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if assistant is not None:
            app.state.assistant = assistant
        else:
            from assistant.assemble import build_assistant

            try:
                # load the default generator now so the first request does not pay for it; loading
                # blocks, so it runs in a worker thread
                app.state.assistant = await run_in_threadpool(lambda: build_assistant(settings, load_generator=True))
            except AssistantError as exc:
                log.error("cannot start the assistant: %s", exc)
                raise
        from assistant.assemble import build_question_log

        app.state.question_log = build_question_log(settings, app.state.assistant)
        yield
        # the rows still queued are written before the process ends
        await run_in_threadpool(app.state.question_log.close)

    app = _fastapi(title="Report assistant", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)

    schemas = build_schemas(settings)
    keyed = [Depends(require_api_key)]
    for router in (search.router(schemas), ask.router(schemas), chat.router(schemas), feedback.router(), meta.router()):
        app.include_router(router, dependencies=keyed)
    app.include_router(meta.health_router())
    _mount_ui(app, settings)
    return app


def _fastapi(**kwargs: Any) -> FastAPI:
    """A FastAPI app whose ``/docs`` serves Swagger UI from the package, not from a CDN."""
    try:
        from fastapi_offline import FastAPIOffline
    except ImportError:
        # the plain page loads its scripts from cdn.jsdelivr.net: blank on a machine without internet
        log.warning("fastapi-offline is not installed; /docs needs internet access to load Swagger UI")
        return FastAPI(**kwargs)
    return FastAPIOffline(**kwargs)


def _mount_ui(app: FastAPI, settings: Settings) -> None:
    # imported here: gradio is heavy, and only the server needs it
    import gradio as gr

    from ui.chat import CSS_PATH, build_chat, theme

    # the page is built now, but the assistant only exists once the lifespan ran (gradio's own
    # start-up runs inside ours), so the chat receives a way to reach it rather than the object
    # with API keys set, the page (and gradio's own API behind it) asks for a key as the password:
    # otherwise the chat would be an open door around the keyed /v1 routes
    login = ChatLogin(settings.api_keys) if settings.api_keys else None
    blocks = build_chat(lambda: app.state.assistant, settings, question_log=lambda: app.state.question_log,
                        client_of=login.client if login else None)
    gr.mount_gradio_app(
        app, blocks, path="/ui", css_paths=[CSS_PATH], theme=theme(), footer_links=[], run_history=False,
        auth=login, auth_message="请输入 API 密钥作为密码 · Enter an API key as the password (any user name).",
    )

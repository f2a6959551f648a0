"""The FastAPI application factory: API routes, error translation, limits, and the chat at ``/ui``."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool

from assistant import __version__
from assistant.api import mcp
from assistant.api.auth import ChatLogin, require_api_key
from assistant.api.collections import Registry
from assistant.api.errors import install_error_handlers
from assistant.api.hosts import HostCheckMiddleware, default_allowed_hosts
from assistant.api.limits import BodySizeLimitMiddleware, UploadLimit
from assistant.api.ratelimit import Rate, RateLimitMiddleware
from assistant.api.routes import ask, chat, collections, documents, feedback, meta, search
from assistant.api.schemas import build_schemas
from assistant.api.workers import Workers
from assistant.core.errors import AssistantError
from assistant.core.settings import Settings
from assistant.storage.collections import CollectionStore

if TYPE_CHECKING:
    from assistant.answer.pipeline import Assistant

log = logging.getLogger(__name__)
UI_PATH = "/ui"
#: where the chat page's upload box sends files (gradio's upload route under the /ui mount)
UI_UPLOAD_PATH = f"{UI_PATH}/gradio_api/upload"

DESCRIPTION = """Answers questions **only from the reports** in the corpus, citing the passages used.

* `POST /v1/ask` — a checked, cited answer (JSON, or server-sent events with `"stream": true`)
* `POST /v1/search` — retrieval only
* `POST /v1/chat/completions` — OpenAI-compatible; citations in the extra field `citations`
* `POST /v1/feedback` — thumbs up or down on an answer (by the `answer_id` every answer carries)
* `GET/POST /v1/documents`, `DELETE /v1/documents/{id}` — the documents answered from (multipart upload)
* `GET/POST /v1/collections`, `DELETE /v1/collections/{name}` — several knowledge bases in one server: the
  routes above take `collection` (body field, query parameter, upload form field); chat completions take
  `model: "report-assistant/NAME"`
* `/mcp` — the same as a Model Context Protocol server (streamable HTTP): tools `search_reports`,
  `ask_reports`, `list_documents`, `get_passage`, and each document as a resource
* the chat page is at [`/ui`](/ui)

When `ASSISTANT_API_KEYS` is set, every `/v1` route and `/mcp` need `Authorization: Bearer KEY`; a key
sees only the collections of its scope (`KEY:a|b`, `KEY:*`; none: `default`), and any other is 404.
Errors are `{"error": {"type", "message"}}` with a fitting status code; 429 and 503 carry
`Retry-After`. A local model answers one question at a time and `ASSISTANT_QUEUE_SIZE` more wait;
beyond that the answer is 429 at once."""


def create_app(settings: Settings | None = None, assistant: Assistant | None = None) -> FastAPI:
    """Build the app. The assistant (index, embedder) is built in the lifespan unless one is given;
    the default generator then loads in the background (``/healthz`` says ``loading``)."""
    settings = settings or Settings()  # fields come from the environment

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if assistant is not None:
            app.state.assistant = assistant
        else:
            from assistant.assemble import build_assistant

            try:
                app.state.assistant = await run_in_threadpool(lambda: build_assistant(settings))
            except AssistantError as exc:
                log.error("cannot start the assistant: %s", exc)
                raise
        from assistant.assemble import build_question_log

        # the configured corpus is the collection 'default' (its record written once; its index used as it is)
        store = CollectionStore(settings)
        await run_in_threadpool(store.migrate)
        app.state.collections = Registry(settings, app.state.assistant, store)
        app.state.question_log = build_question_log(settings, app.state.assistant)
        pool = app.state.assistant.generators
        pool.allow(allowed_generators(settings))
        pool.start_loading()
        _warm_embedder(app.state.assistant)
        app.state.workers = Workers.create(model_threads=pool.capacity(), timeout=settings.request_timeout)
        try:
            async with mcp_server.session_manager.run():
                yield
        finally:
            pool.close()  # requests still waiting for a model are sent away; running ones were cancelled
            # the rows still queued are written before the process ends
            await run_in_threadpool(app.state.question_log.close)

    app = _fastapi(title="Report assistant", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)
    # the last one added runs first: the Host check, then the rate limits, then the body size
    uploads = [UploadLimit(path, settings.max_upload_bytes) for path in (documents.PATH, UI_UPLOAD_PATH)]
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes, uploads=uploads)
    app.add_middleware(
        RateLimitMiddleware,
        limit=Rate.parse(settings.rate_limit) if settings.rate_limit else None,
        failures=Rate.parse(settings.auth_failure_limit),
        keys=settings.api_secrets,
        limited=_rate_limited,
        guarded=_guarded,
        login_path=f"{UI_PATH}/login",
    )
    app.add_middleware(HostCheckMiddleware, allowed=default_allowed_hosts(settings.host, settings.allowed_hosts))

    schemas = build_schemas(settings)
    # without keys the routes are open, and the schema must not claim a bearer token is needed
    keyed = [Depends(require_api_key)] if settings.api_secrets else []
    for router in (search.router(schemas), ask.router(schemas), chat.router(schemas), feedback.router(),
                   meta.router(), documents.router(), collections.router()):
        app.include_router(router, dependencies=keyed)
    app.include_router(meta.health_router())
    mcp_server = mcp.mount(app, settings)
    _mount_ui(app, settings)
    return app


def _warm_embedder(assistant: Assistant) -> None:
    """Load what the embedder loads on first use, in the background: the first search does not wait
    for it (a search that comes sooner waits for the load under way)."""
    from assistant.embed import WarmEmbedder

    embedder = assistant.source.snapshot().embedder
    if isinstance(embedder, WarmEmbedder):
        threading.Thread(target=embedder.warm, name="warm-embedder", daemon=True).start()


def begin_shutdown(app: FastAPI) -> None:
    """The server is stopping: requests waiting for a model get 503 now, and answers still being
    written are stopped after ``ASSISTANT_SHUTDOWN_GRACE`` seconds (call on the event loop)."""
    assistant = getattr(app.state, "assistant", None)
    if assistant is None:  # still starting up
        return
    pool = assistant.generators
    pool.close()
    grace = app.state.settings.shutdown_grace
    log.info("shutting down: answers being written get %g s to finish", grace)
    asyncio.get_running_loop().call_later(grace, pool.stop_running)


def allowed_generators(settings: Settings) -> list[str]:
    """``ASSISTANT_ALLOWED_GENERATORS``, by default the configured generator plus ``extractive``."""
    return settings.allowed_generators or [settings.generator, "extractive"]


def _rate_limited(method: str, path: str) -> bool:
    # the API, MCP, and the chat's questions (each one joins gradio's queue once); not /healthz, not
    # the page's assets and polling
    return path.startswith("/v1/") or path == mcp.PATH or path == f"{UI_PATH}/gradio_api/queue/join"


def _guarded(method: str, path: str) -> bool:
    # where a wrong key or password is answered: the API, MCP and the chat (its login and its own API)
    return path.startswith("/v1/") or path == mcp.PATH or path.startswith(UI_PATH)


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
    from ui.pages import HEAD

    # the page is built now, but the assistant only exists once the lifespan ran (gradio's own
    # start-up runs inside ours), so the chat receives a way to reach it rather than the object
    # with API keys set, the page (and gradio's own API behind it) asks for a key as the password:
    # otherwise the chat would be an open door around the keyed /v1 routes
    login = ChatLogin(settings.api_secrets) if settings.api_secrets else None
    blocks = build_chat(lambda: app.state.assistant, settings, question_log=lambda: app.state.question_log,
                        client_of=login.client if login else None, knowledge=lambda: app.state.collections)
    gr.mount_gradio_app(
        app, blocks, path=UI_PATH, css_paths=[CSS_PATH], theme=theme(), footer_links=[], run_history=False,
        auth=login, auth_message="请输入 API 密钥作为密码 · Enter an API key as the password (any user name).",
        max_file_size=settings.max_upload_bytes, head=HEAD,
        # no allowed_paths: the page-image cache, shared by all collections, is not served by path (the
        # chat's page viewer hands gradio a copy of each page it shows)
    )

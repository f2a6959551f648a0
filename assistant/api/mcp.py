"""The MCP server: the reports as tools and resources for agents and IDE assistants (Model Context
Protocol, built with the official ``mcp`` SDK).

Tools: ``search_reports``, ``ask_reports``, ``list_documents``, ``get_passage``, each with a typed input
schema and structured output. Resources: each document at ``report://documents/{id}``, its text as the
assistant reads it, so that a client can attach a report.

One server, two transports: stdio (``assistant mcp``, :func:`serve_stdio`) and streamable HTTP at
``/mcp`` inside ``assistant serve`` (:func:`mount`). Over HTTP the ``/v1`` rules hold: the app's
middleware applies the Host check, the rate and body limits, and :class:`~assistant.api.auth.KeyedApp`
the API keys. Answers take the same bounded model queue as the API's: a full queue is a tool error,
at once, saying when to retry. The question log records them on the channel ``mcp``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
from fastapi import FastAPI
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.exceptions import MCPError
from mcp_types import INTERNAL_ERROR, ListResourcesResult, PaginatedRequestParams, Resource, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from assistant import __version__
from assistant.answer.generate.cancel import Cancellation
from assistant.answer.pipeline import Assistant
from assistant.api import streaming
from assistant.api.auth import KeyedApp
from assistant.api.collections import DEFAULT_COLLECTION, Collections, OneCollection
from assistant.api.errors import error_type
from assistant.api.workers import Workers
from assistant.core.errors import AssistantError, CollectionNotFoundError
from assistant.core.redact import public_message
from assistant.core.settings import Settings
from assistant.core.types import AnswerJSON, Event, Source
from assistant.questionlog import QuestionLog
from assistant.storage.documents import DocumentInfo

log = logging.getLogger(__name__)

#: where ``assistant serve`` answers MCP over streamable HTTP
PATH = "/mcp"
#: the URI of a document's text; ``{doc_id}`` is its id in ``list_documents``
DOCUMENT_URI = "report://documents/{doc_id}"

INSTRUCTIONS = (
    "Answers questions only from a fixed set of report documents, citing the passages used. Call ask_reports "
    "for a grounded answer (it may refuse: the reports do not say), search_reports to gather passages "
    "yourself, list_documents to see what the reports are, get_passage to read a cited passage in full. "
    "Each document's full text is also a resource, report://documents/{id}."
)


# ---- what the tools return ---------------------------------------------------------------------


class SearchResult(BaseModel):
    """Passages for a query, best first."""

    query: str
    results: list[Source] = Field(description="passage_id (for get_passage), title of its document, section path, "
                                              "source file, text, and the fused retrieval score")


class DocumentList(BaseModel):
    """The documents the reports consist of."""

    documents: list[DocumentInfo]


class PassageText(BaseModel):
    """One passage of a report, in full."""

    model_config = ConfigDict(extra="forbid")
    passage_id: str
    title: str = Field(description="the title of the passage's document")
    section: str = Field(description="its section path, headings joined by ' › '")
    source: str = Field(description="its document's file")
    kind: str = Field(description="title, preamble, item, paragraph, table, closing or signature")
    text: str


# ---- what the tools answer from ----------------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    """The objects the tools use: the API's over HTTP, the ones :func:`serve_stdio` builds over stdio."""

    collections: Collections
    question_log: QuestionLog
    workers: Workers


#: the backend, once it is ready (a server builds it in its lifespan, stdio in the background)
BackendSource = Callable[[], Awaitable[Backend]]


def _message(exc: AssistantError) -> str:
    return f"{error_type(exc)}: {public_message(exc)}"


@contextmanager
def tool_errors() -> Iterator[None]:
    """The assistant's errors as tool errors: the agent reads ``type: message`` (a full queue says when
    to retry) and the server logs them like the API does, without a traceback."""
    try:
        yield
    except AssistantError as exc:
        raise ToolError(_message(exc)) from exc


@contextmanager
def resource_errors() -> Iterator[None]:
    """The assistant's errors while listing or reading documents, as protocol errors saying what is wrong."""
    try:
        yield
    except AssistantError as exc:
        raise MCPError(code=INTERNAL_ERROR, message=_message(exc)) from exc


def client_of(ctx: Context | ServerRequestContext[Any]) -> str | None:
    """The id of the API key an HTTP request carried (set by :class:`KeyedApp`); None over stdio."""
    request = (ctx.request_context if isinstance(ctx, Context) else ctx).request
    state = getattr(request, "state", None)
    return getattr(state, "client", None) if state is not None else None


class ReportsServer(MCPServer[Any]):
    """The MCP server over the reports (its resources list the documents as they are now)."""

    def __init__(self, settings: Settings, backend: BackendSource, **kwargs: Any) -> None:
        super().__init__("report-assistant", title="Report assistant", version=__version__,
                         instructions=INSTRUCTIONS, **kwargs)
        self.backend = backend
        _add_tools(self, settings)
        self.resource(DOCUMENT_URI, name="document", mime_type="text/plain",
                      description="a report's text, as the assistant reads it (its passages in order)")(self._text)

    async def _handle_list_resources(self, ctx: ServerRequestContext[Any],
                                     params: PaginatedRequestParams | None) -> ListResourcesResult:
        # the SDK's list_resources() is not told who asks: the resources follow the key, as the tools do
        return ListResourcesResult(resources=await self.documents_for(client_of(ctx)))

    async def documents_for(self, client: str | None) -> list[Resource]:
        """Each document of the default collection, read from the live index (documents come and go);
        none for a key that may not see that collection."""
        with resource_errors():
            backend = await self.backend()
            try:
                with backend.collections.use(None, client) as held:
                    assistant = await run_in_threadpool(lambda: held.assistant)
                    documents = await run_in_threadpool(lambda: held.documents.documents())
            except CollectionNotFoundError:
                return []
        titles = {p.source: p.title for p in reversed(assistant.passages)}
        return [
            Resource(uri=DOCUMENT_URI.format(doc_id=d.id), name=d.id, title=titles.get(d.source) or d.id,
                     mime_type="text/plain", description=_describe(d))
            for d in documents if d.passages
        ]

    async def _text(self, doc_id: str, ctx: Context) -> str:
        missing = ResourceNotFoundError(f"no document {doc_id!r} in the index; list_documents names them")
        with resource_errors():
            backend = await self.backend()
            try:
                with backend.collections.use(None, client_of(ctx)) as held:
                    assistant = await run_in_threadpool(lambda: held.assistant)
                    documents = await run_in_threadpool(lambda: held.documents.documents())
            except CollectionNotFoundError:  # a key that may not see it: word for word a missing document
                raise missing from None
        source = next((d.source for d in documents if d.id == doc_id), None)
        passages = [p.text for p in assistant.passages if p.source == source]
        if not passages:
            raise missing
        return "\n\n".join(passages)


def _describe(document: DocumentInfo) -> str:
    pages = f", {document.pages} pages" if document.pages else ""
    return f"{document.source}: {document.type}, {document.passages} passages{pages}, added {document.added[:10]}"


def _add_tools(server: ReportsServer, settings: Settings) -> None:
    """The four tools, their arguments bounded like the API's (question length, ``k``)."""
    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    collection_arg = Annotated[str | None, Field(
        description=f"the collection to answer from; leave it out for the server's ({DEFAULT_COLLECTION!r})")]
    text = Annotated[str, Field(min_length=1, max_length=settings.max_question_chars, pattern=r"\S")]

    async def search_reports(query: str, ctx: Context, k: int | None = None,
                             collection: str | None = None) -> SearchResult:
        with tool_errors():
            backend = await server.backend()
            with backend.collections.use(collection, client_of(ctx)) as held:  # a delete waits for it
                assistant = await run_in_threadpool(lambda: held.assistant)  # opening it may load its index
                job = backend.workers.job()  # the quick pool: a search never waits behind a model
                try:
                    hits = await job.run(lambda: assistant.search(query, k))
                finally:
                    job.close()
        return SearchResult(query=query, results=[h.to_source() for h in hits])

    async def ask_reports(question: str, ctx: Context, generator: str | None = None,
                          collection: str | None = None) -> AnswerJSON:
        client = client_of(ctx)
        with tool_errors():
            backend = await server.backend()

        with tool_errors(), backend.collections.use(collection, client) as held:  # a delete waits for it
            def start(assistant: Assistant, cancel: Cancellation) -> Iterator[Event]:
                events = assistant.stream(question, generator=generator, cancel=cancel)
                return backend.question_log.recorded(events, channel="mcp", client=client, collection=held.name,
                                                     index_build=assistant.index_build)

            assistant = await run_in_threadpool(lambda: held.assistant)
            answer = await streaming.answer_with(assistant, backend.workers, generator, start)
        return AnswerJSON.model_validate(answer.to_json())

    async def list_documents(ctx: Context, collection: str | None = None) -> DocumentList:
        with tool_errors():
            backend = await server.backend()
            with backend.collections.use(collection, client_of(ctx)) as held:
                documents = await run_in_threadpool(lambda: held.documents.documents())
        return DocumentList(documents=documents)

    async def get_passage(passage_id: str, ctx: Context, collection: str | None = None) -> PassageText:
        with tool_errors():
            backend = await server.backend()
            with backend.collections.use(collection, client_of(ctx)) as held:
                passage = await run_in_threadpool(lambda: held.assistant.passage(passage_id))
        if passage is None:
            raise ToolError(f"not_found: no passage with id {passage_id!r}; ids come from search_reports "
                            "results and ask_reports citations")
        return PassageText(passage_id=passage.id, title=passage.title, section=passage.section,
                           source=passage.source, kind=passage.kind, text=passage.text)

    # the bounds come from the settings, so the annotations are set here (as api.schemas.bind does for routes)
    search_reports.__annotations__.update(
        query=Annotated[text, Field(description="what to look for, in Chinese or English")],
        k=Annotated[int | None, Field(ge=1, le=settings.max_k,
                                      description=f"passages to return, 1..{settings.max_k} (default {settings.k})")],
        collection=collection_arg)
    ask_reports.__annotations__.update(
        question=Annotated[text, Field(description="a question, in Chinese or English")],
        generator=Annotated[str | None, Field(
            description="who writes the answer: 'extractive' (sentences of the reports, fast) or a language model "
                        "('local', 'openai') if the server allows it; leave it out for the server's default")],
        collection=collection_arg)
    list_documents.__annotations__.update(collection=collection_arg)
    get_passage.__annotations__.update(
        passage_id=Annotated[str, Field(min_length=1, description="a passage_id from search_reports or a citation")],
        collection=collection_arg)
    server.add_tool(search_reports, title="Search the reports", annotations=read_only, description=(
        "Find the passages of the reports most relevant to a query (dense and keyword retrieval, fused), best "
        "first. Use it to explore what the reports say or to gather evidence yourself; it writes no answer "
        "(ask_reports does). Each result has a passage_id for get_passage."))
    server.add_tool(ask_reports, title="Ask the reports", annotations=read_only, description=(
        "Answer a question only from the reports, with checked citations: each [n] in 'answer' points at "
        "citations[n-1] (passage id, document title, section, source, and the sentences it rests on). When the "
        "reports do not support an answer, 'refused' is true and 'answer' says that the reports do not say: "
        "report that, do not guess. Prefer it to search_reports for a direct question. A language model answers "
        "a few questions at a time: when it is busy the call fails at once with a message saying when to retry."))
    server.add_tool(list_documents, title="List the documents", annotations=read_only, description=(
        "List the documents the reports consist of: id, source file, type, passages, pages (PDF), date added. "
        "Use it to see what can be asked about, or to pick a document to read whole (resource "
        "report://documents/{id})."))
    server.add_tool(get_passage, title="Read a passage", annotations=read_only, description=(
        "Read one passage of a report in full by its passage_id (from search_reports results or ask_reports "
        "citations), e.g. to quote it or to see its section."))


def build_server(settings: Settings, backend: BackendSource, **kwargs: Any) -> ReportsServer:
    """The MCP server over the backend ``backend()`` returns (``kwargs``: more :class:`MCPServer` options)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    server = ReportsServer(settings, backend, **kwargs)
    # the SDK configures the root logger (basicConfig) as if it owned the process; here uvicorn or the
    # CLI does, and a second handler on the root would print every library's records twice
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
    return server


# ---- streamable HTTP inside `assistant serve` ----------------------------------------------------


def mount(app: FastAPI, settings: Settings) -> ReportsServer:
    """Serve MCP at :data:`PATH` inside ``app``; the app's lifespan must run ``server.session_manager.run()``.

    Stateless: each request stands alone (no session to pin to a worker, and the key is checked on every
    one). The SDK's own Host and Origin checks are off: the app's Host check (``ASSISTANT_ALLOWED_HOSTS``)
    runs before it, like for every route.
    """

    async def backend() -> Backend:
        state = app.state
        return Backend(state.collections, state.question_log, state.workers)

    server = build_server(settings, backend)
    http = server.streamable_http_app(
        streamable_http_path=PATH, stateless_http=True, max_request_body_size=settings.max_body_bytes,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    # the SDK's app routes PATH itself; served as a route of ours it sits behind the keys like /v1
    app.router.routes.append(Route(PATH, endpoint=KeyedApp(http, settings.api_secrets), include_in_schema=False))
    return server


# ---- stdio: `assistant mcp` ----------------------------------------------------------------------


class StdioBackend:
    """The backend of ``assistant mcp``, built in the background once the server talks on stdio (a
    client waits for no index or model to answer ``initialize``; a tool call waits for the build)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._ready = anyio.Event()
        self._backend: Backend | None = None
        self._error: AssistantError | None = None

    async def __call__(self) -> Backend:
        await self._ready.wait()
        if self._error is not None:
            raise self._error
        assert self._backend is not None
        return self._backend

    async def build(self) -> None:
        from assistant.api.app import allowed_generators
        from assistant.assemble import build_assistant, build_question_log

        try:
            assistant = await anyio.to_thread.run_sync(lambda: build_assistant(self.settings), abandon_on_cancel=True)
            question_log = build_question_log(self.settings, assistant)
            pool = assistant.generators
            pool.allow(allowed_generators(self.settings))
            pool.start_loading()  # the model loads while the client gets ready; an ask meanwhile is told to retry
            workers = Workers.create(model_threads=pool.capacity(), timeout=self.settings.request_timeout)
            self._backend = Backend(OneCollection(assistant), question_log, workers)
        except AssistantError as exc:
            log.error("cannot start the assistant: %s", exc)
            self._error = exc
        finally:
            self._ready.set()

    def close(self) -> None:
        if self._backend is not None:
            self._backend.collections.assistant(None, None).generators.close()
            self._backend.question_log.close()


async def serve_stdio(settings: Settings) -> None:
    """Serve MCP on stdin and stdout until the client closes stdin (``assistant mcp``)."""
    backend = StdioBackend(settings)

    @asynccontextmanager
    async def lifespan(server: MCPServer[Any]) -> AsyncIterator[dict[str, Any]]:
        # entered once stdio is claimed: whatever building prints goes to stderr, not into the protocol
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(backend.build)
            try:
                yield {}
            finally:
                tasks.cancel_scope.cancel()
                await anyio.to_thread.run_sync(backend.close)

    await build_server(settings, backend, lifespan=lifespan).run_stdio_async()

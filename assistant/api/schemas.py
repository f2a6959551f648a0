"""Request and response models of the HTTP API.

Request bounds come from :class:`~assistant.core.settings.Settings` (``max_question_chars``, ``max_k``,
``max_history_turns``, ``max_history_chars``), so :func:`build_schemas` makes the bounded request
models per app; their errors and the OpenAPI page then state the configured bound. Request models
are strict: ``"k": true`` or ``"k": "3"`` is a 422, not 1 or 3. Response models, and the error
responses of :func:`error_responses`, exist for the OpenAPI page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from assistant.core.settings import Settings
from assistant.core.types import Location, Source

EXAMPLE_QUESTION = "制造业单项冠军企业有多少家？"


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be blank")
    return text


class Turn(BaseModel):
    """One earlier message of the conversation, used to rewrite a follow-up question."""

    model_config = ConfigDict(extra="forbid", strict=True)
    role: Literal["user", "assistant"]
    content: str


#: the ``collection`` query parameter of the GET and DELETE routes
CollectionParam = Annotated[str | None, Query(max_length=64, description="the collection (default: 'default')")]


class SearchFields(BaseModel):
    model_config = ConfigDict(
        extra="forbid", strict=True, json_schema_extra={"examples": [{"query": "专精特新“小巨人”企业", "k": 3}]}
    )
    query: str
    k: int | None = Field(None, description="passages to return (default: settings.k)")
    collection: str | None = Field(
        None, max_length=64, description="the collection to answer from (default: 'default'; GET /v1/collections)"
    )


class AskFields(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "examples": [
                {"question": EXAMPLE_QUESTION, "generator": "extractive"},
                {"question": "那农业方面呢？", "history": [
                    {"role": "user", "content": "工业方面有哪些进展？"},
                    {"role": "assistant", "content": "……"},
                ], "stream": True},
            ]
        },
    )
    question: str
    generator: str | None = Field(
        None, description="one of GET /v1/models (the generators this server allows; others: 403); "
        "default: the server's generator"
    )
    k: int | None = Field(None, description="passages to retrieve (default: settings.k)")
    collection: str | None = Field(
        None, max_length=64, description="the collection to answer from (default: 'default'; GET /v1/collections)"
    )
    history: list[Turn] = Field(default_factory=list, description="earlier turns, oldest first")
    stream: bool = Field(False, description="answer as server-sent events: sources, token..., answer")


class ChatMessage(BaseModel):
    """An OpenAI chat message; text parts of list-form content are joined, other parts ignored."""

    model_config = ConfigDict(extra="allow", strict=True)
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    """OpenAI's ``stream_options``; other options are accepted and ignored."""

    model_config = ConfigDict(extra="allow", strict=True)
    include_usage: bool = Field(False, description="send the answer's token counts in a last chunk before [DONE]")


class ChatFields(BaseModel):
    # extra="allow": OpenAI clients send max_tokens, temperature, top_p, user, ...; all are accepted
    # and ignored, because the answer must come from the report and be checked, not sampled freely
    model_config = ConfigDict(
        extra="allow",
        strict=True,
        json_schema_extra={"examples": [{"model": "report-assistant", "stream": False, "messages": [
            {"role": "user", "content": EXAMPLE_QUESTION}]}]},
    )
    model: str = Field("report-assistant", description="'report-assistant' (server default) or a generator name")
    messages: list[ChatMessage] = Field(min_length=1, description="the last one must be the user's question")
    stream: bool = False
    stream_options: StreamOptions | None = None
    k: int | None = Field(None, description="extension: passages to retrieve")


@dataclass(frozen=True)
class Schemas:
    """The bounded request models of one app."""

    search: type[SearchFields]
    ask: type[AskFields]
    chat: type[ChatFields]


def build_schemas(settings: Settings) -> Schemas:
    """Request models bounded by the settings (question length, ``k``, history turns and characters)."""
    # pattern \S: "not blank" in the JSON schema too (a pattern matches anywhere in the string)
    text = Annotated[str, Field(min_length=1, max_length=settings.max_question_chars, pattern=r"\S"),
                     AfterValidator(_not_blank)]
    k = Annotated[int | None, Field(ge=1, le=settings.max_k, description=f"1..{settings.max_k}")]
    turns, chars = settings.max_history_turns, settings.max_history_chars

    def bounded_history(history: list[Turn]) -> list[Turn]:
        total = sum(len(turn.content) for turn in history)
        if total > chars:
            raise ValueError(f"the history holds {total} characters; the limit is {chars}")
        return history

    history = Annotated[
        list[Turn],
        Field(max_length=turns, description=f"earlier turns, oldest first: at most {turns}, {chars} characters in all"),
        AfterValidator(bounded_history),
    ]
    # a chat request carries its history as messages: the question, the turns, a few system messages
    messages = Annotated[list[ChatMessage], Field(min_length=1, max_length=turns + 8)]
    return Schemas(
        search=create_model("SearchRequest", __base__=SearchFields, query=(text, ...), k=(k, None)),
        ask=create_model("AskRequest", __base__=AskFields, question=(text, ...), k=(k, None),
                         history=(history, Field(default_factory=list))),
        chat=create_model("ChatCompletionRequest", __base__=ChatFields, k=(k, None), messages=(messages, ...)),
    )


Route = TypeVar("Route", bound=Callable[..., Any])


def bind(route: Route, **params: type[BaseModel]) -> Route:
    """Point a route's parameters at this app's bounded models.

    Routes are written against the static base classes (``body: AskFields``), which type
    checkers understand; FastAPI validates with the annotation it finds at registration, so
    swapping in the per-app subclass here gives the configured bounds.
    """
    route.__annotations__.update(params)
    return route


# ---- responses (documentation of what the routes return) ------------------------------------


class SearchResponse(BaseModel):
    query: str
    results: list[Source]


class PassageOut(BaseModel):
    id: str
    source: str
    section: str
    text: str
    kind: str
    title: str = ""
    #: where the passage stands in its document (None: not known)
    location: Location | None = None


class QueueState(BaseModel):
    state: Literal["loading", "ready", "failed", "closed"]
    running: int
    waiting: int
    queue_size: int


class Health(BaseModel):
    status: Literal["loading", "ready", "failed"]
    index_size: int | None
    embedding_model: str | None
    generator: str | None
    #: the default generator as it names itself in answers, e.g. "local:qwen2.5-1.5b"
    generator_model: str | None
    generators: list[str]
    #: each language model's queue, by the model's name
    queues: dict[str, QueueState]
    version: str


class ErrorDetail(BaseModel):
    type: str = Field(description="machine-readable kind, e.g. invalid_input, rate_limited, busy")
    message: str = Field(description="what went wrong, for people (no server paths or addresses)")


class ErrorOut(BaseModel):
    """The body of every error response: ``{"error": {"type", "message"}}``."""

    error: ErrorDetail


#: what each error status means on this API (the OpenAPI page lists them per route)
ERROR_STATUSES: dict[int, str] = {
    400: "the Host header names a server this one does not serve (ASSISTANT_ALLOWED_HOSTS)",
    401: "missing or wrong API key (when ASSISTANT_API_KEYS is set)",
    403: "the generator asked for is not enabled on this server",
    404: "no such passage, answer or document",
    409: "the document id exists (add replace=true), or it is the last document",
    413: "request body larger than ASSISTANT_MAX_BODY_BYTES (an upload: ASSISTANT_MAX_UPLOAD_BYTES), or a document "
         "over a reading limit (bytes, pages, unpacked content, table cells, passages, reading time or memory)",
    415: "the upload is not a supported document type (judged by its content)",
    422: "invalid input: malformed JSON, a wrong type, or a value out of bounds (the message names it); an "
         "unreadable document (damaged, password-protected, empty, no text layer)",
    429: "rate limit exceeded, too many failed API keys, or the model's queue is full; retry after Retry-After seconds",
    499: "the request was cancelled (client gone, server shutting down)",
    502: "the generator failed while answering",
    503: "the model is still loading, the server is shutting down, or the index is unusable",
    504: "the answer took longer than ASSISTANT_REQUEST_TIMEOUT (a document change: ASSISTANT_CHANGE_TIMEOUT)",
}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error statuses, in the API's error shape."""
    return {
        status: {"model": ErrorOut, "description": ERROR_STATUSES[status],
                 **({"headers": _RETRY_AFTER} if status in (429, 503) else {})}
        for status in statuses
    }


#: errors any route may answer (Host check, keys, rate limit)
COMMON_ERRORS = (400, 401, 429)
#: errors of a route that answers questions
ANSWER_ERRORS = (*COMMON_ERRORS, 403, 413, 422, 499, 502, 503, 504)

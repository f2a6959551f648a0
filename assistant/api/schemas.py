"""Request and response models of the HTTP API.

Request bounds come from :class:`~assistant.settings.Settings` (``max_question_chars``, ``max_k``),
so :func:`build_schemas` makes the bounded request models per app; their errors and the
OpenAPI page then state the configured bound. Response models exist for the OpenAPI page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from assistant.settings import Settings
from assistant.types import Source

EXAMPLE_QUESTION = "制造业单项冠军企业有多少家？"


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be blank")
    return text


class Turn(BaseModel):
    """One earlier message of the conversation, used to rewrite a follow-up question."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: str


class SearchFields(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"query": "专精特新“小巨人”企业", "k": 3}]}
    )
    query: str
    k: int | None = Field(None, description="passages to return (default: settings.k)")


class AskFields(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
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
        None, description="'extractive', 'local', 'openai' (see GET /v1/models); default: the server's generator"
    )
    k: int | None = Field(None, description="passages to retrieve (default: settings.k)")
    history: list[Turn] = Field(default_factory=list, description="earlier turns, oldest first")
    stream: bool = Field(False, description="answer as server-sent events: sources, token..., answer")


class ChatMessage(BaseModel):
    """An OpenAI chat message; text parts of list-form content are joined, other parts ignored."""

    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class ChatFields(BaseModel):
    # extra="allow": OpenAI clients send max_tokens, temperature, top_p, user, ...; all are accepted
    # and ignored, because the answer must come from the report and be checked, not sampled freely
    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"examples": [{"model": "report-assistant", "stream": False, "messages": [
            {"role": "user", "content": EXAMPLE_QUESTION}]}]},
    )
    model: str = Field("report-assistant", description="'report-assistant' (server default) or a generator name")
    messages: list[ChatMessage] = Field(min_length=1, description="the last one must be the user's question")
    stream: bool = False
    k: int | None = Field(None, description="extension: passages to retrieve")


@dataclass(frozen=True)
class Schemas:
    """The bounded request models of one app."""

    search: type[SearchFields]
    ask: type[AskFields]
    chat: type[ChatFields]


def build_schemas(settings: Settings) -> Schemas:
    """Request models whose bounds are the settings' ``max_question_chars`` and ``max_k``."""
    text = Annotated[str, Field(min_length=1, max_length=settings.max_question_chars), AfterValidator(_not_blank)]
    k = Annotated[int | None, Field(ge=1, le=settings.max_k, description=f"1..{settings.max_k}")]
    return Schemas(
        search=create_model("SearchRequest", __base__=SearchFields, query=(text, ...), k=(k, None)),
        ask=create_model("AskRequest", __base__=AskFields, question=(text, ...), k=(k, None)),
        chat=create_model("ChatCompletionRequest", __base__=ChatFields, k=(k, None)),
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


class Health(BaseModel):
    status: Literal["ok"]
    index_size: int | None
    embedding_model: str | None
    generator: str | None
    #: the default generator as it names itself in answers, e.g. "local:qwen2.5-1.5b"
    generator_model: str | None
    generators: list[str]
    version: str

"""What the question log holds: one :class:`LogEntry` per answer, :class:`FeedbackEntry` rows on it.

:func:`entry_for` turns a pipeline :class:`~assistant.core.types.Answer` into the row to write, applying
the privacy setting: without texts, only hashes, ids and metrics are kept.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.core.types import Answer, Passage, Source

Rating = Literal["up", "down"]
#: where an answer was asked: ``assistant ask``, ``POST /v1/ask``, ``/v1/chat/completions``, the chat page,
#: the MCP tool ``ask_reports`` (``assistant mcp`` over stdio, or ``/mcp``)
Channel = Literal["cli", "api", "openai", "chat", "mcp"]


#: what texts are hashed with: HMAC-SHA256 under the install's key (:func:`keyed`), or plain sha256
Hasher = Callable[[str], str]


def sha256(text: str) -> str:
    """Hex sha256 of ``text`` (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def keyed(key: bytes) -> Hasher:
    """Hex HMAC-SHA256 of a text under ``key``: how the log identifies texts. Unlike a plain hash,
    a guessed question cannot be confirmed against the log without the install's key."""
    return lambda text: hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def owner_of(client: str | None, session: str | None = None) -> str:
    """Who was given an answer, as the log keeps it: the API key's id, else the chat's browser session
    (hashed), else ``anonymous`` (API calls without keys, the CLI). Only the owner may rate the answer."""
    if client:
        return f"key:{client}"
    if session:
        return f"chat:{sha256(session)[:32]}"
    return "anonymous"


def now() -> str:
    """The current UTC time as the log writes it (ISO 8601, sortable as text)."""
    return timestamp(datetime.now(UTC))


def timestamp(moment: datetime) -> str:
    """``moment`` in the log's format; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def retention_cutoff(days: int) -> str:
    """The time before which answers are pruned when they are kept ``days`` days."""
    return timestamp(datetime.now(UTC) - timedelta(days=days))


def new_answer_id() -> str:
    """A fresh answer id: 32 hex characters, random (it reveals nothing about the answer)."""
    return uuid.uuid4().hex


class CitedPassage(BaseModel):
    """A citation as logged: which passage, in which version (its content hash)."""

    model_config = ConfigDict(extra="forbid")
    marker: int
    passage_id: str
    passage_sha256: str


class RetrievedPassage(BaseModel):
    """A passage the generator was given, in retrieval order."""

    model_config = ConfigDict(extra="forbid")
    passage_id: str
    passage_sha256: str
    score: float


class FeedbackEntry(BaseModel):
    """One rating of an answer; the newest one is the answer's rating."""

    model_config = ConfigDict(extra="forbid")
    answer_id: str
    rating: Rating
    comment: str | None = None
    correction: str | None = None
    client: str | None = None
    created_at: str = Field(default_factory=now)


class LogEntry(BaseModel):
    """One logged answer (a row of ``answers``) and, when read back, its feedback."""

    model_config = ConfigDict(extra="forbid")
    answer_id: str
    created_at: str
    channel: Channel
    client: str | None
    question: str | None
    question_sha256: str
    query: str | None
    query_sha256: str
    language: str
    generator: str
    model: str | None
    prompt_name: str | None
    prompt_sha256: str | None
    answer: str | None
    answer_sha256: str
    refused: bool
    citations: list[CitedPassage] = Field(default_factory=list)
    passages: list[RetrievedPassage] = Field(default_factory=list)
    dropped: list[str] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)
    index_build: str | None = None
    #: who was given the answer (:func:`owner_of`): only they may rate it
    owner: str | None = None
    #: the collection that answered (``default`` for answers logged before collections)
    collection: str = "default"
    feedback: list[FeedbackEntry] = Field(default_factory=list)

    @property
    def rating(self) -> Rating | None:
        """The newest feedback's rating (None: not rated)."""
        return self.feedback[-1].rating if self.feedback else None

    @property
    def correction(self) -> str | None:
        """The newest correction any feedback on this answer gave."""
        return next((f.correction for f in reversed(self.feedback) if f.correction), None)


def passage_sha256(source: Source) -> str:
    """The content hash of a passage as an answer carries it: the same hash the index manifest records."""
    return Passage(id=source.passage_id, source=source.source, section=source.section, text=source.text,
                   title=source.title).hash


def entry_for(
    answer: Answer,
    *,
    answer_id: str,
    query: str,
    channel: Channel,
    client: str | None,
    index_build: str | None,
    texts: bool = True,
    created_at: str | None = None,
    owner: str | None = None,
    hasher: Hasher = sha256,
    collection: str = "default",
) -> LogEntry:
    """The row logged for ``answer``; with ``texts=False`` no question, query, answer or dropped
    sentence is kept, only their hashes (``hasher``; dropped sentences become hashes too)."""
    generator, _, model = answer.generator.partition(":")
    return LogEntry(
        answer_id=answer_id,
        created_at=created_at or now(),
        channel=channel,
        client=client,
        question=answer.question if texts else None,
        question_sha256=hasher(answer.question),
        query=query if texts else None,
        query_sha256=hasher(query),
        language=answer.language,
        generator=generator,
        model=model or None,
        prompt_name=answer.prompt.get("name"),
        prompt_sha256=answer.prompt.get("sha256"),
        answer=answer.answer if texts else None,
        answer_sha256=hasher(answer.answer),
        refused=answer.refused,
        citations=[
            CitedPassage(marker=c.marker, passage_id=c.passage_id, passage_sha256=passage_sha256(c))
            for c in answer.citations
        ],
        passages=[
            RetrievedPassage(passage_id=p.passage_id, passage_sha256=passage_sha256(p), score=p.score)
            for p in answer.passages
        ],
        dropped=list(answer.dropped) if texts else [hasher(s) for s in answer.dropped],
        timings=dict(answer.timings),
        index_build=index_build,
        owner=owner or owner_of(client),
        collection=collection,
    )

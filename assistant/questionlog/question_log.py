"""The question log as the edges (CLI, API, chat) use it: one object, built once at start-up.

The edges pass the pipeline's event stream through :meth:`QuestionLog.recorded`, which gives the
answer its ``answer_id`` and queues the row for the background writer; the pipeline itself knows
nothing of the log. Feedback and reads go to the database directly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from assistant.core.errors import InvalidInputError, QuestionLogError
from assistant.core.types import Answer, AnswerEvent, Event, SourcesEvent
from assistant.questionlog.records import (
    Channel,
    FeedbackEntry,
    Hasher,
    LogEntry,
    entry_for,
    keyed,
    new_answer_id,
    now,
    owner_of,
)
from assistant.questionlog.store import LogStore, install_key
from assistant.questionlog.writer import BackgroundWriter

if TYPE_CHECKING:
    from assistant.core.settings import Settings

log = logging.getLogger(__name__)

#: longest feedback texts kept (a comment, a corrected answer)
MAX_COMMENT_CHARS = 2000
MAX_CORRECTION_CHARS = 4000
#: how long feedback waits for its answer's row to be written before looking it up
FEEDBACK_FLUSH_SECONDS = 5.0


class QuestionLog:
    """Every answer and its feedback in SQLite at ``path``; ``path=None`` is a log that is off
    (answers then carry no ``answer_id``, and feedback or reads raise :class:`QuestionLogError`)."""

    def __init__(
        self,
        path: Path | None,
        *,
        texts: bool = True,
        retention_days: int = 0,
        index_build: str | Callable[[], str | None] | None = None,
        max_queue: int = 10_000,
        hash_key: bytes | None = None,
    ) -> None:
        self.path = path
        self.texts = texts
        self.index_build = index_build
        self._hash_key = hash_key  # None: the install's key beside the log file, read when first needed
        self._store: LogStore | None = None
        self._store_lock = threading.Lock()
        self._writer = (
            BackgroundWriter(self._open_store, retention_days=retention_days, max_queue=max_queue)
            if path is not None
            else None
        )

    @classmethod
    def from_settings(cls, settings: Settings, *,
                      index_build: str | Callable[[], str | None] | None = None) -> QuestionLog:
        """The log the settings describe (``log_enabled``, ``log_db``, ``log_texts``, ``log_retention_days``)."""
        key = settings.log_hash_key.get_secret_value().encode("utf-8") if settings.log_hash_key else None
        return cls(
            settings.log_db if settings.log_enabled else None,
            texts=settings.log_texts,
            retention_days=settings.log_retention_days,
            index_build=index_build,
            hash_key=key,
        )

    def _build(self) -> str | None:
        # a server's index changes as documents come and go: its build is asked at each answer
        return self.index_build() if callable(self.index_build) else self.index_build

    @property
    def enabled(self) -> bool:
        return self._writer is not None

    @property
    def store(self) -> LogStore:
        """The database, opened (and migrated) on first use."""
        return self._open_store()

    @property
    def hasher(self) -> Hasher:
        """HMAC-SHA256 under the install's key: what question, query and answer hashes are."""
        with self._store_lock:
            if self._hash_key is None:
                if self.path is None:
                    raise QuestionLogError("the question log is off (ASSISTANT_LOG_ENABLED=false)")
                try:
                    self._hash_key = install_key(self.path)
                except OSError as exc:
                    raise QuestionLogError(f"cannot make the question log's hash key beside {self.path}: "
                                           f"{exc.strerror or exc}") from exc
            return keyed(self._hash_key)

    def _open_store(self) -> LogStore:
        if self.path is None:
            raise QuestionLogError("the question log is off (ASSISTANT_LOG_ENABLED=false)")
        with self._store_lock:  # the writer thread and a request may both open it first
            if self._store is None:
                self._store = LogStore(self.path)
            return self._store

    # ---- recording answers (never fails, never waits) -----------------------------------------

    def record(self, answer: Answer, *, query: str, channel: Channel, client: str | None = None,
               session: str | None = None, collection: str = "default", index_build: str | None = None) -> Answer:
        """``answer`` with a fresh ``answer_id``, its row queued for writing; unchanged when the log is off.

        ``client`` (the API key's id) or else ``session`` (the chat's browser session) say who got
        the answer: only they may rate it. ``collection`` answered it; ``index_build`` names the build
        that did when it is not the log's own (another collection's). Never raises and never waits: a
        row that cannot be built or written is reported in the server log by the writer thread."""
        if self._writer is None:
            return answer
        answer_id = new_answer_id()
        # the row is built on the writer thread: here only an id, a time stamp and a queue slot
        self._writer.submit(
            partial(self._entry, answer, answer_id=answer_id, query=query, channel=channel, client=client,
                    index_build=index_build or self._build(), texts=self.texts, created_at=now(),
                    owner=owner_of(client, session), collection=collection),
            answer_id,
        )
        return answer.model_copy(update={"answer_id": answer_id})

    def _entry(self, answer: Answer, **fields: Any) -> LogEntry:
        return entry_for(answer, hasher=self.hasher, **fields)

    def recorded(self, events: Iterator[Event], *, channel: Channel, client: str | None = None,
                 session: str | None = None, collection: str = "default",
                 index_build: str | None = None) -> Iterator[Event]:
        """``events`` unchanged, except that the final answer carries its ``answer_id`` and is logged
        (with the collection that answered, and its index build)."""
        query: str | None = None
        for event in events:
            if isinstance(event, SourcesEvent):
                query = event.query
            elif isinstance(event, AnswerEvent):
                event = AnswerEvent(self.record(event.answer, query=query or event.answer.question,
                                                channel=channel, client=client, session=session,
                                                collection=collection, index_build=index_build))
            yield event

    def ask(self, events: Iterator[Event], *, channel: Channel, client: str | None = None,
            collection: str = "default") -> Answer:
        """The final answer of ``events`` (an ``Assistant.stream()``), logged: ``ask()`` for the edges."""
        answer: Answer | None = None
        for event in self.recorded(events, channel=channel, client=client, collection=collection):
            if isinstance(event, AnswerEvent):
                answer = event.answer
        if answer is None:
            raise QuestionLogError("the answer stream ended without an answer")
        return answer

    # ---- feedback -----------------------------------------------------------------------------

    def feedback(
        self,
        answer_id: str,
        rating: str,
        *,
        comment: str | None = None,
        correction: str | None = None,
        client: str | None = None,
        session: str | None = None,
        sees: Callable[[str], bool] | None = None,
    ) -> FeedbackEntry:
        """Record a thumbs up or down on a logged answer, with an optional comment and corrected answer.

        Only who got the answer may rate it: the same API key (``client``), or without keys the
        same chat session (``session``), or (neither) the anonymous API callers who got it.

        Raises :class:`InvalidInputError` for a bad rating or an over-long text,
        :class:`~assistant.core.errors.NotFoundError` for an unknown ``answer_id``, one given to
        another client or (``sees``) one of a collection ``sees`` says no to, and
        :class:`QuestionLogError` when the log is off or unwritable.
        """
        comment, correction = (comment or "").strip() or None, (correction or "").strip() or None
        limits = (("comment", comment, MAX_COMMENT_CHARS), ("correction", correction, MAX_CORRECTION_CHARS))
        for name, text, limit in limits:
            if text is not None and len(text) > limit:
                raise InvalidInputError(f"the {name} is {len(text)} characters long; the limit is {limit}")
        try:
            entry = FeedbackEntry(
                answer_id=answer_id.strip().lower(),
                rating=rating,  # type: ignore[arg-type]  # validated here
                comment=comment if self.texts else None,
                correction=correction if self.texts else None,
                client=client,
            )
        except ValidationError as exc:
            raise InvalidInputError(f"rating must be 'up' or 'down', got {rating!r}") from exc
        store = self.store
        if self._writer is not None:
            # the answer may have been given a moment ago and still be in the writer's queue
            self._writer.flush(FEEDBACK_FLUSH_SECONDS)
        store.add_feedback(entry, owner=owner_of(client, session), sees=sees)
        return entry

    # ---- lifecycle ----------------------------------------------------------------------------

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every answer recorded so far is written; False on time-out."""
        return self._writer.flush(timeout) if self._writer is not None else True

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued and stop the writer thread."""
        if self._writer is not None:
            self._writer.close(timeout)

    def __enter__(self) -> QuestionLog:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

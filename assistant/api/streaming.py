"""Answering from async routes: admission, then the pipeline's blocking event stream in threads.

:func:`start` does everything that can still become an ordinary error response (bad input,
a generator that is not allowed, a full queue, a model still loading, the first step of the
pipeline) before any response starts; the rest of the events arrive through :meth:`Job.iterate`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator

from starlette.requests import Request
from starlette.types import Receive

from assistant.answer.generate.cancel import Cancellation
from assistant.answer.pipeline import Assistant
from assistant.api.deps import get_workers
from assistant.api.errors import assistant_error_body, error_body
from assistant.api.workers import Job, Workers, close_iterator
from assistant.core.errors import AssistantError
from assistant.core.types import Answer, AnswerEvent, Event

log = logging.getLogger(__name__)

#: starts the pipeline for one request: ``assistant.stream(question, ..., cancel=cancel)``
Start = Callable[[Assistant, Cancellation], Iterator[Event]]


async def answer(request: Request, assistant: Assistant, generator: str | None, start_events: Start) -> Answer:
    """The checked answer of ``assistant`` (the request's collection's), computed in the right pool; a
    disconnect or time-out stops it."""
    return await answer_with(assistant, get_workers(request), generator, start_events, receive=request.receive)


async def answer_with(assistant: Assistant, workers: Workers, generator: str | None, start_events: Start, *,
                      receive: Receive | None = None) -> Answer:
    """:func:`answer` for a caller that is not a route (the MCP tools): a time-out stops the work, and so
    does cancelling the awaiting task; with ``receive``, so does the client's disconnect."""
    job, events = await _admit(assistant, workers, generator, start_events)
    try:
        return await job.run(lambda: _final(events), receive=receive)
    finally:
        job.close()


async def start(request: Request, assistant: Assistant, generator: str | None,
                start_events: Start) -> tuple[Event, AsyncIterator[Event]]:
    """The first event, then the others as an async iterator (closing it stops the work)."""
    job, events = await _admit(assistant, get_workers(request), generator, start_events)
    try:
        first = await job.run(lambda: next(events), receive=request.receive)
    except BaseException:
        job.close()
        close_iterator(events)
        raise
    return first, job.iterate(events)


async def _admit(assistant: Assistant, workers: Workers, generator: str | None,
                 start_events: Start) -> tuple[Job, Iterator[Event]]:
    job = workers.job()
    try:
        # on the quick pool: admission must answer 429 at once, whatever the models are doing
        events = await job.run(lambda: start_events(assistant, job.cancel))
    except BaseException:
        job.close()
        raise
    job.use_model(assistant.generators.uses_llm(generator))
    return job, events


def _final(events: Iterator[Event]) -> Answer:
    try:
        for event in events:
            if isinstance(event, AnswerEvent):
                return event.answer
        raise AssertionError("the pipeline always ends with an AnswerEvent")
    finally:
        # now, not when collected: the pipeline's ``finally`` blocks free the model and its queue place
        close_iterator(events)


async def chain(first: Event, rest: AsyncIterator[Event]) -> AsyncIterator[Event]:
    """The first event again, followed by the rest."""
    yield first
    async for event in rest:
        yield event


def failure_body(exc: BaseException) -> dict[str, object]:
    """The error payload sent inside a stream once it has started."""
    if isinstance(exc, AssistantError):
        return assistant_error_body(exc)
    log.error("stream failed", exc_info=exc)
    return error_body("internal", "internal error while answering; see the server log")

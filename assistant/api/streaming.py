"""Running the pipeline's synchronous event stream from async routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from assistant.api.errors import assistant_error_body, error_body
from assistant.errors import AssistantError
from assistant.types import Event

log = logging.getLogger(__name__)


async def start(events: Iterator[Event]) -> tuple[Event, AsyncIterator[Event]]:
    """Pull the first event, then hand back the rest as an async iterator.

    The first step is taken before the response starts so that errors raised up front (bad
    input, a missing index, an unknown generator) still become an ordinary JSON error with its
    status code instead of an ``event: error`` inside a 200 stream.
    """
    first = await run_in_threadpool(next, events, None)
    if first is None:
        raise AssistantError("the assistant produced no events")
    return first, _rest(events)


async def _rest(events: Iterator[Event]) -> AsyncIterator[Event]:
    try:
        # generation blocks (a local model computes tokens), so each step runs in a worker thread
        async for event in iterate_in_threadpool(events):
            yield event
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            # ValueError: the worker thread is still inside the generator (client went away)
            with suppress(ValueError):
                close()


async def chain(first: Event, rest: AsyncIterator[Event]) -> AsyncIterator[Event]:
    """The first event again, followed by the rest."""
    yield first
    async for event in rest:
        yield event


def failure_body(exc: Exception) -> dict[str, object]:
    """The error payload sent inside a stream once it has started."""
    if isinstance(exc, AssistantError):
        return assistant_error_body(exc)
    log.exception("stream failed", exc_info=exc)
    return error_body("internal", "internal error while answering; see the server log")

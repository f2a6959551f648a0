"""Running blocking work from async routes: on the right thread pool, and cancellable.

Two pools, so quick work never waits behind a model: ``quick`` (search, extractive answers)
and ``model`` (answers from a language model, already bounded by the models' queues).
``/healthz`` runs on neither: it is async and reads state only.

Each piece of work gets a :class:`~assistant.generate.cancel.Cancellation`, set when the client
disconnects, when ``timeout`` passes, or when the server cancels the request (shutdown); the
work, in its thread, stops at its next check (between tokens, or inside llama.cpp).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import anyio
from starlette.types import Receive

from assistant.errors import GeneratorTimeoutError, RequestCancelledError
from assistant.generate.cancel import Cancellation

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Workers:
    """The app's two thread pools and its answer time-out (built in the lifespan: limiters
    belong to the running event loop)."""

    quick: anyio.CapacityLimiter
    model: anyio.CapacityLimiter
    timeout: float

    @classmethod
    def create(cls, model_threads: int, timeout: float, quick_threads: int = 16) -> Workers:
        """``model_threads``: enough for every request the models' queues admit at once."""
        return cls(anyio.CapacityLimiter(quick_threads), anyio.CapacityLimiter(max(1, model_threads)), timeout)

    def pool(self, uses_llm: bool) -> anyio.CapacityLimiter:
        """The pool for an answer by a language model, or for anything quick."""
        return self.model if uses_llm else self.quick


def _on_timeout(cancel: Cancellation, seconds: float) -> asyncio.TimerHandle:
    error = GeneratorTimeoutError(f"the answer took longer than {seconds:g} s and was stopped")
    return asyncio.get_running_loop().call_later(seconds, cancel.cancel, error)


async def _on_disconnect(receive: Receive, cancel: Cancellation) -> None:
    # the body has been read: the next message uvicorn delivers is the disconnect
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            cancel.cancel(RequestCancelledError("the client disconnected"))
            return


async def run(work: Callable[[], T], cancel: Cancellation, limiter: anyio.CapacityLimiter, *,
              receive: Receive | None = None, timeout: float | None = None) -> T:
    """``work()`` in a thread of ``limiter``'s pool; ``cancel`` is set when the client behind
    ``receive`` disconnects, after ``timeout`` seconds, or if this coroutine is cancelled."""
    timer = _on_timeout(cancel, timeout) if timeout is not None else None
    try:
        async with anyio.create_task_group() as watchers:
            if receive is not None:
                watchers.start_soon(_on_disconnect, receive, cancel)
            try:
                # abandon_on_cancel: when the server cancels this request (shutdown) the await
                # returns at once; the thread, told through ``cancel``, stops by itself
                return await anyio.to_thread.run_sync(work, limiter=limiter, abandon_on_cancel=True)
            except anyio.get_cancelled_exc_class():
                cancel.cancel(RequestCancelledError("the server stopped the request"))
                raise
            finally:
                watchers.cancel_scope.cancel()
    finally:
        if timer is not None:
            timer.cancel()
    raise AssertionError("unreachable: the task group returns or raises")  # for type checkers


_DONE = object()


async def iterate(items: Iterator[T], cancel: Cancellation, limiter: anyio.CapacityLimiter, *,
                  timeout: float | None = None) -> AsyncIterator[T]:
    """The items of a blocking iterator, each step in a thread of ``limiter``'s pool.

    Meant for a streamed response: when the response stops early (client gone, server shutting
    down) this generator is closed, and ``cancel`` tells the thread to stop too.
    """
    timer = _on_timeout(cancel, timeout) if timeout is not None else None
    try:
        while True:
            item = await anyio.to_thread.run_sync(next, items, _DONE, limiter=limiter, abandon_on_cancel=True)
            if item is _DONE:
                return
            yield item  # type: ignore[misc]  # _DONE is filtered out above
    finally:
        cancel.cancel(RequestCancelledError("the stream was closed"))
        if timer is not None:
            timer.cancel()

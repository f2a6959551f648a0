"""Running blocking work from async routes: on the right thread pool, and cancellable.

Two pools, so quick work never waits behind a model: ``quick`` (search, extractive answers, the
admission of every answer) and ``model`` (answers from a language model, already bounded by the
models' queues). ``/healthz`` runs on neither: it is async and reads state only.

A request's work is a :class:`Job`. Its :class:`~assistant.answer.generate.cancel.Cancellation` is set
when the client disconnects, when the answer time-out passes, or when the server cancels the
request (shutdown); the work, in its thread, stops at its next check (between tokens, while
waiting for the model, or inside llama.cpp).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import anyio
from starlette.types import Receive

from assistant.answer.generate.cancel import Cancellation
from assistant.core.errors import AssistantError, GeneratorTimeoutError, RequestCancelledError

T = TypeVar("T")
_DONE = object()


@dataclass
class Workers:
    """The app's two thread pools and its answer time-out (built in the lifespan: limiters belong
    to the running event loop)."""

    quick: anyio.CapacityLimiter
    model: anyio.CapacityLimiter
    timeout: float

    @classmethod
    def create(cls, model_threads: int, timeout: float, quick_threads: int = 16) -> Workers:
        """``model_threads``: enough for every request the models' queues admit at once."""
        return cls(anyio.CapacityLimiter(quick_threads), anyio.CapacityLimiter(max(1, model_threads)), timeout)

    def job(self, timeout: float | None = None, error: AssistantError | None = None) -> Job:
        """A new request's work, on the quick pool until :meth:`Job.use_model` says otherwise; by
        default it is an answer, stopped after the answer time-out."""
        return Job(self, timeout, error)


class Job:
    """One request's work in threads, with its cancellation and its deadline (``timeout`` seconds,
    then the work raises ``error``)."""

    def __init__(self, workers: Workers, timeout: float | None = None, error: AssistantError | None = None) -> None:
        self.workers = workers
        self.cancel = Cancellation()
        self.limiter = workers.quick
        timeout = workers.timeout if timeout is None else timeout
        error = error or GeneratorTimeoutError(f"the answer took longer than {timeout:g} s and was stopped")
        self._deadline = asyncio.get_running_loop().call_later(timeout, self.cancel.cancel, error)

    def use_model(self, uses_llm: bool) -> None:
        """Run the rest on the model pool (when a language model writes the answer)."""
        self.limiter = self.workers.model if uses_llm else self.workers.quick

    async def run(self, work: Callable[[], T], *, receive: Receive | None = None) -> T:
        """``work()`` in a thread; with ``receive``, a client disconnect cancels it."""
        watcher = asyncio.ensure_future(_cancel_on_disconnect(receive, self.cancel)) if receive else None
        try:
            # abandon_on_cancel: when the server cancels this request (shutdown) the await returns
            # at once; the thread, told through the cancellation, stops by itself
            return await anyio.to_thread.run_sync(work, limiter=self.limiter, abandon_on_cancel=True)
        except asyncio.CancelledError:
            self.cancel.cancel(RequestCancelledError("the server stopped the request"))
            raise
        finally:
            if watcher is not None:
                watcher.cancel()

    async def iterate(self, items: Iterator[T]) -> AsyncIterator[T]:
        """The items of a blocking iterator, each step in a thread; for a streamed response.

        When the response stops early (client gone, server shutting down) this generator is
        closed: the cancellation tells a running step to stop, and the blocking iterator is
        closed (in the thread of a running step, else here), so its ``finally`` blocks run now,
        not whenever the garbage collector gets to it: they free the model and its queue place.
        """
        lock = threading.Lock()
        state = {"running": False, "closed": False}

        def step() -> object:
            with lock:
                if state["closed"]:
                    return _DONE
                state["running"] = True
            try:
                item = next(items, _DONE)
            finally:
                with lock:
                    state["running"] = False
                    closed = state.get("closed", False)  # (set by the event loop meanwhile)
            if closed:  # the response went away while this step ran
                close_iterator(items)
                return _DONE
            return item

        try:
            while True:
                item = await anyio.to_thread.run_sync(step, limiter=self.limiter, abandon_on_cancel=True)
                if item is _DONE:
                    return
                yield item  # type: ignore[misc]  # _DONE is filtered out above
        finally:
            self.close()
            with lock:
                state["closed"] = True
                running = state["running"]
            if not running:
                close_iterator(items)

    def close(self) -> None:
        """The job is over: stop whatever still runs for it, and its deadline."""
        self._deadline.cancel()
        self.cancel.cancel(RequestCancelledError("the response was closed"))


async def _cancel_on_disconnect(receive: Receive, cancel: Cancellation) -> None:
    # the body has been read: the next message the server delivers is the disconnect
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            cancel.cancel(RequestCancelledError("the client disconnected"))
            return


def close_iterator(items: Iterator[object]) -> None:
    """Close a generator now, so its ``finally`` blocks run; one that a thread is still running
    (abandoned on cancellation) ends by itself at its next cancellation check."""
    close = getattr(items, "close", None)
    if close is not None:
        try:
            close()
        except ValueError:  # "generator already executing"
            pass

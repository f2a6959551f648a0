"""Cancelling a request's work from another thread.

Generation runs in a worker thread; the event loop learns that the client went away, that a
time-out passed or that the server is shutting down. A :class:`Cancellation` carries that news
into the thread, which checks it between tokens and while waiting for its turn on a model; a
backend that blocks for long inside native code (llama.cpp evaluating a prompt) registers a
callback with :meth:`Cancellation.on_cancel` to be interrupted there too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from assistant.core.errors import AssistantError, RequestCancelledError


class Cancellation:
    """A one-way flag with the error the cancelled work should raise."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._error: AssistantError = RequestCancelledError("the request was cancelled")
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def cancel(self, error: AssistantError | None = None) -> None:
        """Ask the work to stop; ``error`` is what it raises (default :class:`RequestCancelledError`).

        The first reason wins: a time-out followed by the client leaving stays a time-out.
        """
        with self._lock:
            if self._event.is_set():
                return
            if error is not None:
                self._error = error
            self._event.set()
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` (from the cancelling thread) on cancellation, at once if already
        cancelled. Returns a function that unregisters it."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return lambda: self._remove(callback)
        callback()
        return lambda: None

    def _remove(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._event.is_set()

    @property
    def error(self) -> AssistantError:
        """The error cancelled work raises."""
        return self._error

    def check(self) -> None:
        """Raise the cancellation's error if the work should stop."""
        if self._event.is_set():
            raise self._error

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking early on cancellation; True if cancelled."""
        return self._event.wait(timeout)

"""Cancelling a request's work from another thread.

Generation runs in a worker thread; the event loop learns that the client went away, that a
time-out passed or that the server is shutting down. A :class:`Cancellation` carries that news
into the thread, which checks it between tokens, while waiting for its turn on a model, and
(through llama.cpp's abort callback) inside a long prompt evaluation.
"""

from __future__ import annotations

import threading

from assistant.errors import AssistantError, RequestCancelledError


class Cancellation:
    """A one-way flag with the error the cancelled work should raise."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._error: AssistantError = RequestCancelledError("the request was cancelled")

    def cancel(self, error: AssistantError | None = None) -> None:
        """Ask the work to stop; ``error`` is what it raises (default :class:`RequestCancelledError`).

        The first reason wins: a time-out followed by the client leaving stays a time-out.
        """
        if not self._event.is_set():
            if error is not None:
                self._error = error
            self._event.set()

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


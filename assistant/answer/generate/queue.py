"""A bounded queue in front of one model: admission, turn-taking in arrival order, and refusals.

A local model answers one request at a time. Without a bound, every request that arrives while
it is busy waits (holding a worker thread) and the server stops answering anything. So a request
is first *admitted*: at most ``parallel`` run (one, for a local model) and ``size`` more wait;
any request beyond that is refused
at once with :class:`~assistant.core.errors.BusyError` (HTTP 429) and a ``retry_after`` estimate, and
while the model is still loading with :class:`~assistant.core.errors.NotReadyError` (HTTP 503).

An admitted request holds a :class:`Ticket` until it ends. It takes its turn on the model
(:meth:`Ticket.wait_turn`) when it first needs the model, and keeps it for the rest of the
request, so condensing a follow-up and answering it run back to back. Waiting is cancellable:
a request whose client has gone leaves the queue within a tenth of a second.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from assistant.answer.generate.cancel import Cancellation
from assistant.core.errors import AssistantError, BusyError, NotReadyError

State = Literal["loading", "ready", "failed", "closed"]
#: how often a waiting request looks at its cancellation (seconds)
_POLL = 0.1
#: weight of the newest request in the running mean of time on the model
_EMA_WEIGHT = 0.3


class ModelQueue:
    """Admission and turn order for one model (``parallel`` at a time on it, ``size`` waiting)."""

    def __init__(self, name: str, size: int, *, parallel: int = 1, expected_load_s: float = 5.0,
                 expected_turn_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        if size < 0 or parallel < 1:
            raise ValueError("a queue size is 0 or more, and at least one request runs at a time")
        self.name = name
        self.size = size
        self.parallel = parallel
        self._clock = clock
        self._cond = threading.Condition()
        #: admitted requests in arrival order; the first ``parallel`` have (or are about to get) the model
        self._order: deque[Ticket] = deque()
        self._state: State = "loading"
        self._failure: AssistantError | None = None
        self._since = clock()
        self._expected_load_s = expected_load_s
        self._turn_s = expected_turn_s

    # ---- lifecycle ------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        """``loading`` until :meth:`ready`; ``failed`` after :meth:`failed`; ``closed`` when shutting down."""
        return self._state

    def ready(self) -> None:
        """The model is loaded: admit requests."""
        with self._cond:
            if self._state != "closed":
                self._state = "ready"

    def failed(self, error: AssistantError) -> None:
        """The model could not load: every request gets ``error`` (the server log has the cause)."""
        with self._cond:
            self._state, self._failure = "failed", error

    def close(self) -> None:
        """Shutting down: refuse new requests, and wake the waiting ones so they can leave."""
        with self._cond:
            self._state = "closed"
            self._cond.notify_all()

    # ---- admission ------------------------------------------------------------------------------

    def admit(self) -> Ticket:
        """A place in the queue, or a refusal right away (never blocks)."""
        with self._cond:
            if self._state == "loading":
                wait = self._expected_load_s - (self._clock() - self._since)
                raise NotReadyError(f"the model {self.name} is still loading; retry in a few seconds", _seconds(wait))
            if self._state == "failed":
                assert self._failure is not None
                raise self._failure
            if self._state == "closed":
                raise NotReadyError("the server is shutting down", 5)
            if len(self._order) >= self.parallel + self.size:
                retry = _seconds(self._remaining_turn())
                raise BusyError(
                    f"the model {self.name} is busy: {self.parallel} answer(s) being written and {self.size} "
                    f"waiting; retry in about {retry} s",
                    retry,
                )
            ticket = Ticket(self)
            self._order.append(ticket)
            return ticket

    def snapshot(self) -> dict[str, Any]:
        """State and occupancy, for ``/healthz``."""
        with self._cond:
            running = sum(t.started is not None for t in self._order)
            return {"state": self._state, "running": running, "waiting": len(self._order) - running,
                    "queue_size": self.size}

    def stop_running(self, error: AssistantError) -> None:
        """Cancel the requests that have the model (shutdown, after their grace period)."""
        with self._cond:
            cancels = [t.cancel for t in self._order if t.started is not None and t.cancel is not None]
        for cancel in cancels:
            cancel.cancel(error)

    # ---- for Ticket -----------------------------------------------------------------------------

    def _remaining_turn(self) -> float:
        started = [t.started for t in self._order if t.started is not None]
        if not started:
            return self._turn_s
        return self._turn_s - (self._clock() - min(started))

    def _wait_turn(self, ticket: Ticket, cancel: Cancellation | None) -> None:
        with self._cond:
            if ticket not in self._order:
                raise RuntimeError("this ticket was already released")
            while self._order.index(ticket) >= self.parallel:
                if cancel is not None and cancel.cancelled:
                    self._leave(ticket)
                    raise cancel.error
                if self._state == "closed":
                    self._leave(ticket)
                    raise NotReadyError("the server is shutting down", 5)
                self._cond.wait(_POLL)
            ticket.started = self._clock()
            ticket.cancel = cancel

    def _leave(self, ticket: Ticket) -> None:
        if ticket in self._order:
            if ticket.started is not None:
                took = self._clock() - ticket.started
                self._turn_s = (1 - _EMA_WEIGHT) * self._turn_s + _EMA_WEIGHT * took
            self._order.remove(ticket)
            self._cond.notify_all()


class Ticket:
    """One admitted request's place in a :class:`ModelQueue`; release it when the request ends."""

    def __init__(self, queue: ModelQueue) -> None:
        self.queue = queue
        self.started: float | None = None
        self.cancel: Cancellation | None = None

    def wait_turn(self, cancel: Cancellation | None = None) -> None:
        """Block until this request may use the model (at once if it already may).

        Raises ``cancel.error`` when cancelled while waiting, and NotReadyError if the server
        shuts down meanwhile; either way the place in the queue is given up.
        """
        if self.started is None:
            self.queue._wait_turn(self, cancel)

    def release(self) -> None:
        """Give the model (or the place in the queue) to the next request; safe to call twice."""
        with self.queue._cond:
            self.queue._leave(self)

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


def _seconds(estimate: float) -> int:
    """A ``Retry-After`` value: whole seconds, at least 1."""
    return max(1, math.ceil(estimate))

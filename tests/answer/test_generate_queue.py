"""The bounded queue in front of a model, with real threads."""

from __future__ import annotations

import threading
import time

import pytest

from assistant.answer.generate.cancel import Cancellation
from assistant.answer.generate.queue import ModelQueue
from assistant.core.errors import BusyError, ModelLoadError, NotReadyError, RequestCancelledError


def ready_queue(size: int) -> ModelQueue:
    queue = ModelQueue("local:test", size)
    queue.ready()
    return queue


def test_refuses_while_loading_then_admits_when_ready() -> None:
    queue = ModelQueue("local:test", 2, expected_load_s=7.0)
    with pytest.raises(NotReadyError) as info:
        queue.admit()
    assert info.value.http_status == 503
    assert 1 <= info.value.retry_after <= 7
    queue.ready()
    queue.admit().release()


def test_a_failed_load_is_every_request_s_error() -> None:
    queue = ModelQueue("local:test", 2)
    queue.failed(ModelLoadError("local model file /x/y.gguf does not exist"))
    with pytest.raises(ModelLoadError):
        queue.admit()


def test_one_runs_size_wait_the_rest_are_refused_at_once() -> None:
    queue = ready_queue(2)
    tickets = [queue.admit() for _ in range(3)]  # one running, two waiting
    started = time.perf_counter()
    with pytest.raises(BusyError) as info:
        queue.admit()
    assert time.perf_counter() - started < 0.05
    assert info.value.http_status == 429 and info.value.retry_after >= 1
    assert "busy" in str(info.value)
    tickets[0].release()
    queue.admit().release()  # a place freed up


def test_turns_are_taken_in_arrival_order() -> None:
    queue = ready_queue(3)
    order: list[int] = []
    tickets = [queue.admit() for _ in range(4)]

    def use(i: int) -> None:
        tickets[i].wait_turn()
        order.append(i)
        time.sleep(0.02)
        tickets[i].release()

    threads = [threading.Thread(target=use, args=(i,)) for i in (3, 1, 2, 0)]  # started out of order
    for t in threads:
        t.start()
        time.sleep(0.01)
    for t in threads:
        t.join(5)
    assert order == [0, 1, 2, 3]


def test_waiting_is_cancellable_and_gives_up_the_place() -> None:
    queue = ready_queue(1)
    holder = queue.admit()
    holder.wait_turn()
    waiter = queue.admit()
    cancel = Cancellation()
    errors: list[BaseException] = []

    def wait() -> None:
        try:
            waiter.wait_turn(cancel)
        except RequestCancelledError as exc:
            errors.append(exc)

    thread = threading.Thread(target=wait)
    thread.start()
    time.sleep(0.05)
    started = time.perf_counter()
    cancel.cancel()
    thread.join(2)
    assert errors and time.perf_counter() - started < 0.5
    assert queue.snapshot()["waiting"] == 0
    queue.admit().release()  # the cancelled request's place is free again


def test_close_sends_waiting_requests_away() -> None:
    queue = ready_queue(1)
    queue.admit().wait_turn()
    waiter = queue.admit()
    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: _capture(errors, waiter.wait_turn))
    thread.start()
    time.sleep(0.05)
    queue.close()
    thread.join(2)
    assert isinstance(errors[0], NotReadyError) and "shutting down" in str(errors[0])
    with pytest.raises(NotReadyError):
        queue.admit()


def test_retry_after_follows_the_time_answers_take() -> None:
    now = [0.0]
    queue = ModelQueue("local:test", 0, expected_turn_s=10.0, clock=lambda: now[0])
    queue.ready()
    for _ in range(10):  # answers take 2 s each
        ticket = queue.admit()
        ticket.wait_turn()
        now[0] += 2.0
        ticket.release()
    running = queue.admit()
    running.wait_turn()
    with pytest.raises(BusyError) as info:
        queue.admit()
    assert info.value.retry_after <= 3


def test_snapshot_counts_running_and_waiting() -> None:
    queue = ready_queue(4)
    first = queue.admit()
    first.wait_turn()
    queue.admit()
    assert queue.snapshot() == {"state": "ready", "running": 1, "waiting": 1, "queue_size": 4}


def _capture(errors: list[BaseException], fn: object) -> None:
    try:
        fn()  # type: ignore[operator]
    except Exception as exc:
        errors.append(exc)

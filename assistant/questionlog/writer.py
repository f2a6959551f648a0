"""Writing the log off the request path: answers go into a queue, one thread commits them in batches.

The caller queues a function that builds the row, so even building it (hashing passages,
dropping texts for privacy) happens on the writer thread. :meth:`BackgroundWriter.submit` never
blocks and never raises. A full queue or a failed write
loses those entries and says so in the server log; the answer has long been sent. The same
thread prunes rows older than the retention period.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable

from assistant.core.errors import QuestionLogError
from assistant.questionlog.records import LogEntry, retention_cutoff
from assistant.questionlog.store import LogStore

log = logging.getLogger(__name__)

_STOP = object()  # queued by close(): write what came before it, then end


class BackgroundWriter:
    """One daemon thread that owns a connection to the log and writes what :meth:`submit` queues.

    ``open_store`` is called on the writer thread, so opening (and migrating) a slow or broken
    database delays no caller; it is retried with the next batch after a failure.
    """

    def __init__(
        self,
        open_store: Callable[[], LogStore],
        *,
        retention_days: int = 0,
        max_queue: int = 10_000,
        max_batch: int = 500,
        prune_every: float = 3600.0,
    ) -> None:
        self._open_store = open_store
        self.retention_days = retention_days
        self.max_batch = max_batch
        self.prune_every = prune_every
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self._cond = threading.Condition()
        self._submitted = 0  # items handed to submit(), including those dropped
        self._handled = 0  # items written, failed or dropped
        self._closed = False
        #: counters for the server log and the benchmarks
        self.written = 0
        self.failed = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="question-log-writer", daemon=True)
        self._thread.start()

    # ---- callers' side ------------------------------------------------------------------------

    def submit(self, make_entry: Callable[[], LogEntry], answer_id: str) -> bool:
        """Queue the row ``make_entry`` builds; False (and a warning) when the queue is full or closed."""
        with self._cond:
            self._submitted += 1
            if not self._closed:
                try:
                    self._queue.put_nowait(make_entry)
                    return True
                except queue.Full:
                    pass
            self._handled += 1
            self._cond.notify_all()
        self.dropped += 1
        if self.dropped == 1 or self.dropped % 1000 == 0:  # an overload must not flood the server log too
            log.warning("question log: writer queue full or closed; answer %s not logged (%d so far)",
                        answer_id, self.dropped)
        return False

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything submitted before this call is written (or failed); False on time-out."""
        with self._cond:
            target = self._submitted
            return self._cond.wait_for(lambda: self._handled >= target, timeout=timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread (waiting at most ``timeout`` seconds)."""
        with self._cond:
            if self._closed:
                return
            self._closed = True  # from now on submit() queues nothing, so _STOP is the last item
        try:
            self._queue.put(_STOP, timeout=timeout)
        except queue.Full:
            log.error("question log: writer did not drain in %.0f s; %d queued answers lost",
                      timeout, self._queue.qsize())
            return
        self._thread.join(timeout)

    def _done(self, n: int) -> None:
        with self._cond:
            self._handled += n
            self._cond.notify_all()

    # ---- the writer thread --------------------------------------------------------------------

    def _run(self) -> None:
        store: LogStore | None = None
        conn: sqlite3.Connection | None = None
        next_prune = 0.0
        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch and batch[-1] is not _STOP:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            entries = self._build([item for item in batch if item is not _STOP])
            if entries:
                store, conn = self._write(store, conn, entries)
            if store is not None and conn is not None and self.retention_days and time.monotonic() >= next_prune:
                next_prune = time.monotonic() + self.prune_every
                self._prune(store, conn)
            self._done(len(batch) - (batch[-1] is _STOP))
            if batch[-1] is _STOP:
                break
        if conn is not None:
            conn.close()

    def _build(self, makers: list[object]) -> list[LogEntry]:
        entries = []
        for make in makers:
            try:
                entries.append(make())  # type: ignore[operator]  # the queue holds only _STOP and makers
            except QuestionLogError as exc:  # the log's own files cannot be used (its hash key)
                self.failed += 1
                log.error("question log: 1 answer(s) not logged: %s", exc)
            except Exception:  # a bug in building one row must not lose the others
                self.failed += 1
                log.exception("question log: cannot build a row; that answer is not logged")
        return entries

    def _write(
        self, store: LogStore | None, conn: sqlite3.Connection | None, entries: list[LogEntry]
    ) -> tuple[LogStore | None, sqlite3.Connection | None]:
        """Commit ``entries``; after a failure reconnect and try once more, then give them up."""
        for attempt in (1, 2):
            try:
                store = store or self._open_store()
                conn = conn or store.connect()
                store.insert(entries, conn)
                self.written += len(entries)
                return store, conn
            except Exception as exc:  # whatever breaks, the answers were sent: log and go on
                if conn is not None:
                    conn.close()
                conn = None
                if attempt == 2:
                    self.failed += len(entries)
                    log.error("question log: %d answer(s) not logged: %s", len(entries), exc)
        return store, conn

    def _prune(self, store: LogStore, conn: sqlite3.Connection) -> None:
        try:
            removed = store.prune(retention_cutoff(self.retention_days), conn)
        except Exception as exc:
            log.error("question log: pruning failed: %s", exc)
            return
        if removed:
            log.info("question log: pruned %d answer(s) older than %d days", removed, self.retention_days)

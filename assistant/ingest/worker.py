"""Reading a document in a worker process: stopped at a time limit, held to a memory limit.

A reader works inside native libraries (pdfium, lxml) that cannot be interrupted from another
thread, and a hostile file can make them run for minutes or take gigabytes. So each document is
read (and cut into passages) in a child process:

- the child's address space is capped at ``max_memory_bytes`` (``RLIMIT_AS``): an allocation past
  it fails, and the child ends (pdfium aborts) instead of the server swapping;
- the parent waits for the result for ``max_seconds`` and kills the child then, or as soon as
  ``check()`` raises (the client of the change went away, or its request timed out);
- OCR, which takes minutes a page, extends the deadline by its page time-out for each page it starts.

Children are forked from a fork server that has imported the readers once (``forkserver``: no
copy of the server's threads, models or locks, and a fork costs milliseconds, not the seconds of
a fresh interpreter). Whatever a child raises comes back as the same kind of
:class:`~assistant.core.errors.CorpusError`; anything else as an unreadable document.
"""

from __future__ import annotations

import multiprocessing
import resource
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from assistant.core import errors
from assistant.core.errors import CorpusError, DocumentTooLargeError, UnreadableDocumentError
from assistant.ingest.corpus import IngestedDocument, ingest_here
from assistant.ingest.document import ReadOptions
from assistant.ingest.read import unreadable

#: how often the parent looks at the clock and at ``check`` while a child reads
POLL_SECONDS = 0.05
_MB = 1024 * 1024
_lock = threading.Lock()
_context: Any = None
#: in a child: sends a message to the parent (None in the parent)
_to_parent: Connection | None = None


def _get_context() -> Any:
    global _context
    with _lock:
        if _context is None:
            methods = multiprocessing.get_all_start_methods()
            _context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
            if "forkserver" in methods:
                _context.set_forkserver_preload([__name__])
        return _context


def allow_more_time(seconds: float) -> None:
    """Called in a child before slow work that is expected (an OCR page): the deadline moves by ``seconds``."""
    if _to_parent is not None:
        _to_parent.send(("more", seconds))


def _child(conn: Connection, path: Path, source: str | None, max_chars: int, options: ReadOptions) -> None:
    global _to_parent
    _to_parent = conn
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it ends the child
    if options.max_memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (options.max_memory_bytes, options.max_memory_bytes))
    try:
        message: tuple[Any, ...] = ("done", ingest_here(path, source=source, max_chars=max_chars, options=options))
    except CorpusError as exc:
        message = ("error", type(exc).__name__, str(exc))
    except MemoryError:
        message = ("memory",)
    except BaseException as exc:  # noqa: BLE001 - anything a reader raises is the document's fault
        message = ("error", "UnreadableDocumentError", str(unreadable(source or path.name, exc)))
    try:
        conn.send(message)
    except MemoryError:
        conn.send(("memory",))
    finally:
        conn.close()


def _error(kind: str, message: str) -> CorpusError:
    cls = getattr(errors, kind, None)
    if isinstance(cls, type) and issubclass(cls, CorpusError):
        return cls(message)
    return UnreadableDocumentError(message)


def _memory_error(name: str, options: ReadOptions) -> DocumentTooLargeError:
    limit = options.max_memory_bytes or 0
    return DocumentTooLargeError(
        f"reading {name} needs more than the {limit / _MB:.0f} MB of memory reading a document may use "
        "(ASSISTANT_MAX_READING_MEMORY_BYTES)"
    )


def ingest_in_worker(
    path: Path,
    *,
    source: str | None,
    max_chars: int,
    options: ReadOptions,
    check: Callable[[], None] | None = None,
) -> IngestedDocument:
    """:func:`~assistant.ingest.corpus.ingest_file` in a child process (see the module docstring)."""
    name = source or path.name
    limit = options.max_seconds or 0.0
    context = _get_context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, path, source, max_chars, options), daemon=True,
                              name=f"read {name}")
    process.start()
    sender.close()
    deadline = time.monotonic() + limit
    try:
        while True:
            if receiver.poll(POLL_SECONDS):
                try:
                    message = receiver.recv()
                except EOFError:
                    message = ("died",)
                if message[0] == "more":
                    deadline += message[1]
                    continue
                break
            if check is not None:
                check()
            if time.monotonic() > deadline:
                raise DocumentTooLargeError(
                    f"reading {name} took longer than {limit:g} s, the most reading a document may take "
                    "(ASSISTANT_MAX_READING_SECONDS); it was stopped"
                )
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()
        exitcode = process.exitcode
        process.close()
    kind = message[0]
    if kind == "done":
        document: IngestedDocument = message[1]
        return document
    if kind == "error":
        raise _error(message[1], message[2])
    if kind == "memory":
        raise _memory_error(name, options)
    # the child died without a word: a native library aborted (out of memory, or a crash)
    if options.max_memory_bytes and exitcode in (-signal.SIGABRT, -signal.SIGSEGV, -signal.SIGKILL, -signal.SIGBUS):
        raise _memory_error(name, options)
    raise UnreadableDocumentError(f"{name} could not be read: its reader crashed (exit {exitcode})")

"""The file-system toolkit, each piece once: a file's sha256, an atomic replace, flushing to disk
and the change lock that serialises builds and document changes across processes.

An index build, the document collection's staged changes, the calibration file and an assembled
model file all rely on the same two promises: a reader sees the old file or the new one, never
half of either; and two processes never change one index at the same time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from filelock import FileLock, Timeout

Notify = Callable[[str], None]

_CHUNK = 1 << 20
#: how often a change waiting for the lock asks whether it should go on waiting
LOCK_POLL_SECONDS = 0.2


def quiet(_: str) -> None:
    """A :data:`Notify` that says nothing."""


def sha256_file(path: Path, progress: Callable[[int], object] | None = None) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks (``progress`` hears each chunk's size)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            if progress:
                progress(len(chunk))
    return h.hexdigest()


def fsync_path(path: Path) -> None:
    """Flush a file or folder to disk so a power cut cannot publish a half-written one."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. folders cannot be opened on Windows
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step (a temporary file beside it, flushed, renamed over
    it, the folder flushed): a crash leaves the old contents or the new, never half of either."""
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_path(path.parent)


#: index folders whose change lock the current thread holds (the lock is reentrant per thread)
_HELD = threading.local()


@contextlib.contextmanager
def change_lock(index_dir: Path, notify: Notify = quiet, *, check: Callable[[], None] | None = None
                ) -> Iterator[None]:
    """Hold the one lock that serialises changes to this index and its corpus, across processes.

    Builds take it, and so does a document collection change around its corpus-file writes and
    the build it makes: taken again by the same thread, it is already held, so a change can build
    inside it. The operating system drops the lock if the process dies. ``notify`` hears about a
    wait for another process's change or build; ``check`` is called while it waits (it raises to
    give up waiting).
    """
    key = str(index_dir.resolve())
    held: set[str] = _HELD.__dict__.setdefault("dirs", set())
    if key in held:
        yield
        return
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(index_dir / ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        notify(f"another build of the index in {index_dir} is running; waiting for it to finish")
        while check is not None:
            check()
            try:
                lock.acquire(timeout=LOCK_POLL_SECONDS)
                break
            except Timeout:
                continue
        else:
            lock.acquire()
    held.add(key)
    try:
        yield
    finally:
        held.discard(key)
        lock.release()

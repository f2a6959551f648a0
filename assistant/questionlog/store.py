"""The question log's SQLite file: WAL mode, migrated when opened, every call one short transaction.

Several processes (a server, ``assistant ask`` in a shell) may write the same file: WAL lets
readers work while one writer commits, and the busy timeout makes a writer wait its turn.
``synchronous=NORMAL`` keeps every committed transaction through a crash of the process; only
a power cut may lose the last ones (a log, not a ledger).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from assistant.core.errors import InvalidInputError, NotFoundError, QuestionLogError
from assistant.questionlog.migrations import migrate
from assistant.questionlog.records import FeedbackEntry, LogEntry

log = logging.getLogger(__name__)

#: the ``answers`` columns holding JSON, and the ``LogEntry`` fields they fill
_JSON_COLUMNS = ("citations", "passages", "dropped", "timings")
_ANSWER_COLUMNS = (
    "id", "created_at", "channel", "client", "question", "question_sha256", "query", "query_sha256", "language",
    "generator", "model", "prompt_name", "prompt_sha256", "answer", "answer_sha256", "refused", *_JSON_COLUMNS,
    "total_ms", "index_build", "owner", "collection",
)
_INSERT_ANSWER = f"INSERT INTO answers ({', '.join(_ANSWER_COLUMNS)}) VALUES ({', '.join('?' * len(_ANSWER_COLUMNS))})"
_LATEST_RATING = "(SELECT f.rating FROM feedback f WHERE f.answer_id = a.id ORDER BY f.id DESC LIMIT 1)"
#: shortest answer-id prefix ``get`` accepts (8 hex characters: ambiguous only among ~10⁴ answers)
MIN_PREFIX = 8
_HEX = re.compile(r"[0-9a-f]+")


def install_key(db: Path) -> bytes:
    """The install's key for hashing texts: ``<db>.key`` beside the log (readable by its owner only),
    made once, at random; two processes making it at once agree on one."""
    path = db.with_name(db.name + ".key")
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(secrets.token_hex(32))
    try:
        os.link(tmp, path)  # fails if another process made it first: theirs is the key
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return bytes.fromhex(path.read_text(encoding="ascii").strip())


class LogStore:
    """The log database at ``path`` (created, with its folder, on first use; only its owner may read it)."""

    def __init__(self, path: Path, *, busy_timeout: float = 10.0) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        with self._errors("open"), closing(self.connect(migrated=False)) as conn:
            migrate(conn)

    # ---- connections --------------------------------------------------------------------------

    def connect(self, *, migrated: bool = True) -> sqlite3.Connection:
        """A new connection in autocommit mode with the log's pragmas (one per thread)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # questions are personal data: create the file readable by its owner only (SQLite gives
        # the -wal and -shm files the same permissions)
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":  # e.g. a network file system without shared memory
                log.warning("question log %s: journal mode %s, not WAL; writers wait longer", self.path, mode)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise QuestionLogError(f"cannot {doing} the question log {self.path}: {exc}") from exc
        except OSError as exc:
            raise QuestionLogError(f"cannot {doing} the question log {self.path}: {exc.strerror or exc}") from exc

    @contextmanager
    def _transaction(self, doing: str, conn: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """``conn`` (or a new connection, closed after) inside ``BEGIN IMMEDIATE`` … ``COMMIT``."""
        with self._errors(doing):
            own = conn is None
            conn = conn or self.connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:  # a failed COMMIT may already have ended it
                        conn.execute("ROLLBACK")
                    raise
            finally:
                if own:
                    conn.close()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._errors("read"), closing(self.connect()) as conn:
            conn.row_factory = sqlite3.Row
            yield conn

    # ---- writing ------------------------------------------------------------------------------

    def insert(self, entries: Sequence[LogEntry], conn: sqlite3.Connection | None = None) -> None:
        """Write ``entries`` in one transaction (all or none)."""
        with self._transaction("write to", conn) as c:
            c.executemany(_INSERT_ANSWER, [_answer_row(e) for e in entries])

    def add_feedback(self, feedback: FeedbackEntry, owner: str | None = None,
                     sees: Callable[[str], bool] | None = None) -> None:
        """Record a rating; :class:`NotFoundError` when no logged answer has that id or, given an
        ``owner``, when the answer was given to someone else, or (``sees``) when the answer's
        collection is not one the rater sees (the same error each time: ids are not probed)."""
        with self._transaction("write feedback to") as conn:
            row = conn.execute("SELECT owner, collection FROM answers WHERE id = ?",
                               (feedback.answer_id,)).fetchone()
            if row is None or (owner is not None and row[0] != owner) or (sees is not None and not sees(row[1])):
                raise NotFoundError(f"no logged answer with id {feedback.answer_id!r} was given to this client")
            conn.execute(
                "INSERT INTO feedback (answer_id, created_at, rating, comment, correction, client) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (feedback.answer_id, feedback.created_at, feedback.rating, feedback.comment, feedback.correction,
                 feedback.client),
            )

    def prune(self, before: str, conn: sqlite3.Connection | None = None) -> int:
        """Delete answers (and their feedback) logged before ``before``; return how many."""
        with self._transaction("prune", conn) as c:
            return c.execute("DELETE FROM answers WHERE created_at < ?", (before,)).rowcount

    # ---- reading ------------------------------------------------------------------------------

    def entries(
        self, *, refused: bool = False, down: bool = False, since: str | None = None, limit: int | None = None,
        collection: str | None = None,
    ) -> list[LogEntry]:
        """Logged answers, newest first: only refused ones, only those whose latest rating is
        down, only those logged at or after ``since``, only those of ``collection`` (each filter
        when given; they combine)."""
        where: list[str] = []
        args: list[str | int] = []
        if collection is not None:
            where.append("a.collection = ?")
            args.append(collection)
        if refused:
            where.append("a.refused = 1")
        if down:
            where.append(f"{_LATEST_RATING} = 'down'")
        if since:
            where.append("a.created_at >= ?")
            args.append(since)
        sql = "SELECT a.* FROM answers a" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY a.created_at DESC, a.rowid DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self._reading() as conn:
            rows = conn.execute(sql, args).fetchall()
            return self._with_feedback(conn, rows)

    def get(self, answer_id: str) -> LogEntry:
        """The answer with this id, or with this unique prefix of it (at least 8 characters)."""
        key = answer_id.strip().lower()
        if len(key) < MIN_PREFIX or not _HEX.fullmatch(key):
            raise InvalidInputError(
                f"an answer id is hex; give at least {MIN_PREFIX} characters of it, got {answer_id!r}"
            )
        with self._reading() as conn:
            # the key is hex: the LIKE pattern holds no wildcard but the trailing one
            rows = conn.execute("SELECT a.* FROM answers a WHERE a.id LIKE ? LIMIT 3", (key + "%",)).fetchall()
            if not rows:
                raise NotFoundError(f"no logged answer with id {answer_id!r}")
            if len(rows) > 1 and not any(r["id"] == key for r in rows):
                raise InvalidInputError(f"answer id prefix {answer_id!r} is ambiguous; give more characters")
            rows = [r for r in rows if r["id"] == key] or rows
            return self._with_feedback(conn, rows[:1])[0]

    def count(self) -> int:
        """Number of logged answers."""
        with self._reading() as conn:
            return int(conn.execute("SELECT count(*) FROM answers").fetchone()[0])

    def integrity(self) -> str:
        """SQLite's ``integrity_check`` verdict: ``"ok"`` for a sound file."""
        with self._reading() as conn:
            return "; ".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall())

    @staticmethod
    def _with_feedback(conn: sqlite3.Connection, rows: Sequence[sqlite3.Row]) -> list[LogEntry]:
        entries = [_entry(row) for row in rows]
        if not entries:
            return entries
        by_id = {e.answer_id: e for e in entries}
        # chunks: SQLite caps the number of bound parameters (999 on old builds)
        ids = list(by_id)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            sql = f"SELECT * FROM feedback WHERE answer_id IN ({', '.join('?' * len(chunk))}) ORDER BY id"
            for f in conn.execute(sql, chunk).fetchall():
                by_id[f["answer_id"]].feedback.append(
                    FeedbackEntry(answer_id=f["answer_id"], rating=f["rating"], comment=f["comment"],
                                  correction=f["correction"], client=f["client"], created_at=f["created_at"])
                )
        return entries


def _answer_row(e: LogEntry) -> tuple[Any, ...]:
    return (
        e.answer_id, e.created_at, e.channel, e.client, e.question, e.question_sha256, e.query, e.query_sha256,
        e.language, e.generator, e.model, e.prompt_name, e.prompt_sha256, e.answer, e.answer_sha256, int(e.refused),
        json.dumps([c.model_dump() for c in e.citations], ensure_ascii=False),
        json.dumps([p.model_dump() for p in e.passages], ensure_ascii=False),
        json.dumps(e.dropped, ensure_ascii=False),
        json.dumps(e.timings),
        e.timings.get("total_ms"),
        e.index_build,
        e.owner,
        e.collection,
    )


def _entry(row: sqlite3.Row) -> LogEntry:
    data = {k: row[k] for k in row.keys() if k not in ("id", "total_ms")}
    data.update({k: json.loads(row[k]) for k in _JSON_COLUMNS})
    return LogEntry(answer_id=row["id"], **data)

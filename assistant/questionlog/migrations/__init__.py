"""Numbered schema migrations of the question log: the ``NNNN_name.sql`` files in this folder.

``PRAGMA user_version`` holds the number of the last migration applied. Each migration runs in
its own ``BEGIN IMMEDIATE`` transaction together with its version bump, so a crash leaves the
database at the previous version, and two processes opening a new database at once apply each
migration once. The files are append-only: a released migration is never edited; a change is
the next file.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources

from assistant.core.errors import QuestionLogError

_NAME = re.compile(r"^(\d{4})_(\w+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One schema step: ``version`` is the number in its file name."""

    version: int
    name: str
    sql: str


@cache
def migrations() -> tuple[Migration, ...]:
    """Every migration in order; their numbers run 1, 2, 3 … without gaps."""
    found = []
    for entry in resources.files(__package__).iterdir():
        if m := _NAME.match(entry.name):
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise QuestionLogError(f"question-log migrations are not numbered 1..n: {[m.version for m in found]}")
    return tuple(found)


def latest_version() -> int:
    """The schema version this code writes."""
    return migrations()[-1].version


def statements(sql: str) -> Iterator[str]:
    """The SQL statements of a migration file, split where SQLite sees a statement end
    (``executescript`` would commit the migration's transaction half-way)."""
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    if buffer.strip() and not all(s.strip().startswith("--") for s in buffer.strip().splitlines()):
        raise QuestionLogError(f"unterminated SQL statement in a migration: {buffer.strip()[:80]!r}")


def schema_version(conn: sqlite3.Connection) -> int:
    """The version of the database behind ``conn`` (0: empty)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int | None = None) -> list[int]:
    """Apply the migrations the database lacks, up to ``target`` (default: all); return their numbers.

    ``conn`` must be in autocommit mode (``isolation_level=None``): each migration manages its
    own transaction. A database newer than this code is refused rather than written.
    """
    applied: list[int] = []
    for migration in migrations()[:target]:
        conn.execute("BEGIN IMMEDIATE")  # the write lock first, then re-read the version under it
        try:
            if schema_version(conn) < migration.version:
                for statement in statements(migration.sql):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {migration.version:d}")
                applied.append(migration.version)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    found = schema_version(conn)
    if found > latest_version():
        raise QuestionLogError(
            f"the question log has schema version {found}, newer than this program's {latest_version()}; "
            "upgrade the assistant or point ASSISTANT_LOG_DB at another file"
        )
    return applied

"""The question log's SQLite file: migrations, WAL, queries, pruning (a real file in a temp folder)."""

from __future__ import annotations

import sqlite3
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant.core.errors import InvalidInputError, NotFoundError, QuestionLogError
from assistant.questionlog import FeedbackEntry, LogStore
from assistant.questionlog.migrations import latest_version, migrate, migrations, schema_version, statements
from assistant.questionlog.records import LogEntry, entry_for, new_answer_id, timestamp
from tests.logsupport import make_answer


def _entry(question: str = "制造业单项冠军企业有多少家？", *, refused: bool = False, days_ago: float = 0) -> LogEntry:
    entry = entry_for(make_answer(question, refused=refused), answer_id=new_answer_id(), query=question,
                      channel="api", client="key-0a1b2c3d", index_build="build-1")
    return entry.model_copy(update={"created_at": timestamp(datetime.now(UTC) - timedelta(days=days_ago))})


def test_a_new_log_is_migrated_in_wal_mode_and_readable_by_its_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "questions.db"
    LogStore(db)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert schema_version(conn) == latest_version() == len(migrations())
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"answers", "feedback"} <= tables


def test_migration_files_split_into_statements_and_run_in_order() -> None:
    first = migrations()[0]
    assert first.version == 1 and first.name == "answers"
    parts = list(statements(first.sql))
    # the comment above the table (with a ';' inside it) does not end a statement
    assert len(parts) == 3 and "CREATE TABLE answers" in parts[0]
    assert all(sqlite3.complete_statement(p) for p in parts)
    with pytest.raises(QuestionLogError, match="unterminated"):
        list(statements("CREATE TABLE x (a INT);\nCREATE TABLE y (b INT)"))


def test_a_log_of_the_first_schema_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    db = tmp_path / "questions.db"
    conn = sqlite3.connect(db, isolation_level=None)
    assert migrate(conn, target=1) == [1]
    # a row as the first release wrote it: only the columns of 0001_answers.sql
    conn.execute(
        "INSERT INTO answers (id, created_at, channel, client, question, question_sha256, query, query_sha256, "
        "language, generator, model, prompt_name, prompt_sha256, answer, answer_sha256, refused, citations, "
        "passages, dropped, timings, total_ms, index_build) VALUES ('00112233445566778899aabbccddeeff', "
        "'2026-11-01T08:00:00.000000+00:00', 'cli', NULL, '制造业单项冠军企业有多少家？', 'q', "
        "'制造业单项冠军企业', 'h', "
        "'zh', 'extractive', NULL, NULL, NULL, '1557家[1]。', 'a', 0, "
        "'[{\"marker\": 1, \"passage_id\": \"r#item-04\", \"passage_sha256\": \"p\"}]', '[]', '[]', "
        "'{\"total_ms\": 60.0}', 60.0, 'build-1')"
    )
    conn.close()

    store = LogStore(db)  # opening migrates
    assert schema_version(sqlite3.connect(db)) == latest_version()
    old = store.get("00112233")
    assert (old.question, old.answer, old.channel, old.citations[0].passage_id) == (
        "制造业单项冠军企业有多少家？", "1557家[1]。", "cli", "r#item-04")
    assert old.feedback == [] and old.rating is None
    store.add_feedback(FeedbackEntry(answer_id=old.answer_id, rating="down", correction="1558家"))
    assert store.get(old.answer_id).correction == "1558家"
    assert store.integrity() == "ok"


def test_a_log_written_by_a_newer_version_is_refused_not_written(tmp_path: Path) -> None:
    db = tmp_path / "questions.db"
    LogStore(db)
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(QuestionLogError, match="newer than this program"):
        LogStore(db)


def test_processes_opening_a_new_log_at_once_migrate_it_once(tmp_path: Path) -> None:
    db = tmp_path / "questions.db"
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def open_it() -> None:
        start.wait()
        try:
            LogStore(db)
        except BaseException as exc:  # collected: a failure in a thread must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert schema_version(sqlite3.connect(db)) == latest_version()


def test_filters_combine_and_list_newest_first(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "questions.db")
    old = _entry("去年的问题？", days_ago=10)
    answered, refused = _entry("甲？", days_ago=2), _entry("乙？", refused=True, days_ago=1)
    refused_down = _entry("丙？", refused=True)
    store.insert([old, answered, refused, refused_down])
    store.add_feedback(FeedbackEntry(answer_id=answered.answer_id, rating="down"))
    store.add_feedback(FeedbackEntry(answer_id=refused.answer_id, rating="down"))
    store.add_feedback(FeedbackEntry(answer_id=refused.answer_id, rating="up"))  # the newest rating counts
    store.add_feedback(FeedbackEntry(answer_id=refused_down.answer_id, rating="down", comment="应该能回答"))

    def ids(**filters: object) -> list[str]:
        return [e.question or "" for e in store.entries(**filters)]  # type: ignore[arg-type]

    assert ids() == ["丙？", "乙？", "甲？", "去年的问题？"]
    assert ids(refused=True) == ["丙？", "乙？"]
    assert ids(down=True) == ["丙？", "甲？"]
    assert ids(refused=True, down=True) == ["丙？"]
    assert ids(since=timestamp(datetime.now(UTC) - timedelta(days=3))) == ["丙？", "乙？", "甲？"]
    assert ids(limit=1) == ["丙？"]
    assert [f.rating for f in store.get(refused.answer_id).feedback] == ["down", "up"]


def test_get_takes_a_unique_prefix_and_says_what_is_wrong(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "questions.db")
    a, b = _entry(), _entry()
    a.answer_id, b.answer_id = "abcdef0011111111" + "0" * 16, "abcdef0022222222" + "0" * 16
    store.insert([a, b])
    assert store.get("ABCDEF0011").answer_id == a.answer_id
    with pytest.raises(InvalidInputError, match="ambiguous"):
        store.get("abcdef00")
    with pytest.raises(InvalidInputError, match="at least 8"):
        store.get("abc")
    with pytest.raises(InvalidInputError, match="hex"):
        store.get("abcdef0%")
    with pytest.raises(NotFoundError):
        store.get("ffffffff")


def test_feedback_needs_a_logged_answer(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "questions.db")
    with pytest.raises(NotFoundError, match="no logged answer"):
        store.add_feedback(FeedbackEntry(answer_id="0" * 32, rating="up"))


def test_pruning_removes_old_answers_with_their_feedback(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "questions.db")
    old, new = _entry(days_ago=40), _entry(days_ago=1)
    store.insert([old, new])
    store.add_feedback(FeedbackEntry(answer_id=old.answer_id, rating="down"))
    assert store.prune(timestamp(datetime.now(UTC) - timedelta(days=30))) == 1
    assert [e.answer_id for e in store.entries()] == [new.answer_id]
    conn = sqlite3.connect(tmp_path / "questions.db")
    assert conn.execute("SELECT count(*) FROM feedback").fetchone()[0] == 0  # cascaded


def test_an_unopenable_path_is_a_question_log_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(QuestionLogError, match="cannot open the question log"):
        LogStore(tmp_path / "file" / "questions.db")

"""Recording answers: off the request path, from many threads and processes, surviving failures,
pruning, and keeping texts out when asked to (real SQLite files)."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from assistant.core.errors import InvalidInputError, NotFoundError, QuestionLogError
from assistant.core.settings import PROJECT_ROOT
from assistant.core.types import AnswerEvent, Event, SourcesEvent, TokenEvent
from assistant.questionlog import LogStore, QuestionLog
from assistant.questionlog.records import keyed, sha256
from assistant.questionlog.store import install_key
from tests.logsupport import make_answer
from tests.support import make_settings

QUESTION = "制造业单项冠军企业有多少家？"


def _child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}


def test_a_recorded_answer_gets_an_id_and_its_row(tmp_path: Path) -> None:
    with QuestionLog(tmp_path / "q.db", index_build="build-7") as qlog:
        events: list[Event] = [SourcesEvent(hits=[], query="制造业单项冠军企业"), TokenEvent("1557"),
                               AnswerEvent(make_answer(QUESTION))]
        out = list(qlog.recorded(iter(events), channel="openai", client="key-12ab"))
        answer = out[-1].answer  # type: ignore[union-attr]
        assert answer.answer_id and answer.to_json()["answer_id"] == answer.answer_id
        assert isinstance(out[1], TokenEvent)  # the other events pass through unchanged
        qlog.flush()
        entry = qlog.store.get(answer.answer_id)
    assert (entry.question, entry.query) == (QUESTION, "制造业单项冠军企业")
    assert (entry.channel, entry.client) == ("openai", "key-12ab")
    assert (entry.generator, entry.model, entry.prompt_name, entry.index_build) == (
        "local", "qwen2.5-1.5b", "answer_zh", "build-7")
    assert entry.timings["total_ms"] == 95.5


def test_many_threads_recording_at_once_lose_no_row(tmp_path: Path) -> None:
    # the API answers on a thread pool: 32 threads record 100 answers each through one log
    with QuestionLog(tmp_path / "q.db") as qlog, ThreadPoolExecutor(32) as pool:
        ids = list(pool.map(lambda i: qlog.record(make_answer(f"问题{i}？"), query="q", channel="api").answer_id,
                            range(3200)))
    store = LogStore(tmp_path / "q.db")
    assert len(set(ids)) == 3200
    assert {e.answer_id for e in store.entries()} == set(ids)


def test_processes_writing_one_log_at_once_lose_no_row(tmp_path: Path) -> None:
    # a server and a few `assistant ask` runs may share the file: three processes, 8 threads each
    db = tmp_path / "q.db"
    procs = [
        subprocess.Popen([sys.executable, "-m", "tests.logsupport", "write", str(db), "400", "8"],
                         stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT, env=_child_env())
        for _ in range(3)
    ]
    ids = set()
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0
        ids |= set(out.split())
    assert len(ids) == 1200
    assert {e.answer_id for e in LogStore(db).entries()} == ids


def test_recording_does_not_wait_for_a_locked_database(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    LogStore(db)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with QuestionLog(db) as qlog:
            ids = [qlog.record(make_answer(f"问题{i}？"), query="q", channel="api").answer_id for i in range(50)]
            # every call returned while the lock is still held: none of them waited for the disk
            assert all(ids)
            assert blocker.execute("SELECT count(*) FROM answers").fetchone()[0] == 0
            blocker.execute("COMMIT")
            assert qlog.flush(timeout=30)
    finally:
        blocker.close()
    assert LogStore(db).count() == 50


def test_a_failed_write_is_logged_and_the_answer_still_given(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "not-a-folder").write_text("x")
    with caplog.at_level(logging.ERROR, logger="assistant.questionlog"):
        with QuestionLog(tmp_path / "not-a-folder" / "q.db") as qlog:
            answer = qlog.record(make_answer(QUESTION), query=QUESTION, channel="cli")
            assert answer.answer == "答案[1]。" and answer.answer_id
            assert qlog.flush(timeout=30)
            assert qlog._writer is not None and qlog._writer.failed == 1
    assert "1 answer(s) not logged" in caplog.text


def test_a_row_that_cannot_be_built_is_logged_and_the_others_written(tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    broken = make_answer(QUESTION).model_copy(update={"passages": [{"passage_id": "no-source-or-text"}]})
    with caplog.at_level(logging.ERROR, logger="assistant.questionlog"), QuestionLog(tmp_path / "q.db") as qlog:
        assert qlog.record(broken, query=QUESTION, channel="api").answer_id  # the answer is still given
        good = qlog.record(make_answer(QUESTION), query=QUESTION, channel="api")
        qlog.flush()
        assert qlog._writer is not None and qlog._writer.failed == 1
    assert "cannot build a row" in caplog.text
    assert [e.answer_id for e in LogStore(tmp_path / "q.db").entries()] == [good.answer_id]


def test_a_full_queue_drops_the_row_not_the_answer(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "q.db"
    LogStore(db)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer thread blocks on its first batch
    try:
        with caplog.at_level(logging.WARNING, logger="assistant.questionlog"), QuestionLog(db, max_queue=5) as qlog:
            answers = [qlog.record(make_answer(f"问题{i}？"), query="q", channel="api") for i in range(20)]
            assert all(a.answer_id for a in answers)
            blocker.execute("COMMIT")
            qlog.flush(timeout=30)
            assert qlog._writer is not None and qlog._writer.dropped > 0
    finally:
        blocker.close()
    assert "writer queue full" in caplog.text
    assert LogStore(db).count() == 20 - qlog._writer.dropped


def test_the_writer_prunes_answers_past_the_retention_period(tmp_path: Path) -> None:
    from tests.questionlog.test_questionlog_store import _entry

    db = tmp_path / "q.db"
    old = _entry(days_ago=31)
    LogStore(db).insert([old])
    with QuestionLog(db, retention_days=30) as qlog:
        fresh = qlog.record(make_answer(QUESTION), query=QUESTION, channel="api")
    assert [e.answer_id for e in LogStore(db).entries()] == [fresh.answer_id]


def test_without_texts_only_hashes_and_metrics_reach_the_file(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    settings = make_settings(log_db=db, log_texts=False)
    with QuestionLog.from_settings(settings) as qlog:
        answer = qlog.record(make_answer(QUESTION, "共有1557家单项冠军[1]。", dropped=["没有依据的一句。"]),
                             query="制造业单项冠军企业数量", channel="chat")
        qlog.feedback(answer.answer_id or "", "down", comment="数字不对的评论", correction="更正后的答案")
    entry = LogStore(db).get(answer.answer_id or "")
    assert (entry.question, entry.query, entry.answer) == (None, None, None)
    # hashed with the install's key (HMAC-SHA256): a guessed question cannot be confirmed by its plain sha256
    hashed = keyed(install_key(db))
    assert entry.question_sha256 == hashed(QUESTION) != sha256(QUESTION)
    assert entry.dropped == [hashed("没有依据的一句。")]
    assert entry.timings and entry.feedback[0].rating == "down" and entry.feedback[0].comment is None
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    texts = (QUESTION, "制造业单项冠军企业数量", "1557家单项冠军", "没有依据的一句", "数字不对的评论", "更正后的答案")
    for text in texts:
        assert text.encode() not in raw


def test_feedback_checks_its_input(tmp_path: Path) -> None:
    with QuestionLog(tmp_path / "q.db") as qlog:
        answer = qlog.record(make_answer(QUESTION), query=QUESTION, channel="api")
        # right after the answer: the row may still be queued, and feedback waits for it
        entry = qlog.feedback(answer.answer_id or "", "down", comment="  ", correction=" 1557家 ")
        assert (entry.comment, entry.correction) == (None, "1557家")
        with pytest.raises(InvalidInputError, match="rating must be"):
            qlog.feedback(answer.answer_id or "", "meh")
        with pytest.raises(InvalidInputError, match="the comment is 2001 characters"):
            qlog.feedback(answer.answer_id or "", "up", comment="长" * 2001)
        with pytest.raises(NotFoundError):
            qlog.feedback("f" * 32, "up")


def test_a_log_that_is_off_records_nothing(tmp_path: Path) -> None:
    qlog = QuestionLog.from_settings(make_settings(log_enabled=False, log_db=tmp_path / "q.db"))
    answer = qlog.record(make_answer(QUESTION), query=QUESTION, channel="api")
    assert answer.answer_id is None and not qlog.enabled
    with pytest.raises(QuestionLogError, match="off"):
        qlog.feedback("0" * 32, "up")
    qlog.close()
    assert not (tmp_path / "q.db").exists()

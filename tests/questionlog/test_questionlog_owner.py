"""Who may rate an answer (only the client that got it), and how texts are hashed (HMAC under the
install's key), against a real SQLite log."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest

from assistant.core.errors import NotFoundError
from assistant.questionlog import LogStore, QuestionLog
from assistant.questionlog.migrations import migrate
from assistant.questionlog.records import entry_for, keyed, new_answer_id, owner_of, sha256
from assistant.questionlog.store import install_key
from tests.logsupport import make_answer
from tests.support import make_settings

QUESTION = "制造业单项冠军企业有多少家？"


def _asked(qlog: QuestionLog, *, client: str | None = None, session: str | None = None) -> str:
    answer = qlog.record(make_answer(QUESTION), query=QUESTION, channel="chat", client=client, session=session)
    assert answer.answer_id is not None
    return answer.answer_id


def test_only_the_key_that_got_an_answer_may_rate_it(tmp_path: Path) -> None:
    with QuestionLog(tmp_path / "q.db") as qlog:
        mine = _asked(qlog, client="key-a")
        with pytest.raises(NotFoundError, match="was given to this client"):
            qlog.feedback(mine, "down", correction="9999家", client="key-b")
        with pytest.raises(NotFoundError):
            qlog.feedback(mine, "down")  # anonymous
        qlog.feedback(mine, "up", client="key-a")
        assert [f.rating for f in qlog.store.get(mine).feedback] == ["up"]
        assert qlog.store.get(mine).owner == "key:key-a"


def test_without_keys_only_the_chat_session_that_got_an_answer_may_rate_it(tmp_path: Path) -> None:
    with QuestionLog(tmp_path / "q.db") as qlog:
        chat = _asked(qlog, session="session-1")
        for other in ("session-2", None):
            with pytest.raises(NotFoundError):
                qlog.feedback(chat, "down", comment="不对", session=other)
        qlog.feedback(chat, "down", comment="不对", session="session-1")
        # the session is kept hashed, never as the browser's token
        assert qlog.store.get(chat).owner == owner_of(None, "session-1") != "chat:session-1"
        # an API answer without keys: any anonymous caller got it, and may rate it
        api = _asked(qlog)
        qlog.feedback(api, "up")
        with pytest.raises(NotFoundError):
            qlog.feedback(api, "up", session="session-1")


def test_answers_logged_before_owners_were_kept_get_their_owner_from_their_client(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    conn = sqlite3.connect(db, isolation_level=None)
    migrate(conn, target=2)
    columns = ", ".join(("id", "created_at", "channel", "client", "question_sha256", "query_sha256", "language",
                         "generator", "answer_sha256", "refused"))
    for answer_id, client in (("a" * 32, "key-a"), ("b" * 32, None)):
        conn.execute(f"INSERT INTO answers ({columns}) VALUES (?, 't', 'api', ?, 'h', 'h', 'zh', 'g', 'h', 0)",
                     (answer_id, client))
    conn.close()
    store = LogStore(db)  # migrated to the newest schema
    assert (store.get("a" * 32).owner, store.get("b" * 32).owner) == ("key:key-a", "anonymous")


def test_texts_are_hashed_with_a_key_of_the_install(tmp_path: Path) -> None:
    first, second = tmp_path / "one" / "q.db", tmp_path / "two" / "q.db"
    key = install_key(first)
    assert install_key(first) == key and len(key) == 32  # made once, then read
    assert stat.S_IMODE((tmp_path / "one" / "q.db.key").stat().st_mode) == 0o600
    assert install_key(second) != key
    ids = []
    for db in (first, second):
        with QuestionLog(db, texts=False) as qlog:
            ids.append((db, _asked(qlog)))
    hashes = {LogStore(db).get(answer_id).question_sha256 for db, answer_id in ids}
    assert len(hashes) == 2 and sha256(QUESTION) not in hashes
    assert keyed(key)(QUESTION) in hashes
    # a key from the settings wins over the file
    settings = make_settings(log_db=tmp_path / "three" / "q.db", log_hash_key="operator-secret", log_texts=False)
    with QuestionLog.from_settings(settings) as qlog:
        answer_id = _asked(qlog)
    assert LogStore(settings.log_db).get(answer_id).question_sha256 == keyed(b"operator-secret")(QUESTION)
    assert not (tmp_path / "three" / "q.db.key").exists()


def test_entry_for_keeps_its_plain_hash_default_for_direct_use() -> None:
    entry = entry_for(make_answer(QUESTION), answer_id=new_answer_id(), query=QUESTION, channel="cli", client=None,
                      index_build=None)
    assert entry.question_sha256 == sha256(QUESTION) and entry.owner == "anonymous"

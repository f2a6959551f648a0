"""``POST /v1/feedback`` takes a rating only from the client that got the answer: the same API key,
or without keys an anonymous caller for an API answer (a chat answer belongs to its browser session).
Answer ids are listed in the chat's recent-questions view, so knowing one must not be enough."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from assistant.answer.retrieve import Retriever
from assistant.api import create_app
from assistant.core.settings import Settings
from assistant.questionlog import LogStore, QuestionLog
from tests.logsupport import make_answer
from tests.servers import serve
from tests.support import make_assistant

QUESTION = "制造业单项冠军企业有多少家？"
KEYS = ("owner-key-aaaa-0000", "other-key-bbbb-1111")


@pytest.fixture(scope="module")
def settings_extractive(built_index_settings: Settings) -> Settings:
    return built_index_settings.model_copy(update={"generator": "extractive"})


def _rate(c: httpx.Client, answer_id: str, key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return c.post("/v1/feedback", json={"answer_id": answer_id, "rating": "down", "correction": "9999家"},
                  headers=headers)


def test_with_keys_only_the_key_that_asked_may_rate(settings_extractive: Settings, retriever: Retriever,
                                                     tmp_path: Path) -> None:
    db = tmp_path / "questions.db"
    keyed = settings_extractive.model_copy(update={"log_db": db, "api_keys": [SecretStr(k) for k in KEYS]})
    with serve(create_app(keyed, make_assistant(settings_extractive, retriever))) as url, \
            httpx.Client(base_url=url, timeout=60) as c:
        asked = c.post("/v1/ask", json={"question": QUESTION}, headers={"Authorization": f"Bearer {KEYS[0]}"})
        answer_id = asked.json()["answer_id"]
        refused = _rate(c, answer_id, KEYS[1])
        assert refused.status_code == 404 and refused.json()["error"]["type"] == "not_found"
        assert _rate(c, answer_id, KEYS[0]).status_code == 201
    assert [f.correction for f in LogStore(db).get(answer_id).feedback] == ["9999家"]


def test_without_keys_a_chat_answer_cannot_be_rated_through_the_api(settings_extractive: Settings,
                                                                    retriever: Retriever, tmp_path: Path) -> None:
    db = tmp_path / "questions.db"
    open_settings = settings_extractive.model_copy(update={"log_db": db})
    # a chat answer, logged for its browser session as the chat logs it
    with QuestionLog(db) as qlog:
        chat_id = qlog.record(make_answer(QUESTION), query=QUESTION, channel="chat", session="browser-session-1")
    with serve(create_app(open_settings, make_assistant(settings_extractive, retriever))) as url, \
            httpx.Client(base_url=url, timeout=60) as c:
        assert _rate(c, chat_id.answer_id or "").status_code == 404
        api_id = c.post("/v1/ask", json={"question": QUESTION}).json()["answer_id"]
        assert _rate(c, api_id).status_code == 201  # an API answer: the anonymous callers got it
    assert LogStore(db).get(chat_id.answer_id or "").feedback == []

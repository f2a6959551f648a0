"""The question log behind the HTTP API: every answer gets an ``answer_id`` (``/v1/ask``, streamed or
not, and chat completions through the official openai client), ``POST /v1/feedback`` rates it,
concurrent requests lose no row, and no API key reaches the file. A real uvicorn on loopback, the
real pipeline (extractive), a real SQLite file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
from pydantic import SecretStr

from assistant.answer.retrieve import Retriever
from assistant.api import create_app
from assistant.api.auth import key_id
from assistant.core.settings import Settings
from assistant.questionlog import LogStore
from tests.api.test_api import error_of, sse_events
from tests.servers import serve
from tests.support import QUESTIONS_FILE, make_assistant

QUESTION = "制造业单项冠军企业有多少家？"
KEY = "log-test-key-4f9a2c77d1e0b8a6"


@pytest.fixture(scope="module")
def log_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("log") / "questions.db"


@pytest.fixture(scope="module")
def settings(built_index_settings: Settings, log_db: Path) -> Settings:
    return built_index_settings.model_copy(update={"generator": "extractive", "log_db": log_db})


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[httpx.Client]:
    with serve(create_app(settings)) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c


def _logged(db: Path, answer_id: str) -> dict[str, object]:
    return LogStore(db).get(answer_id).model_dump()


def test_ask_returns_an_answer_id_and_logs_the_answer(client: httpx.Client, log_db: Path) -> None:
    answer = client.post("/v1/ask", json={"question": QUESTION}).json()
    assert len(answer["answer_id"]) == 32
    client.post("/v1/feedback", json={"answer_id": answer["answer_id"], "rating": "up"})  # waits for the row
    row = _logged(log_db, answer["answer_id"])
    assert (row["question"], row["channel"], row["client"], row["generator"]) == (QUESTION, "api", None, "extractive")
    assert row["answer"] == answer["answer"] and row["refused"] is False
    assert [c["passage_id"] for c in row["citations"]] == [c["passage_id"] for c in answer["citations"]]  # type: ignore[attr-defined]
    assert str(row["index_build"]).startswith("build-")


def test_a_streamed_answer_carries_its_id_in_the_answer_event(client: httpx.Client) -> None:
    with client.stream("POST", "/v1/ask", json={"question": QUESTION, "stream": True}) as response:
        events = sse_events(response)
    answer = json.loads(next(data for name, data in events if name == "answer"))
    assert answer["answer_id"]
    saved = client.post("/v1/feedback", json={"answer_id": answer["answer_id"], "rating": "down", "comment": "太短"})
    assert saved.status_code == 201 and saved.json()["comment"] == "太短"


def test_chat_completions_carry_the_answer_id_as_an_extra_field(client: httpx.Client, log_db: Path) -> None:
    api = openai.OpenAI(base_url=f"{str(client.base_url).rstrip('/')}/v1", api_key="unused")
    completion = api.chat.completions.create(model="report-assistant", messages=[{"role": "user", "content": QUESTION}])
    answer_id = (completion.model_extra or {})["answer_id"]
    stream = api.chat.completions.create(model="report-assistant", stream=True,
                                         messages=[{"role": "user", "content": QUESTION}])
    last = [chunk for chunk in stream][-1]
    streamed_id = (last.model_extra or {})["answer_id"]
    assert answer_id and streamed_id and answer_id != streamed_id
    for aid in (answer_id, streamed_id):
        assert client.post("/v1/feedback", json={"answer_id": aid, "rating": "up"}).status_code == 201
        assert _logged(log_db, aid)["channel"] == "openai"


def test_feedback_with_a_correction_is_kept_and_bad_feedback_refused(client: httpx.Client, log_db: Path) -> None:
    answer_id = client.post("/v1/ask", json={"question": QUESTION}).json()["answer_id"]
    body = {"answer_id": answer_id, "rating": "down", "comment": "数字不对", "correction": "应为1557家"}
    saved = client.post("/v1/feedback", json=body)
    assert saved.status_code == 201
    assert {k: saved.json()[k] for k in body} == body and saved.json()["created_at"]
    entry = LogStore(log_db).get(answer_id)
    assert (entry.rating, entry.correction) == ("down", "应为1557家")

    unknown = client.post("/v1/feedback", json={"answer_id": "f" * 32, "rating": "up"})
    assert error_of(unknown, 404)["type"] == "not_found"
    bad_rating = client.post("/v1/feedback", json={"answer_id": answer_id, "rating": "meh"})
    assert "rating" in error_of(bad_rating, 422)["message"]
    too_long = {"answer_id": answer_id, "rating": "down", "comment": "长" * 2001}
    assert "comment" in error_of(client.post("/v1/feedback", json=too_long), 422)["message"]
    unknown_field = {"answer_id": answer_id, "rating": "up", "stars": 5}
    assert "stars" in error_of(client.post("/v1/feedback", json=unknown_field), 422)["message"]


def test_many_concurrent_requests_lose_no_row(settings: Settings, retriever: Retriever, tmp_path: Path) -> None:
    db = tmp_path / "questions.db"
    app = create_app(settings.model_copy(update={"log_db": db}), make_assistant(settings, retriever))
    questions = [json.loads(x)["question"] for x in QUESTIONS_FILE.read_text(encoding="utf-8").splitlines()]
    with serve(app) as url:  # the server answers on its thread pool: these are the log's writers

        def ask(i: int) -> str:
            with httpx.Client(base_url=url, timeout=120) as c:
                body = {"question": questions[i % len(questions)], "generator": "extractive"}
                return str(c.post("/v1/ask", json=body).json()["answer_id"])

        with ThreadPoolExecutor(16) as pool:
            ids = list(pool.map(ask, range(64)))
    # the lifespan's shutdown wrote what was still queued
    assert len(set(ids)) == 64
    assert {e.answer_id for e in LogStore(db).entries()} == set(ids)


def test_with_api_keys_the_log_names_the_key_and_never_holds_it(settings: Settings, retriever: Retriever,
                                                                 tmp_path: Path) -> None:
    db = tmp_path / "questions.db"
    keyed = settings.model_copy(update={"log_db": db, "api_keys": [SecretStr("other-key-000000"), SecretStr(KEY)]})
    headers = {"Authorization": f"Bearer {KEY}"}
    with serve(create_app(keyed, make_assistant(settings, retriever))) as url, httpx.Client(base_url=url) as c:
        answer_id = c.post("/v1/ask", json={"question": QUESTION}, headers=headers, timeout=60).json()["answer_id"]
        assert c.post("/v1/feedback", json={"answer_id": answer_id, "rating": "up"}).status_code == 401
        saved = c.post("/v1/feedback", json={"answer_id": answer_id, "rating": "up"}, headers=headers)
        assert saved.status_code == 201 and "client" not in saved.json()
    entry = LogStore(db).get(answer_id)
    assert entry.client == key_id(KEY) and entry.feedback[0].client == key_id(KEY)
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("questions.db"))
    assert KEY.encode() not in raw and b"Bearer" not in raw and b"other-key" not in raw


def test_with_the_log_off_answers_have_no_id_and_feedback_is_503(settings: Settings, retriever: Retriever,
                                                                  tmp_path: Path) -> None:
    off = settings.model_copy(update={"log_enabled": False, "log_db": tmp_path / "questions.db"})
    with serve(create_app(off, make_assistant(settings, retriever))) as url, httpx.Client(base_url=url) as c:
        answer = c.post("/v1/ask", json={"question": QUESTION}, timeout=60).json()
        assert answer["answer_id"] is None and answer["answer"]
        error = error_of(c.post("/v1/feedback", json={"answer_id": "0" * 32, "rating": "up"}), 503)
        assert error["type"] == "question_log" and "off" in error["message"]
    assert not (tmp_path / "questions.db").exists()

"""Serving many users safely, through real uvicorn servers on loopback: the bounded model queue
(429 + Retry-After), loading once in the background (503, /healthz), cancellation on disconnect
and time-out, SIGTERM, allowed generators, the Host check, history limits, strict types, rate
limits and redacted errors.

The queue and cancellation machinery runs on :class:`~tests.support.PacedGenerator` (a model's
timing, registered through the real registry); the tests marked ``slow`` run the same checks on
the real local model.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from assistant.answer.generate import GENERATORS
from assistant.answer.generate.gguf_models import MODELS, is_present
from assistant.answer.retrieve import Retriever
from assistant.api import create_app
from assistant.core.settings import PROJECT_ROOT, Settings
from tests.servers import serve
from tests.support import PacedGenerator, make_assistant

QUESTION = "制造业单项冠军企业有多少家？"


@pytest.fixture(scope="module")
def settings(built_index_settings: Settings) -> Settings:
    return built_index_settings.model_copy(update={"generator": "paced", "queue_size": 2})


@contextmanager
def paced_server(settings: Settings, retriever: Retriever, paced: PacedGenerator, **updates: Any) -> Iterator[str]:
    """A server whose default generator is ``paced``; waits until /healthz says it is ready
    unless the model takes long to load."""
    s = settings.model_copy(update=updates)
    assistant = make_assistant(s, retriever, {**GENERATORS, "paced": lambda *_: paced})
    with serve(create_app(s, assistant)) as url:
        if not paced.load_seconds:
            wait_until(lambda: httpx.get(f"{url}/healthz").json()["status"] == "ready")
        yield url


def wait_until(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def error_of(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"type", "message"}
    return error  # type: ignore[no-any-return]


def timed_post(url: str, body: dict[str, Any], timeout: float = 60.0) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = httpx.post(url, json=body, timeout=timeout)
    return time.perf_counter() - started, response


# ---- the queue ---------------------------------------------------------------------------------


def test_a_full_queue_is_429_at_once_and_quick_routes_do_not_wait(settings: Settings, retriever: Retriever) -> None:
    paced = PacedGenerator(pieces=60, interval=0.05)  # about 3 s per answer
    extractive = {"question": QUESTION, "generator": "extractive"}
    with paced_server(settings, retriever, paced) as url, ThreadPoolExecutor(8) as pool:
        timed_post(f"{url}/v1/ask", extractive)  # warm-up
        idle_took, _ = timed_post(f"{url}/v1/ask", extractive)
        asks = [pool.submit(timed_post, f"{url}/v1/ask", {"question": QUESTION}) for _ in range(8)]
        time.sleep(0.5)  # all of them admitted or refused by now
        health_took, health = timed_post(f"{url}/v1/search", {"query": QUESTION, "k": 3})
        assert health.status_code == 200 and health_took < 1.0
        started = time.perf_counter()
        queues = httpx.get(f"{url}/healthz").json()["queues"]
        assert time.perf_counter() - started < 1.0
        assert queues == {"paced": {"state": "ready", "running": 1, "waiting": 2, "queue_size": 2}}
        busy_took, answer = timed_post(f"{url}/v1/ask", extractive)
        assert answer.status_code == 200 and busy_took < idle_took + 1.0
        results = [a.result() for a in asks]
    answered = [r for _, r in results if r.status_code == 200]
    refused = [(took, r) for took, r in results if r.status_code != 200]
    assert len(answered) == 3  # one answering, two waiting (ASSISTANT_QUEUE_SIZE=2)
    assert len(refused) == 5
    for took, response in refused:
        error = error_of(response, 429)
        assert took < 1.0
        assert error["type"] == "busy" and "retry in about" in error["message"]
        assert int(response.headers["retry-after"]) >= 1


def test_the_model_loads_once_in_the_background_while_healthz_says_loading(
        settings: Settings, retriever: Retriever) -> None:
    paced = PacedGenerator(pieces=2, load_seconds=3.0)
    with paced_server(settings, retriever, paced) as url:
        health = httpx.get(f"{url}/healthz").json()
        assert health["status"] == "loading"
        with ThreadPoolExecutor(3) as pool:
            early = list(pool.map(lambda _: timed_post(f"{url}/v1/ask", {"question": QUESTION}), range(3)))
        for took, response in early:
            error = error_of(response, 503)
            assert took < 1.0 and error["type"] == "not_ready" and "loading" in error["message"]
            assert 1 <= int(response.headers["retry-after"]) <= 5  # a guess: 5 s before a first load was seen
        # other generators and search do not wait for the model
        assert httpx.post(f"{url}/v1/ask", json={"question": QUESTION, "generator": "extractive"},
                          timeout=30).status_code == 200
        wait_until(lambda: httpx.get(f"{url}/healthz").json()["status"] == "ready")
        with ThreadPoolExecutor(3) as pool:
            later = list(pool.map(lambda _: timed_post(f"{url}/v1/ask", {"question": QUESTION}), range(3)))
        assert [r.status_code for _, r in later] == [200, 200, 200]
    assert paced.loads == 1


# ---- cancellation ------------------------------------------------------------------------------


def test_a_client_that_gives_up_stops_its_answer_within_a_second(settings: Settings, retriever: Retriever) -> None:
    paced = PacedGenerator(pieces=400, interval=0.05)  # a 20-second answer
    with paced_server(settings, retriever, paced) as url:
        with pytest.raises(httpx.TimeoutException):
            httpx.post(f"{url}/v1/ask", json={"question": QUESTION}, timeout=1.0)
        time.sleep(1.0)
        stopped_at = paced.written
        time.sleep(0.5)
        assert paced.written == stopped_at < 40  # nothing more was written for the gone client

        # the same for a stream dropped after its first token
        body = {"question": QUESTION, "stream": True}
        started = time.perf_counter()
        with httpx.stream("POST", f"{url}/v1/ask", json=body, timeout=30) as response:
            for line in response.iter_lines():
                if line.startswith("event: token"):
                    break
        first_token = time.perf_counter() - started
        assert first_token < 2.0  # the model was free: the abandoned answer had stopped
        # and this dropped stream gives the model back at once, not when the garbage collector
        # happens to close its generator
        wait_until(lambda: httpx.get(f"{url}/healthz").json()["queues"]["paced"]["running"] == 0, timeout=1.5)
        time.sleep(1.0)
        stopped_at = paced.written
        time.sleep(0.5)
        assert paced.written == stopped_at


def test_an_answer_past_the_time_out_is_stopped_with_504(settings: Settings, retriever: Retriever) -> None:
    paced = PacedGenerator(pieces=400, interval=0.05)
    with paced_server(settings, retriever, paced, request_timeout=1.0) as url:
        took, response = timed_post(f"{url}/v1/ask", {"question": QUESTION})
        error = error_of(response, 504)
        assert error["type"] == "generator_timeout" and took < 2.5
        written = paced.written
        time.sleep(0.5)
        assert paced.written == written


_SERVE_SCRIPT = textwrap.dedent("""
    import sys
    from assistant.answer.generate import GENERATORS
    from assistant.api.server import run
    from assistant.core.settings import Settings
    from tests.support import PacedGenerator

    paced = PacedGenerator(pieces=2000, interval=0.05)  # 100-second answers
    GENERATORS["paced"] = lambda *_: paced
    run(Settings(_env_file=None, generator="paced", index_dir=sys.argv[1], port=int(sys.argv[2]),
                 corpus_dir=sys.argv[3], queue_size=4))
""")


def test_sigterm_under_load_drains_and_exits_within_10_s(settings: Settings, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    args = [str(settings.index_dir), str(port), str(settings.corpus_dir)]
    log = tmp_path / "server.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen([sys.executable, "-c", _SERVE_SCRIPT, *args], cwd=PROJECT_ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=log_file)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _ready(url), timeout=120)
        with ThreadPoolExecutor(5) as pool:  # one answering, four waiting
            asks = [pool.submit(timed_post, f"{url}/v1/ask", {"question": QUESTION}, 60) for _ in range(5)]
            time.sleep(1.5)
            started = time.perf_counter()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            took = time.perf_counter() - started
            statuses = sorted(_status(a) for a in asks)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert took <= 10.0, log.read_text(errors="replace")
    # the waiting ones were sent away at once (503), the running one was stopped after the grace
    # period (499, or no response when the connection closed first)
    assert statuses.count(503) == 4, statuses
    assert proc.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has drained


def _ready(url: str) -> bool:
    try:
        return bool(httpx.get(f"{url}/healthz", timeout=2).json()["status"] == "ready")
    except httpx.HTTPError:
        return False


def _status(future: Any) -> int:
    try:
        return int(future.result()[1].status_code)
    except httpx.HTTPError:
        return 0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- limits on requests ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def extractive_url(built_index_settings: Settings) -> Iterator[str]:
    s = built_index_settings.model_copy(update={"generator": "extractive", "max_history_turns": 4,
                                                "max_history_chars": 200})
    with serve(create_app(s)) as url:
        yield url


@pytest.mark.parametrize(
    "body",
    [{"question": QUESTION, "k": True}, {"question": QUESTION, "k": "3"}, {"question": QUESTION, "k": 3.0},
     {"question": QUESTION, "stream": "true"}, {"question": 42}, {"question": QUESTION, "generator": 1},
     {"question": QUESTION, "history": [{"role": "user", "content": 5}]}],
    ids=["k-bool", "k-string", "k-float", "stream-string", "question-number", "generator-number", "turn-number"],
)
def test_request_types_are_strict(extractive_url: str, body: dict[str, Any]) -> None:
    error = error_of(httpx.post(f"{extractive_url}/v1/ask", json=body, timeout=30), 422)
    assert error["type"] == "invalid_input"


def test_history_is_bounded_in_turns_and_characters(extractive_url: str) -> None:
    turn = {"role": "user", "content": "工业方面有哪些进展？"}
    too_many = {"question": "那农业方面呢？", "history": [turn] * 5}
    error = error_of(httpx.post(f"{extractive_url}/v1/ask", json=too_many, timeout=30), 422)
    assert "history" in error["message"] and "4" in error["message"]
    too_long = {"question": "那农业方面呢？", "history": [{"role": "user", "content": "问" * 201}]}
    error = error_of(httpx.post(f"{extractive_url}/v1/ask", json=too_long, timeout=30), 422)
    assert "200" in error["message"]
    messages = [{"role": "user", "content": "问" * 150}, {"role": "assistant", "content": "答" * 60},
                {"role": "user", "content": QUESTION}]
    chat = {"model": "report-assistant", "messages": messages}
    error = error_of(httpx.post(f"{extractive_url}/v1/chat/completions", json=chat, timeout=30), 422)
    assert "210 characters" in error["message"] and "200" in error["message"]
    ok = {"question": "那农业方面呢？", "history": [turn] * 4}
    assert httpx.post(f"{extractive_url}/v1/ask", json=ok, timeout=30).status_code == 200


def test_only_the_allowed_generators_are_listed_and_served(built_index_settings: Settings) -> None:
    s = built_index_settings.model_copy(update={"generator": "extractive", "allowed_generators": ["extractive"]})
    with serve(create_app(s)) as url:
        models = [m["id"] for m in httpx.get(f"{url}/v1/models").json()["data"]]
        assert models == ["report-assistant", "extractive", "report-assistant/default"]  # then the collections
        assert httpx.get(f"{url}/healthz").json()["generators"] == ["extractive"]
        # 'auto' would load the 1.5B, 'openai' spend a paid upstream: neither was allowed
        for generator in ("auto", "local", "openai"):
            response = httpx.post(f"{url}/v1/ask", json={"question": QUESTION, "generator": generator}, timeout=30)
            assert "choose one of: extractive" in error_of(response, 403)["message"]


# ---- Host check, rate limits, wrong keys -------------------------------------------------------


def test_host_header_must_name_this_server(extractive_url: str) -> None:
    for path in ("/healthz", "/v1/models", "/ui/", "/ui/gradio_api/upload"):
        rebound = httpx.get(f"{extractive_url}{path}", headers={"Host": "rebind.attacker.example"})
        assert error_of(rebound, 400)["type"] == "invalid_host"
    for host in ("localhost", "127.0.0.1:8000", "[::1]:8000"):
        assert httpx.get(f"{extractive_url}/healthz", headers={"Host": host}).status_code == 200


def test_allowed_hosts_setting_replaces_the_loopback_default(built_index_settings: Settings) -> None:
    s = built_index_settings.model_copy(update={"generator": "extractive", "allowed_hosts": ["*.example.org"]})
    with serve(create_app(s)) as url:
        assert httpx.get(f"{url}/healthz", headers={"Host": "chat.example.org"}).status_code == 200
        assert httpx.get(f"{url}/healthz").status_code == 400  # 127.0.0.1 is no longer listed


def test_rate_limit_per_client_is_429_with_retry_after(built_index_settings: Settings) -> None:
    s = built_index_settings.model_copy(update={"generator": "extractive", "rate_limit": "3/minute"})
    with serve(create_app(s)) as url:
        statuses = [httpx.post(f"{url}/v1/search", json={"query": QUESTION}).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        limited = httpx.get(f"{url}/v1/models")
        error = error_of(limited, 429)
        assert error["type"] == "rate_limited" and "3 requests per 60 s" in error["message"]
        assert 15 <= int(limited.headers["retry-after"]) <= 20  # one request per 20 s
        assert httpx.get(f"{url}/healthz").status_code == 200  # probes are not limited


def test_rate_limit_is_per_api_key(built_index_settings: Settings) -> None:
    keys = [SecretStr("key-one"), SecretStr("key-two")]
    s = built_index_settings.model_copy(update={"generator": "extractive", "rate_limit": "2/minute", "api_keys": keys})
    with serve(create_app(s)) as url:
        def get(key: str) -> int:
            return httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {key}"}).status_code

        assert [get("key-one") for _ in range(3)] == [200, 200, 429]
        assert [get("key-two") for _ in range(2)] == [200, 200]  # another key, its own budget


def test_repeated_wrong_keys_and_passwords_are_throttled(built_index_settings: Settings) -> None:
    s = built_index_settings.model_copy(update={"generator": "extractive", "api_keys": [SecretStr("right")],
                                                "auth_failure_limit": "3/minute"})
    with serve(create_app(s)) as url, httpx.Client(base_url=url, timeout=30) as c:
        wrong = {"Authorization": "Bearer guess"}
        assert [c.get("/v1/models", headers=wrong).status_code for _ in range(3)] == [401, 401, 401]
        throttled = c.get("/v1/models", headers={"Authorization": "Bearer right"})
        error = error_of(throttled, 429)  # even the right key waits: guessing must not go on
        assert "failed authentication" in error["message"] and int(throttled.headers["retry-after"]) >= 1
        assert c.post("/ui/login", data={"username": "u", "password": "right"}).status_code == 429
        assert c.get("/healthz").status_code == 200


def test_failed_chat_logins_count_as_wrong_keys(built_index_settings: Settings) -> None:
    s = built_index_settings.model_copy(update={"generator": "extractive", "api_keys": [SecretStr("right")],
                                                "auth_failure_limit": "2/minute"})
    with serve(create_app(s)) as url, httpx.Client(base_url=url, timeout=30) as c:
        assert c.get("/ui/config").status_code == 401  # the page itself is no guess
        logins = [c.post("/ui/login", data={"username": "u", "password": "guess"}).status_code for _ in range(3)]
        assert logins == [400, 400, 429]
        assert c.get("/v1/models", headers={"Authorization": "Bearer right"}).status_code == 429


# ---- redaction ---------------------------------------------------------------------------------


def test_errors_sent_to_clients_name_no_paths_urls_or_model_files(
        built_index_settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    missing = tmp_path / "secret-folder" / "secret-model.gguf"
    s = built_index_settings.model_copy(update={
        "generator": "local", "local_model": str(missing), "allowed_generators": ["local", "openai", "extractive"],
        "openai_base_url": "http://10.255.255.1:9/v1", "openai_model": "secret-upstream-model", "openai_timeout": 1.0,
    })
    with serve(create_app(s)) as url:
        wait_until(lambda: httpx.get(f"{url}/healthz").json()["status"] == "failed")
        bodies = [
            httpx.post(f"{url}/v1/ask", json={"question": QUESTION}, timeout=30),
            httpx.post(f"{url}/v1/ask", json={"question": QUESTION, "generator": "openai"}, timeout=30),
            httpx.post(f"{url}/v1/chat/completions", json={"model": "openai", "messages": [
                {"role": "user", "content": QUESTION}]}, timeout=30),
        ]
    for response in bodies:
        assert response.status_code in (502, 503, 504), response.text
        for secret in ("secret-folder", "secret-model", "gguf", "10.255.255.1", "secret-upstream-model", str(tmp_path)):
            assert secret not in response.text
        assert "error id" in response.json()["error"]["message"]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "secret-model.gguf" in logged and "10.255.255.1" in logged  # the operator still sees them


# ---- the real local model ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_model_url(built_index_settings: Settings) -> Iterator[str]:
    s = built_index_settings.model_copy(update={"generator": "local", "local_model": "qwen2.5-0.5b", "queue_size": 1})
    if not is_present(MODELS["qwen2.5-0.5b"], s.models_dir):
        pytest.skip("qwen2.5-0.5b is not present; run `assistant models pull qwen2.5-0.5b`")
    with serve(create_app(s)) as url:
        wait_until(lambda: httpx.get(f"{url}/healthz").json()["status"] == "ready", timeout=120)
        yield url


def _first_token_s(url: str, question: str) -> float:
    started = time.perf_counter()
    with httpx.stream("POST", f"{url}/v1/ask", json={"question": question, "stream": True}, timeout=300) as r:
        for line in r.iter_lines():
            if line.startswith("event: token"):
                return time.perf_counter() - started
    raise AssertionError("no token came")


@pytest.mark.slow
def test_real_model_after_a_disconnect_the_next_first_token_comes_in_normal_time(real_model_url: str) -> None:
    _first_token_s(real_model_url, "国家高新技术企业有多少家？")  # warm-up
    normal = _first_token_s(real_model_url, "2024年我国数据产业规模有多大？")
    with pytest.raises(httpx.TimeoutException):  # a new prompt: it is still being evaluated after 1 s
        httpx.post(f"{real_model_url}/v1/ask", json={"question": "企业研发投入占全社会研发投入的比重是多少？"},
                   timeout=1.0)
    after = _first_token_s(real_model_url, "截至2025年10月，培育了多少家专精特新“小巨人”企业？")
    assert after < normal * 1.5 + 1.0, (normal, after)


@pytest.mark.slow
def test_real_model_full_queue_is_refused_within_a_second(real_model_url: str) -> None:
    before_kb = _rss_kb()
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: timed_post(f"{real_model_url}/v1/ask", {"question": QUESTION}, 300),
                                range(6)))
    statuses = sorted(r.status_code for _, r in results)
    assert statuses == [200, 200, 429, 429, 429, 429]  # one answering, one waiting (queue size 1)
    assert all(took < 1.0 for took, r in results if r.status_code == 429)
    # the server (in this process) keeps the one 0.5B copy (~0.5 GB) it loaded before: six requests
    # load no other (the process's lifetime peak depends on the tests run before this one)
    assert _rss_kb() - before_kb < 2**20


def _rss_kb() -> int:
    return int(next(line.split()[1] for line in Path("/proc/self/status").read_text().splitlines()
                    if line.startswith("VmRSS")))

"""The OpenAI-compatible generator against real servers on loopback: ``llama_cpp.server`` running
the tiny GGUF (started by the fixture as a subprocess), this project's own server (an upstream that
reports ``usage`` in its stream), plus two small stdlib HTTP servers that misbehave on purpose (one
too slow, one answering 500)."""

from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import openai
import pytest
from pydantic import SecretStr

from assistant.answer.generate import GenerationRequest
from assistant.answer.generate.openai import OpenAIGenerator
from assistant.answer.generate.usage import UsageMeter
from assistant.api import create_app
from assistant.core.errors import GeneratorError, GeneratorTimeoutError, ModelLoadError
from assistant.core.settings import Settings
from tests.servers import serve
from tests.support import make_settings
from tests.tinygguf import write_tiny_gguf

REQUEST = GenerationRequest(
    messages=[{"role": "user", "content": "制造业单项冠军企业有多少家？"}], question="q", passages=[], max_tokens=8,
    temperature=0.0,
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``python -m llama_cpp.server`` with the tiny model; yields its ``/v1`` base URL."""
    pytest.importorskip("llama_cpp.server.app", reason="needs llama-cpp-python[server]")
    model = write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")
    port = _free_port()
    log = (tmp_path_factory.mktemp("log") / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", "tiny",
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "512", "--n_threads", "1", "--chat_format", "chatml"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}; see {log.name}")
            try:
                if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not answer /v1/models within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


class _Misbehaving(http.server.BaseHTTPRequestHandler):
    delay = 0.0
    status = 200

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(self.delay)
        body = b'{"error": {"message": "model crashed", "type": "server_error"}}'
        try:
            self.send_response(self.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except BrokenPipeError:  # the client gave up first (the time-out test)
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def misbehaving_server(request: pytest.FixtureRequest) -> Iterator[str]:
    """A loopback server with the behaviour ``request.param`` gives: (delay seconds, status)."""
    delay, status = request.param
    handler = type("Handler", (_Misbehaving,), {"delay": delay, "status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_streams_from_a_real_llama_server(llama_server: str) -> None:
    gen = OpenAIGenerator(llama_server, "tiny", api_key=SecretStr("secret"), timeout=30)
    assert gen.name == "openai:tiny"
    pieces = list(gen.stream(REQUEST))
    assert pieces and all(isinstance(p, str) and p for p in pieces)
    assert gen.generate(REQUEST) == "".join(pieces)  # temperature 0: the same tokens


def test_from_settings_reads_the_endpoint(llama_server: str) -> None:
    settings = make_settings(openai_base_url=llama_server, openai_model="tiny", openai_api_key="k", openai_timeout=30)
    gen = OpenAIGenerator.from_settings(settings)
    assert gen.base_url == llama_server and gen.timeout == 30
    assert isinstance(gen.generate(REQUEST), str)


@pytest.mark.parametrize("misbehaving_server", [(2.0, 200)], indirect=True)
def test_slow_server_times_out(misbehaving_server: str) -> None:
    gen = OpenAIGenerator(misbehaving_server, "tiny", timeout=0.3)
    started = time.monotonic()
    with pytest.raises(GeneratorTimeoutError, match=r"did not answer within 0.3 s"):
        list(gen.stream(REQUEST))
    assert time.monotonic() - started < 1.5  # no retries behind the user's back


@pytest.mark.parametrize("misbehaving_server", [(0.0, 500)], indirect=True)
def test_server_error_is_reported_with_status(misbehaving_server: str) -> None:
    gen = OpenAIGenerator(misbehaving_server, "tiny", timeout=5)
    with pytest.raises(GeneratorError, match=r"answered HTTP 500: model crashed") as info:
        list(gen.stream(REQUEST))
    assert not isinstance(info.value, GeneratorTimeoutError)
    assert info.value.http_status == 502


def test_unreachable_server_is_a_clear_error() -> None:
    port = _free_port()  # nothing listens here any more
    gen = OpenAIGenerator(f"http://127.0.0.1:{port}/v1", "tiny", timeout=5)
    with pytest.raises(GeneratorError, match=rf"cannot reach http://127.0.0.1:{port}/v1"):
        gen.generate(REQUEST)


def test_missing_base_url_is_a_configuration_error() -> None:
    with pytest.raises(ModelLoadError, match="ASSISTANT_OPENAI_BASE_URL"):
        OpenAIGenerator.from_settings(make_settings(openai_base_url=None))


# ---- token usage ------------------------------------------------------------------------------------


def test_an_upstream_that_sends_no_usage_records_none(llama_server: str) -> None:
    """llama_cpp.server ignores stream_options: the answer's counts then come from the counter (the Lease)."""
    meter = UsageMeter()
    gen = OpenAIGenerator(llama_server, "tiny", timeout=30)
    assert "".join(gen.stream(replace(REQUEST, usage=meter)))
    assert meter.calls == 0


def test_the_upstreams_usage_is_recorded(built_index_settings: Settings) -> None:
    """Against a server that counts (this project's own, extractive): the counts it reports, as it reports them."""
    upstream = built_index_settings.model_copy(update={"generator": "extractive"})
    with serve(create_app(upstream)) as url:
        messages: Any = REQUEST.messages
        reported = openai.OpenAI(base_url=f"{url}/v1", api_key="none").chat.completions.create(
            model="extractive", messages=messages).usage
        meter, silent = UsageMeter(), UsageMeter()
        assert "".join(OpenAIGenerator(f"{url}/v1", "extractive").stream(replace(REQUEST, usage=meter)))
        "".join(OpenAIGenerator(f"{url}/v1", "extractive", stream_usage=False).stream(replace(REQUEST, usage=silent)))
    assert reported is not None and reported.total_tokens > 0
    assert meter.usage().model_dump() == {"prompt_tokens": reported.prompt_tokens,
                                          "completion_tokens": reported.completion_tokens,
                                          "total_tokens": reported.total_tokens, "counted": "upstream"}
    assert silent.calls == 0  # ASSISTANT_OPENAI_STREAM_USAGE=false: not asked for, none recorded

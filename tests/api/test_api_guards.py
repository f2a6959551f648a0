"""The pieces of the API's guards on their own: rates and token buckets, Host names, redaction.

Their behaviour through a real server (429s, 400s, redacted bodies) is in ``test_api_serving.py``.
"""

from __future__ import annotations

import pytest

from assistant.api.hosts import default_allowed_hosts, host_name, is_loopback, matches
from assistant.api.ratelimit import Rate, TokenBuckets
from assistant.core.errors import GeneratorError, InvalidInputError, ModelLoadError, NotReadyError
from assistant.core.redact import public_message, redact


@pytest.mark.parametrize(
    ("text", "rate"),
    [("60/minute", Rate(60, 60.0)), ("5/second", Rate(5, 1.0)), (" 1000 / hour ", Rate(1000, 3600.0)),
     ("10/30s", Rate(10, 30.0)), ("2/day", Rate(2, 86400.0))],
)
def test_rates_parse(text: str, rate: Rate) -> None:
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["60", "60 per minute", "0/minute", "x/minute", "60/fortnight", "-1/second"])
def test_bad_rates_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="60/minute"):
        Rate.parse(text)


def test_a_bucket_allows_a_burst_then_one_per_interval() -> None:
    now = [0.0]
    buckets = TokenBuckets(Rate(3, 60.0), clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(20.0)  # one token per 20 s
    assert buckets.take("b") == 0.0  # another client has its own bucket
    now[0] += 20.0
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0


def test_buckets_forget_idle_clients() -> None:
    now = [0.0]
    buckets = TokenBuckets(Rate(1, 1.0), clock=lambda: now[0])
    buckets.max_clients = 10
    for i in range(10):
        buckets.take(f"c{i}")
    now[0] += 5.0  # every bucket is full again
    buckets.take("new")
    assert len(buckets._buckets) == 1


@pytest.mark.parametrize(
    ("header", "name"),
    [("127.0.0.1:8000", "127.0.0.1"), ("LocalHost", "localhost"), ("[::1]:8000", "::1"), ("[::1]", "::1"),
     ("example.com.", "example.com"), ("evil.example:80", "evil.example"), ("", "")],
)
def test_host_names(header: str, name: str) -> None:
    assert host_name(header) == name


def test_host_matching() -> None:
    loopback = default_allowed_hosts("127.0.0.1", [])
    assert matches("localhost", loopback) and matches("::1", loopback)
    assert not matches("rebind.attacker.example", loopback)
    assert not matches("", loopback)
    assert matches("a.example.com", ["*.example.com"]) and not matches("example.com.evil", ["*.example.com"])
    assert default_allowed_hosts("0.0.0.0", []) == ["*"]
    assert default_allowed_hosts("127.0.0.1", ["chat.example.org"]) == ["chat.example.org"]
    assert is_loopback("::1") and is_loopback("127.0.0.2") and not is_loopback("0.0.0.0")


@pytest.mark.parametrize(
    ("message", "leak"),
    [
        ("local model file /root/.cache/report-assistant/models/qwen.gguf does not exist", "/root"),
        ("cannot reach http://10.0.0.5:8080/v1 (connection refused)", "10.0.0.5"),
        ("no index in /srv/assistant/index yet", "/srv"),
        ("llama.cpp could not load C:\\models\\x.gguf", "C:\\"),
        ("could not load ~/models/e5-small-q4.bin", "e5-small"),
        ("upstream llm.internal.example:8443 refused", "llm.internal"),
    ],
)
def test_redact_removes_paths_urls_addresses_and_model_files(message: str, leak: str) -> None:
    assert leak not in redact(message)


def test_redact_keeps_api_routes_and_ordinary_text() -> None:
    text = "unknown generator 'gpt'; choose one of: local, extractive (see GET /v1/models)"
    assert redact(text) == text
    assert redact("k must be a whole number from 1 to 20, got 3.5") == "k must be a whole number from 1 to 20, got 3.5"


def test_server_faults_get_a_fixed_sentence_and_the_log_keeps_the_detail(caplog: pytest.LogCaptureFixture) -> None:
    detail = "cannot reach http://10.1.2.3:8080/v1 (model 'secret-model'): connection refused"
    message = public_message(GeneratorError(detail))
    assert message.startswith("the generator failed while answering (error id ")
    assert "10.1.2.3" not in message and "secret-model" not in message
    error_id = message.split("error id ")[1][:8]
    assert any(error_id in r.getMessage() and "secret-model" in r.getMessage() for r in caplog.records)
    assert "could not be loaded" in public_message(ModelLoadError("/x/y.gguf is not a GGUF file"))


def test_client_errors_and_retry_later_keep_their_message() -> None:
    assert public_message(InvalidInputError("the question is empty")) == "the question is empty"
    assert "still loading" in public_message(NotReadyError("the model local:x is still loading", 3))

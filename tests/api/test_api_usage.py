"""``usage`` on chat completions, read by the official ``openai`` client from a real uvicorn on loopback:
in the response, and in the last chunk of a stream with ``stream_options: {"include_usage": true}``
(and only then), as OpenAI sends it. The real pipeline with the extractive generator; the local
model's counts are checked in ``tests/answer/test_usage.py``."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from assistant.core.settings import Settings

QUESTION = "制造业单项冠军企业有多少家？"
MESSAGES: Any = [{"role": "user", "content": QUESTION}]


@pytest.fixture(scope="module")
def settings(built_index_settings: Settings) -> Settings:
    return built_index_settings.model_copy(update={"generator": "extractive"})


@pytest.fixture(scope="module")
def openai_client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key="unused", max_retries=0)


def test_a_completion_carries_the_answers_usage(openai_client: openai.OpenAI, client: httpx.Client) -> None:
    completion = openai_client.chat.completions.create(model="extractive", messages=MESSAGES)
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens > 100 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    answer = client.post("/v1/ask", json={"question": QUESTION, "generator": "extractive"}).json()
    assert answer["usage"] == {**usage.model_dump(exclude_none=True), "counted": answer["usage"]["counted"]}
    assert answer["usage"]["counted"] in ("tokenizer", "estimate")  # the extractive generator reports none


def test_a_stream_with_include_usage_ends_with_a_usage_chunk(openai_client: openai.OpenAI) -> None:
    plain = openai_client.chat.completions.create(model="extractive", messages=MESSAGES)
    chunks = list(openai_client.chat.completions.create(
        model="extractive", messages=MESSAGES, stream=True, stream_options={"include_usage": True}))
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.model_dump() == plain.usage.model_dump()  # type: ignore[union-attr]
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert "".join(c.choices[0].delta.content or "" for c in chunks[:-1]) == plain.choices[0].message.content


def test_a_stream_without_include_usage_has_no_usage(openai_client: openai.OpenAI, client: httpx.Client) -> None:
    chunks = list(openai_client.chat.completions.create(model="extractive", messages=MESSAGES, stream=True))
    assert all(c.usage is None and len(c.choices) == 1 for c in chunks)
    raw = client.post("/v1/chat/completions", json={"model": "extractive", "messages": MESSAGES, "stream": True,
                                                    "stream_options": {"include_usage": False}})
    assert '"usage"' not in raw.text


def test_stream_options_of_the_wrong_type_are_422(client: httpx.Client) -> None:
    bad = client.post("/v1/chat/completions", json={"messages": MESSAGES, "stream_options": {"include_usage": "yes"}})
    assert bad.status_code == 422 and "stream_options.include_usage" in bad.json()["error"]["message"]

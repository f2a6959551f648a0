"""The MCP server over streamable HTTP at ``/mcp``, through the official ``mcp`` SDK's client against a
real uvicorn on loopback: the tools and their schemas, search and ask with citations, the documents as
resources, and the ``/v1`` rules (API keys, Host check, body and rate limits, the bounded model queue).

The assistant is the real one (index, embedder, extractive generator, citation checker, question log);
the full queue is made by :class:`~tests.support.PacedGenerator`, registered through the real registry.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx
import httpx2
import pytest
from mcp import Client, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult
from pydantic import SecretStr

from assistant.answer.generate import GENERATORS
from assistant.answer.retrieve import Retriever
from assistant.api import create_app
from assistant.api.auth import key_id
from assistant.core.settings import Settings
from assistant.questionlog import LogStore
from tests.servers import serve
from tests.support import PacedGenerator, make_assistant

QUESTION = "制造业单项冠军企业有多少家？"
KEY = "mcp-test-key-5d1f7a20c9e4"
T = TypeVar("T")


@pytest.fixture(scope="module")
def log_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("log") / "questions.db"


@pytest.fixture(scope="module")
def settings(built_index_settings: Settings, log_db: Path) -> Settings:
    return built_index_settings.model_copy(update={"generator": "extractive", "log_db": log_db,
                                                   "api_keys": [SecretStr("other-key"), SecretStr(KEY)]})


@pytest.fixture(scope="module")
def base_url(settings: Settings) -> Iterator[str]:
    # no assistant passed in: the lifespan builds it, as under `assistant serve`
    with serve(create_app(settings)) as url:
        yield url


def with_client(url: str, work: Callable[[Client], Awaitable[T]], key: str | None = KEY) -> T:
    """Run ``work`` with an SDK client connected to ``url``/mcp (sending ``key`` as a bearer token)."""

    async def main() -> T:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
            async with Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
                return await work(client)

    return anyio.run(main)


def call(url: str, tool: str, arguments: dict[str, Any]) -> CallToolResult:
    async def work(client: Client) -> CallToolResult:
        result = await client.call_tool(tool, arguments)
        assert isinstance(result, CallToolResult)
        return result

    return with_client(url, work)


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return dict(result.structured_content)


def error_text(result: CallToolResult) -> str:
    assert result.is_error
    return " ".join(getattr(block, "text", "") for block in result.content)


# ---- tools, schemas, answers ---------------------------------------------------------------------


def test_tools_are_listed_with_typed_schemas_and_descriptions(base_url: str, settings: Settings) -> None:
    async def work(client: Client) -> Any:
        return (await client.list_tools()).tools

    tools = {t.name: t for t in with_client(base_url, work)}
    assert set(tools) == {"search_reports", "ask_reports", "list_documents", "get_passage"}
    for tool in tools.values():
        assert tool.description and len(tool.description) > 80  # tells an agent when to call it
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
    search = tools["search_reports"].input_schema
    assert search["required"] == ["query"]
    assert search["properties"]["query"]["maxLength"] == settings.max_question_chars
    k = next(s for s in search["properties"]["k"]["anyOf"] if s.get("type") == "integer")
    assert (k["minimum"], k["maximum"]) == (1, settings.max_k)
    ask = tools["ask_reports"].input_schema
    assert ask["required"] == ["question"] and set(ask["properties"]) == {"question", "generator", "collection"}
    assert "citations" in tools["ask_reports"].output_schema["properties"]
    assert tools["get_passage"].input_schema["required"] == ["passage_id"]


def test_search_returns_passages_with_ids_sections_and_sources(base_url: str) -> None:
    found = structured(call(base_url, "search_reports", {"query": "专精特新“小巨人”企业", "k": 3}))
    assert found["query"] == "专精特新“小巨人”企业" and len(found["results"]) == 3
    best = found["results"][0]
    assert "1.76万家" in best["text"] and best["passage_id"].endswith("#item-04")
    assert best["section"] and best["source"].endswith(".txt") and best["title"]


def test_ask_answers_with_citations_and_the_log_records_channel_mcp(base_url: str, log_db: Path) -> None:
    answer = structured(call(base_url, "ask_reports", {"question": QUESTION}))
    assert answer["refused"] is False and "1557" in answer["answer"]
    marker = answer["citations"][0]["marker"]
    assert f"[{marker}]" in answer["answer"] and answer["citations"][0]["passage_id"].endswith("#item-04")
    assert answer["generator"] == "extractive"
    usage = answer["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
    # the row is written in the background
    deadline = time.monotonic() + 10
    while True:
        try:
            row = LogStore(log_db).get(answer["answer_id"])
            break
        except Exception:
            assert time.monotonic() < deadline, "the answer was not logged"
            time.sleep(0.1)
    assert (row.channel, row.client, row.question) == ("mcp", key_id(KEY), QUESTION)
    assert [c.passage_id for c in row.citations] == [c["passage_id"] for c in answer["citations"]]


def test_ask_refuses_what_the_reports_do_not_say(base_url: str) -> None:
    answer = structured(call(base_url, "ask_reports", {"question": "2025年我国GDP增长率是多少？"}))
    assert answer["refused"] is True and answer["citations"] == []


def test_get_passage_reads_a_cited_passage_and_names_a_missing_one(base_url: str) -> None:
    cited = structured(call(base_url, "ask_reports", {"question": QUESTION}))["citations"][0]
    passage = structured(call(base_url, "get_passage", {"passage_id": cited["passage_id"]}))
    assert passage["passage_id"] == cited["passage_id"] and passage["text"] == cited["text"]
    assert passage["kind"] == "item" and passage["section"] == cited["section"]
    assert "no passage with id 'nope#1'" in error_text(call(base_url, "get_passage", {"passage_id": "nope#1"}))


def test_documents_are_listed_and_readable_as_resources(base_url: str) -> None:
    documents = structured(call(base_url, "list_documents", {}))["documents"]
    assert len(documents) == 1 and documents[0]["passages"] > 10

    async def work(client: Client) -> tuple[Any, Any]:
        resources = (await client.list_resources()).resources
        return resources, await client.read_resource(resources[0].uri)

    resources, read = with_client(base_url, work)
    assert [r.uri for r in resources] == [f"report://documents/{documents[0]['id']}"]
    assert resources[0].title.startswith("国务院关于落实全国人大常委会") and resources[0].mime_type == "text/plain"
    text = read.contents[0].text
    assert text.startswith("国务院关于落实") and "制造业单项冠军企业1557家" in text


def test_bad_arguments_and_unknown_collections_are_tool_errors_naming_the_problem(
        base_url: str, settings: Settings) -> None:
    too_long = "问" * (settings.max_question_chars + 1)
    assert "question" in error_text(call(base_url, "ask_reports", {"question": too_long}))
    assert "k" in error_text(call(base_url, "search_reports", {"query": "企业", "k": settings.max_k + 1}))
    other = error_text(call(base_url, "ask_reports", {"question": QUESTION, "collection": "budget-2024"}))
    # a collection the server does not hold: not found, its name not echoed (a key must learn nothing of others)
    assert "collection_not_found" in other and "budget-2024" not in other
    assert not call(base_url, "search_reports", {"query": "企业", "collection": "default"}).is_error
    refused = error_text(call(base_url, "ask_reports", {"question": QUESTION, "generator": "openai"}))
    assert "generator_not_allowed" in refused and "extractive" in refused


# ---- the /v1 rules ------------------------------------------------------------------------------


def test_a_wrong_or_missing_key_is_refused(base_url: str) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream"}
    missing = httpx.post(f"{base_url}/mcp", json=body, headers=headers)
    wrong = httpx.post(f"{base_url}/mcp", json=body, headers={**headers, "Authorization": "Bearer guess"})
    for response, reason in ((missing, "missing 'Authorization: Bearer KEY' header"), (wrong, "invalid API key")):
        assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert response.json() == {"error": {"type": "unauthorized", "message": reason}}

    async def work(client: Client) -> Any:
        return await client.list_tools()

    with pytest.raises(BaseException) as refused:  # the SDK reports the 401 as an error response
        with_client(base_url, work, key="guess")
    assert refused.group_contains(MCPError) if isinstance(refused.value, BaseExceptionGroup) else \
        isinstance(refused.value, MCPError)


def test_the_host_check_and_the_body_limit_hold(base_url: str, settings: Settings) -> None:
    headers = {"Authorization": f"Bearer {KEY}", "Accept": "application/json, text/event-stream"}
    rebound = httpx.post(f"{base_url}/mcp", json={}, headers={**headers, "Host": "evil.example"})
    assert rebound.status_code == 400 and rebound.json()["error"]["type"] == "invalid_host"
    big = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
           "params": {"name": "ask_reports", "arguments": {"question": "问" * settings.max_body_bytes}}}
    too_large = httpx.post(f"{base_url}/mcp", content=json.dumps(big), headers=headers)
    assert too_large.status_code == 413 and too_large.json()["error"]["type"] == "payload_too_large"


def test_rate_limits_count_mcp_requests(built_index_settings: Settings) -> None:
    limited = built_index_settings.model_copy(update={"generator": "extractive", "rate_limit": "3/minute"})
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    headers = {"Accept": "application/json, text/event-stream"}
    with serve(create_app(limited)) as url:
        statuses = [httpx.post(f"{url}/mcp", json=body, headers=headers).status_code for _ in range(4)]
        later = httpx.post(f"{url}/mcp", json=body, headers=headers)
    assert 429 not in statuses[:3] and statuses[3] == 429
    assert later.json()["error"]["type"] == "rate_limited" and int(later.headers["retry-after"]) >= 1


def test_a_full_model_queue_is_a_tool_error_saying_when_to_retry(
        built_index_settings: Settings, retriever: Retriever) -> None:
    paced = PacedGenerator(pieces=60, interval=0.05)  # about 3 s per answer
    s = built_index_settings.model_copy(update={"generator": "paced", "queue_size": 0})
    assistant = make_assistant(s, retriever, {**GENERATORS, "paced": lambda *_: paced})
    with serve(create_app(s, assistant)) as url:
        deadline = time.monotonic() + 30
        while httpx.get(f"{url}/healthz").json()["status"] != "ready":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        busy = threading.Thread(target=lambda: httpx.post(f"{url}/v1/ask", json={"question": QUESTION}, timeout=60))
        busy.start()
        while httpx.get(f"{url}/healthz").json()["queues"]["paced"]["running"] == 0:
            time.sleep(0.05)
        started = time.perf_counter()
        refused = _call_no_key(url, QUESTION)
        took = time.perf_counter() - started
        extractive = _call_no_key(url, QUESTION, generator="extractive")
        busy.join()
    message = error_text(refused)
    assert message.startswith("Error executing tool ask_reports: busy: the model paced is busy")
    assert "retry in about" in message and took < 2.0  # at once, not after the running answer
    assert not extractive.is_error  # other generators do not wait behind the model


def _call_no_key(url: str, question: str, generator: str | None = None) -> CallToolResult:
    async def work(client: Client) -> CallToolResult:
        arguments = {"question": question, **({"generator": generator} if generator else {})}
        result = await client.call_tool("ask_reports", arguments)
        assert isinstance(result, CallToolResult)
        return result

    return with_client(url, work, key=None)

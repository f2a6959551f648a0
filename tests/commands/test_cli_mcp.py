"""``assistant mcp``: the MCP server over stdio, spawned by the official ``mcp`` SDK's client as a desktop
client would (a real process, the real index and pipeline, the question log in a scratch file)."""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
from mcp import Client, StdioServerParameters
from mcp_types import CallToolResult

from assistant.core.settings import Settings
from assistant.questionlog import LogStore
from tests.docsupport import cli_env

QUESTION = "制造业单项冠军企业有多少家？"
T = TypeVar("T")


def over_stdio(env: dict[str, str], cwd: Path, work: Callable[[Client], Awaitable[T]]) -> T:
    """Spawn ``assistant mcp`` with ``env`` and run ``work`` with a client talking to it."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "assistant.cli", "mcp"], env=env, cwd=cwd)

    async def main() -> T:
        async with Client(params, read_timeout_seconds=300) as client:
            return await work(client)

    return anyio.run(main)


def test_tools_search_and_ask_over_stdio(built_index_settings: Settings, tmp_path: Path) -> None:
    db = tmp_path / "questions.db"
    env = {**cli_env(built_index_settings), "ASSISTANT_GENERATOR": "extractive", "ASSISTANT_LOG_DB": str(db)}

    async def work(client: Client) -> tuple[list[str], Any, Any, int]:
        tools = [t.name for t in (await client.list_tools()).tools]
        search = await client.call_tool("search_reports", {"query": "专精特新“小巨人”企业", "k": 2})
        ask = await client.call_tool("ask_reports", {"question": QUESTION})
        resources = len((await client.list_resources()).resources)
        return tools, search, ask, resources

    tools, search, ask, resources = over_stdio(env, tmp_path, work)
    assert tools == ["search_reports", "ask_reports", "list_documents", "get_passage"]
    assert isinstance(search, CallToolResult) and isinstance(ask, CallToolResult)
    assert search.structured_content is not None and len(search.structured_content["results"]) == 2
    answer = ask.structured_content
    assert answer is not None and not ask.is_error
    assert "1557" in answer["answer"] and answer["citations"][0]["passage_id"].endswith("#item-04")
    assert resources == 1
    deadline = time.monotonic() + 10  # the process has ended: its log was closed, every row written
    while not db.exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    row = LogStore(db).get(answer["answer_id"])
    assert (row.channel, row.client, row.question) == ("mcp", None, QUESTION)


def test_a_server_that_cannot_start_answers_each_tool_call_with_the_reason(tmp_path: Path,
                                                                           built_index_settings: Settings) -> None:
    env = {**cli_env(built_index_settings), "ASSISTANT_CORPUS_DIR": str(tmp_path / "no-such-folder"),
           "ASSISTANT_INDEX_DIR": str(tmp_path / "index"), "ASSISTANT_LOG_DB": str(tmp_path / "q.db")}

    async def work(client: Client) -> Any:
        return await client.call_tool("search_reports", {"query": "企业"})

    result = over_stdio(env, tmp_path, work)
    assert isinstance(result, CallToolResult) and result.is_error
    text = " ".join(getattr(block, "text", "") for block in result.content)
    assert "corpus" in text and "no-such-folder" not in text  # the reason, without the server's paths

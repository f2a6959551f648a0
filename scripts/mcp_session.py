"""A short MCP client session, printed as a transcript: tools listed, documents listed, one question asked.

    .venv/bin/python scripts/mcp_session.py                                   # spawns `assistant mcp` (stdio)
    .venv/bin/python scripts/mcp_session.py http://127.0.0.1:8000/mcp KEY     # a running `assistant serve`
    .venv/bin/python scripts/mcp_session.py --question "How many ... ?"

It uses the official SDK's client, as an agent would; a model still loading is retried every 5 s.
"""

import argparse
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client


def stdio_server() -> StdioServerParameters:
    """``assistant mcp`` beside this Python, with this environment (its ASSISTANT_* settings)."""
    command = shutil.which("assistant", path=str(Path(sys.executable).parent)) or "assistant"
    return StdioServerParameters(command=command, args=["mcp"], env=dict(os.environ))


async def session(url: str | None, key: str | None, question: str) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx2.AsyncClient(headers=headers, timeout=300) as http:
        target: Any = stdio_server() if url is None else streamable_http_client(url, http_client=http)
        async with Client(target, read_timeout_seconds=300) as client:
            await transcript(client, question)


async def transcript(client: Client, question: str) -> None:
    """The transcript of one session: tools, documents, one question (retried while the model loads)."""
    info = client.server_info
    print(f"> initialize: {info.name} {info.version}" if info else "> initialize")
    print("> tools/list")
    for tool in (await client.list_tools()).tools:
        required = tool.input_schema.get("required", [])
        args = ", ".join(n if n in required else f"{n}?" for n in tool.input_schema["properties"])
        outputs = sorted((tool.output_schema or {}).get("properties", {}))
        print(f"  {tool.name}({args}) -> {outputs}")
    print("> resources/list")
    for resource in (await client.list_resources()).resources:
        print(f"  {resource.uri}  {resource.title}")
    arguments = {"question": question}
    while True:
        print(f"> tools/call ask_reports {json.dumps(arguments, ensure_ascii=False)}")
        result = await client.call_tool("ask_reports", arguments)
        text = " ".join(getattr(block, "text", "") for block in getattr(result, "content", []))
        if getattr(result, "is_error", False):
            print(f"  error: {text}")
            if "not_ready" not in text:
                return
            await anyio.sleep(5)
            continue
        answer = getattr(result, "structured_content", None) or {}
        print(f"  answer:  {answer['answer']}")
        print(f"  refused: {answer['refused']}  generator: {answer['generator']}  answer_id: {answer['answer_id']}")
        for citation in answer["citations"]:
            print(f"  [{citation['marker']}] {citation['passage_id']}  ({citation['section']})")
            for sentence in citation["evidence"]:
                print(f"      {sentence}")
        print(f"  usage:   {answer['usage']}")
        return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url", nargs="?", help="the /mcp URL of a running server (default: spawn `assistant mcp`)")
    parser.add_argument("key", nargs="?", help="an API key of that server")
    parser.add_argument("--question", default="制造业单项冠军企业有多少家？")
    args = parser.parse_args()
    anyio.run(session, args.url, args.key, args.question)


if __name__ == "__main__":
    main()

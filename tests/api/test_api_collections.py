"""Collections over HTTP: two real collections in one real server, keys scoped to them, create and
delete while serving, the migration of an existing index, a broken collection.

The server is built as ``assistant serve`` builds it, over a private copy of the report's corpus and
index (the collection ``default``) and a collection of its own documents made here (``secretb``).
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from fastapi import FastAPI
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult
from pydantic import SecretStr

from assistant.api import create_app
from assistant.api.auth import key_id
from assistant.core.settings import Settings
from assistant.storage.collections import RECORD_FILE
from assistant.storage.index import live_build_name
from tests.docsupport import private_corpus
from tests.servers import serve

ADMIN, KEY_A, KEY_B = "admin-key-0123", "key-a-0123", "key-b-0123"
KEY_C = "key-c-0123"  # sees HIDDEN only, not default
HIDDEN = "secretb"  # the collection KEY_A may not see: its name must never reach KEY_A
#: a document only the collection HIDDEN holds, about nothing the report says
NOTICE = (
    "# 澄州市图书馆夜间开放通知\n\n"
    "一、自2025年12月1日起，澄州市图书馆每周五、周六夜间开放至22时30分。\n\n"
    "二、夜间开放期间，读者凭澄州市民卡入馆，自习区座位需提前一天通过“澄州图书馆”小程序预约。\n\n"
    "三、夜间开放首月，图书馆在三楼报告厅举办“星空阅读会”共8场。\n"
)
NOTICE_QUESTION = "澄州市图书馆夜间开放到几点？"
REPORT_QUESTION = "截至2025年10月，培育了多少家专精特新“小巨人”企业？"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="module")
def settings(built_index_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("api-collections")
    shutil.copytree(built_index_settings.index_dir, folder / "index", ignore=shutil.ignore_patterns(".lock"))
    own = private_corpus(built_index_settings.model_copy(update={"index_dir": folder / "index"}), folder)
    keys = [SecretStr(f"{ADMIN}:*"), SecretStr(f"{KEY_A}:default"), SecretStr(f"{KEY_B}:{HIDDEN}|default"),
            SecretStr(f"{KEY_C}:{HIDDEN}")]
    return own.with_changes(api_keys=keys, log_db=folder / "questions.db", collections_dir=folder / "collections",
                            max_open_collections=2)


@pytest.fixture(scope="module")
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture(scope="module")
def base_url(app: FastAPI, settings: Settings) -> Iterator[str]:
    build_before = live_build_name(settings.index_dir)
    assert not (settings.collections_root / "default").exists()
    with serve(app) as url:
        # the migration: 'default' recorded, its index used as it was (no new build, nothing embedded)
        assert (settings.collections_root / "default" / RECORD_FILE).is_file()
        assert live_build_name(settings.index_dir) == build_before
        yield url


@pytest.fixture(scope="module")
def hidden(client: httpx.Client, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The collection HIDDEN with its one document, and an answer from it (for the feedback probe)."""
    created = client.post("/v1/collections", json={"name": HIDDEN}, headers=bearer(ADMIN))
    assert created.status_code == 201, created.text
    notice = tmp_path_factory.mktemp("notice") / "library-night-hours.md"
    notice.write_text(NOTICE, encoding="utf-8")
    added = client.post("/v1/documents", files=[("file", (notice.name, notice.read_bytes(), "text/markdown"))],
                        data={"collection": HIDDEN}, headers=bearer(KEY_B))
    assert added.status_code == 201, added.text
    answer = client.post("/v1/ask", json={"question": NOTICE_QUESTION, "collection": HIDDEN,
                                          "generator": "extractive"}, headers=bearer(KEY_B)).json()
    passage = answer["citations"][0]["passage_id"]
    return {"doc": "library-night-hours", "passage": passage, "answer_id": answer["answer_id"]}


# ---- two collections, one server -------------------------------------------------------------------


def test_each_collection_answers_from_its_own_documents_only(client: httpx.Client, hidden: dict[str, Any]) -> None:
    own = client.post("/v1/ask", json={"question": NOTICE_QUESTION, "collection": HIDDEN,
                                       "generator": "extractive"}, headers=bearer(KEY_B)).json()
    assert not own["refused"] and "22时30分" in own["answer"]
    assert {c["source"] for c in own["citations"]} == {"library-night-hours.md"}
    # the report's collection does not know the notice, and the notice's does not know the report
    other = client.post("/v1/ask", json={"question": NOTICE_QUESTION, "generator": "extractive"},
                        headers=bearer(KEY_B)).json()
    assert other["refused"] and not other["citations"]
    report = client.post("/v1/ask", json={"question": REPORT_QUESTION, "collection": HIDDEN,
                                          "generator": "extractive"}, headers=bearer(KEY_B)).json()
    assert report["refused"] and not report["citations"]
    found = client.post("/v1/search", json={"query": NOTICE_QUESTION, "collection": HIDDEN}, headers=bearer(KEY_B))
    assert {r["source"] for r in found.json()["results"]} == {"library-night-hours.md"}


def test_chat_completions_pick_the_collection_by_model(client: httpx.Client, hidden: dict[str, Any]) -> None:
    models = [m["id"] for m in client.get("/v1/models", headers=bearer(KEY_B)).json()["data"]]
    assert f"report-assistant/{HIDDEN}" in models and "report-assistant/default" in models
    body = {"model": f"report-assistant/{HIDDEN}", "messages": [{"role": "user", "content": NOTICE_QUESTION}]}
    reply = client.post("/v1/chat/completions", json=body, headers=bearer(KEY_B)).json()
    assert "22时30分" in reply["choices"][0]["message"]["content"]
    assert {c["source"] for c in reply["citations"]} == {"library-night-hours.md"}


def test_the_log_records_the_collection(client: httpx.Client, hidden: dict[str, Any], app: FastAPI) -> None:
    question_log = app.state.question_log
    assert question_log.flush()
    entries = question_log.store.entries(collection=HIDDEN)
    assert hidden["answer_id"] in {e.answer_id for e in entries}
    assert all(e.collection == HIDDEN for e in entries)
    assert hidden["answer_id"] not in {e.answer_id for e in question_log.store.entries(collection="default")}


# ---- keys scoped to collections: every route, probed --------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """A request by KEY_A aimed at the collection HIDDEN, and what it must answer."""

    method: str
    path: str
    send: Callable[[httpx.Client, dict[str, Any], str], httpx.Response]
    #: 404 for a request on the collection; 200 for a listing (which must not name it); 403 for create
    status: int = 404


def _chat(c: httpx.Client, h: dict[str, Any], name: str) -> httpx.Response:
    body = {"model": f"report-assistant/{name}", "messages": [{"role": "user", "content": NOTICE_QUESTION}]}
    return c.post("/v1/chat/completions", json=body, headers=bearer(KEY_A))


def _upload(c: httpx.Client, h: dict[str, Any], name: str) -> httpx.Response:
    return c.post("/v1/documents", files=[("file", ("x.md", b"# x\n\nsome text here.\n", "text/markdown"))],
                  data={"collection": name}, headers=bearer(KEY_A))


#: every /v1 route, each probed with KEY_A against HIDDEN (and against a name that does not exist)
PROBES = [
    Probe("POST", "/v1/search", lambda c, h, n: c.post("/v1/search", json={"query": "图书馆", "collection": n},
                                                       headers=bearer(KEY_A))),
    Probe("POST", "/v1/ask", lambda c, h, n: c.post("/v1/ask", json={"question": NOTICE_QUESTION, "collection": n},
                                                    headers=bearer(KEY_A))),
    Probe("POST", "/v1/chat/completions", _chat),
    Probe("GET", "/v1/models", lambda c, h, n: c.get("/v1/models", headers=bearer(KEY_A)), status=200),
    Probe("GET", "/v1/passages/{passage_id}",
          lambda c, h, n: c.get(f"/v1/passages/{h['passage'].replace('#', '%23')}", params={"collection": n},
                                headers=bearer(KEY_A))),
    Probe("POST", "/v1/feedback",
          # an answer the collection HIDDEN gave: KEY_A may not rate it, nor learn that it exists
          lambda c, h, n: c.post("/v1/feedback", json={"answer_id": h["answer_id"] if n == HIDDEN else "0" * 32,
                                                       "rating": "up"}, headers=bearer(KEY_A))),
    Probe("GET", "/v1/documents", lambda c, h, n: c.get("/v1/documents", params={"collection": n},
                                                        headers=bearer(KEY_A))),
    Probe("POST", "/v1/documents", _upload),
    Probe("GET", "/v1/documents/{doc_id}", lambda c, h, n: c.get(f"/v1/documents/{h['doc']}", params={"collection": n},
                                                                 headers=bearer(KEY_A))),
    Probe("GET", "/v1/documents/{doc_id}/file",
          lambda c, h, n: c.get(f"/v1/documents/{h['doc']}/file", params={"collection": n}, headers=bearer(KEY_A))),
    Probe("GET", "/v1/documents/{doc_id}/pages/{page}",
          lambda c, h, n: c.get(f"/v1/documents/{h['doc']}/pages/1", params={"collection": n},
                                headers=bearer(KEY_A))),
    Probe("DELETE", "/v1/documents/{doc_id}",
          lambda c, h, n: c.delete(f"/v1/documents/{h['doc']}", params={"collection": n}, headers=bearer(KEY_A))),
    Probe("GET", "/v1/collections", lambda c, h, n: c.get("/v1/collections", headers=bearer(KEY_A)), status=200),
    Probe("GET", "/v1/collections/{name}", lambda c, h, n: c.get(f"/v1/collections/{n}", headers=bearer(KEY_A))),
    # creating takes an admin key, whatever the name: the answer cannot tell a taken name from a free one
    Probe("POST", "/v1/collections", lambda c, h, n: c.post("/v1/collections", json={"name": n},
                                                            headers=bearer(KEY_A)), status=403),
    Probe("DELETE", "/v1/collections/{name}", lambda c, h, n: c.delete(f"/v1/collections/{n}",
                                                                       headers=bearer(KEY_A))),
]


def test_every_v1_route_is_probed(app: FastAPI) -> None:
    """A new route must join PROBES (and so be checked for scopes), or this fails."""
    # the schema lists every route the routers declare (FastAPI nests included routers in app.routes)
    routes = {(method.upper(), path) for path, operations in app.openapi()["paths"].items()
              if path.startswith("/v1/") for method in operations}
    assert routes == {(p.method, p.path) for p in PROBES}


@pytest.mark.parametrize("probe", PROBES, ids=lambda p: f"{p.method} {p.path}")
def test_a_scoped_key_cannot_reach_or_learn_of_another_collection(client: httpx.Client, hidden: dict[str, Any],
                                                                  probe: Probe) -> None:
    response = probe.send(client, hidden, HIDDEN)
    assert response.status_code == probe.status, response.text
    assert HIDDEN not in response.text
    assert hidden["doc"] not in response.text and "图书馆" not in response.text
    if probe.status != 200:
        # word for word the answer for a collection that does not exist
        missing = probe.send(client, hidden, "nosuchcollection")
        assert missing.status_code == probe.status
        # (the feedback probe's message names the answer id it was sent: the hidden one's, or a made-up one)
        assert response.text.replace(hidden["answer_id"], "<id>") == missing.text.replace("0" * 32, "<id>")
    # and the collection is still there, untouched, for the key that sees it
    assert client.get("/v1/documents", params={"collection": HIDDEN}, headers=bearer(KEY_B)).status_code == 200


# ---- the same probes through MCP (/mcp: tools and resources) -------------------------------------------

#: every MCP tool, with the arguments that aim it at a collection
MCP_PROBES: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    "search_reports": lambda h, n: {"query": "图书馆", "collection": n},
    "ask_reports": lambda h, n: {"question": NOTICE_QUESTION, "collection": n, "generator": "extractive"},
    "list_documents": lambda h, n: {"collection": n},
    "get_passage": lambda h, n: {"passage_id": h["passage"], "collection": n},
}


def mcp_session(base_url: str, key: str, work: Callable[[Client], Any]) -> Any:
    """Run ``work`` with the official SDK's client connected to ``/mcp``, sending ``key``."""

    async def main() -> Any:
        async with httpx2.AsyncClient(headers=bearer(key), timeout=120) as http:
            async with Client(streamable_http_client(f"{base_url}/mcp", http_client=http)) as client:
                return await work(client)

    return anyio.run(main)


def mcp_call(base_url: str, key: str, tool: str, arguments: dict[str, Any]) -> CallToolResult:
    async def work(client: Client) -> CallToolResult:
        result = await client.call_tool(tool, arguments)
        assert isinstance(result, CallToolResult)
        return result

    result: CallToolResult = mcp_session(base_url, key, work)
    return result


def _text(result: CallToolResult) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def test_every_mcp_tool_is_probed(app: FastAPI, base_url: str) -> None:
    """/mcp is served beside /v1 (not in the OpenAPI schema), and a new tool must join MCP_PROBES."""
    assert "/mcp" in {getattr(route, "path", None) for route in app.routes}

    async def work(client: Client) -> list[str]:
        return [tool.name for tool in (await client.list_tools()).tools]

    assert sorted(mcp_session(base_url, KEY_A, work)) == sorted(MCP_PROBES)


@pytest.mark.parametrize("tool", sorted(MCP_PROBES))
def test_a_scoped_key_cannot_reach_or_learn_of_another_collection_through_mcp(
        base_url: str, hidden: dict[str, Any], tool: str) -> None:
    result = mcp_call(base_url, KEY_A, tool, MCP_PROBES[tool](hidden, HIDDEN))
    assert result.is_error and result.structured_content is None
    text = _text(result)
    assert HIDDEN not in text and hidden["doc"] not in text and "图书馆" not in text
    # word for word the answer for a collection that does not exist
    missing = mcp_call(base_url, KEY_A, tool, MCP_PROBES[tool](hidden, "nosuchcollection"))
    assert missing.is_error and _text(missing) == text
    # the key that sees it reaches it
    assert not mcp_call(base_url, KEY_B, tool, MCP_PROBES[tool](hidden, HIDDEN)).is_error


def test_mcp_resources_are_the_documents_of_a_collection_the_key_sees(base_url: str, hidden: dict[str, Any]) -> None:
    async def resources(client: Client) -> list[str]:
        return [str(r.uri) for r in (await client.list_resources()).resources]

    # KEY_A sees default: its documents are the resources (the report), nothing of HIDDEN
    seen = mcp_session(base_url, KEY_A, resources)
    assert seen and not any(hidden["doc"] in uri for uri in seen)
    # KEY_C sees HIDDEN only: default's documents are neither listed nor readable, as if not there
    assert mcp_session(base_url, KEY_C, resources) == []
    refused = mcp_session(base_url, KEY_C, _reader(seen[0]))
    made_up = mcp_session(base_url, KEY_C, _reader("report://documents/no-such-document"))
    assert refused.startswith("error:") and "国务院" not in refused
    assert refused.replace(seen[0].rsplit("/", 1)[1], "<id>") == made_up.replace("no-such-document", "<id>")
    assert "国务院" in mcp_session(base_url, KEY_A, _reader(seen[0]))


def _reader(uri: str) -> Callable[[Client], Any]:
    async def work(client: Client) -> str:
        try:
            return str(await client.read_resource(uri))
        except Exception as exc:  # the SDK raises the server's error response
            return f"error: {exc}"
    return work


def test_the_key_that_sees_it_reaches_it(client: httpx.Client, hidden: dict[str, Any]) -> None:
    listed = client.get("/v1/collections", headers=bearer(KEY_B)).json()["collections"]
    assert [c["name"] for c in listed] == ["default", HIDDEN]
    assert client.get(f"/v1/passages/{hidden['passage'].replace('#', '%23')}", params={"collection": HIDDEN},
                      headers=bearer(KEY_B)).status_code == 200
    assert [c["name"] for c in client.get("/v1/collections", headers=bearer(KEY_A)).json()["collections"]] == [
        "default"]


def test_only_admin_keys_create_and_delete(client: httpx.Client, hidden: dict[str, Any]) -> None:
    assert client.post("/v1/collections", json={"name": "fresh"}, headers=bearer(KEY_B)).status_code == 403
    assert client.delete(f"/v1/collections/{HIDDEN}", headers=bearer(KEY_B)).status_code == 403
    assert client.delete("/v1/collections/default", headers=bearer(ADMIN)).status_code == 403


def test_bad_names_and_taken_names(client: httpx.Client, hidden: dict[str, Any]) -> None:
    bad = client.post("/v1/collections", json={"name": "Not OK"}, headers=bearer(ADMIN))
    assert bad.status_code == 422 and "[a-z0-9][a-z0-9_-]{0,63}" in bad.json()["error"]["message"]
    assert client.post("/v1/collections", json={"name": HIDDEN}, headers=bearer(ADMIN)).status_code == 409
    assert client.post("/v1/collections", json={"name": "x", "settings": {"max_k": 3}},
                       headers=bearer(ADMIN)).status_code == 422
    assert client.delete("/v1/collections/nosuch", headers=bearer(ADMIN)).status_code == 404


# ---- create and delete while serving ---------------------------------------------------------------------


def test_a_delete_waits_for_the_requests_running_on_the_collection(client: httpx.Client, app: FastAPI,
                                                                    settings: Settings,
                                                                    tmp_path: Path) -> None:
    assert client.post("/v1/collections", json={"name": "brief", "settings": {"k": 3}},
                       headers=bearer(ADMIN)).status_code == 201
    notice = tmp_path / "brief.md"
    notice.write_text(NOTICE, encoding="utf-8")
    added = client.post("/v1/documents", files=[("file", (notice.name, notice.read_bytes(), "text/markdown"))],
                        data={"collection": "brief"}, headers=bearer(ADMIN))
    assert added.status_code == 201, added.text
    # a request under way on it: its hold on the collection, as every route takes one
    running = app.state.collections.use("brief", key_id(ADMIN))
    result: dict[str, httpx.Response] = {}
    deleting = threading.Thread(target=lambda: result.update(r=client.delete("/v1/collections/brief",
                                                                            headers=bearer(ADMIN))))
    deleting.start()
    time.sleep(1.0)
    assert deleting.is_alive(), "the delete did not wait for the running request"
    # new requests on it are refused meanwhile, and the running one still answers
    refused = client.post("/v1/search", json={"query": "图书馆", "collection": "brief"}, headers=bearer(ADMIN))
    assert refused.status_code == 404
    assert running.assistant.search("图书馆", 1)
    running.release()
    deleting.join(timeout=60)
    assert result["r"].status_code == 200, result["r"].text
    assert not (settings.collections_root / "brief").exists()
    assert client.get("/v1/collections/brief", headers=bearer(ADMIN)).status_code == 404


def test_a_broken_collection_fails_its_own_requests_only(client: httpx.Client, settings: Settings,
                                                         hidden: dict[str, Any]) -> None:
    assert client.post("/v1/collections", json={"name": "broken"}, headers=bearer(ADMIN)).status_code == 201
    index = settings.collections_root / "broken" / "index"
    (index / "build-1-x").mkdir()
    (index / "build-1-x" / "manifest.json").write_text("{not json", encoding="utf-8")
    (index / "CURRENT").write_text("build-1-x", encoding="utf-8")
    broken = client.post("/v1/search", json={"query": "图书馆", "collection": "broken"}, headers=bearer(ADMIN))
    assert broken.status_code == 503
    assert client.post("/v1/search", json={"query": "图书馆", "collection": HIDDEN},
                       headers=bearer(ADMIN)).status_code == 200
    assert client.post("/v1/search", json={"query": REPORT_QUESTION}, headers=bearer(ADMIN)).status_code == 200
    assert client.delete("/v1/collections/broken", headers=bearer(ADMIN)).status_code == 200


def test_only_the_most_recently_used_collections_stay_loaded(client: httpx.Client, app: FastAPI,
                                                             tmp_path: Path) -> None:
    notice = tmp_path / "night.md"
    notice.write_text(NOTICE, encoding="utf-8")
    names = ["lru-1", "lru-2", "lru-3"]
    for name in names:
        assert client.post("/v1/collections", json={"name": name}, headers=bearer(ADMIN)).status_code == 201
        assert client.post("/v1/documents", files=[("file", (notice.name, notice.read_bytes(), "text/markdown"))],
                           data={"collection": name}, headers=bearer(ADMIN)).status_code == 201
        found = client.post("/v1/search", json={"query": NOTICE_QUESTION, "collection": name}, headers=bearer(ADMIN))
        assert found.status_code == 200
    # ASSISTANT_MAX_OPEN_COLLECTIONS=2: default stays, and the two used last
    assert app.state.collections.open_names() == ["default", "lru-2", "lru-3"]
    again = client.post("/v1/search", json={"query": NOTICE_QUESTION, "collection": "lru-1"}, headers=bearer(ADMIN))
    assert again.status_code == 200 and again.json()["results"]  # let go of, and loaded again when asked
    assert app.state.collections.open_names() == ["default", "lru-3", "lru-1"]
    for name in names:
        assert client.delete(f"/v1/collections/{name}", headers=bearer(ADMIN)).status_code == 200


# ---- page images: one cache, each page served only to a key that sees its document ------------------------


def test_a_cached_page_of_another_collection_is_not_served_to_a_scoped_key(
        client: httpx.Client, settings: Settings, tmp_path: Path) -> None:
    from tests.docgen import write_text_pdf

    assert client.post("/v1/collections", json={"name": "paged"}, headers=bearer(ADMIN)).status_code == 201
    pdf = write_text_pdf(tmp_path / "night-bus.pdf", ["澄州市夜间公交N3路末班车23时发车。"])
    assert client.post("/v1/documents", files=[("file", (pdf.name, pdf.read_bytes(), "application/pdf"))],
                       data={"collection": "paged"}, headers=bearer(ADMIN)).status_code == 201
    drawn = client.get("/v1/documents/night-bus/pages/1", params={"collection": "paged"}, headers=bearer(ADMIN))
    assert drawn.status_code == 200 and drawn.headers["content-type"] == "image/png"
    cached = [p for p in settings.page_cache.rglob("*.png") if p.read_bytes() == drawn.content]
    assert cached, "the page was not drawn into the shared cache"
    # KEY_A sees default only: not through the API ...
    assert client.get("/v1/documents/night-bus/pages/1", params={"collection": "paged"},
                      headers=bearer(KEY_A)).status_code == 404
    # ... nor through the chat it logs into with its key (gradio serves files by path)
    with httpx.Client(base_url=str(client.base_url), timeout=60) as chat:
        assert chat.post("/ui/login", data={"username": "a", "password": KEY_A}).json() == {"success": True}
        for path in cached:
            assert chat.get(f"/ui/gradio_api/file={path}").status_code in (403, 404)
    assert client.delete("/v1/collections/paged", headers=bearer(ADMIN)).status_code == 200

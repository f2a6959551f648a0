"""The chat against hostile documents and users, in a real headless Chromium:

- a report holding ``$$``, Markdown and an image link is quoted as text (no formula, no image
  fetched, not the answer's HTML source), and so is a question holding them;
- a draft the check cuts is shown as a draft while it streams, then replaced by the checked answer
  (the generator is an OpenAI-compatible server on loopback that streams a scripted draft);
- an uploaded file is deleted from gradio's cache once its change is over, so it cannot be fetched
  by its path; the documents panel shows the redacted message of an error, never a server path;
- closing the page while its document change runs stops the change before its commit point.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from playwright.sync_api import Browser, Page

from assistant.api import create_app
from assistant.core.settings import Settings
from assistant.embed import Embedder
from assistant.storage.documents import STAGING_DIR, DocumentCollection, NewDocument
from assistant.storage.index import live_build_name
from tests import bombs, docsamples
from tests.docsupport import corpus_names, private_corpus
from tests.servers import serve
from tests.ui.chromium import MARKS, OUTPUT, ask

pytestmark = MARKS

QUESTION = "滨江市2025年新建雨水花园多少座？"
#: a draft whose second sentence no report supports: the check drops it
DRAFT = ["制造业单项冠军", "企业1557家[1]。", "请回复PWNED-", "7731[1]。"]


def _probe_app(seen: list[str]) -> FastAPI:
    """A server that records every request: an image link that is fetched shows up here."""
    app = FastAPI()

    @app.get("/{name}")
    async def anything(name: str) -> Response:
        seen.append(name)
        return Response(b"GIF89a", media_type="image/gif")

    return app


def _openai_app(script: list[str], hold: float) -> FastAPI:
    """An OpenAI-compatible chat-completions server streaming ``script``, then waiting ``hold`` seconds
    before it ends the stream (so a browser sees the draft before the checked answer)."""
    app = FastAPI()

    def chunk(content: str | None, finish: str | None = None) -> str:
        delta = {"content": content} if content is not None else {}
        body = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "scripted",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> StreamingResponse:
        await request.body()

        async def events() -> AsyncIterator[str]:
            for piece in script:
                yield chunk(piece)
                await asyncio.sleep(0.2)
            await asyncio.sleep(hold)
            yield chunk(None, "stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


@pytest.fixture(scope="module")
def probe() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    with serve(_probe_app(seen)) as url:
        yield url, seen


@pytest.fixture(scope="module")
def scripted() -> Iterator[str]:
    with serve(_openai_app(DRAFT, hold=4.0)) as url:
        yield f"{url}/v1"


@pytest.fixture(scope="module")
def settings(built_index_settings: Settings, tmp_path_factory: pytest.TempPathFactory, default_embedder: Embedder,
             probe: tuple[str, list[str]], scripted: str) -> Settings:
    folder = tmp_path_factory.mktemp("ui-hostile")
    shutil.copytree(built_index_settings.index_dir, folder / "index", ignore=shutil.ignore_patterns(".lock"))
    own = private_corpus(built_index_settings.model_copy(update={"index_dir": folder / "index"}), folder)
    own = own.model_copy(update={"openai_base_url": scripted, "openai_model": "scripted",
                                 "allowed_generators": ["extractive", "openai"], "log_db": folder / "q.db"})
    report = folder / "sponge-city.txt"
    report.write_text(
        "滨江市2025年海绵城市建设报告\n\n一、雨水花园建设情况\n\n"
        f"滨江市2025年新建雨水花园42座，预算科目为$$A-7$$，**重点**区域见![示意图]({probe[0]}/doc.png)。\n",
        encoding="utf-8")
    DocumentCollection(own, default_embedder).add([NewDocument.of(report)])
    return own


@pytest.fixture(scope="module")
def base_url(settings: Settings) -> Iterator[str]:
    with serve(create_app(settings)) as url:
        yield url


def _page(browser: Browser, base_url: str, requests: list[str] | None = None) -> Page:
    page = browser.new_page(viewport={"width": 1100, "height": 1300})
    if requests is not None:
        page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{base_url}/ui/")
    return page


def test_markdown_and_formulas_from_a_report_or_a_question_stay_text(
    browser: Browser, base_url: str, probe: tuple[str, list[str]]
) -> None:
    url, seen = probe
    requests: list[str] = []
    page = _page(browser, base_url, requests)
    ask(page, f"{QUESTION} ![q]({url}/question.png) $$x^2$$ **粗**")
    answer = page.locator(".ra-answer").last
    answer.wait_for(timeout=120_000)
    shown = answer.locator(".ra-text").inner_text()
    assert "42座" in shown and "$$A-7$$" in shown and "**重点**" in shown
    assert "$$A-7$$" in page.locator(".ra-card .ra-passage").last.inner_text()
    bubble = page.locator(".ra-question").last.inner_text()
    assert f"![q]({url}/question.png) $$x^2$$ **粗**" in bubble
    chat = page.locator("#ra-chat")
    assert chat.locator(".katex").count() == 0 and chat.locator(f"img[src^='{url}']").count() == 0
    assert "<div" not in chat.inner_text()  # the answer is rendered, not shown as its HTML source
    assert page.locator(".ra-card").count() >= 1
    page.wait_for_timeout(1000)  # an image the page would fetch has been asked for by now
    assert seen == [] and not [r for r in requests if r.startswith(url)]
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "ui-hostile-markdown.png"), full_page=True)
    page.close()


def test_a_draft_the_check_cuts_is_shown_as_a_draft_then_replaced(browser: Browser, base_url: str) -> None:
    page = _page(browser, base_url)
    page.locator("#ra-generator input").click()
    page.get_by_role("option", name="openai", exact=True).click()
    ask(page, "制造业单项冠军企业有多少家？")
    draft = page.locator(".ra-draft", has_text="PWNED-7731")
    draft.wait_for(timeout=60_000)
    # while it streams: badged and boxed as a draft, not as an answer
    assert "草稿 · Draft" in draft.inner_text() and page.locator(".ra-answer").count() == 0
    assert draft.evaluate("e => getComputedStyle(e).borderStyle") == "dashed"
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "ui-draft.png"), full_page=True)
    answer = page.locator(".ra-answer").last
    answer.wait_for(timeout=60_000)
    assert "1557" in answer.locator(".ra-text").inner_text()
    assert "PWNED" not in page.locator("#ra-chat").inner_text() and page.locator(".ra-draft").count() == 0
    assert "1 sentence(s) of the draft dropped" in answer.locator(".ra-dropped").inner_text()
    page.screenshot(path=str(OUTPUT / "ui-draft-replaced.png"), full_page=True)
    page.close()


def _open_documents(page: Page) -> None:
    page.locator("#ra-docs").get_by_text("文档 · Documents").click()
    page.locator(".ra-doc").first.wait_for(timeout=30_000)


def test_an_upload_is_deleted_from_gradios_cache_once_added(
    browser: Browser, base_url: str, tmp_path: Path
) -> None:
    pdf = docsamples.write_pdf(tmp_path / "binjiang-greening.pdf")
    page = _page(browser, base_url)
    _open_documents(page)
    with page.expect_response(lambda r: r.request.method == "POST" and "/gradio_api/upload" in r.url) as uploaded:
        page.locator("#ra-upload input[type=file]").set_input_files(str(pdf))
    [cached] = uploaded.value.json()
    page.locator("#ra-docs-status .ra-docs-done").wait_for(timeout=180_000)
    assert not Path(cached).exists() and not Path(cached).parent.exists()
    with httpx.Client(base_url=base_url, timeout=30) as c:
        assert c.get(f"/ui/gradio_api/file={cached}").status_code in (403, 404)
        assert c.delete("/v1/documents/binjiang-greening").status_code == 200
    page.close()


def test_the_documents_panel_shows_no_server_path_in_an_error(
    browser: Browser, base_url: str, settings: Settings, tmp_path: Path
) -> None:
    with httpx.Client(base_url=base_url, timeout=300) as c:
        page_file = docsamples.write_html(tmp_path / "gone-soon.html")
        added = c.post("/v1/documents", files={"file": (page_file.name, page_file.read_bytes(), "text/html")})
        assert added.status_code == 201, added.text
        page = _page(browser, base_url)
        _open_documents(page)
        row = page.locator(".ra-doc", has_text="gone-soon")
        row.wait_for(timeout=30_000)
        assert c.delete("/v1/documents/gone-soon").status_code == 200  # behind the page's back
    row.get_by_role("button", name="删除 · Remove").click()
    error = page.locator("#ra-docs-status .ra-error")
    error.wait_for(timeout=60_000)
    text = error.inner_text()
    assert "no document 'gone-soon'" in text and str(settings.corpus_dir) not in text and "<path>" in text
    page.close()


def _wait_until(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the condition did not come true"
        time.sleep(0.05)


def test_closing_the_page_stops_its_document_change(
    browser: Browser, base_url: str, settings: Settings, tmp_path: Path
) -> None:
    html = bombs.write_many_paragraphs_html(tmp_path / "long-report.html", 300)  # a minute of embedding
    build, names = live_build_name(settings.index_dir), corpus_names(settings)
    staging = settings.corpus_dir / STAGING_DIR
    page = _page(browser, base_url)
    _open_documents(page)
    page.locator("#ra-upload input[type=file]").set_input_files(str(html))
    _wait_until(staging.exists, 60)  # the change is under way
    page.wait_for_timeout(2000)
    page.close()
    _wait_until(lambda: not staging.exists(), 120)  # stopped and rolled back, long before it would finish
    assert live_build_name(settings.index_dir) == build and corpus_names(settings) == names

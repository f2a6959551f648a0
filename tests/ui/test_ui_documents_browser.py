"""The chat's documents panel in a real headless Chromium: upload a PDF, ask about it, see its citation,
delete it, and see that it is gone from the answers.

The PDF (tests/docsamples.py) is about a fictional city whose figures the State Council report does
not hold, so a citation of it can only come from the upload.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from assistant.api import create_app
from assistant.core.settings import Settings
from tests import docgen, docsamples
from tests.docsupport import corpus_names, private_corpus
from tests.servers import serve
from tests.ui.chromium import MARKS, OUTPUT, ask

pytestmark = MARKS


@pytest.fixture(scope="module")
def settings(built_index_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("ui-documents")
    shutil.copytree(built_index_settings.index_dir, folder / "index", ignore=shutil.ignore_patterns(".lock"))
    return private_corpus(built_index_settings.model_copy(update={"index_dir": folder / "index"}), folder)


@pytest.fixture(scope="module")
def page_url(settings: Settings) -> Iterator[str]:
    with serve(create_app(settings)) as url:
        yield f"{url}/ui/"



def _open_documents(page: Page) -> None:
    page.locator("#ra-docs").get_by_text("文档 · Documents").click()
    page.locator(".ra-doc", has_text=docgen.STEM).wait_for(timeout=30_000)


def test_upload_a_pdf_ask_about_it_then_delete_it(
    browser: Browser, page_url: str, settings: Settings, tmp_path: Path
) -> None:
    pdf = docsamples.write_pdf(tmp_path / "binjiang-greening.pdf")
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    page.goto(page_url)
    _open_documents(page)
    assert page.locator(".ra-doc").count() == 1

    page.locator("#ra-upload input[type=file]").set_input_files(str(pdf))
    done = page.locator("#ra-docs-status .ra-docs-done")
    done.wait_for(timeout=180_000)
    assert "binjiang-greening" in done.inner_text() and "4 段 · passages" in done.inner_text()
    row = page.locator(".ra-doc", has_text="binjiang-greening")
    row.wait_for(timeout=30_000)
    assert "pdf" in row.inner_text() and "1 页 · pages" in row.inner_text()
    assert (settings.corpus_dir / "binjiang-greening.pdf").read_bytes() == pdf.read_bytes()

    ask(page, docsamples.QUESTION)
    card = page.locator(".ra-card").first
    card.wait_for(timeout=120_000)
    assert docsamples.ANSWER_FIGURE in page.locator(".ra-answer .ra-text").last.inner_text()
    assert "binjiang-greening.pdf" in card.locator(".ra-source").inner_text()
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "ui-documents-cited.png"), full_page=True)

    row.get_by_role("button", name="删除 · Remove").click()
    page.locator("#ra-docs-status", has_text="已删除 · Removed").wait_for(timeout=120_000)
    page.locator(".ra-doc", has_text="binjiang-greening").wait_for(state="detached", timeout=30_000)
    assert "binjiang-greening.pdf" not in corpus_names(settings)

    page.locator("#ra-clear").click()  # a new conversation: the question is asked afresh
    # the clear event empties the chat and the question box: asking before it lands would be wiped
    page.locator(".ra-answer").first.wait_for(state="detached", timeout=30_000)
    ask(page, docsamples.QUESTION)
    page.locator(".ra-answer, .ra-error").last.wait_for(timeout=120_000)
    errors = page.locator(".ra-error")
    assert errors.count() == 0, errors.last.inner_text()  # the chat's error card says what went wrong
    answer = page.locator(".ra-answer").last
    assert docsamples.ANSWER_FIGURE not in answer.inner_text()
    assert "binjiang-greening.pdf" not in page.locator("#ra-chat").inner_text()
    page.screenshot(path=str(OUTPUT / "ui-documents-removed.png"), full_page=True)
    page.close()


def test_a_bad_upload_shows_a_readable_error_and_changes_nothing(
    browser: Browser, page_url: str, settings: Settings, tmp_path: Path
) -> None:
    locked = docgen.write_text_pdf(tmp_path / "locked.pdf", ["滨江市"], password="pw")
    before = corpus_names(settings)
    page = browser.new_page()
    page.goto(page_url)
    _open_documents(page)
    page.locator("#ra-upload input[type=file]").set_input_files(str(locked))
    error = page.locator("#ra-docs-status .ra-error")
    error.wait_for(timeout=60_000)
    assert "locked.pdf is a password-protected PDF" in error.inner_text()
    assert corpus_names(settings) == before and page.locator(".ra-doc").count() == 1
    page.close()

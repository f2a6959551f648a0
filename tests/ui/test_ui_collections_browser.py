"""The chat's collection selector in a real headless Chromium: a key sees only its collections; the
selected one answers, takes the uploads, and has its own examples and recent questions."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from pydantic import SecretStr

from assistant.api import create_app
from assistant.core.settings import Settings
from assistant.embed import Embedder
from assistant.storage.collections import CollectionStore
from assistant.storage.documents import DocumentCollection, NewDocument
from tests.docsupport import corpus_names, private_corpus
from tests.servers import serve
from tests.ui.chromium import MARKS, OUTPUT, ask

pytestmark = MARKS

KEY_A, KEY_B = "ui-key-a-0123", "ui-key-b-0123"
NOTES = "notes"
NOTICE = (
    "# 澄州市图书馆夜间开放通知\n\n"
    "一、自2025年12月1日起，澄州市图书馆每周五、周六夜间开放至22时30分。\n\n"
    "二、夜间开放期间，读者凭澄州市民卡入馆，自习区座位需提前一天通过“澄州图书馆”小程序预约。\n"
)
QUESTION = "澄州市图书馆夜间开放到几点？"


@pytest.fixture(scope="module")
def settings(built_index_settings: Settings, default_embedder: Embedder,
             tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("ui-collections")
    shutil.copytree(built_index_settings.index_dir, folder / "index", ignore=shutil.ignore_patterns(".lock"))
    own = private_corpus(built_index_settings.model_copy(update={"index_dir": folder / "index"}), folder)
    settings = own.with_changes(api_keys=[SecretStr(f"{KEY_A}:default"), SecretStr(f"{KEY_B}:default|{NOTES}")],
                                log_db=folder / "questions.db", collections_dir=folder / "collections")
    store = CollectionStore(settings)
    store.create(NOTES)
    notice = folder / "library-night-hours.md"
    notice.write_text(NOTICE, encoding="utf-8")
    DocumentCollection(store.settings_for(NOTES), default_embedder).add([NewDocument.of(notice)])
    return settings


@pytest.fixture(scope="module")
def page_url(settings: Settings) -> Iterator[str]:
    with serve(create_app(settings)) as url:
        yield f"{url}/ui/"


def _login(browser: Browser, url: str, key: str) -> Page:
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    page.goto(url)
    page.get_by_label("username").fill("reader")
    page.get_by_label("password").fill(key)
    page.get_by_role("button", name="Login").click()
    page.locator("#ra-collection").wait_for(timeout=60_000)
    return page


def _options(page: Page) -> list[str]:
    page.locator("#ra-collection input").click()
    options = page.get_by_role("option")
    options.first.wait_for(timeout=10_000)
    # (the selected option carries a check mark on a line of its own)
    names = [o.replace("✓", "").strip() for o in options.all_inner_texts()]
    page.keyboard.press("Escape")
    return names


def _select(page: Page, name: str) -> None:
    page.locator("#ra-collection input").click()
    page.get_by_role("option", name=name, exact=True).click()
    page.wait_for_timeout(500)  # the change events: a new conversation, the examples, the documents


def test_the_selector_offers_only_the_keys_collections(browser: Browser, page_url: str) -> None:
    page = _login(browser, page_url, KEY_A)
    page.wait_for_timeout(1000)  # the choices are filled on load
    assert _options(page) == ["default"]
    assert NOTES not in page.content()
    page.close()


def test_the_selected_collection_answers_takes_uploads_and_has_its_own_questions(
    browser: Browser, page_url: str, settings: Settings, tmp_path: Path
) -> None:
    page = _login(browser, page_url, KEY_B)
    page.wait_for_timeout(1000)
    assert _options(page) == ["default", NOTES]
    # the report's collection does not know the notice
    ask(page, QUESTION)
    page.locator(".ra-answer").last.wait_for(timeout=120_000)
    assert page.locator(".ra-card", has_text="library-night-hours").count() == 0

    _select(page, NOTES)
    assert "截至2025年10月" not in page.locator("#ra-examples").inner_text()  # the report's examples are gone
    ask(page, QUESTION)
    card = page.locator(".ra-card").first
    card.wait_for(timeout=120_000)
    assert "22时30分" in page.locator(".ra-answer .ra-text").last.inner_text()
    assert "library-night-hours.md" in card.locator(".ra-source").inner_text()
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "ui-collections-notes.png"), full_page=True)

    # its recent questions, and its examples, are its own
    page.locator("#ra-recent").get_by_text("最近的问题").click()
    page.locator("#ra-recent-table", has_text=QUESTION).wait_for(timeout=30_000)
    _select(page, "default")
    page.locator("#ra-recent-table", has_text=QUESTION).wait_for(state="detached", timeout=30_000)
    _select(page, NOTES)
    page.locator("#ra-examples", has_text=QUESTION).wait_for(timeout=30_000)

    # an upload goes to the selected collection only
    upload = tmp_path / "reading-week.md"
    upload.write_text("# 澄州读书周\n\n澄州读书周于2025年4月23日开幕，共举办讲座12场。\n", encoding="utf-8")
    page.locator("#ra-docs").get_by_text("文档 · Documents").click()
    page.locator(".ra-doc", has_text="library-night-hours").wait_for(timeout=30_000)
    page.locator("#ra-upload input[type=file]").set_input_files(str(upload))
    page.locator("#ra-docs-status .ra-docs-done").wait_for(timeout=180_000)
    assert (settings.collections_root / NOTES / "corpus" / "reading-week.md").is_file()
    assert "reading-week.md" not in corpus_names(settings)
    page.close()

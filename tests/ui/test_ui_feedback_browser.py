"""Rating answers in the chat, in a real headless Chromium: thumbs down with a correction, then the
recent-questions view shows it (and the question log holds it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from pydantic import SecretStr

from assistant.api import create_app
from assistant.api.auth import key_id
from assistant.core.settings import Settings
from assistant.questionlog import LogStore
from tests.servers import serve
from tests.ui.chromium import MARKS, OUTPUT, ask
from ui.recent import FILTERS

pytestmark = MARKS
QUESTION = "制造业单项冠军企业有多少家？"
KEY = "chat-key-7c1d93b2e5a4f608"


@pytest.fixture(scope="module")
def log_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("log") / "questions.db"


@pytest.fixture(scope="module")
def page_url(built_index_settings: Settings, log_db: Path) -> Iterator[str]:
    settings = built_index_settings.model_copy(update={"generator": "extractive", "log_db": log_db})
    with serve(create_app(settings)) as url:
        yield f"{url}/ui/"


def _ask_and_wait(page: Page, question: str) -> None:
    """Ask, and wait until this question's checked answer is shown (not the previous one's)."""
    answers = page.locator("#ra-chat .ra-answer")
    before = answers.count()
    ask(page, question)
    expect(answers).to_have_count(before + 1, timeout=60_000)


def _recent(page: Page, which: str) -> str:
    """Open the recent-questions view, pick a filter, and return the list's text once it shows."""
    if not page.locator("#ra-recent-filter").is_visible():
        page.locator("#ra-recent").get_by_text("最近的问题 · Recent questions").click()
    page.locator("#ra-recent-filter").get_by_text(which).click()
    shown = page.locator(f"#ra-recent-table .ra-log-view[data-filter='{FILTERS[which][0]}']")
    shown.wait_for(timeout=30_000)
    return shown.inner_text()


def test_thumbs_down_with_a_correction_shows_in_the_recent_view(browser: Browser, page_url: str, log_db: Path) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    page.goto(page_url)
    _ask_and_wait(page, QUESTION)
    _ask_and_wait(page, "2025年我国GDP增长率是多少？")  # a refusal, left unrated

    # thumbs down on the first answer opens the form for a comment and the right answer
    page.locator("#ra-chat button[aria-label='Dislike']").first.click()
    page.locator("#ra-feedback-correction textarea").wait_for(state="visible", timeout=30_000)
    page.locator("#ra-feedback-comment textarea").fill("少了一句说明")
    page.locator("#ra-feedback-correction textarea").fill("制造业单项冠军企业1557家")
    page.locator("#ra-feedback-send").click()
    page.locator("#ra-feedback-note", has_text="Saved").wait_for(timeout=30_000)
    page.locator("#ra-feedback-correction textarea").wait_for(state="hidden", timeout=30_000)

    down = _recent(page, "差评 · Rated down")
    assert QUESTION in down and "制造业单项冠军企业1557家" in down and "少了一句说明" in down
    assert "GDP" not in down
    assert "GDP" in _recent(page, "未回答 · Refused") and QUESTION not in _recent(page, "未回答 · Refused")
    everything = _recent(page, "全部 · All")
    assert QUESTION in everything and "GDP" in everything
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "ui-feedback.png"), full_page=True)

    rated = LogStore(log_db).entries(down=True)
    assert [(e.question, e.channel, e.correction) for e in rated] == [(QUESTION, "chat", "制造业单项冠军企业1557家")]
    assert [f.rating for f in rated[0].feedback] == ["down", "down"]  # the click, then the form
    page.close()


def test_thumbs_up_is_recorded(browser: Browser, page_url: str, log_db: Path) -> None:
    page = browser.new_page()
    page.goto(page_url)
    _ask_and_wait(page, "How big was China's data industry in 2024?")
    page.locator("#ra-chat button[aria-label='Like']").last.click()
    page.locator("#ra-feedback-note", has_text="Thanks").wait_for(timeout=30_000)
    up = [e for e in LogStore(log_db).entries() if e.rating == "up"]
    assert [e.question for e in up] == ["How big was China's data industry in 2024?"]
    page.close()


def test_with_api_keys_the_chat_logs_the_key_id_for_key_holders(built_index_settings: Settings, browser: Browser,
                                                                tmp_path: Path) -> None:
    db = tmp_path / "questions.db"
    settings = built_index_settings.model_copy(
        update={"generator": "extractive", "log_db": db, "api_keys": [SecretStr(KEY)]}
    )
    with serve(create_app(settings)) as url:
        page = browser.new_page()
        page.goto(f"{url}/ui/")
        page.get_by_label("username").fill("reviewer")
        page.get_by_label("password").fill(KEY)
        page.get_by_role("button", name="Login").click()
        _ask_and_wait(page, QUESTION)
        assert QUESTION in _recent(page, "全部 · All")  # a key holder sees the log
        page.close()
    (entry,) = LogStore(db).entries()
    assert entry.client == key_id(KEY) and entry.channel == "chat"

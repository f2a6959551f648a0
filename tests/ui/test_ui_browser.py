"""The chat page in a real headless Chromium (Debian's ``chromium``, driven by Playwright)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from assistant.api import create_app
from assistant.core.settings import Settings
from tests.servers import serve
from tests.ui.chromium import MARKS, OUTPUT, ask

pytestmark = MARKS


@pytest.fixture(scope="module")
def page_url(built_index_settings: Settings) -> Iterator[str]:
    # the openai generator (allowed here) points at a closed port, so choosing it shows how errors look
    settings = built_index_settings.model_copy(
        update={"generator": "extractive", "openai_base_url": "http://127.0.0.1:9/v1",
                "allowed_generators": ["extractive", "openai"]}
    )
    with serve(create_app(settings)) as url:
        yield f"{url}/ui/"



def test_chat_streams_a_cited_answer_and_shows_its_card(browser: Browser, page_url: str) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 1100})
    page.goto(page_url)
    ask(page, "制造业单项冠军企业有多少家？")
    card = page.locator(".ra-card").first
    card.wait_for(timeout=60_000)
    answer = page.locator(".ra-answer .ra-text").last
    assert "1557" in answer.inner_text()
    assert "[1]" in card.locator(".ra-card-marker").inner_text()
    # the supporting sentence of the passage is highlighted, and it is the one with the figure
    assert "1557" in card.locator("mark").first.inner_text()
    assert page.locator(".ra-generator").last.inner_text() == "extractive"
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "ui-chat.png"), full_page=True)

    # a second question in the same session: the refusal looks different and has no card
    ask(page, "2025年我国GDP增长率是多少？")
    refusal = page.locator(".ra-refused")
    refusal.wait_for(timeout=60_000)
    assert "The report doesn't say" in refusal.inner_text()
    assert page.locator(".ra-card").count() == 1
    page.screenshot(path=str(OUTPUT / "ui-refusal.png"), full_page=True)
    page.close()


def test_each_browser_session_has_its_own_conversation(browser: Browser, page_url: str) -> None:
    first = browser.new_page()
    first.goto(page_url)
    ask(first, "How big was China's data industry in 2024?")
    first.locator(".ra-answer").first.wait_for(timeout=60_000)
    second = browser.new_page()
    second.goto(page_url)
    ask(second, "制造业单项冠军企业有多少家？")
    second.locator(".ra-card").first.wait_for(timeout=60_000)
    # the second session shows only its own exchange, none of the first one's
    assert second.locator("[data-testid='user']").count() == 1
    assert "5.86" not in second.locator("#ra-chat").inner_text()
    assert "5.86" in first.locator(".ra-answer .ra-text").first.inner_text()
    first.close()
    second.close()


def test_a_failing_generator_shows_a_readable_error(browser: Browser, page_url: str) -> None:
    page = browser.new_page()
    page.goto(page_url)
    page.locator("#ra-generator input").click()
    page.get_by_role("option", name="openai", exact=True).click()
    ask(page, "制造业单项冠军企业有多少家？")
    error = page.locator(".ra-error")
    error.wait_for(timeout=60_000)
    # what failed, and an error id for the operator's log; not the server's addresses
    text = error.inner_text()
    assert "Something went wrong" in text and "the generator failed while answering" in text and "error id" in text
    assert "127.0.0.1:9" not in text
    # the question stays in the box, to be sent again
    assert page.locator("#ra-question textarea").input_value() == "制造业单项冠军企业有多少家？"
    page.close()


def test_docs_page_renders_without_internet(browser: Browser, page_url: str) -> None:
    # Swagger UI must come from the server itself: this machine has no route to a CDN
    page = browser.new_page()
    page.goto(page_url.replace("/ui/", "/docs"))
    page.locator(".opblock-summary-path", has_text="/v1/chat/completions").wait_for(timeout=30_000)
    assert page.locator(".opblock-summary-path", has_text="/v1/ask").count() == 1
    page.close()

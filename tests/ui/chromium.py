"""Driving the chat page in Debian's Chromium (Playwright's own browser download is unavailable
here): where it is, the flags that keep it off the network, and the one way a test asks a question."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
#: every browser test module's marks
MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="needs Debian's chromium at /usr/bin/chromium (apt install chromium)"),
]


def ask(page: Page, question: str) -> None:
    """Type ``question`` into the chat and send it."""
    page.locator("#ra-question textarea").fill(question)
    page.locator("#ra-ask").click()

"""One headless Chromium for every browser test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ui.chromium import ARGS, CHROMIUM


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield chromium
        chromium.close()

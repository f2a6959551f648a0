"""One real server per API test module, over the ``settings`` fixture the module defines."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from assistant.api import create_app
from assistant.core.settings import Settings
from tests.servers import serve


@pytest.fixture(scope="module")
def base_url(settings: Settings) -> Iterator[str]:
    # no assistant passed in: the lifespan builds it, as under `assistant serve`
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=300) as c:
        yield c

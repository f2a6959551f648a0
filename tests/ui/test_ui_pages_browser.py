"""The chat's page viewer in a real headless Chromium: a citation card's "p. N" opens page N of the
PDF, drawn as a PNG, with a box over the cited words (checked against pypdfium2's own boxes)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from playwright.sync_api import Browser

from assistant.api import create_app
from assistant.core.settings import Settings
from assistant.embed import Embedder
from assistant.ingest import load_corpus
from assistant.storage.build import build_index
from assistant.storage.index import load_index
from assistant.storage.pageimages import draw
from tests import docgen
from tests.pagecheck import in_pixel_rects, marked_pixels, page_words, pixel_rects, png, words_of
from tests.servers import serve
from tests.support import DEFAULT_MODEL, make_settings
from tests.ui.chromium import MARKS, OUTPUT, ask

pytestmark = MARKS
A4_HEIGHT = 841.8898


@pytest.fixture(scope="module")
def pdf_settings(tmp_path_factory: pytest.TempPathFactory, default_embedder: Embedder) -> Settings:
    """A corpus of one PDF: the report in two columns, running header and footer, page numbers, a table."""
    folder = tmp_path_factory.mktemp("ui-pages")
    corpus = folder / "corpus"
    corpus.mkdir()
    docgen.write_pdf(corpus / "report.pdf")
    settings = make_settings(corpus_dir=corpus, index_dir=folder / "index", embedding_model=DEFAULT_MODEL,
                             generator="extractive")
    build_index(settings, default_embedder, load_corpus(corpus), progress=False)
    return settings


@pytest.fixture(scope="module")
def page_url(pdf_settings: Settings) -> Iterator[str]:
    with serve(create_app(pdf_settings)) as url:
        yield f"{url}/ui/"


def test_a_card_opens_its_page_with_the_cited_words_marked(browser: Browser, page_url: str,
                                                           pdf_settings: Settings) -> None:
    pdf = pdf_settings.corpus_dir / "report.pdf"
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(page_url)
    ask(page, "制造业单项冠军企业有多少家？")
    card = page.locator(".ra-card").first
    card.wait_for(timeout=60_000)
    link = card.locator(".ra-page-link")
    label = link.inner_text()
    assert re.fullmatch(r"p\. \d+", label), label
    number = int(label.removeprefix("p. "))
    address = urlsplit(link.get_attribute("href") or "")
    passage_id = parse_qs(address.query)["highlight"][0]
    assert address.path.endswith(f"/v1/documents/report/pages/{number}")  # the API's image, should a script not run
    evidence = card.locator("mark", has_text="1557").first.inner_text().strip()
    assert "1557" in evidence

    link.click()
    image_element = page.locator("#ra-page-image img")
    image_element.wait_for(timeout=60_000)
    assert f"page {number} of {docgen.pdf_page_count(pdf)}" in page.locator("#ra-page-caption").inner_text()
    source = image_element.get_attribute("src")
    assert source
    image = png(page.request.get(urljoin(page.url, source)).body())

    # the right page: against that page drawn plain at the same width, only the passage's boxes changed
    passage = next(p for p in load_index(pdf_settings).passages if p.id == passage_id)
    assert passage.location is not None
    scale = image.size[0] / 595.2756
    changed = marked_pixels(image, png(draw(pdf, number, image.size[0])))
    boxes = [b for b in passage.location.boxes if b.page == number]
    rects = pixel_rects(boxes, A4_HEIGHT, scale)
    assert changed and all(in_pixel_rects(p, rects) for p in changed)
    # and a box over the cited words where pypdfium2 says they stand on that page: the figure the
    # evidence gives, in its row of the table (or in the sentence, when the passage is prose)
    words = page_words(pdf)[number - 1]
    if passage.kind == "table":
        at = words.text.index("1557家培育")
        cited = words.boxes[at : at + len("1557家")]
    else:
        cited = words_of(replace(passage, text=evidence), page_words(pdf))[number]
    for x0, y0, x1, y1 in cited:
        centre = (int((x0 + x1) / 2 * scale), int((A4_HEIGHT - (y0 + y1) / 2) * scale))
        assert in_pixel_rects(centre, pixel_rects(boxes, A4_HEIGHT, scale, pad=0))
        assert any((centre[0] + dx, centre[1] + dy) in changed for dx in range(-3, 4) for dy in range(-3, 4))
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "ui-page-viewer.png"))

    page.locator("#ra-page-close").click()
    ask(page, "2025年我国GDP增长率是多少？")  # refused: no card, no page button
    page.locator(".ra-refused").wait_for(timeout=60_000)
    assert page.locator(".ra-refused .ra-page-link").count() == 0
    page.close()

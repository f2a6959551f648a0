"""The original file and its pages drawn, through a real uvicorn on loopback with API keys set.

``GET /v1/documents/{id}/file`` must give back the bytes that were added; ``GET
/v1/documents/{id}/pages/{n}`` a PNG of that page with the passage's boxes marked (compared pixel by
pixel with the same page drawn without marks); search hits and citations carry locations.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pydantic import SecretStr

from assistant.core.settings import Settings
from assistant.core.types import Location
from assistant.storage.pageimages import converter
from tests import docgen
from tests.docsupport import private_corpus
from tests.pagecheck import in_pixel_rects, marked_pixels, pixel_rects, png

KEY = "pages-key-1"
AUTH = {"Authorization": f"Bearer {KEY}"}
A4 = (595.2756, 841.8898)


@pytest.fixture(scope="module")
def settings(built_index_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("api-pages")
    shutil.copytree(built_index_settings.index_dir, folder / "index", ignore=shutil.ignore_patterns(".lock"))
    own = private_corpus(built_index_settings.model_copy(update={"index_dir": folder / "index"}), folder)
    return own.model_copy(update={"api_keys": [SecretStr(KEY)]})


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("originals")
    return {"report-pdf": docgen.write_pdf(folder / "report-pdf.pdf"),
            "report-docx": docgen.write_docx(folder / "report-docx.docx", page_breaks=True)}


@pytest.fixture(scope="module")
def api(base_url: str, originals: dict[str, Path]) -> Iterator[httpx.Client]:
    """A client with the key, over a collection holding the report as text, as a PDF and as a DOCX."""
    with httpx.Client(base_url=base_url, timeout=300, headers=AUTH) as c:
        files = [("file", (p.name, p.read_bytes(), "application/octet-stream")) for p in originals.values()]
        response = c.post("/v1/documents", files=files)
        assert response.status_code == 201, response.text
        yield c


def _passage(api: httpx.Client, passage_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/passages/{quote(passage_id, safe='')}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _error(response: httpx.Response, status: int, kind: str) -> str:
    assert response.status_code == status, response.text
    assert response.json()["error"]["type"] == kind, response.text
    return str(response.json()["error"]["message"])


def test_the_file_comes_back_byte_for_byte(api: httpx.Client, originals: dict[str, Path], settings: Settings) -> None:
    listed = {d["id"]: d for d in api.get("/v1/documents").json()["documents"]}
    report = next(settings.corpus_dir.glob("*.txt"))
    cases = {**originals, report.stem: report}
    types = {"report-pdf": "application/pdf", "report-docx": "application/vnd.openxmlformats-officedocument"
             ".wordprocessingml.document", report.stem: "text/plain; charset=utf-8"}
    for doc_id, path in cases.items():
        response = api.get(f"/v1/documents/{quote(doc_id)}/file")
        assert response.status_code == 200, response.text
        assert response.content == path.read_bytes()
        assert hashlib.sha256(response.content).hexdigest() == listed[doc_id]["sha256"]
        assert response.headers["content-type"] == types[doc_id]
        assert response.headers["x-content-type-options"] == "nosniff"
        disposition = response.headers["content-disposition"]
        assert disposition.startswith("inline" if doc_id == "report-pdf" else "attachment"), disposition


def test_search_hits_and_citations_say_where_they_stand(api: httpx.Client) -> None:
    results = api.post("/v1/search", json={"query": "制造业单项冠军企业有多少家？", "k": 12}).json()["results"]
    by_kind = {r["source"].rsplit(".", 1)[-1]: r for r in reversed(results)}
    assert set(by_kind) == {"pdf", "docx", "txt"}
    pdf, docx, txt = (Location.model_validate(by_kind[k]["location"]) for k in ("pdf", "docx", "txt"))
    assert pdf.pages and pdf.boxes and {b.page for b in pdf.boxes} == set(pdf.pages)
    assert set(by_kind["pdf"]["location"]) == {"pages", "boxes"}  # only what is known is written out
    assert docx.pages and docx.paragraphs and not docx.boxes
    assert txt.lines and set(by_kind["txt"]["location"]) == {"lines"}

    answer = api.post("/v1/ask", json={"question": "制造业单项冠军企业有多少家？", "generator": "extractive"}).json()
    assert not answer["refused"]
    for citation in answer["citations"]:
        location = Location.model_validate(citation["location"])
        whole = Location.model_validate(_passage(api, citation["passage_id"])["location"])
        assert set(location.pages) <= set(whole.pages) or location.lines == whole.lines
        if location.boxes:  # a PDF citation names the boxes that hold its evidence, and their pages
            assert set(location.boxes) <= set(whole.boxes)
            assert all(any(b.holds(*span) for b in location.boxes)
                       for span in _spans(citation["text"], citation["evidence"]))


def _spans(text: str, sentences: list[str]) -> list[tuple[int, int]]:
    from assistant.core.types import text_spans

    return [span for s in sentences for span in text_spans(text, s)]


def test_a_page_image_marks_the_passage_on_that_page(api: httpx.Client, settings: Settings) -> None:
    passage_id = "report-pdf#item-05"  # the one that runs on from page 1 to page 2
    location = Location.model_validate(_passage(api, passage_id)["location"])
    assert location.pages == (1, 2)
    for page in location.pages:
        url = f"/v1/documents/report-pdf/pages/{page}"
        marked = api.get(url, params={"width": 800, "highlight": passage_id})
        assert marked.status_code == 200, marked.text
        assert marked.headers["content-type"] == "image/png"
        plain = png(api.get(url, params={"width": 800}).content)
        image = png(marked.content)
        assert image.size[0] == 800 and abs(image.size[1] - A4[1] * 800 / A4[0]) <= 1
        boxes = [b for b in location.boxes if b.page == page]
        rects = pixel_rects(boxes, A4[1], 800 / A4[0])
        changed = marked_pixels(image, plain)
        assert changed and all(in_pixel_rects(p, rects) for p in changed)  # nothing marked outside the boxes
        inner = pixel_rects(boxes, A4[1], 800 / A4[0], pad=-3)
        interior = sum((r[2] - r[0]) * (r[3] - r[1]) for r in inner)
        assert sum(in_pixel_rects(p, inner) for p in changed) >= 0.9 * interior  # and the boxes are filled
    # the second time it comes from the cache: the same bytes, no new file
    cached = sorted(settings.page_cache.rglob("*.png"))
    again = api.get(f"/v1/documents/report-pdf/pages/{location.pages[-1]}",
                    params={"width": 800, "highlight": passage_id})
    assert again.content == marked.content
    assert sorted(settings.page_cache.rglob("*.png")) == cached


def test_missing_pages_documents_and_passages_are_404(api: httpx.Client, settings: Settings) -> None:
    report = next(settings.corpus_dir.glob("*.txt")).stem
    assert "has 4 pages; there is no page 5" in _error(
        api.get("/v1/documents/report-pdf/pages/5"), 404, "page_not_found")
    _error(api.get("/v1/documents/report-pdf/pages/0"), 404, "page_not_found")
    _error(api.get("/v1/documents/no-such-document/pages/1"), 404, "document_not_found")
    _error(api.get("/v1/documents/no-such-document/file"), 404, "document_not_found")
    other = f"{report}#item-05"  # a passage, but of the text document
    assert "is not in document" in _error(
        api.get("/v1/documents/report-pdf/pages/1", params={"highlight": other}), 404, "page_not_found")
    _error(api.get("/v1/documents/report-pdf/pages/1", params={"highlight": "report-pdf#item-99"}), 404,
           "page_not_found")
    assert "no pages" in _error(api.get(f"/v1/documents/{quote(report)}/pages/1"), 404, "no_page_images")


@pytest.mark.skipif(converter() is not None, reason="LibreOffice is installed: a Word document has page images")
def test_a_word_document_without_libreoffice_says_it_has_no_page_images(api: httpx.Client) -> None:
    message = _error(api.get("/v1/documents/report-docx/pages/1"), 404, "no_page_images")
    assert "LibreOffice is not installed" in message


@pytest.mark.parametrize("width", ["199", "2001", "wide", "-5"])
def test_a_bad_width_is_422(api: httpx.Client, width: str) -> None:
    response = api.get("/v1/documents/report-pdf/pages/1", params={"width": width})
    assert response.status_code == 422, response.text
    assert "width" in response.json()["error"]["message"]


def test_the_routes_need_the_key_like_every_v1_route(base_url: str, api: httpx.Client) -> None:
    for path in ("/v1/documents/report-pdf/file", "/v1/documents/report-pdf/pages/1"):
        assert httpx.get(base_url + path).status_code == 401
        assert httpx.get(base_url + path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert api.get(path).status_code == 200

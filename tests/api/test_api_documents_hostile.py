"""``/v1/documents`` against hostile uploads, through a real uvicorn on loopback: the bombs of issue 25
answered 413 with the setting that refused them, a reader's failure 422, a long Chinese name no 500,
the same bytes under another name answered with the existing document, and a change stopped when
its client disconnects or its time-out passes, leaving the previous documents and index."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.api import create_app
from assistant.core.settings import Settings
from assistant.storage.documents import STAGING_DIR
from assistant.storage.index import live_build_name
from tests import bombs, docgen, docsamples
from tests.docsupport import corpus_names, private_corpus
from tests.docsupport import only_the_report_afterwards as only_the_report_afterwards  # autouse
from tests.servers import serve

MB = 1024 * 1024


@pytest.fixture(scope="module")
def settings(built_index_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("api-hostile")
    shutil.copytree(built_index_settings.index_dir, folder / "index", ignore=shutil.ignore_patterns(".lock"))
    return private_corpus(built_index_settings.model_copy(update={"index_dir": folder / "index"}), folder)



def upload(client: httpx.Client, *files: tuple[str, bytes], **kwargs: Any) -> httpx.Response:
    return client.post("/v1/documents", files=[("file", (name, data, "application/octet-stream"))
                                               for name, data in files], **kwargs)


def error_of(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    return dict(response.json()["error"])


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    return {
        "pdf-bomb": bombs.write_pdf_bomb(folder / "bomb.pdf", 200 * MB),
        "gridspan": bombs.write_gridspan_docx(folder / "span.docx"),
        "bad-span": bombs.write_gridspan_docx(folder / "badspan.docx", span="abc", rows=1),
        "outline": bombs.write_outline_level_docx(folder / "outline.docx"),
        "many": bombs.write_many_paragraphs_html(folder / "many.html", 300),
    }


@pytest.mark.parametrize(("case", "status", "kind", "says"), [
    ("pdf-bomb", 413, "document_too_large", "(ASSISTANT_MAX_PAGE_CONTENT_BYTES): refused as a decompression bomb"),
    ("gridspan", 413, "document_too_large", "tables may have at most that (ASSISTANT_MAX_TABLE_CELLS)"),
    ("bad-span", 422, "unreadable_document", "badspan.docx could not be read: its reader failed (ValueError"),
])
def test_a_hostile_document_is_a_clear_4xx_and_changes_nothing(
    client: httpx.Client, settings: Settings, hostile: dict[str, Path], case: str, status: int, kind: str, says: str
) -> None:
    build, names = live_build_name(settings.index_dir), corpus_names(settings)
    path = hostile[case]
    error = error_of(upload(client, (path.name, path.read_bytes())), status)
    assert error["type"] == kind and says in error["message"], error
    assert live_build_name(settings.index_dir) == build and corpus_names(settings) == names


def test_a_bad_outline_level_is_read_not_a_500(client: httpx.Client, hostile: dict[str, Path]) -> None:
    path = hostile["outline"]
    response = upload(client, (path.name, path.read_bytes()))
    assert response.status_code == 201, response.text


def test_a_200_character_chinese_name_is_no_500(client: httpx.Client, tmp_path: Path) -> None:
    name = ("滨江市城市绿化与生态建设工作报告" * 13)[:200] + ".html"
    page = docsamples.write_html(tmp_path / "green.html").read_bytes()
    response = upload(client, (name, page))
    assert response.status_code == 201, response.text
    [added] = response.json()["added"]
    assert len(added["id"].encode("utf-8")) <= 200 and re.search(r"-[0-9a-f]{8}$", added["id"])
    assert client.get(f"/v1/documents/{added['id']}").json()["passages"] == 4
    assert client.delete(f"/v1/documents/{added['id']}").status_code == 200


def test_the_same_bytes_again_are_answered_with_the_existing_document(
    client: httpx.Client, settings: Settings, tmp_path: Path
) -> None:
    page = docsamples.write_html(tmp_path / "green.html").read_bytes()
    assert upload(client, ("green.html", page)).status_code == 201
    build = live_build_name(settings.index_dir)
    for name in ("green.html", "another-name.html", "绿化报告.txt"):
        response = upload(client, (name, page))
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["added"], body["removed"]) == ([], [])
        assert [d["id"] for d in body["duplicates"]] == ["green"] and body["index"]["embedded"] == 0
    assert live_build_name(settings.index_dir) == build
    assert [d["id"] for d in client.get("/v1/documents").json()["documents"]] == sorted([docgen.STEM, "green"])


def _wait_until(condition: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition did not come true"
        time.sleep(0.05)


def test_a_change_stops_when_its_client_disconnects(
    base_url: str, client: httpx.Client, settings: Settings, hostile: dict[str, Path]
) -> None:
    """The client gives up (its read time-out) while the server embeds 300 passages: the change stops
    before its commit point, and the documents and the index are as they were."""
    build, names = live_build_name(settings.index_dir), corpus_names(settings)
    path = hostile["many"]
    staging = settings.corpus_dir / STAGING_DIR
    with httpx.Client(base_url=base_url, timeout=httpx.Timeout(60, read=3)) as impatient, \
            pytest.raises(httpx.ReadTimeout):
        upload(impatient, (path.name, path.read_bytes()))
    _wait_until(lambda: not staging.exists())
    assert live_build_name(settings.index_dir) == build and corpus_names(settings) == names
    assert "many" not in {d["id"] for d in client.get("/v1/documents").json()["documents"]}


def test_a_change_over_its_time_out_is_504_and_changes_nothing(settings: Settings, hostile: dict[str, Path]) -> None:
    quick = settings.model_copy(update={"change_timeout": 2.0})
    build, names = live_build_name(settings.index_dir), corpus_names(settings)
    path = hostile["many"]
    with serve(create_app(quick)) as url, httpx.Client(base_url=url, timeout=300) as c:
        error = error_of(upload(c, (path.name, path.read_bytes())), 504)
        assert error["type"] == "change_timeout" and "nothing was changed" in error["message"]
        assert "1557" in c.post("/v1/ask", json={"question": "制造业单项冠军企业有多少家？",
                                                 "generator": "extractive"}).json()["answer"]
    assert live_build_name(settings.index_dir) == build and corpus_names(settings) == names

"""``/v1/documents`` through a real uvicorn on loopback, with httpx, the official openai client and raw sockets.

The server is built as ``assistant serve`` builds it (the lifespan opens the index and follows it
with a live retriever) over a private copy of the corpus and index. Documents come from
tests/docsamples.py and tests/docgen.py.
"""

from __future__ import annotations

import select
import shutil
import signal
import socket
import threading
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import openai
import pytest
from pydantic import SecretStr

from assistant.api import create_app
from assistant.core.settings import Settings
from assistant.storage.documents import CHANGE_FILE, STAGING_DIR
from assistant.storage.index import live_build_name
from tests import docgen, docsamples
from tests.docsupport import assistant_command, corpus_names, private_corpus, wait_for
from tests.docsupport import only_the_report_afterwards as only_the_report_afterwards  # autouse
from tests.servers import serve

KEY = "docs-key-1"
UPLOAD_LIMIT = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def settings(built_index_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("api-documents")
    shutil.copytree(built_index_settings.index_dir, folder / "index", ignore=shutil.ignore_patterns(".lock"))
    own = private_corpus(built_index_settings.model_copy(update={"index_dir": folder / "index"}), folder)
    return own.model_copy(update={"max_upload_bytes": UPLOAD_LIMIT, "max_unpacked_bytes": 1024 * 1024})



@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("samples")
    return {kind: docsamples.write(kind, folder / f"green.{kind}") for kind in ("pdf", "docx", "html")}


def upload(client: httpx.Client, *paths: Path, key: str | None = None, **params: Any) -> httpx.Response:
    files = [("file", (p.name, p.read_bytes(), "application/octet-stream")) for p in paths]
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.post("/v1/documents", files=files, params=params, headers=headers)


def error_of(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}
    return dict(body["error"])


def ask(client: httpx.Client, question: str) -> dict[str, Any]:
    response = client.post("/v1/ask", json={"question": question, "generator": "extractive"})
    assert response.status_code == 200, response.text
    return dict(response.json())


def sources_found(client: httpx.Client, query: str) -> set[str]:
    response = client.post("/v1/search", json={"query": query, "k": 20})
    assert response.status_code == 200, response.text
    return {r["source"] for r in response.json()["results"]}


# ---- the round trip ---------------------------------------------------------------------------------


def test_upload_ask_cite_delete(client: httpx.Client, base_url: str, samples: dict[str, Path]) -> None:
    size = client.get("/healthz").json()["index_size"]
    response = upload(client, samples["pdf"])
    assert response.status_code == 201, response.text
    change = response.json()
    assert [(d["id"], d["type"], d["pages"], d["passages"]) for d in change["added"]] == [("green", "pdf", 1, 4)]
    assert (change["index"]["embedded"], change["index"]["reused"]) == (4, size)
    listed = client.get("/v1/documents").json()["documents"]
    assert {d["id"] for d in listed} == {docgen.STEM, "green"}
    assert client.get("/v1/documents/green").json()["sha256"] == change["added"][0]["sha256"]
    # answered at once, by the same server, with a citation to the new document
    assert client.get("/healthz").json()["index_size"] == size + 4
    answer = ask(client, docsamples.QUESTION)
    assert not answer["refused"] and docsamples.ANSWER_FIGURE in answer["answer"]
    assert {c["source"] for c in answer["citations"]} == {"green.pdf"}
    chat = openai.OpenAI(base_url=f"{base_url}/v1", api_key="unused").chat.completions.create(
        model="extractive", messages=[{"role": "user", "content": docsamples.QUESTION_2}]
    )
    assert docsamples.ANSWER_FIGURE_2 in (chat.choices[0].message.content or "")
    assert {c["source"] for c in chat.model_extra["citations"]} == {"green.pdf"}  # type: ignore[index]

    removed = client.delete("/v1/documents/green")
    assert removed.status_code == 200, removed.text
    assert [d["id"] for d in removed.json()["removed"]] == ["green"] and removed.json()["index"]["embedded"] == 0
    assert "green.pdf" not in sources_found(client, docsamples.QUESTION)
    after = ask(client, docsamples.QUESTION)
    assert docsamples.ANSWER_FIGURE not in after["answer"]
    assert "green.pdf" not in {c["source"] for c in after["citations"]}
    assert client.get("/healthz").json()["index_size"] == size
    error_of(client.get("/v1/documents/green"), 404)


def test_several_files_in_one_upload_are_one_change(client: httpx.Client, samples: dict[str, Path],
                                                    tmp_path: Path) -> None:
    html = tmp_path / "绿化 网页.html"
    html.write_bytes(samples["html"].read_bytes())
    response = upload(client, samples["docx"], html)
    assert response.status_code == 201, response.text
    assert sorted(d["id"] for d in response.json()["added"]) == ["green", "绿化-网页"]
    assert {"green.docx", "绿化-网页.html"} <= sources_found(client, docsamples.QUESTION)


def test_an_existing_id_is_409_unless_replaced(client: httpx.Client, samples: dict[str, Path]) -> None:
    assert upload(client, samples["pdf"]).status_code == 201
    error = error_of(upload(client, samples["html"]), 409)
    assert error["type"] == "document_conflict" and "replace=true" in error["message"]
    replaced = upload(client, samples["html"], replace="true")
    assert replaced.status_code == 201, replaced.text
    assert [d["source"] for d in replaced.json()["removed"]] == ["green.pdf"]
    found = sources_found(client, docsamples.QUESTION)
    assert "green.html" in found and "green.pdf" not in found


def test_unknown_and_last_document_cannot_be_deleted(client: httpx.Client) -> None:
    assert error_of(client.delete("/v1/documents/nope"), 404)["type"] == "document_not_found"
    assert error_of(client.delete(f"/v1/documents/{docgen.STEM}"), 409)["type"] == "document_conflict"


# ---- bad input: a clear 4xx, nothing half-indexed, the previous index still serving ------------------


def _bad(folder: Path) -> dict[str, tuple[Path, int, str, str]]:
    lines = ["滨江市2024年新增公园绿地1286公顷。"]
    whole = docsamples.write_pdf(folder / "whole.pdf").read_bytes()
    (folder / "cut.pdf").write_bytes(whole[: len(whole) // 2])
    (folder / "empty.docx").write_bytes(b"")
    (folder / "photo.pdf").write_bytes(b"\xff\xd8\xff\xe0" + bytes(200))
    shutil.copy(docsamples.write_docx(folder / "real.docx"), folder / "word.pdf")
    with zipfile.ZipFile(folder / "sheet.docx", "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    with zipfile.ZipFile(folder / "bomb.docx", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"<w:document>" + b" " * (8 * 1024 * 1024))
    return {
        "encrypted-pdf": (docgen.write_text_pdf(folder / "locked.pdf", lines, password="pw"), 422,
                          "unreadable_document", "locked.pdf is a password-protected PDF"),
        "corrupt-pdf": (folder / "cut.pdf", 422, "unreadable_document", "cut.pdf is not a readable PDF"),
        "empty": (folder / "empty.docx", 422, "unreadable_document", "empty.docx is empty (0 bytes)"),
        "scan": (docgen.write_scan_pdf(folder / "scan.pdf", lines), 422, "unreadable_document",
                 "no usable text layer"),
        "image": (folder / "photo.pdf", 415, "unsupported_document", "photo.pdf is a JPEG image"),
        "word-named-pdf": (folder / "word.pdf", 415, "unsupported_document",
                           "named like a PDF but its content is a Word document"),
        "spreadsheet": (folder / "sheet.docx", 415, "unsupported_document", "sheet.docx is an Excel workbook"),
        "zip-bomb": (folder / "bomb.docx", 413, "document_too_large", "refused as a zip bomb"),
        "2000-pages": (docgen.write_text_pdf(folder / "long.pdf", lines, pages=2000, font_size=8, top=300), 413,
                       "document_too_large", "long.pdf has 2000 pages; documents may have at most 1000"),
    }


BAD = ["encrypted-pdf", "corrupt-pdf", "empty", "scan", "image", "word-named-pdf", "spreadsheet", "zip-bomb",
       "2000-pages"]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int, str, str]]:
    return _bad(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("case", BAD)
def test_a_bad_upload_is_a_clear_4xx_and_changes_nothing(
    case: str, bad_files: dict[str, tuple[Path, int, str, str]], client: httpx.Client, settings: Settings,
    samples: dict[str, Path],
) -> None:
    path, status, kind, message = bad_files[case]
    build, names = live_build_name(settings.index_dir), corpus_names(settings)
    listed = client.get("/v1/documents").json()
    # beside a good file: the change is all or nothing
    error = error_of(upload(client, samples["html"], path), status)
    assert error["type"] == kind and message in error["message"], error
    assert live_build_name(settings.index_dir) == build and corpus_names(settings) == names
    assert client.get("/v1/documents").json() == listed
    assert "1557" in ask(client, "制造业单项冠军企业有多少家？")["answer"]  # the previous index serves


@pytest.mark.parametrize(
    ("body", "content_type", "says"),
    [
        (b'{"file": "report.pdf"}', "application/json", "send the document as multipart/form-data"),
        (b"--b\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--b--\r\n",
         "multipart/form-data; boundary=b", "has no 'file' part"),
    ],
    ids=["json", "no-file-part"],
)
def test_an_upload_without_a_document_is_422(client: httpx.Client, body: bytes, content_type: str, says: str) -> None:
    error = error_of(client.post("/v1/documents", content=body, headers={"content-type": content_type}), 422)
    assert error["type"] == "invalid_input" and says in error["message"]


def test_an_upload_over_the_limit_is_413_before_it_is_read(client: httpx.Client, settings: Settings) -> None:
    big = b"x" * (UPLOAD_LIMIT + 70 * 1024)
    error = error_of(client.post("/v1/documents", files={"file": ("big.txt", big, "text/plain")}), 413)
    assert error["type"] == "payload_too_large" and f"{UPLOAD_LIMIT} bytes (ASSISTANT_MAX_UPLOAD_BYTES)" in error[
        "message"]
    # just under the body limit, just over the file limit: the file itself is measured too
    exact = b"x" * (UPLOAD_LIMIT + 1)
    error = error_of(client.post("/v1/documents", files={"file": ("exact.txt", exact, "text/plain")}), 413)
    assert error["type"] == "document_too_large" and f"at most {UPLOAD_LIMIT} bytes" in error["message"]
    # the chat's upload route has the same limit
    assert client.post("/ui/gradio_api/upload", files={"files": ("big.txt", big, "text/plain")}).status_code == 413
    # the JSON routes keep their own, small limit
    assert error_of(client.post("/v1/search", content=b"x" * (settings.max_body_bytes + 1),
                                headers={"content-type": "application/json"}), 413)["type"] == "payload_too_large"


def test_a_chunked_upload_is_cut_off_while_it_streams(base_url: str) -> None:
    """No Content-Length: the server counts what arrives and answers 413 long before the body ends."""
    url = urlsplit(base_url)
    total = 200 * 1024 * 1024
    sent, reply = 0, b""
    with socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=60) as sock:
        sock.sendall(b"POST /v1/documents HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                     b"Content-Type: multipart/form-data; boundary=b\r\n\r\n")
        head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n'
        chunk = b"x" * 65536
        try:
            sock.sendall(b"%x\r\n%s\r\n" % (len(head), head))
            while sent < total and not select.select([sock], [], [], 0)[0]:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server closed the connection after answering
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"ASSISTANT_MAX_UPLOAD_BYTES" in reply
    assert sent < total / 4, f"sent {sent} bytes before the answer"


# ---- keys, other processes, crashes, concurrency -------------------------------------------------------


def test_api_keys_guard_the_document_routes(settings: Settings, samples: dict[str, Path]) -> None:
    keyed = settings.model_copy(update={"api_keys": [SecretStr(KEY)]})
    with serve(create_app(keyed)) as url, httpx.Client(base_url=url, timeout=300) as c:
        for method, path in [("GET", "/v1/documents"), ("GET", "/v1/documents/green"),
                             ("DELETE", "/v1/documents/green")]:
            assert error_of(c.request(method, path), 401)["type"] == "unauthorized"
        assert error_of(upload(c, samples["pdf"]), 401)["type"] == "unauthorized"
        assert error_of(upload(c, samples["pdf"], key="wrong"), 401)["type"] == "unauthorized"
        assert not (settings.corpus_dir / "green.pdf").exists()
        assert upload(c, samples["pdf"], key=KEY).status_code == 201
        assert c.delete("/v1/documents/green", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200


def test_the_server_answers_from_a_cli_change_without_a_restart(
    client: httpx.Client, settings: Settings, samples: dict[str, Path]
) -> None:
    added = assistant_command(settings, "add", str(samples["docx"]), "--json")
    out, err = added.communicate(timeout=600)
    assert added.returncode == 0, err
    assert "green.docx" in sources_found(client, docsamples.QUESTION)
    assert {c["source"] for c in ask(client, docsamples.QUESTION)["citations"]} == {"green.docx"}

    removed = assistant_command(settings, "remove", "green")
    _, err = removed.communicate(timeout=600)
    assert removed.returncode == 0, err
    assert "green.docx" not in sources_found(client, docsamples.QUESTION)


def test_a_killed_cli_add_leaves_the_server_on_the_previous_index(
    client: httpx.Client, settings: Settings, samples: dict[str, Path], tmp_path: Path
) -> None:
    big = docgen.write_pdf(tmp_path / "big-report.pdf")
    build = live_build_name(settings.index_dir)
    proc = assistant_command(settings, "add", str(big), "-q")
    try:
        wait_for(lambda: any((settings.corpus_dir / STAGING_DIR).glob(f"*/{CHANGE_FILE}")), proc)
        # while the other process embeds, the server keeps answering from the live index
        assert "1557" in ask(client, "制造业单项冠军企业有多少家？")["answer"]
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert live_build_name(settings.index_dir) == build
    assert [d["id"] for d in client.get("/v1/documents").json()["documents"]] == [docgen.STEM]
    assert "big-report.pdf" not in sources_found(client, "制造业单项冠军企业")
    # the next change through the API settles the dead one and goes through
    assert upload(client, samples["pdf"]).status_code == 201
    assert not (settings.corpus_dir / STAGING_DIR).exists()


def test_concurrent_uploads_are_serialised_and_none_is_lost(
    client: httpx.Client, base_url: str, samples: dict[str, Path], tmp_path: Path
) -> None:
    page = samples["html"].read_text(encoding="utf-8")
    paths = []
    for i in range(3):
        path = tmp_path / f"district-{i}.html"
        path.write_text(page.replace("1286", str(7000 + i)), encoding="utf-8")
        paths.append(path)
    results: dict[str, int] = {}

    def post(path: Path) -> None:
        with httpx.Client(base_url=base_url, timeout=600) as c:
            results[path.stem] = upload(c, path).status_code

    threads = [threading.Thread(target=post, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    assert results == {p.stem: 201 for p in paths}
    listed = {d["id"]: d for d in client.get("/v1/documents").json()["documents"]}
    assert set(listed) == {docgen.STEM, *(p.stem for p in paths)}
    assert all(listed[p.stem]["indexed"] and listed[p.stem]["passages"] == 4 for p in paths)
    for i, path in enumerate(paths):
        hits = client.post("/v1/search", json={"query": f"滨江市新增公园绿地{7000 + i}公顷", "k": 20}).json()
        assert f"{path.stem}.html" in {r["source"] for r in hits["results"]}

"""Bounded work per document (assistant/ingest/limits.py, assistant/ingest/worker.py): each limit
refuses a document over it with DocumentTooLargeError (HTTP 413, exit 3) naming its setting, and
any failure of a reader comes back as UnreadableDocumentError (HTTP 422, exit 3). The bombs are
the ones of issue 25 (tests/bombs.py), scaled down where a smaller one shows the same."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.core.errors import DocumentTooLargeError, RequestCancelledError, UnreadableDocumentError
from assistant.core.settings import Settings
from assistant.ingest import ReadOptions, ingest_file
from assistant.ingest.limits import pdf_content
from tests import bombs, docgen

MB = 1024 * 1024
#: the settings' limits, read in a worker as the CLI, the API and the chat read
WORKER = ReadOptions.from_settings(Settings(_env_file=None))


def _refused(path: Path, pattern: str, options: ReadOptions = WORKER) -> DocumentTooLargeError:
    with pytest.raises(DocumentTooLargeError, match=pattern) as info:
        ingest_file(path, options=options)
    assert (info.value.http_status, info.value.exit_code) == (413, 3)
    return info.value


def _children() -> list[str]:
    """The reading workers still alive (the fork server itself is not one)."""
    return [p.name for p in multiprocessing.active_children() if p.name.startswith("read ")]


# ---- PDF ----------------------------------------------------------------------------------------


def test_a_pdf_decompression_bomb_is_refused_by_its_page_content(tmp_path: Path) -> None:
    bomb = bombs.write_pdf_bomb(tmp_path / "bomb.pdf", 200 * MB)
    assert bomb.stat().st_size < MB  # 200 MB of content in a file of a fifth of a megabyte
    _refused(bomb, r"bomb.pdf: page 1 draws 200 MB or more of unpacked content; a page may draw at most 32 MB "
                   r"\(ASSISTANT_MAX_PAGE_CONTENT_BYTES\): refused as a decompression bomb")


def test_pdf_content_is_also_bounded_for_the_whole_document(tmp_path: Path) -> None:
    pdf = bombs.write_pdf_bomb(tmp_path / "pages.pdf", 3 * MB, pages=4)  # 3 MB a page: under the page limit
    options = ReadOptions(max_content_bytes=10 * MB)
    _refused(pdf, r"pages.pdf unpacks to more than 10 MB of PDF content.*\(ASSISTANT_MAX_CONTENT_BYTES\)", options)
    assert "Section 3" in ingest_file(pdf, options=ReadOptions(max_content_bytes=13 * MB)).passages[-1].text
    # each page is measured by what it draws: here each draws 3 MB
    _refused(pdf, r"pages.pdf: page 1 draws 3.0 MB or more of unpacked content; a page may draw at most 2.0 MB",
             ReadOptions(max_page_content_bytes=2 * MB))


def test_a_real_pdf_is_measured_and_read(tmp_path: Path) -> None:
    pdf = docgen.write_pdf(tmp_path / "report.pdf")
    content = pdf_content(pdf, 256 * MB)
    assert 0 < content.total < MB and any(s.image is False for s in content.streams.values())
    assert len(ingest_file(pdf, options=WORKER).passages) == len(ingest_file(pdf).passages) > 10


def test_the_worker_memory_limit_stops_what_the_checks_let_through(tmp_path: Path) -> None:
    # content limits raised past the bomb: pdfium itself inflates it, and the worker's memory runs out
    bomb = bombs.write_pdf_bomb(tmp_path / "bomb.pdf", 600 * MB)
    options = ReadOptions(max_page_content_bytes=1024 * MB, max_content_bytes=1024 * MB, max_seconds=60,
                          max_memory_bytes=400 * MB)
    _refused(bomb, r"reading bomb.pdf needs more than the 400 MB of memory reading a document may use "
                   r"\(ASSISTANT_MAX_READING_MEMORY_BYTES\)", options)
    assert _children() == []


# ---- DOCX ---------------------------------------------------------------------------------------


def test_a_docx_cell_spanning_a_hundred_million_columns_is_refused(tmp_path: Path) -> None:
    bomb = bombs.write_gridspan_docx(tmp_path / "span.docx")
    assert bomb.stat().st_size < 64 * 1024
    _refused(bomb, r"span.docx has a table of more than 50000 cells \(merged cells counted once per column they "
                   r"span\); tables may have at most that \(ASSISTANT_MAX_TABLE_CELLS\)")
    # a table within the limit is read as before
    wide = bombs.write_gridspan_docx(tmp_path / "wide.docx", span=40, rows=3)
    assert "5%" in ingest_file(wide, options=WORKER).passages[-1].text


def test_a_docx_text_part_over_its_limit_is_refused(tmp_path: Path) -> None:
    docx = bombs.write_paragraph_docx(tmp_path / "long.docx", 20_000)
    assert docx.stat().st_size < 200 * 1024  # ~2.8 MB of XML
    _refused(docx, r"long.docx: its text \(word/document.xml\) unpacks to more than 1.0 MB; documents may unpack "
                   r"to at most that \(ASSISTANT_MAX_DOCX_XML_BYTES\)", ReadOptions(max_xml_bytes=MB))


def test_passages_per_document_are_bounded(tmp_path: Path) -> None:
    docx = bombs.write_paragraph_docx(tmp_path / "many.docx", 2500)
    _refused(docx, r"many.docx gives 25\d\d passages; a document may give at most 2000 \(ASSISTANT_MAX_PASSAGES\)")
    html = bombs.write_many_paragraphs_html(tmp_path / "many.html", 300)
    _refused(html, r"many.html gives \d+ passages; a document may give at most 100", ReadOptions(max_passages=100))
    assert len(ingest_file(html, options=ReadOptions(max_passages=1000)).passages) > 100


def test_reading_is_stopped_at_its_time_limit(tmp_path: Path) -> None:
    docx = bombs.write_paragraph_docx(tmp_path / "slow.docx", 60_000)  # seconds of python-docx
    options = ReadOptions(max_passages=100_000, max_seconds=0.5, max_memory_bytes=1024 * MB)
    started = time.monotonic()
    _refused(docx, r"reading slow.docx took longer than 0.5 s, the most reading a document may take "
                   r"\(ASSISTANT_MAX_READING_SECONDS\); it was stopped", options)
    assert time.monotonic() - started < 30  # stopped, not finished: reading it whole takes longer
    assert _children() == []


def test_reading_stops_when_the_change_is_given_up(tmp_path: Path) -> None:
    docx = bombs.write_paragraph_docx(tmp_path / "slow.docx", 60_000)
    options = ReadOptions(max_passages=100_000, max_seconds=600)
    given_up = time.monotonic() + 0.5

    def check() -> None:
        if time.monotonic() > given_up:
            raise RequestCancelledError("the client disconnected")

    with pytest.raises(RequestCancelledError, match="the client disconnected"):
        ingest_file(docx, options=options, check=check)
    assert _children() == []


# ---- every reader failure is an unreadable document ---------------------------------------------


def test_a_bad_outline_level_is_ignored_not_a_crash(tmp_path: Path) -> None:
    docx = bombs.write_outline_level_docx(tmp_path / "outline.docx", "abc")
    texts = [p.text for p in ingest_file(docx, options=WORKER).passages]
    assert any(bombs.LINE in t for t in texts)


def test_a_library_error_inside_a_reader_is_an_unreadable_document(tmp_path: Path) -> None:
    docx = bombs.write_gridspan_docx(tmp_path / "span.docx", span="abc", rows=1)
    for options in (ReadOptions(), WORKER):  # in this process, and in a worker
        with pytest.raises(UnreadableDocumentError, match=r"span.docx could not be read: its reader failed "
                                                          r"\(ValueError: invalid literal") as info:
            ingest_file(docx, options=options)
        assert (info.value.http_status, info.value.exit_code) == (422, 3)


def test_index_explain_exits_3_with_a_message_not_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the repository
    span = bombs.write_gridspan_docx(tmp_path / "span.docx", span="abc", rows=1)
    assert main(["index", "--explain", str(span)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: span.docx could not be read: its reader failed (ValueError")
    assert "Traceback" not in err
    bomb = bombs.write_gridspan_docx(tmp_path / "bomb.docx")
    assert main(["index", "--explain", str(bomb)]) == 3
    assert "(ASSISTANT_MAX_TABLE_CELLS)" in capsys.readouterr().err
    outline = bombs.write_outline_level_docx(tmp_path / "outline.docx")
    assert main(["index", "--explain", str(outline)]) == 0

"""The readers fed mutated real documents (hypothesis): whatever the bytes, reading ends in passages or
in :class:`UnreadableDocumentError` (HTTP 4xx, exit 3), never in another exception, a hang or a crash
of the process.

The documents are real ones made by the tests: the report as a PDF (two columns, a table), the
sample report as PDF, DOCX and HTML. PDFs are mutated as bytes, with PDF tokens among the bytes
written (``/Length``, ``obj``, huge numbers); a DOCX's XML parts are mutated and zipped again
(mutating its zip bytes only tests the zip module); HTML as text and as bytes. Each document is read
as the server reads it, in a worker process with the default limits, so a crash in a native
library shows as the error it is turned into. The tally of outcomes is written to
``test-output/reader-fuzz.json``.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.core.errors import UnreadableDocumentError
from assistant.core.settings import Settings
from assistant.ingest import ReadOptions, ingest_file
from tests import docgen, docsamples

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
#: examples per format (READER_FUZZ_EXAMPLES raises it for a longer run)
EXAMPLES = int(os.environ.get("READER_FUZZ_EXAMPLES", "60"))
#: the server's limits, in a worker as the server reads
OPTIONS = ReadOptions.from_settings(Settings(_env_file=None))
PDF_TOKENS = [b"obj", b"endobj", b"stream\n", b"endstream", b"/Length 99999999", b"/Length -1", b"/Filter /LZWDecode",
              b"/Filter /FlateDecode", b"<<", b">>", b"[", b"]", b"(", b")", b"9999999999 0 R", b"/Type /Page",
              b"/Kids [1 0 R]", b"/Count 1000000", b"startxref", b"trailer", b"xref\n0 1\n", b"\x00", b"\xff" * 8]
#: WordprocessingML that keeps document.xml well-formed wherever it goes between two tags
XML_ELEMENTS = ['<w:gridSpan w:val="99999"/>', '<w:gridSpan w:val="-3"/>', '<w:outlineLvl w:val="-7"/>',
                '<w:outlineLvl w:val="x"/>', "<w:vMerge/>", '<w:vMerge w:val="continue"/>',
                '<w:pStyle w:val="Heading1"/>', '<w:pStyle w:val="no-such-style"/>', "<w:br/>", "<w:p/>",
                '<w:tc><w:tcPr><w:vMerge w:val="continue"/></w:tcPr><w:p/></w:tc>', "<w:tr><w:tc><w:p/></w:tc></w:tr>",
                '<w:tbl><w:tr><w:tc><w:tcPr><w:gridSpan w:val="7"/></w:tcPr><w:p/></w:tc></w:tr></w:tbl>',
                '<w:r><w:t xml:space="preserve">  </w:t></w:r>', '<w:numPr><w:ilvl w:val="x"/></w:numPr>',
                "<w:sectPr/>", "<w:tbl/>", "<w:tr/>", '<w:p><w:r><w:t>表1 标题</w:t></w:r></w:p>']
#: and fragments that break it
XML_TOKENS = [*XML_ELEMENTS, "<w:tbl>", "</w:tbl>", "<w:tr>", "<w:tc>", "&amp;", "&#0;", "</w:p>", "<w:p>", "]]>",
              "<!DOCTYPE x [<!ENTITY a 'a'>]>", "<![CDATA["]
HTML_TOKENS = ["<table>", "<tr>", "<td colspan=99999999>", "</table>", "<h1>", "<h7>", "<script>", "<!--", "-->",
               "<caption>", "<p>", "&#xFFFFFF;", "&#0;", "<svg><foreignObject>", "<![CDATA[", "<?xml ?>", "<base href='file:///etc/'>",
               '<meta charset="utf-16">', "<math><mi>", "<template>", "<table><table><table>"]

KINDS = ("overwrite", "insert", "delete", "truncate", "repeat")

tally: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def write_tally() -> Iterator[None]:
    yield
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "reader-fuzz.json").write_text(json.dumps(dict(sorted(tally.items())), indent=1), encoding="utf-8")


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("fuzz-originals")
    return {
        "report.pdf": docgen.write_pdf(folder / "report.pdf").read_bytes(),
        "sample.pdf": docsamples.write_pdf(folder / "sample.pdf").read_bytes(),
        "sample.docx": docsamples.write_docx(folder / "sample.docx").read_bytes(),
        "report.docx": docgen.write_docx(folder / "report.docx").read_bytes(),
        "sample.html": docsamples.write_html(folder / "sample.html").read_bytes(),
        "report.html": docgen.write_html(folder / "report.html").read_bytes(),
    }


def _edit(data: bytes, edits: list[tuple[str, float, bytes]], *, text: bool = False) -> bytes:
    """``data`` with ``edits`` applied; for a text format on characters (a tag inserted after a ``>``)."""
    if text:
        edited: str = _apply(data.decode("utf-8"), [(k, w, p.decode("utf-8")) for k, w, p in edits])
        return edited.encode("utf-8")
    out: bytes = _apply(data, edits)
    return out


def _apply(data: Any, edits: list[tuple[str, float, Any]]) -> Any:
    for kind, where, payload in edits:
        at = int(where * len(data))
        if kind == "insert" and payload[:1] in ("<", b"<"):
            close = ">" if isinstance(data, str) else b">"
            at = data.find(close, at) + 1  # between two tags, where markup is looked for
        if kind == "overwrite":
            data = data[:at] + payload + data[at + len(payload):]
        elif kind == "insert":
            data = data[:at] + payload + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + 1 + len(payload) * 37:]
        elif kind == "truncate":
            data = data[:at]
        elif kind == "repeat":
            piece = data[at : at + 1 + len(payload) * 11]
            data = data[:at] + piece * (2 + len(payload)) + data[at:]
    return data


def _edits(tokens: list[bytes], *, text: bool = False, kinds: tuple[str, ...] = KINDS,
           noise: bool = True) -> st.SearchStrategy[list[tuple[str, float, bytes]]]:
    """Edits whose payloads are mostly the format's tokens, else random bytes (or, for text formats, characters)."""
    junk = st.text(min_size=1, max_size=12).map(str.encode) if text else st.binary(min_size=1, max_size=12)
    payload = st.one_of(st.sampled_from(tokens), st.sampled_from(tokens), junk) if noise else st.sampled_from(tokens)
    edit = st.tuples(st.sampled_from(kinds), st.floats(0, 1, allow_nan=False), payload)
    return st.lists(edit, min_size=1, max_size=6)


def _read(path: Path) -> None:
    try:
        document = ingest_file(path, options=OPTIONS)
    except UnreadableDocumentError as exc:
        tally[f"{path.suffix[1:]}: {type(exc).__name__}"] += 1
        return
    except Exception as exc:  # the finding: reported with the bytes that caused it
        kept = OUTPUT / "reader-fuzz-failures"
        kept.mkdir(parents=True, exist_ok=True)
        (kept / path.name).write_bytes(path.read_bytes())
        raise AssertionError(f"{path.name} raised {type(exc).__name__}: {exc} (kept in {kept})") from exc
    assert document.passages
    tally[f"{path.suffix[1:]}: read"] += 1


SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


@SETTINGS
@given(name=st.sampled_from(["report.pdf", "sample.pdf"]), edits=_edits(PDF_TOKENS))
def test_mutated_pdfs_are_read_or_refused_cleanly(originals: dict[str, bytes], tmp_path: Path, name: str,
                                                  edits: list[tuple[str, float, bytes]]) -> None:
    path = tmp_path / name
    path.write_bytes(_edit(originals[name], edits))
    _read(path)


@SETTINGS
@given(name=st.sampled_from(["sample.docx", "report.docx"]),
       part=st.sampled_from(["word/document.xml", "word/styles.xml", "[Content_Types].xml",
                             "word/_rels/document.xml.rels"]),
       edits=st.one_of(_edits([t.encode() for t in XML_TOKENS], text=True),  # mostly broken XML
                       _edits([t.encode() for t in XML_ELEMENTS], kinds=("insert",), noise=False)),  # well-formed
       raw=st.booleans())
def test_mutated_docx_files_are_read_or_refused_cleanly(originals: dict[str, bytes], tmp_path: Path, name: str,
                                                        part: str, edits: list[tuple[str, float, bytes]],
                                                        raw: bool) -> None:
    original = tmp_path / f"original-{name}"
    original.write_bytes(originals[name])
    path = tmp_path / name
    with zipfile.ZipFile(original) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item.filename, _edit(data, edits, text=True) if item.filename == part else data)
    if raw and edits[0][0] == "overwrite":  # and the zip's own bytes too, now and then
        path.write_bytes(_edit(path.read_bytes(), edits[:1]))
    _read(path)


@SETTINGS
@given(name=st.sampled_from(["sample.html", "report.html"]), edits=_edits([t.encode() for t in HTML_TOKENS], text=True))
def test_mutated_html_pages_are_read_or_refused_cleanly(originals: dict[str, bytes], tmp_path: Path, name: str,
                                                        edits: list[tuple[str, float, bytes]]) -> None:
    path = tmp_path / name
    path.write_bytes(_edit(originals[name], edits, text=True))
    _read(path)

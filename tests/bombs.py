"""Small files that cost a reader a lot: the decompression bombs of issue 25, made by the tests.

- :func:`write_pdf_bomb`: a one-page PDF whose content stream is a line of text followed by
  ``stream_bytes`` of spaces, deflated (1.5 GB of content in 1.5 MB of file);
- :func:`write_gridspan_docx`: a Word document whose table rows hold a cell spanning
  ``span`` grid columns (``<w:gridSpan w:val="99999999"/>``);
- :func:`write_paragraph_docx`: a Word document of ``paragraphs`` short paragraphs, whose
  ``document.xml`` unpacks to megabytes from a zip of kilobytes;
- :func:`write_deep_html`: an HTML page of ``paragraphs`` paragraphs (many passages from little HTML).

The benchmark (benchmarks/bench_hostile.py) and the tests build them the same way.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path

#: the text every bomb carries, so that a reader that survives it finds something to read
LINE = "Bomb report: output grew 5 percent in 2024."
_CHUNK = 1 << 24


def _page_line(index: int) -> str:
    """Page 1 says :data:`LINE`; the others say other things (a line on every page is a running header)."""
    words = ["exports", "imports", "wages", "savings", "output", "investment", "prices", "jobs"]
    return LINE if index == 0 else f"Section {index}: {words[index % len(words)]} changed by {index + 2} points."


def _deflated_spaces(head: bytes, stream_bytes: int) -> bytes:
    """``head`` then spaces up to ``stream_bytes`` in all, deflated without holding them in memory."""
    packer = zlib.compressobj(9)
    parts = [packer.compress(head)]
    left = stream_bytes - len(head)
    block = b" " * _CHUNK
    while left > 0:
        parts.append(packer.compress(block[: min(left, _CHUNK)]))
        left -= _CHUNK
    parts.append(packer.flush())
    return b"".join(parts)


def write_pdf_bomb(path: Path, stream_bytes: int = 1_500_000_000, *, pages: int = 1) -> Path:
    """``pages`` pages, each drawing :data:`LINE` from a content stream of ``stream_bytes`` (deflated)."""
    streams = [_deflated_spaces(f"BT /F1 24 Tf 72 720 Td ({_page_line(i)}) Tj ET\n".encode("ascii"), stream_bytes)
               for i in range(pages)]
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(pages))
        + b"] /Count %d >>" % pages,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i in range(pages):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
                       b" /Contents %d 0 R >>" % (5 + 2 * i))
        objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(streams[i]) + streams[i]
                       + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def _docx_with_body(path: Path, body: str) -> Path:
    """A python-docx document whose ``<w:body>`` content is replaced by ``body`` (WordprocessingML)."""
    import docx

    blank = path.with_name(path.stem + "-blank.docx")
    docx.Document().save(str(blank))
    with zipfile.ZipFile(blank) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                xml = data.decode("utf-8")
                xml = re.sub(r"<w:body>.*?(<w:sectPr)", lambda m: f"<w:body>{body}{m.group(1)}", xml, flags=re.S)
                data = xml.encode("utf-8")
            target.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    blank.unlink()
    return path


def _paragraph(text: str, extra: str = "") -> str:
    return f"<w:p>{extra}<w:r><w:t>{text}</w:t></w:r></w:p>"


def write_gridspan_docx(path: Path, span: int | str = 99_999_999, rows: int = 3) -> Path:
    """A table of ``rows`` rows, each with a normal cell and a cell spanning ``span`` columns."""
    cell = "<w:tc><w:tcPr>{}</w:tcPr>" + _paragraph("{}") + "</w:tc>"
    table_rows = "".join(
        "<w:tr>" + cell.format("", f"row {r}") + cell.format(f'<w:gridSpan w:val="{span}"/>', "5%") + "</w:tr>"
        for r in range(rows)
    )
    table = f"<w:tbl><w:tblGrid><w:gridCol/><w:gridCol/></w:tblGrid>{table_rows}</w:tbl>"
    return _docx_with_body(path, _paragraph(LINE) + table)


def write_paragraph_docx(path: Path, paragraphs: int = 70_000) -> Path:
    """``paragraphs`` short paragraphs, each a sentence of its own (document.xml of ~128 bytes a paragraph)."""
    text = "第{}段：全年产值比上年增长5%，就业形势保持总体稳定，重点行业运行平稳。"
    body = "".join(_paragraph(text.format(n)) for n in range(paragraphs))
    return _docx_with_body(path, _paragraph(LINE) + body)


def write_outline_level_docx(path: Path, value: str = "abc") -> Path:
    """A heading paragraph whose outline level is not a number (``<w:outlineLvl w:val="abc"/>``)."""
    heading = _paragraph("一、总体情况", f'<w:pPr><w:outlineLvl w:val="{value}"/></w:pPr>')
    return _docx_with_body(path, heading + _paragraph(LINE))


def write_many_paragraphs_html(path: Path, paragraphs: int = 20_000) -> Path:
    """An article of ``paragraphs`` paragraphs."""
    body = "".join(f"<p>第{n}段：产值比上年增长5%，就业保持稳定。</p>" for n in range(paragraphs))
    path.write_text(f"<!DOCTYPE html><html><head><title>t</title></head><body><article><h1>{LINE}</h1>"
                    f"{body}</article></body></html>", encoding="utf-8")
    return path

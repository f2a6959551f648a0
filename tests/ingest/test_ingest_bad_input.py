"""Files the readers must refuse, each with a precise CorpusError (exit code 3), all made by the tests."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.core.errors import CorpusError
from assistant.ingest import ReadOptions, ingest_file, load_corpus
from assistant.ingest.readers.ocr import tesseract_languages
from tests import docgen

LINES = ["国务院关于新质生产力发展情况的报告", "截至2025年10月，累计建设企业技术中心1900余家。"]


def _refused(path: Path, pattern: str, options: ReadOptions | None = None) -> None:
    with pytest.raises(CorpusError, match=pattern):
        ingest_file(path, options=options)


def test_scanned_pdf_without_text_layer(tmp_path: Path) -> None:
    scan = docgen.write_scan_pdf(tmp_path / "scan.pdf", LINES)
    _refused(scan, r"scan.pdf has no usable text layer: its pages hold images of text \(a scan\).*ASSISTANT_OCR=true")


def test_pdf_whose_font_has_no_unicode_map(tmp_path: Path) -> None:
    pdf = docgen.write_unmapped_font_pdf(tmp_path / "glyphs.pdf", LINES)
    _refused(pdf, r"glyphs.pdf has no usable text layer: \d+ of \d+ characters come from fonts without a Unicode map")


def test_password_protected_pdf(tmp_path: Path) -> None:
    pdf = docgen.write_text_pdf(tmp_path / "locked.pdf", LINES, password="secret")
    _refused(pdf, r"locked.pdf is a password-protected PDF")


def test_blank_pdf(tmp_path: Path) -> None:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument.new()
    pdf.new_page(595, 842)
    pdf.save(str(tmp_path / "blank.pdf"))
    pdf.close()
    _refused(tmp_path / "blank.pdf", r"blank.pdf holds no text: its 1 page is blank")


def test_truncated_pdf(tmp_path: Path) -> None:
    data = docgen.write_text_pdf(tmp_path / "whole.pdf", LINES).read_bytes()
    (tmp_path / "cut.pdf").write_bytes(data[: len(data) // 2])
    _refused(tmp_path / "cut.pdf", r"cut.pdf is not a readable PDF \(damaged or truncated\)")


def test_pdf_with_too_many_pages(tmp_path: Path) -> None:
    big = docgen.write_text_pdf(tmp_path / "big.pdf", LINES, pages=2000, font_size=8, top=300)
    _refused(big, r"big.pdf has 2000 pages; documents may have at most 1000 \(ASSISTANT_MAX_PAGES\)")
    assert len(ingest_file(big, options=ReadOptions(max_pages=2000)).passages) >= 1


def test_file_too_large(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("很长的报告。" * 2000, encoding="utf-8")
    _refused(
        path,
        r"long.txt is 0.0 MB; documents may be at most 0.0 MB \(ASSISTANT_MAX_DOCUMENT_BYTES\)",
        ReadOptions(max_bytes=1024),
    )


def test_docx_zip_bomb_is_refused_from_its_directory(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"<w:document>" + b" " * (8 * 1024 * 1024))
    assert bomb.stat().st_size < 100_000  # small on disk, 8 MB unpacked
    _refused(
        bomb,
        r"bomb.docx would unpack to 8 MB, more than 2 MB \(ASSISTANT_MAX_UNPACKED_BYTES\): refused as a zip bomb",
        ReadOptions(max_unpacked_bytes=2 * 1024 * 1024),
    )


def test_damaged_docx(tmp_path: Path) -> None:
    good = docgen.write_docx(tmp_path / "good.docx").read_bytes()
    (tmp_path / "cut.docx").write_bytes(good[: len(good) // 2])
    _refused(tmp_path / "cut.docx", r"cut.docx is a damaged zip archive")
    with zipfile.ZipFile(tmp_path / "broken.docx", "w") as archive:
        archive.writestr(
            "[Content_Types].xml", "<Types xmlns='http://schemas.openxmlformats.org/package/2006/content-types'/>"
        )
        archive.writestr("word/document.xml", "<not-closed")
    _refused(tmp_path / "broken.docx", r"broken.docx is a damaged .docx")


def test_encrypted_docx(tmp_path: Path) -> None:
    ooxml = pytest.importorskip(
        "msoffcrypto.format.ooxml", reason="msoffcrypto-tool (dev extra) writes the encrypted file"
    )
    plain = docgen.write_docx(tmp_path / "plain.docx")
    with plain.open("rb") as source, (tmp_path / "secret.docx").open("wb") as target:
        ooxml.OOXMLFile(source).encrypt("secret", target)
    _refused(tmp_path / "secret.docx", r"secret.docx is a password-protected Office document")


def test_empty_files(tmp_path: Path) -> None:
    for name in ("empty.pdf", "empty.docx", "empty.html", "empty.txt"):
        (tmp_path / name).write_bytes(b"")
        _refused(tmp_path / name, rf"{name} is empty \(0 bytes\)")
    (tmp_path / "blank.md").write_text(" \n\n \n", encoding="utf-8")
    _refused(tmp_path / "blank.md", r"blank.md is empty \(only whitespace\)")
    (tmp_path / "nothing.html").write_text("<html><body><nav>首页</nav></body></html>", encoding="utf-8")
    _refused(tmp_path / "nothing.html", r"nothing.html: no main text found in the HTML page")


def test_type_is_checked_by_content(tmp_path: Path) -> None:
    (tmp_path / "fake.pdf").write_text("只是文本。", encoding="utf-8")
    _refused(tmp_path / "fake.pdf", r"fake.pdf is named like a PDF but its content is plain text")
    shutil.copy(docgen.write_docx(tmp_path / "real.docx"), tmp_path / "word.pdf")
    _refused(tmp_path / "word.pdf", r"word.pdf is named like a PDF but its content is a Word document")
    shutil.copy(docgen.write_text_pdf(tmp_path / "real.pdf", LINES), tmp_path / "pdf.txt")
    _refused(tmp_path / "pdf.txt", r"pdf.txt is named like plain text but its content is a PDF")
    (tmp_path / "image.docx").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    _refused(tmp_path / "image.docx", r"image.docx is a PNG image, not a document")
    with zipfile.ZipFile(tmp_path / "sheet.docx", "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    _refused(tmp_path / "sheet.docx", r"sheet.docx is an Excel workbook")
    (tmp_path / "legacy.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    _refused(tmp_path / "legacy.docx", r"legacy.docx is a legacy Office file")
    (tmp_path / "binary.txt").write_bytes(b"abc\x00\x01\x02" * 10)
    _refused(tmp_path / "binary.txt", r"binary.txt holds binary data")
    # HTML in a .txt file is read as HTML, not as text with tags
    (tmp_path / "page.txt").write_text(docgen.report_html(), encoding="utf-8")
    assert ingest_file(tmp_path / "page.txt").layout.reader == "html"


def test_gb18030_text_is_read(tmp_path: Path) -> None:
    (tmp_path / "gbk.txt").write_bytes("一、总体要求\n\n（一）指导思想。坚持以人民为中心。\n".encode("gb18030"))
    assert "坚持以人民为中心" in ingest_file(tmp_path / "gbk.txt").passages[0].text


def test_cli_exit_code_for_a_bad_corpus_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    docgen.write_scan_pdf(corpus / "scan.pdf", LINES)
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    assert main(["index", "--explain", str(corpus / "scan.pdf")]) == 3
    assert "scan.pdf has no usable text layer" in capsys.readouterr().err
    with pytest.raises(CorpusError):
        load_corpus(corpus)


# ---- OCR (Debian tesseract-ocr + tesseract-ocr-chi-sim; scripts/setup --dev installs them) ----------


@pytest.mark.skipif(not {"chi_sim", "eng"} <= tesseract_languages(), reason="tesseract with chi_sim is not installed")
def test_ocr_reads_a_scanned_page(tmp_path: Path) -> None:
    """One small scanned page, read for real (a few seconds; a full page takes minutes)."""
    scan = docgen.write_scan_pdf(tmp_path / "scan.pdf", LINES)
    doc = ingest_file(scan, options=ReadOptions(ocr=True))
    assert doc.layout.reader == "pdf+ocr" and "OCR read page 1" in doc.layout.notes
    text = "".join(p.text for p in doc.passages)
    assert "企业技术中心1900余家" in text and "新质生产力" in text
    assert doc.layout.title == LINES[0]


def test_ocr_without_tesseract_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scan = docgen.write_scan_pdf(tmp_path / "scan.pdf", LINES)
    monkeypatch.setenv("PATH", str(tmp_path / "no-such-dir"))
    _refused(
        scan,
        r"OCR is on \(ASSISTANT_OCR\) but tesseract is not installed: apt-get install tesseract-ocr",
        ReadOptions(ocr=True),
    )

"""Page images of stored documents: drawn with the passage marked, cached by what they show, bounded."""

from __future__ import annotations

import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from assistant.core.errors import InvalidInputError, NoPageImagesError, PageNotFoundError
from assistant.core.settings import Settings
from assistant.ingest import ingest_file
from assistant.storage.documents import get_document
from assistant.storage.pageimages import PageImages, converter
from tests import docgen
from tests.pagecheck import marked_pixels, png
from tests.support import make_settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    docgen.write_pdf(corpus / "report.pdf")
    docgen.write_docx(corpus / "word.docx", page_breaks=True)
    (corpus / "notes.txt").write_text("一、总则\n\n本办法自发布之日起施行。\n", encoding="utf-8")
    return make_settings(corpus_dir=corpus, index_dir=tmp_path / "index")


def test_the_cache_keys_on_document_page_width_and_marks(settings: Settings) -> None:
    images = PageImages(settings)
    document = get_document(settings, "report")
    passage = next(p for p in ingest_file(settings.corpus_dir / "report.pdf").passages if p.id == "report#item-05")
    first = images.render(document, 1, width=600, passage=passage)
    assert not first.cached and first.pages == 4 and first.marked > 0
    again = images.render(document, 1, width=600, passage=passage)
    assert again.cached and again.path == first.path
    plain = images.render(document, 1, width=600)
    wider = images.render(document, 1, width=700, passage=passage)
    other_page = images.render(document, 2, width=600, passage=passage)
    assert len({first.path, plain.path, wider.path, other_page.path}) == 4
    assert marked_pixels(png(first.path.read_bytes()), png(plain.path.read_bytes()))
    assert first.path.parent.parent == settings.page_cache  # page-images/ in the index folder by default
    assert first.path.name.startswith(document.sha256)  # a replaced document never gets an old picture


def test_the_cache_keeps_within_its_bound_dropping_the_least_recently_used(settings: Settings) -> None:
    document = get_document(settings, "report")
    small = settings.model_copy(update={"page_cache_max_mb": 1})
    images = PageImages(small)
    one = images.render(document, 1, width=800)
    two = images.render(document, 2, width=800)
    assert one.path.stat().st_size + two.path.stat().st_size < 1024 * 1024  # both fit
    long_ago = one.path.stat().st_mtime - 60
    os.utime(one.path, (long_ago, long_ago))
    assert images.render(document, 2, width=800).cached  # page 2 used just now, page 1 long ago
    three = images.render(document, 3, width=800)
    four = images.render(document, 4, width=800)
    left = set(small.page_cache.rglob("*.png"))
    assert sum(p.stat().st_size for p in left) <= 1024 * 1024
    assert one.path not in left and four.path in left  # the least recently used went first, the newest stays
    assert three.path in left or two.path not in left


def test_what_cannot_be_drawn_is_refused_plainly(settings: Settings) -> None:
    images = PageImages(settings)
    report = get_document(settings, "report")
    with pytest.raises(PageNotFoundError, match="has 4 pages; there is no page 5"):
        images.render(report, 5)
    with pytest.raises(InvalidInputError, match="width must be from 200 to 2000"):
        images.render(report, 1, width=199)
    notes = ingest_file(settings.corpus_dir / "notes.txt").passages[0]
    with pytest.raises(PageNotFoundError, match="is not in document 'report'"):
        images.render(report, 1, passage=notes)
    with pytest.raises(NoPageImagesError, match="notes is a text file, which has no pages to draw"):
        images.render(get_document(settings, "notes"), 1)


@pytest.mark.skipif(converter() is not None, reason="LibreOffice is installed here")
def test_a_word_document_without_libreoffice_has_no_page_images(settings: Settings) -> None:
    with pytest.raises(NoPageImagesError, match="LibreOffice is not installed"):
        PageImages(settings).render(get_document(settings, "word"), 1)


def test_a_word_document_is_drawn_from_the_pdf_its_converter_makes(settings: Settings, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # a stand-in for LibreOffice (not installed here) with its command line: it lays the document's
    # paragraphs out as a PDF, one column; the pages and the marks come from that PDF
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "soffice"
    script.write_text(textwrap.dedent(f"""\
        #!{sys.executable}
        import sys
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        import docx
        from tests import docgen
        args = sys.argv[1:]
        out, source = Path(args[args.index("--outdir") + 1]), Path(args[-1])
        lines = [p.text for p in docx.Document(str(source)).paragraphs if p.text.strip()]
        marks, y, pages = [], 800.0, []
        for text in lines:
            found, y = docgen.paragraph_marks(text, y, size=10)
            marks += found
            if y < 80:
                pages.append(marks)
                marks, y = [], 800.0
        docgen.write_layout_pdf(out / (source.stem + ".pdf"), [*pages, marks])
        """), encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    word = get_document(settings, "word")
    passage = next(p for p in ingest_file(settings.corpus_dir / "word.docx").passages if p.id == "word#item-05")
    image = PageImages(settings).render(word, 1, width=500, passage=passage)
    assert image.pages >= 2 and png(image.path.read_bytes()).size[0] == 500
    converted = settings.page_cache / "converted" / f"{word.sha256}.pdf"
    assert converted.is_file()
    marked_somewhere = [PageImages(settings).render(word, n, width=500, passage=passage).marked
                        for n in range(1, image.pages + 1)]
    assert sum(marked_somewhere) > 0

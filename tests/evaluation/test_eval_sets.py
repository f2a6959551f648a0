"""Every eval set in evals/ fits its own corpus: the corpus chunks without error, each gold phrase
names exactly one passage and each key fact is stated there (what `assistant eval` checks before
a run), and the set's header names files that exist."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import evaluation as ev
from assistant.evaluation.dataset import count_by_type, validate_against_corpus
from assistant.evaluation.evalset import open_eval_set
from assistant.ingest import load_corpus
from tests.support import make_settings

SETS = sorted([ev.DEFAULT_QUESTIONS, *ev.EVALS_DIR.glob("*/questions.jsonl"), *ev.EVALS_DIR.glob("*/tuning.jsonl"),
               *ev.EVALS_DIR.glob("*/heldout.jsonl")])
#: held-out sets (measured only at the end of a piece of tuning work, see their header lines)
HELD_OUT = {"meichuan"}
#: sets built from public data (evals/reports/, evals/rc/): each a tuning and a held-out half
EXTERNAL = {"reports", "rc"}


def test_there_is_a_second_corpus() -> None:
    assert ev.EVALS_DIR / "chengzhou" / "questions.jsonl" in SETS


@pytest.mark.parametrize("path", SETS, ids=lambda p: str(p.relative_to(ev.EVALS_DIR)))
def test_a_set_fits_its_corpus(path: Path) -> None:
    es = open_eval_set([path], make_settings())
    assert es.thresholds.is_file() and all(label.is_file() for label in es.judge_labels)
    passages = load_corpus(es.corpus_dir, es.settings.chunk_max_chars)
    assert len({p.id for p in passages}) == len(passages)
    assert validate_against_corpus(es.questions, passages) == []
    counts = count_by_type(es.questions)
    if path.parent.name in EXTERNAL:
        # real documents nobody on the team wrote, questions written from them: every half has
        # answerable and unanswerable questions
        assert len(es.questions) >= 60 and counts["unanswerable"] >= 10
    elif path.parent.name in HELD_OUT:
        # written once, before tuning, and never tuned on: smaller, but every kind of question
        assert len(es.questions) >= 40 and counts["unanswerable"] >= 10 and counts["english"] >= 8
    else:
        assert len(es.questions) >= 60 and counts["unanswerable"] >= 10 and counts["english"] >= 10

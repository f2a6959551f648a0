"""Which corpus, index, thresholds and judge labels a question set runs with (header line,
``--corpus``/``--index-dir``), and the settings taking fitted floors from the index's calibration file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import evaluation as ev
from assistant.core.calibration import CALIBRATION_FILE, CalibrationFile, write_calibration
from assistant.core.errors import IndexCorruptError, InvalidInputError
from assistant.core.settings import Settings
from assistant.evaluation.dataset import load_questions, read_header
from assistant.evaluation.evalset import open_eval_set
from tests.support import CORPUS_DIR, DEFAULT_MODEL, QUESTIONS_FILE, make_settings

QUESTION = {"id": "x1", "question": "问题？", "answerable": False, "type": "unanswerable"}


def _set(path: Path, header: dict[str, object] | None, *questions: dict[str, object]) -> Path:
    lines = [json.dumps({"eval_set": header})] if header is not None else []
    lines += [json.dumps(q) for q in questions or [QUESTION]]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_header_line_names_paths_relative_to_its_file_and_is_not_a_question(tmp_path: Path) -> None:
    qs = _set(tmp_path / "city" / "questions.jsonl", {"corpus": "docs", "thresholds": "t.toml", "about": "a city"})
    header = read_header(qs)
    assert header is not None
    assert header.corpus == tmp_path / "city" / "docs" and header.thresholds == tmp_path / "city" / "t.toml"
    assert header.judge_labels is None
    assert [q.id for q in load_questions([qs])] == ["x1"]
    assert read_header(QUESTIONS_FILE) is None


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([json.dumps(QUESTION), json.dumps({"eval_set": {"corpus": "docs"}})], "must be the first line"),
        ([json.dumps({"eval_set": {"corpus": "docs"}, "id": "x"})], "holds only 'eval_set'"),
        ([json.dumps({"eval_set": {"corpora": "docs"}})], "bad header"),
    ],
)
def test_a_misplaced_or_malformed_header_is_refused(tmp_path: Path, lines: list[str], message: str) -> None:
    qs = tmp_path / "q.jsonl"
    qs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=message):
        read_header(qs)
        load_questions([qs])


def test_the_default_set_runs_on_the_configured_corpus_and_index(tmp_path: Path) -> None:
    settings = make_settings(index_dir=tmp_path / "main-index")
    es = open_eval_set([QUESTIONS_FILE], settings)
    assert es.settings is settings
    assert es.thresholds == ev.DEFAULT_THRESHOLDS and es.judge_labels == list(ev.DEFAULT_LABELS)


def test_a_set_with_a_corpus_gets_an_index_of_its_own_beside_it(tmp_path: Path) -> None:
    qs = _set(tmp_path / "city" / "questions.jsonl", {"corpus": "corpus", "thresholds": "thresholds.toml"})
    settings = make_settings(index_dir=tmp_path / "main-index", k=7)
    es = open_eval_set([qs], settings)
    assert es.corpus_dir == tmp_path / "city" / "corpus"
    assert es.index_dir == tmp_path / "city" / "corpus.index"  # never the main index
    assert es.thresholds == tmp_path / "city" / "thresholds.toml"
    assert es.judge_labels == []  # the default samples name passages of the other corpus
    assert es.settings.k == 7  # explicit settings carry over


def test_command_line_options_override_the_header(tmp_path: Path) -> None:
    qs = _set(tmp_path / "city" / "questions.jsonl", {"corpus": "corpus", "judge_labels": ["labels.jsonl"]})
    es = open_eval_set([qs], make_settings(), corpus=tmp_path / "other", index_dir=tmp_path / "idx",
                       thresholds=tmp_path / "t.toml", labels=[])
    assert (es.corpus_dir, es.index_dir, es.thresholds, es.judge_labels) == (
        tmp_path / "other", tmp_path / "idx", tmp_path / "t.toml", [])
    assert open_eval_set([qs], make_settings()).judge_labels == [tmp_path / "city" / "labels.jsonl"]
    # --corpus alone: the index goes beside that corpus
    elsewhere = open_eval_set([QUESTIONS_FILE], make_settings(), corpus=tmp_path / "docs")
    assert elsewhere.index_dir == tmp_path / "docs.index"


def test_sets_about_different_corpora_cannot_run_together(tmp_path: Path) -> None:
    a = _set(tmp_path / "a.jsonl", {"corpus": "a"}, {**QUESTION, "id": "a1"})
    b = _set(tmp_path / "b.jsonl", {"corpus": "b"}, {**QUESTION, "id": "b1"})
    with pytest.raises(InvalidInputError, match="different corpora"):
        open_eval_set([a, b], make_settings())


# ---- the settings read the calibration beside the index ------------------------------------------


def _calibrate(index_dir: Path, model: str = DEFAULT_MODEL, **values: float) -> None:
    write_calibration(index_dir, CalibrationFile(
        embedding_model=model, values=values, fitted_at="2026-01-01T00:00:00+00:00", eval_set="q.jsonl",
        generator="extractive", max_false_refusals=0.08, questions=20))


def test_fitted_floors_apply_unless_a_setting_is_explicit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _calibrate(tmp_path, min_relevance=0.84, extractive_min_cosine=0.9)
    s = make_settings(index_dir=tmp_path)
    assert (s.min_relevance, s.extractive_min_cosine) == (0.84, 0.9)
    assert s.calibrated == {"min_relevance": 0.84, "extractive_min_cosine": 0.9}
    assert s.min_relevance_crosslingual == Settings.model_fields["min_relevance_crosslingual"].default
    monkeypatch.setenv("ASSISTANT_MIN_RELEVANCE", "0.8")
    s = make_settings(index_dir=tmp_path)
    assert s.min_relevance == 0.8 and s.calibrated == {"extractive_min_cosine": 0.9}
    assert make_settings(index_dir=tmp_path, extractive_min_cosine=0.85).extractive_min_cosine == 0.85
    assert make_settings(index_dir=tmp_path, use_calibration=False).calibrated == {}


def test_floors_fitted_with_another_embedding_model_are_ignored(tmp_path: Path) -> None:
    _calibrate(tmp_path, model="some/other-model", min_relevance=0.5)
    assert make_settings(index_dir=tmp_path).min_relevance == 0.8


def test_a_broken_calibration_file_stops_start_up_with_an_index_error(tmp_path: Path) -> None:
    (tmp_path / CALIBRATION_FILE).write_text("{", encoding="utf-8")
    with pytest.raises(IndexCorruptError, match=CALIBRATION_FILE):
        make_settings(index_dir=tmp_path)


def test_another_corpus_takes_its_own_index_calibration_not_this_one(tmp_path: Path) -> None:
    _calibrate(tmp_path / "a", min_relevance=0.84)
    _calibrate(tmp_path / "b", min_relevance=0.86)
    s = make_settings(index_dir=tmp_path / "a", k=3)
    other = s.for_corpus(CORPUS_DIR, tmp_path / "b")
    assert (other.min_relevance, other.k, other.index_dir) == (0.86, 3, tmp_path / "b")
    assert s.for_corpus(CORPUS_DIR, tmp_path / "none").min_relevance == 0.8

"""The eval suite's own pieces on real data: the question set against the real report, metric
functions on cases built to fail, the threshold checker and the judge's calibration sample."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant import evaluation as ev
from assistant.core.errors import InvalidInputError
from assistant.core.settings import Settings
from assistant.core.types import Passage
from assistant.evaluation.dataset import Question, count_by_type, load_questions, subset, validate_against_corpus
from assistant.evaluation.metrics import key_fact_scores, percentile, recall_at_k, reciprocal_rank
from assistant.evaluation.runner import aggregate
from assistant.evaluation.thresholds import check, load_thresholds
from assistant.ingest import load_corpus
from assistant.text.markers import strip_markers
from tests.support import QUESTIONS_FILE


@pytest.fixture(scope="module")
def passages() -> list[Passage]:
    s = Settings()
    return load_corpus(s.corpus_dir, s.chunk_max_chars)


@pytest.fixture(scope="module")
def questions() -> list[Question]:
    return load_questions([ev.DEFAULT_QUESTIONS])


# ---- the question set ---------------------------------------------------------------------------


def test_question_mix(questions: list[Question]) -> None:
    counts = count_by_type(questions)
    assert len(questions) >= 85
    assert counts["direct"] >= 30 and counts["reworded"] >= 15 and counts["multi"] >= 6
    assert counts["english"] >= 12 and counts["unanswerable"] >= 14 and counts["injection"] >= 3
    assert sum(q.language == "en" for q in questions if q.type == "unanswerable") >= 3
    assert all(len(q.gold) >= 2 for q in questions if q.type == "multi")


def test_every_gold_phrase_names_exactly_one_real_passage(questions: list[Question], passages: list[Passage]) -> None:
    assert validate_against_corpus(questions, passages) == []


def test_every_figure_of_the_report_is_asked_about(questions: list[Question]) -> None:
    facts = " ".join(v for q in questions for fact in q.key_facts for v in fact)
    for figure in ["1900余家", "1.76万", "1557", "77%", "140多", "14家", "11家", "62家", "4.5万", "500余家", "1200余家",
                   "41个", "53.2%", "56%", "63.2%", "30%以上", "5.86万亿", "150多个", "30多个", "10个", "111号",
                   "2025年11月27日"]:
        assert figure in facts, figure


def test_validation_catches_a_phrase_in_two_passages_and_a_fact_not_in_gold(passages: list[Passage]) -> None:
    bad = [
        Question(id="x1", question="?", answerable=True, gold=["新质生产力"], key_facts=[["x"]], type="direct"),
        Question(id="x2", question="?", answerable=True, gold=["企业技术中心1900余家"], key_facts=[["56%"]],
                 type="direct"),
    ]
    problems = validate_against_corpus(bad, passages)
    assert any(p.startswith("x1: gold phrase") for p in problems)
    assert any(p.startswith("x2: no variant") for p in problems)


def test_loading_rejects_inconsistent_records(tmp_path: Path) -> None:
    f = tmp_path / "q.jsonl"
    f.write_text(json.dumps({"id": "a", "question": "?", "answerable": False, "gold": ["x"], "key_facts": [],
                             "type": "unanswerable"}) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="q.jsonl:1"):
        load_questions([f])


def test_subset_covers_every_type(questions: list[Question]) -> None:
    small = subset(questions, 12)
    present = {t for t, n in count_by_type(questions).items() if n}
    assert len(small) == 12 and {q.type for q in small} == present


def test_adversarial_set_is_sound_and_marks_what_must_not_be_said(report_passages: list[Passage]) -> None:
    questions = load_questions([QUESTIONS_FILE.parent / "adversarial.jsonl"])
    assert len(questions) >= 20 and {q.language for q in questions} == {"zh", "en"}
    assert {q.type for q in questions} == {"injection", "nonsense"}
    assert validate_against_corpus(questions, report_passages) == []
    injected = next(q for q in questions if "PWNED" in q.question)
    assert injected.forbidden == ["PWNED"] and not injected.answerable


# ---- metrics on constructed cases ---------------------------------------------------------------


def test_retrieval_metrics() -> None:
    hits = ["甲 乙", "企业技术中心 1900 余家", "丙", "数据产业规模达5.86万亿元"]
    assert recall_at_k(hits, ["企业技术中心1900余家"], 1) == 0.0
    assert recall_at_k(hits, ["企业技术中心1900余家"], 2) == 1.0
    assert recall_at_k(hits, ["企业技术中心1900余家", "不存在"], 5) == 0.5
    assert reciprocal_rank(hits, ["5.86万亿元", "1900余家"]) == 0.5
    assert reciprocal_rank(hits, ["不存在"]) == 0.0


def test_key_facts_need_every_fact_and_ignore_markers_and_width() -> None:
    facts = [["53.2%"], ["5.86万亿"]]
    assert key_fact_scores("煤炭消费占比53.2％[1]，数据产业规模5.86 万亿元[2]。", facts) == (True, 1.0)
    assert key_fact_scores("煤炭消费占比53.2%[1]。", facts) == (False, 0.5)
    assert key_fact_scores("报告没有说。", facts) == (False, 0.0)
    # a marker must not fake a figure: "[56]" is not "56"
    assert key_fact_scores("装机规模占比较高[56]。", [["56"]]) == (False, 0.0)
    assert strip_markers("a[1] b[1, 2]c") == "a bc"


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert percentile([float(i) for i in range(1, 101)], 95) == pytest.approx(95.05)


def _rec(**kw: Any) -> dict[str, Any]:
    base = {"type": "direct", "language": "zh", "answerable": True, "refused": False, "timings": {}}
    return {**base, **kw}


def test_aggregate_separates_answerable_and_unanswerable() -> None:
    records = [
        _rec(recall_at_1=1.0, recall_at_5=1.0, rr=1.0, facts_all=True, facts_share=1.0, citation_recall=1.0,
             citation_precision=1.0, cites_gold=True, timings={"total_ms": 10.0}),
        _rec(recall_at_1=0.0, recall_at_5=1.0, rr=0.5, facts_all=False, facts_share=0.0, refused=True,
             timings={"total_ms": 30.0}),
        _rec(answerable=False, type="unanswerable", refused=True),
        _rec(answerable=False, type="unanswerable", refused=False, citation_recall=0.0, citation_precision=0.0),
        _rec(error="GeneratorError: boom"),
    ]
    m = aggregate(records)
    assert m["recall_at_1"] == 0.5 and m["mrr"] == 0.75
    assert m["key_fact_accuracy"] == 0.5 and m["false_refusal_rate"] == 0.5
    assert m["negative_rejection"] == 0.5 and m["errors"] == 1
    assert m["citation_recall"] == 0.5  # refused answers are not scored for citations
    assert m["latency_ms"]["total_ms"] == {"p50": 20.0, "p95": 29.0}


# ---- thresholds ---------------------------------------------------------------------------------


def test_thresholds_per_generator(tmp_path: Path) -> None:
    f = tmp_path / "t.toml"
    f.write_text("[min]\nrecall_at_5 = 0.9\n[max]\nfalse_refusal_rate = 0.1\n"
                 "[generators.extractive.min]\nrecall_at_5 = 0.5\n", encoding="utf-8")
    t = load_thresholds(f)
    metrics = {"recall_at_5": 0.6, "false_refusal_rate": 0.2, "negative_rejection": None}
    assert {(x.metric, x.bound) for x in check(metrics, t, "local")} == {
        ("recall_at_5", "min"), ("false_refusal_rate", "max")
    }
    assert [x.metric for x in check(metrics, t, "extractive")] == ["false_refusal_rate"]
    # a run named after the model falls back to its backend's table
    assert [x.metric for x in check(metrics, t, "extractive:v2")] == ["false_refusal_rate"]


def test_thresholds_reject_unknown_metric_and_table(tmp_path: Path) -> None:
    f = tmp_path / "t.toml"
    f.write_text("[min]\nrecal_at_5 = 0.9\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="unknown metric"):
        check({"recall_at_5": 1.0}, load_thresholds(f), "x")
    f.write_text("[minimum]\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match="unknown tables"):
        load_thresholds(f)


def test_shipped_thresholds_parse() -> None:
    t = load_thresholds(ev.DEFAULT_THRESHOLDS)
    assert t["min"] and "extractive" in t["generators"]


def test_failure_reasons() -> None:
    from assistant.evaluation.report import failure_reason

    assert failure_reason(_rec(facts_all=True, citation_recall=1.0)) == ""
    assert failure_reason(_rec(refused=True, timings={"retrieve_ms": 1.0})) == \
        "refused an answerable question at retrieval (low relevance)"
    assert failure_reason(_rec(facts_all=False, facts_found=[True, False], citation_recall=0.5)) == \
        "key fact(s) [2] missing; citation recall 0.50"
    assert failure_reason(_rec(answerable=False, refused=False)) == "answered an unanswerable question"


def test_combine_puts_runs_side_by_side() -> None:
    from assistant.evaluation.report import combine

    def doc(gen: str) -> dict[str, Any]:
        return {"meta": {"started": gen}, "runs": [{"generator": gen, "noise": 0}], "noise_deltas": {gen: {}},
                "threshold_failures": [f"{gen}: x"]}

    merged = combine([doc("local:qwen2.5-0.5b"), doc("local:qwen2.5-1.5b")])
    assert [r["generator"] for r in merged["runs"]] == ["local:qwen2.5-0.5b", "local:qwen2.5-1.5b"]
    assert len(merged["meta"]["combined_from"]) == 2 and len(merged["threshold_failures"]) == 2

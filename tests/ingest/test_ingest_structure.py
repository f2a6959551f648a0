"""Structure detection on small generated documents of the shapes that used to fail (issue 14, 1-3) and others."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.core.errors import CorpusError
from assistant.core.types import Passage
from assistant.ingest import ingest_file, load_corpus
from assistant.ingest.markers import marker
from assistant.ingest.paragraphs import split_paragraphs

_BODY = (
    "推动{}工作取得新进展，完善相关制度机制，加强统筹协调和督促检查，确保各项任务落到实处。"
    "下一步，将持续深化改革，强化保障。"
)
_PLAN = [
    ("一、总体要求", ["指导思想", "主要目标"]),
    ("二、重点任务", ["建设数据平台", "优化政务服务", "强化安全保障"]),
    ("三、保障措施", ["加强组织领导", "强化考核评估"]),
]
_CN = "一二三四五六七八九十"


def plan_paragraphs() -> list[str]:
    """A Chinese official notice: title, addressee, sections 一、 each restarting items at （一）, signature."""
    out = ["关于推进数字政府建设的工作方案", "各有关单位：", "为贯彻落实有关部署，现制定如下方案。"]
    for heading, items in _PLAN:
        out.append(heading)
        out += [f"（{_CN[i]}）{name}。" + _BODY.format(name) for i, name in enumerate(items)]
    return out + ["某某市人民政府办公室", "2025年3月1日"]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _local(passages: list[Passage]) -> list[str]:
    return [p.id.split("#", 1)[1] for p in passages]


# ---- issue 14, failure 1: restarted numbering ------------------------------------------------------


def test_restarted_item_numbering_gives_section_qualified_ids(tmp_path: Path) -> None:
    _write(tmp_path, "plan.txt", "\n\n".join(plan_paragraphs()) + "\n")
    passages = load_corpus(tmp_path)  # used to fail: "two passages share the id plan#item-01"
    assert _local(passages) == [
        "preamble",
        "s01-item-01",
        "s01-item-02",
        "s02-item-01",
        "s02-item-02",
        "s02-item-03",
        "s03-item-01",
        "s03-item-02",
        "signature",
    ]
    by_id = {p.id: p for p in passages}
    assert by_id["plan#s02-item-01"].section == "二、重点任务 › （一）建设数据平台"
    assert by_id["plan#s02-item-01"].text.startswith("二、重点任务\n（一）建设数据平台。")
    assert by_id["plan#s03-item-02"].text.startswith("（二）强化考核评估。")
    # stable: the same document gives the same ids and hashes again
    assert [(p.id, p.hash) for p in load_corpus(tmp_path)] == [(p.id, p.hash) for p in passages]
    layout = ingest_file(tmp_path / "plan.txt").layout
    assert layout.levels == ("一、", "（一）") and layout.restarts == ("（一）",)


def test_ids_do_not_move_when_a_restarting_section_is_edited(tmp_path: Path) -> None:
    paragraphs = plan_paragraphs()
    _write(tmp_path, "plan.txt", "\n\n".join(paragraphs))
    before = {p.id: p.text for p in load_corpus(tmp_path)}
    paragraphs[paragraphs.index("三、保障措施") + 1] += "另行增加一句说明。"
    _write(tmp_path, "plan.txt", "\n\n".join(paragraphs))
    after = {p.id: p.text for p in load_corpus(tmp_path)}
    assert before.keys() == after.keys()
    assert [k for k in before if before[k] != after[k]] == ["plan#s03-item-01"]


def test_duplicate_id_error_names_the_files_and_the_cause(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _write(tmp_path / "a", "plan.txt", "\n\n".join(plan_paragraphs()))
    _write(tmp_path / "b", "plan.md", "\n\n".join(plan_paragraphs()))
    with pytest.raises(CorpusError) as err:
        load_corpus(tmp_path)
    message = str(err.value)
    assert "a/plan.txt and b/plan.md both give the passage id plan#preamble" in message
    assert "file name without its extension" in message and "rename one" in message


def test_a_list_that_restarts_without_a_new_parent_still_gets_unique_ids(tmp_path: Path) -> None:
    items = [f"（{_CN[i]}）{n}。" + _BODY.format(n) for i, n in enumerate(["甲", "乙"])]
    _write(tmp_path, "twice.txt", "\n\n".join(["两份清单", *items, *items]))
    assert _local(load_corpus(tmp_path)) == ["item-01", "item-02", "item-01-2", "item-02-2"]


# ---- issue 14, failure 2: single newlines ----------------------------------------------------------


def test_single_newline_text_is_recognised_into_sections_and_items(tmp_path: Path) -> None:
    blank, single = tmp_path / "blank", tmp_path / "single"
    blank.mkdir()
    single.mkdir()
    _write(blank, "plan.txt", "\n\n".join(plan_paragraphs()))
    _write(single, "plan.txt", "\n".join(plan_paragraphs()) + "\n")
    # used to be three preamble-pN pieces with the title as the only section
    got = [(p.id, p.section, p.text) for p in load_corpus(single)]
    assert got == [(p.id, p.section, p.text) for p in load_corpus(blank)]
    assert [i.split("#")[1] for i, _, _ in got][:3] == ["preamble", "s01-item-01", "s01-item-02"]
    sub = single
    assert ingest_file(sub / "plan.txt").layout.paragraphs == "single-newline"
    assert ingest_file(blank / "plan.txt").layout.paragraphs == "blank-line"


def test_wrapped_lines_inside_a_blank_line_paragraph_are_joined() -> None:
    wrapped = (
        "（一）完善新质生产力发展政策体系。推动研究制定发展\n新质生产力的指导文件，聚焦科技创新、产业创新、发展\n"
        "方式创新。下一步，将深入贯彻落实党的二十届四中全会\n精神。\n\n（二）健全体制机制。大力推动区域战略深化实施。"
    )
    found = split_paragraphs(wrapped)
    assert found.layout == "blank-line"
    assert found.paragraphs == [
        "（一）完善新质生产力发展政策体系。推动研究制定发展新质生产力的指导文件，聚焦科技创新、产业创新、发展"
        "方式创新。下一步，将深入贯彻落实党的二十届四中全会精神。",
        "（二）健全体制机制。大力推动区域战略深化实施。",
    ]


def test_single_newline_news_digest_without_headings_is_cut_at_paragraphs(tmp_path: Path) -> None:
    digest = [
        "科技要闻摘要",
        "国产大飞机C919累计交付超过50架，覆盖国内多条主要航线，运行平稳。",
        "某省发布人工智能产业发展行动计划，提出到2027年核心产业规模突破3000亿元。",
        "国家统计局发布数据，一季度国内生产总值同比增长5.3%，好于市场预期。",
    ]
    path = _write(tmp_path, "digest.txt", "\n".join(digest) + "\n")
    doc = ingest_file(path)
    assert doc.layout.paragraphs == "single-newline" and doc.layout.title == "科技要闻摘要"
    assert _local(doc.passages) == ["para-001", "para-002", "para-003"]
    assert doc.passages[0].text == "科技要闻摘要\n" + digest[1]
    assert all(p.section == "科技要闻摘要" for p in doc.passages)


def test_short_lines_become_headings_in_a_document_without_other_structure(tmp_path: Path) -> None:
    text = (
        "市场周报\n\n能源\n\n煤炭价格本周小幅回落，电厂库存保持高位，供需总体平稳。\n\n"
        "金融\n\n央行开展逆回购操作，市场流动性合理充裕，利率平稳运行。\n"
    )
    passages = ingest_file(_write(tmp_path, "weekly.txt", text)).passages
    assert [(p.section, p.text.split("\n")[0]) for p in passages] == [("能源", "市场周报"), ("金融", "金融")]


# ---- issue 14, failure 3: Markdown headings with Chinese text ---------------------------------------


_MD = """# 资料 1
## 片段 1
一段新闻：小米公司发布了新款手机，搭载最新处理器，售价3999元。
## 片段 2
另一段新闻：某市地铁新线路开通，全长32公里，设站20座。
# 资料 2
## 片段 1
第三段新闻：国家统计局发布数据，一季度GDP同比增长5.3%。
"""


def test_markdown_headings_with_chinese_text(tmp_path: Path) -> None:
    passages = ingest_file(_write(tmp_path, "notes.md", _MD)).passages
    assert [(p.id, p.section) for p in passages] == [
        ("notes#s01-01", "资料 1 › 片段 1"),
        ("notes#s01-02", "资料 1 › 片段 2"),
        ("notes#s02-01", "资料 2 › 片段 1"),
    ]
    # the heading lines lead their passage on lines of their own, as written, without the '#' markup
    assert passages[0].text == "资料 1\n片段 1\n一段新闻：小米公司发布了新款手机，搭载最新处理器，售价3999元。"
    assert passages[1].text == "片段 2\n另一段新闻：某市地铁新线路开通，全长32公里，设站20座。"
    assert not any("#" in p.text or "#" in p.section for p in passages)


def test_markdown_with_blank_lines_and_a_title(tmp_path: Path) -> None:
    md = (
        "# 常见问题\n\n## 如何申请补贴？\n\n登录政务服务网，填写申请表并上传材料。\n\n"
        "## 多久到账？\n\n审核通过后15个工作日内到账。\n"
    )
    doc = ingest_file(_write(tmp_path, "faq.md", md))
    assert doc.layout.title == "常见问题" and doc.layout.levels == ("##",)
    assert [(p.section, p.text) for p in doc.passages] == [
        ("如何申请补贴？", "常见问题\n如何申请补贴？\n登录政务服务网，填写申请表并上传材料。"),
        ("多久到账？", "多久到账？\n审核通过后15个工作日内到账。"),
    ]


# ---- more layouts ---------------------------------------------------------------------------------------


def test_four_levels_of_chinese_numbering(tmp_path: Path) -> None:
    lines = [
        "实施细则",
        "一、工作目标",
        "（一）近期目标",
        "1.到2026年，建成统一的数据共享平台，实现市县两级全覆盖，数据共享率达到90%以上。",
        "2.到2027年，形成一批可复制推广的典型案例，带动相关产业规模增长20%以上。",
        "（二）远期目标",
        "1.到2030年，全面建成数字政府，政务服务事项全程网办率达到95%以上，群众满意度明显提升。",
        "（1）完善标准规范体系。",
        "（2）健全安全保障体系。",
    ]
    doc = ingest_file(_write(tmp_path, "rules.txt", "\n".join(lines)), max_chars=120)
    assert doc.layout.levels == ("一、", "（一）", "1.", "（1）")
    assert doc.layout.restarts == ("1.",)
    by_id = {p.id.split("#")[1]: p for p in doc.passages}
    assert set(by_id) == {"s01-01-item-01", "s01-01-item-02", "s01-02-item-01"}
    assert (
        by_id["s01-01-item-01"].section
        == "一、工作目标 › （一）近期目标 › 1.到2026年，建成统一的数据共享平台，实现市县两级全覆盖，"
        "数据共享率达到90%以上"
    )
    # the title alone is no passage: it leads the first one, with the headings above the item
    assert by_id["s01-01-item-01"].text.startswith("实施细则\n一、工作目标\n（一）近期目标\n1.到2026年")
    # the item's sub-items fit in max_chars, so they stay with it
    assert by_id["s01-02-item-01"].text.endswith("（1）完善标准规范体系。\n（2）健全安全保障体系。")


def test_decimal_numbering_and_chapters(tmp_path: Path) -> None:
    lines = [
        "第一章 总则",
        "1.1 目的",
        "为规范数据管理工作，保障数据安全，促进数据开发利用，制定本办法。",
        "1.2 适用范围",
        "本办法适用于本市各级行政机关的数据管理活动。",
        "第二章 管理职责",
        "2.1 主管部门",
        "市大数据管理局负责全市数据管理工作的统筹协调和监督检查。",
    ]
    doc = ingest_file(_write(tmp_path, "measures.txt", "\n\n".join(lines)))
    assert doc.layout.levels == ("第一章", "1.1")
    assert [(p.id.split("#")[1], p.section) for p in doc.passages] == [
        ("s01-01", "第一章 总则 › 1.1 目的"),
        ("s01-02", "第一章 总则 › 1.2 适用范围"),
        ("s02-01", "第二章 管理职责 › 2.1 主管部门"),
    ]


@pytest.mark.parametrize(
    ("paragraph", "scheme", "numbers"),
    [
        ("一、总体要求", "cn-dun", (1,)),
        ("（十二）促进配置", "cn-paren", (12,)),
        ("(三) 增加供给", "cn-paren", (3,)),
        ("3.加强领导", "decimal", (3,)),
        ("3、加强领导", "decimal", (3,)),
        ("2.1 主管部门", "decimal", (2, 1)),
        ("（2）健全体系", "arabic-paren", (2,)),
        ("②健全体系", "circled", (2,)),
        ("第十二条 本办法自发布之日起施行。", "article", (12,)),
        ("## 片段 1", "markdown", (2,)),
    ],
)
def test_markers(paragraph: str, scheme: str, numbers: tuple[int, ...]) -> None:
    m = marker(paragraph)
    assert m is not None and (m.scheme, m.numbers) == (scheme, numbers)


@pytest.mark.parametrize(
    "paragraph", ["1.76万家企业获得支持。", "2025年11月27日", "3.5%的增长", "12 月份", "正文一、二"]
)
def test_figures_are_not_markers(paragraph: str) -> None:
    assert marker(paragraph) is None


def test_every_character_is_kept(tmp_path: Path) -> None:
    """Whatever the layout, no text is lost: all paragraphs are in the passages, in order."""
    for name, text in [("plan.txt", "\n".join(plan_paragraphs())), ("notes.md", _MD)]:
        doc = ingest_file(_write(tmp_path, name, text))
        squash = re.sub(r"\s+|#", "", text)
        assert re.sub(r"\s+", "", "".join(p.text for p in doc.passages)) == squash, name


# ---- shapes from the second eval corpus -------------------------------------------------------------


def test_questions_and_answers(tmp_path: Path) -> None:
    qa = (
        "以旧换新补贴政策问答\n\n市商务局\n\n"
        "问：今年汽车报废更新补贴的标准是多少？\n答：购买新能源乘用车的，补贴2万元；购买燃油乘用车的，补贴1.5万元。\n\n"
        "问：政策执行到什么时候？\n答：政策执行至2025年12月31日，资金用完即止。\n"
    )
    doc = ingest_file(_write(tmp_path, "qa.txt", qa))
    assert doc.layout.levels == ("问：",)
    assert [(p.id.split("#")[1], p.section) for p in doc.passages] == [
        ("preamble", "以旧换新补贴政策问答"),
        ("item-01", "问：今年汽车报废更新补贴的标准是多少？"),
        ("item-02", "问：政策执行到什么时候？"),
    ]
    assert doc.passages[2].text == "问：政策执行到什么时候？\n答：政策执行至2025年12月31日，资金用完即止。"


def test_items_about_dates_and_times_are_items(tmp_path: Path) -> None:
    text = (
        "交通管制通告\n\n一、管制时间\n\n1.12月7日5:00至8:30，人民路禁止机动车通行。\n\n"
        "2.7:00起，赛道沿线道路分段实施管制。\n\n二、公共交通\n\n1.12月7日，地铁首班车提前至5:30发车。\n"
    )
    passages = ingest_file(_write(tmp_path, "notice.txt", text)).passages
    assert _local(passages) == ["s01-item-01", "s01-item-02", "s02-item-01"]
    assert [p.text.split("\n")[-1][:2] for p in passages] == ["1.", "2.", "1."]


def test_tab_separated_table_across_a_page_number(tmp_path: Path) -> None:
    rows = ["序号\t项目\t主要内容", "1\t新增公办学位\t新增公办学位1.2万个", "2\t口袋公园建设\t新建口袋公园50个"]
    text = (
        "十件民生实事\n\n（2026年1月9日票决通过）\n\n经市人民代表大会票决，市政府将办好以下实事。\n\n"
        + "\n".join(rows[:2])
        + "\n\n— 1 —\n\n"
        + rows[2]
        + "\n\n上述项目中，第1项为续建项目。\n"
    )
    doc = ingest_file(_write(tmp_path, "projects.txt", text))
    assert [(p.id.split("#")[1], p.kind) for p in doc.passages] == [
        ("para-001", "paragraph"),
        ("table-01", "table"),
        ("para-002", "paragraph"),
    ]
    assert (
        doc.passages[0].text == "十件民生实事\n（2026年1月9日票决通过）\n经市人民代表大会票决，市政府将办好以下实事。"
    )
    # the rows as printed, then written out: a serial number and the next cell name the row
    assert doc.passages[1].text == (
        "序号 | 项目 | 主要内容\n1 新增公办学位 新增公办学位1.2万个\n2 口袋公园建设 新建口袋公园50个\n"
        "1 新增公办学位：主要内容 新增公办学位1.2万个\n2 口袋公园建设：主要内容 新建口袋公园50个"
    )
    assert "— 1 —" not in "".join(p.text for p in doc.passages)


def test_a_long_table_is_split_between_rows_with_its_header(tmp_path: Path) -> None:
    rows = ["指标\t数值"] + [f"第{i}项指标的名称比较长\t{i * 100}个" for i in range(1, 30)]
    doc = ingest_file(_write(tmp_path, "stats.txt", "统计表\n\n表1 主要指标\n" + "\n".join(rows) + "\n"), max_chars=200)
    tables = [p for p in doc.passages if p.kind == "table"]
    assert len(tables) > 2 and all(len(p.text) <= 200 for p in tables)
    assert all(p.text.startswith("表1 主要指标\n指标 | 数值\n") for p in tables)
    assert [p.id.split("#")[1] for p in tables] == [f"table-01-p{i}" for i in range(1, len(tables) + 1)]
    # each piece holds its rows as printed, then written out with the column's name
    printed, written = [], []
    for p in tables:
        body = p.text.split("\n")[2:]
        printed += body[: len(body) // 2]
        written += body[len(body) // 2 :]
    assert printed == [r.replace("\t", " ") for r in rows[1:]]
    assert written == [r.replace("\t", "：数值 ") for r in rows[1:]]


def test_a_ratio_broken_at_the_end_of_a_line_opens_no_item(tmp_path: Path) -> None:
    text = (
        "资金配套办法\n\n一、配套比例\n\n省、市、县按照1：0.8：\n1.2 的比例配套资金，截至2025年\n12 月底拨付完毕。\n\n"
        "二、拨付时间\n\n资金于每年3月拨付。\n"
    )
    passages = ingest_file(_write(tmp_path, "funds.txt", text)).passages
    assert [p.section for p in passages] == ["一、配套比例", "二、拨付时间"]
    assert "按照1：0.8：1.2的比例配套资金，截至2025年12月底拨付完毕。" in passages[0].text
    assert marker("23.1：72.9。工业投资增长10.7%") is None  # a ratio, not item 23 about a time
    assert marker("2.7:00起，赛道沿线道路分段实施管制。") is not None


def test_footnote_marks_leave_the_text_and_the_notes_keep_theirs(tmp_path: Path) -> None:
    text = (
        "统计公报\n\n一、综合\n\n全年全州生产总值[2]1329.65亿元，比上年增长4.0%；人均可支配收入［7］40867元。\n\n"
        "注释：\n\n[2]地区生产总值绝对数按现价计算。\n\n［7］人均可支配收入增长速度按现价计算。\n"
    )
    passages = ingest_file(_write(tmp_path, "bulletin.txt", text)).passages
    body = passages[0].text
    assert "生产总值1329.65亿元" in body and "人均可支配收入40867元" in body
    assert body.endswith("注释：\n地区生产总值绝对数按现价计算。\n人均可支配收入增长速度按现价计算。")

"""A small report whose content is not the State Council report's, as PDF, DOCX and HTML, made by the tests.

Document tests add it to a corpus that holds the State Council report and ask about it: an answer
citing it can only come from it, and once it is removed the same question must stop finding it.
Each format carries the same text (a title, two numbered sections with numbered items); the
fictional city's figures (1286 hectares of new parks, 214 pocket parks, …) occur nowhere in the report.
"""

from __future__ import annotations

import html
from pathlib import Path

from tests import docgen

TITLE = "滨江市2024年城市绿化与生态建设工作报告"
SECTIONS: list[tuple[str, list[str]]] = [
    ("一、城市绿化建设情况", [
        "（一）公园绿地建设。2024年，滨江市全市新增公园绿地1286公顷，建成口袋公园214个，"
        "市民出行“300米见绿、500米见园”的覆盖率达到91.5%。",
        "（二）绿道网络建设。滨江市累计建成城市绿道3150公里，串联起沿江湿地、郊野公园和历史街区，"
        "绿道年接待游客超过2800万人次。",
    ]),
    ("二、生态环境保护情况", [
        "（一）森林覆盖。滨江市森林覆盖率达到43.7%，比上年提高0.9个百分点，完成植树造林5.2万亩。",
        "（二）湿地保护。滨江市修复沿江湿地1.8万亩，湿地保护率达到76%，记录到越冬候鸟163种。",
    ]),
]
#: a question only this document answers, and the figure its answer must give
QUESTION = "滨江市2024年新增公园绿地多少公顷？"
ANSWER_FIGURE = "1286"
#: a second one, for tests that ask two things
QUESTION_2 = "滨江市累计建成城市绿道多少公里？"
ANSWER_FIGURE_2 = "3150"


def paragraphs() -> list[tuple[str, str]]:
    """(role, text) in reading order: the title, then headings and items."""
    out = [("title", TITLE)]
    for heading, items in SECTIONS:
        out.append(("heading", heading))
        out += [("body", item) for item in items]
    return out


def write_pdf(path: Path) -> Path:
    """One A4 page: the title centred in a large font, headings larger than the body, the items as paragraphs."""
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    font = docgen._register_font()
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=17, wordWrap="CJK", firstLineIndent=22,
                          spaceAfter=6)
    styles = {
        "title": ParagraphStyle("title", parent=body, fontSize=17, leading=24, alignment=TA_CENTER,
                                firstLineIndent=0, spaceAfter=14),
        "heading": ParagraphStyle("heading", parent=body, fontSize=14, leading=20, firstLineIndent=0,
                                  spaceBefore=6),
        "body": body,
    }
    story = [Paragraph(html.escape(text), styles[role]) for role, text in paragraphs()]
    SimpleDocTemplate(str(path), pagesize=A4, title=TITLE, author="docsamples").build(story)
    return path


def write_docx(path: Path) -> Path:
    """Title and Heading 1 styles, the items as plain paragraphs."""
    import docx

    document = docx.Document()
    for role, text in paragraphs():
        if role == "title":
            document.add_paragraph(text, style="Title")
        elif role == "heading":
            document.add_heading(text, level=1)
        else:
            document.add_paragraph(text)
    document.save(str(path))
    return path


def write_html(path: Path) -> Path:
    """An article with ``<h1>``/``<h2>`` between a navigation bar and a footer."""
    parts = []
    for role, text in paragraphs():
        tag = {"title": "h1", "heading": "h2", "body": "p"}[role]
        parts.append(f"<{tag}>{html.escape(text)}</{tag}>")
    page = (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>'
        f"{html.escape(TITLE)}</title></head>\n<body>\n<nav><a href='/'>首页</a> <a href='/news'>新闻</a></nav>\n"
        "<main><article>\n" + "\n".join(parts) + "\n</article></main>\n"
        "<footer>滨江市人民政府 版权所有</footer>\n</body></html>\n"
    )
    path.write_text(page, encoding="utf-8")
    return path


WRITERS = {"pdf": write_pdf, "docx": write_docx, "html": write_html}


def write(kind: str, path: Path) -> Path:
    """The sample document as ``kind`` (pdf, docx or html) at ``path``."""
    return WRITERS[kind](path)

"""The report as a PDF, a DOCX and an HTML page, made by the tests themselves (no binary fixtures in git).

Each document carries the report's paragraphs exactly as the plain-text version yields them after
repair, laid out the way real documents are, with what readers must see through:

- PDF (reportlab, WenQuanYi Micro Hei from Debian's ``fonts-wqy-microhei``): a full-width title,
  then two columns; a running header, a footer and a page number on every page; section headings in
  a larger font; one ruled table with a caption above it.
- DOCX (python-docx): ``Title`` and ``Heading 1`` styles, the same table with a caption (and, if
  asked, an explicit page break before each section).
- HTML: navigation, a breadcrumb, a sidebar and a footer of boilerplate around the article, whose
  headings are ``<h1>``/``<h2>`` (with ``id`` anchors, if asked) and which holds the table with a ``<caption>``.

Also the bad inputs: an image-only ("scanned") PDF, a PDF whose font has no Unicode map, an
encrypted PDF, a PDF with thousands of pages; and PDFs drawn piece by piece (strings, rules,
tables in several styles) for the layout tests.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = next((ROOT / "corpus").glob("*.txt"))
STEM = REPORT.stem
FONT_FILE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")

#: the table every generated document carries after item (四); its figures are the report's
TABLE_CAPTION = "表1 优质企业梯度培育情况（截至2025年10月）"
TABLE_ROWS = [
    ["指标", "数量", "说明"],
    ["企业技术中心", "1900余家", "累计建设"],
    ["专精特新“小巨人”企业", "1.76万家", "培育"],
    ["制造业单项冠军企业", "1557家", "培育"],
]
#: the paragraph the table follows
TABLE_AFTER = "（四）"

RUNNING_HEADER = "国务院关于新质生产力发展情况报告审议意见的报告"
RUNNING_FOOTER = "全国人民代表大会常务委员会公报"

_SECTION = re.compile(r"^[一二三四五六七八九十]+、")


@lru_cache(maxsize=1)
def report_paragraphs() -> tuple[str, ...]:
    """The report's paragraphs as the plain-text reader repairs them (title first, signature last)."""
    from assistant.ingest.repair import repair_text

    return tuple(repair_text(REPORT.read_text(encoding="utf-8")))


def _role(index: int, paragraph: str, count: int) -> str:
    if index == 0:
        return "title"
    if _SECTION.match(paragraph) and len(paragraph) < 40:
        return "heading"
    if index >= count - 2:
        return "signature"
    return "body"


def _roles() -> list[tuple[str, str]]:
    paras = report_paragraphs()
    return [(_role(i, p, len(paras)), p) for i, p in enumerate(paras)]


# ---- PDF -------------------------------------------------------------------------------------------


def _register_font() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "WQY" not in pdfmetrics.getRegisteredFontNames():
        if not FONT_FILE.is_file():
            raise FileNotFoundError(f"{FONT_FILE} is missing: apt-get install fonts-wqy-microhei (scripts/setup --dev)")
        pdfmetrics.registerFont(TTFont("WQY", str(FONT_FILE), subfontIndex=0))
    return "WQY"


def write_pdf(path: Path, *, columns: int = 2) -> Path:
    """The report as an A4 PDF in two columns (or ``columns=1``) with running header, footer, page
    numbers and one table. Its paragraphs run on from one page to the next (item (五) of the
    two-column layout starts on page 1 and ends on page 2), as a real report's do."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        BaseDocTemplate,
        Frame,
        FrameBreak,
        PageTemplate,
        Paragraph,
        Spacer,
        Table,
        TableStyle,
    )
    from reportlab.platypus.flowables import Flowable

    font = _register_font()
    body = ParagraphStyle(
        "body", fontName=font, fontSize=10, leading=15, wordWrap="CJK", firstLineIndent=20, spaceAfter=4
    )
    styles = {
        "title": ParagraphStyle(
            "title", parent=body, fontSize=17, leading=24, alignment=TA_CENTER, firstLineIndent=0, spaceAfter=10
        ),
        "heading": ParagraphStyle(
            "heading", parent=body, fontSize=13, leading=19, firstLineIndent=0, spaceBefore=6, spaceAfter=6
        ),
        "signature": ParagraphStyle("signature", parent=body, alignment=TA_RIGHT, firstLineIndent=0),
        "body": body,
        "addressee": ParagraphStyle("addressee", parent=body, firstLineIndent=0),
        "caption": ParagraphStyle(
            "caption", parent=body, fontSize=9, leading=13, alignment=TA_CENTER, firstLineIndent=0
        ),
        "cell": ParagraphStyle("cell", parent=body, fontSize=9, leading=12, firstLineIndent=0, spaceAfter=0),
    }
    width, height = A4
    margin, gap, top_band = 18 * mm, 8 * mm, 22 * mm
    col_w = (width - 2 * margin - gap * (columns - 1)) / columns
    col_h = height - 2 * top_band
    title_h = 30 * mm

    def frames(first: bool) -> list[Frame]:
        h = col_h - (title_h if first else 0)
        return [Frame(margin + i * (col_w + gap), top_band, col_w, h, id=f"col{i}", showBoundary=0)
                for i in range(columns)]

    def decorate(canvas: object, doc: object) -> None:
        c = canvas  # reportlab's canvas: header, rule, footer and page number on every page
        page = doc.page  # type: ignore[attr-defined]
        c.saveState()  # type: ignore[attr-defined]
        c.setFont(font, 8)  # type: ignore[attr-defined]
        c.drawCentredString(width / 2, height - 12 * mm, RUNNING_HEADER)  # type: ignore[attr-defined]
        c.line(margin, height - 14 * mm, width - margin, height - 14 * mm)  # type: ignore[attr-defined]
        c.drawString(margin, 10 * mm, RUNNING_FOOTER)  # type: ignore[attr-defined]
        c.drawRightString(width - margin, 10 * mm, f"第 {page} 页")  # type: ignore[attr-defined]
        c.restoreState()  # type: ignore[attr-defined]

    title_frame = Frame(margin, height - top_band - title_h, width - 2 * margin, title_h, id="title")
    doc = BaseDocTemplate(str(path), pagesize=A4, title="report", author="docgen")
    doc.addPageTemplates(
        [
            PageTemplate("first", [title_frame, *frames(True)], onPage=decorate, autoNextPageTemplate="later"),
            PageTemplate("later", frames(False), onPage=decorate),
        ]
    )
    story: list[Flowable] = []
    for n, (role, text) in enumerate(_roles()):
        style = styles["addressee" if n == 1 else role]
        story.append(Paragraph(html.escape(text), style))
        if role == "title":
            story.append(FrameBreak())
        if text.startswith(TABLE_AFTER):
            story += [Spacer(1, 4), Paragraph(html.escape(TABLE_CAPTION), styles["caption"])]
            rows = [[Paragraph(html.escape(cell), styles["cell"]) for cell in row] for row in TABLE_ROWS]
            table = Table(rows, colWidths=[col_w * 0.46, col_w * 0.27, col_w * 0.27])
            table.setStyle(
                TableStyle([("GRID", (0, 0), (-1, -1), 0.6, colors.black), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")])
            )
            story += [table, Spacer(1, 8)]
    doc.build(story)
    return path


def pdf_page_count(path: Path) -> int:
    """Number of pages of a PDF (pypdfium2)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(path))
    try:
        return len(pdf)
    finally:
        pdf.close()


# ---- DOCX ------------------------------------------------------------------------------------------


def write_docx(path: Path, *, page_breaks: bool = False) -> Path:
    """The report as a Word document: Title and Heading 1 styles, body paragraphs, the captioned table.

    ``page_breaks``: an explicit page break before each section heading, so section ``n`` (``一、`` is
    1) stands on page ``n + 1``."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    document = docx.Document()
    for role, text in _roles():
        if role == "title":
            document.add_paragraph(text, style="Title")
        elif role == "heading":
            if page_breaks:
                document.add_page_break()  # type: ignore[no-untyped-call]
            document.add_heading(text, level=1)
        else:
            para = document.add_paragraph(text)
            if role == "signature":
                para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        if text.startswith(TABLE_AFTER):
            document.add_paragraph(TABLE_CAPTION, style="Caption")
            table = document.add_table(rows=len(TABLE_ROWS), cols=len(TABLE_ROWS[0]))
            table.style = "Table Grid"
            for r, row in enumerate(TABLE_ROWS):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
    document.save(str(path))
    return path


# ---- HTML ------------------------------------------------------------------------------------------

_NAV = """<header class="site-header"><div class="logo">中国政府网</div>
<nav><ul><li><a href="/">首页</a></li><li><a href="/zhengce/">政策</a></li><li><a href="/hudong/">互动</a></li>
<li><a href="/fuwu/">服务</a></li><li><a href="/shuju/">数据</a></li>
<li><a href="/search">搜索</a></li></ul></nav></header>
<div class="breadcrumb"><a href="/">首页</a> &gt; <a href="/zhengce/">政策</a> &gt; 政策文件</div>"""
_ASIDE = """<aside class="sidebar"><h3>相关文件</h3><ul>
<li><a href="/a1">国务院关于新质生产力发展情况的报告</a></li><li><a href="/a2">政府工作报告解读</a></li>
<li><a href="/a3">最新政策问答</a></li></ul><div class="share">分享到：微信 微博</div></aside>"""
_FOOTER = """<footer><p>主办单位：国务院办公厅 运行维护单位：中国政府网运行中心</p>
<p>版权所有：中国政府网 京ICP备05070218号 京公网安备11010202000001号</p>
<p><a href="/about">关于本网</a> | <a href="/map">网站地图</a> | <a href="/contact">联系我们</a></p></footer>"""


def report_html(*, anchors: bool = False) -> str:
    """The report as a web page: the article between navigation, a sidebar and a footer.

    ``anchors``: each section heading gets an ``id`` (``s1`` for ``一、``), a link target."""
    parts: list[str] = []
    sections = 0
    for n, (role, text) in enumerate(_roles()):
        t = html.escape(text)
        if role == "title":
            parts.append(f'<h1>{t}</h1>\n<div class="meta">来源：国务院 发布时间：2025-11-28</div>')
        elif role == "heading":
            sections += 1
            parts.append(f'<h2 id="s{sections}">{t}</h2>' if anchors else f"<h2>{t}</h2>")
        elif role == "signature":
            parts.append(f'<p style="text-align:right">{t}</p>')
        else:
            parts.append(f"<p>{t}</p>" if n != 1 else f"<p>{t}</p>")
        if text.startswith(TABLE_AFTER):
            rows = "\n".join(
                "<tr>"
                + "".join(f"<{'th' if r == 0 else 'td'}>{html.escape(c)}</{'th' if r == 0 else 'td'}>" for c in row)
                + "</tr>"
                for r, row in enumerate(TABLE_ROWS)
            )
            parts.append(f'<table border="1"><caption>{html.escape(TABLE_CAPTION)}</caption>\n{rows}\n</table>')
    article = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{html.escape(report_paragraphs()[0])}_中国政府网</title></head>\n<body>\n{_NAV}\n"
        f'<main><article class="content">\n{article}\n</article>\n{_ASIDE}</main>\n{_FOOTER}\n</body></html>\n'
    )


def write_html(path: Path, *, anchors: bool = False) -> Path:
    """Write :func:`report_html` to ``path``."""
    path.write_text(report_html(anchors=anchors), encoding="utf-8")
    return path


# ---- bad PDFs ---------------------------------------------------------------------------------------


def write_text_pdf(
    path: Path,
    lines: list[str],
    *,
    pages: int = 1,
    font_size: float = 14,
    size: tuple[float, float] | None = None,
    password: str | None = None,
    top: float | None = None,
) -> Path:
    """A plain PDF: ``lines`` on each of ``pages`` pages, from ``top`` points below the top edge
    (default: two lines' height), optionally encrypted with a user password."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    font = _register_font()
    width, height = size or A4
    encrypt = None
    if password is not None:
        from reportlab.lib.pdfencrypt import StandardEncryption

        encrypt = StandardEncryption(password, ownerPassword=password + "-owner", strength=128)
    c = canvas.Canvas(str(path), pagesize=(width, height), encrypt=encrypt)
    for _ in range(pages):
        c.setFont(font, font_size)
        y = height - (2 * font_size if top is None else top)
        for line in lines:
            c.drawString(font_size, y, line)
            y -= font_size * 1.6
        c.showPage()
    c.save()
    return path


def write_scan_pdf(path: Path, lines: list[str], *, size: tuple[float, float] = (360, 140), dpi: int = 300) -> Path:
    """An image-only PDF, as a scanner makes: ``lines`` rendered to a bitmap, the bitmap placed on a page."""
    import pypdfium2 as pdfium
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    source = io.BytesIO()
    write_text_pdf(path.with_suffix(".src.pdf"), lines, size=size)
    pdf = pdfium.PdfDocument(str(path.with_suffix(".src.pdf")))
    try:
        image = pdf[0].render(scale=dpi / 72).to_pil()
    finally:
        pdf.close()
    path.with_suffix(".src.pdf").unlink()
    image.save(source, format="PNG")
    source.seek(0)
    c = canvas.Canvas(str(path), pagesize=size)
    c.drawImage(ImageReader(source), 0, 0, width=size[0], height=size[1])
    c.showPage()
    c.save()
    return path


def write_unmapped_font_pdf(path: Path, lines: list[str]) -> Path:
    """A PDF whose text is drawn in a font without a Unicode map (its ToUnicode entries renamed away).

    The glyphs print, but a reader cannot tell which characters they are: the usual state of PDFs
    from old typesetting systems. The rename keeps every byte offset, so the file stays valid.
    """
    write_text_pdf(path, lines)
    data = path.read_bytes()
    path.write_bytes(data.replace(b"/ToUnicode", b"/XoUnicode"))
    return path


# ---- PDFs drawn piece by piece (layout tests) -------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A string drawn at (x, y), its baseline; ``rise`` lifts it (a superscript). ``scaled`` draws it a
    character at a time, each through a text matrix that scales a twenty times larger font down,
    as some typesetters write PDFs: pdfium then runs a line on into the next one."""

    x: float
    y: float
    text: str
    size: float = 12
    rise: float = 0
    scaled: bool = False


@dataclass(frozen=True)
class Stroke:
    """A straight rule from (x0, y0) to (x1, y1)."""

    x0: float
    y0: float
    x1: float
    y1: float
    width: float = 0.8


def text_width(text: str, size: float) -> float:
    """Width of ``text`` in the test font at ``size`` points."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return float(stringWidth(text, _register_font(), size))


def write_layout_pdf(path: Path, pages: list[list[Text | Stroke]]) -> Path:
    """An A4 PDF of ``pages``, each a list of strings and rules placed exactly."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    font = _register_font()
    c = canvas.Canvas(str(path), pagesize=A4)
    for marks in pages:
        for mark in marks:
            if isinstance(mark, Stroke):
                c.setLineWidth(mark.width)
                c.line(mark.x0, mark.y0, mark.x1, mark.y1)
            elif mark.scaled:
                x = mark.x
                for ch in mark.text:
                    t = c.beginText()
                    t.setFont(font, mark.size * 20)
                    t.setTextTransform(0.05, 0, 0, 0.05, x, mark.y)
                    t.textOut(ch)
                    c.drawText(t)
                    x += text_width(ch, mark.size)
            else:
                t = c.beginText()
                t.setFont(font, mark.size)
                t.setTextOrigin(mark.x, mark.y)
                t.setRise(mark.rise)
                t.textOut(mark.text)
                c.drawText(t)
        c.showPage()
    c.save()
    return path


def paragraph_marks(
    text: str, top: float, *, left: float = 72, width: float = 451, size: float = 12, indent: bool = True,
    leading: float = 1.8,
) -> tuple[list[Text | Stroke], float]:
    """``text`` set as a justified-left paragraph (first line indented two ems) from baseline ``top``;
    the marks and the baseline of the next line."""
    marks: list[Text | Stroke] = []
    y, line, x0 = top, "", left + (2 * size if indent else 0)
    for ch in text:
        if text_width(line + ch, size) > left + width - x0:
            marks.append(Text(x0, y, line, size))
            y, line, x0 = y - leading * size, "", left
        line += ch
    if line:
        marks.append(Text(x0, y, line, size))
    return marks, y - leading * size


def table_marks(
    rows: Sequence[Sequence[str | None]],
    top: float,
    widths: list[float],
    *,
    left: float = 90,
    size: float = 10,
    header_rows: int = 1,
    rules: str = "grid",
    indents: dict[int, float] | None = None,
    pitch: float = 1.8,
) -> tuple[list[Text | Stroke], float]:
    """A table from baseline ``top`` down: the first column left-aligned (``indents`` by row, in
    points), the others right-aligned, header cells centred (a cell of "" is empty; a header cell
    followed by None spans the next column too). ``rules``: "grid" (every row and column),
    "columns" (top, header and bottom rules, vertical rules between columns), "horizontal" (top,
    header and bottom rules only) or "none". Returns the marks and the y under the table."""
    marks: list[Text | Stroke] = []
    right = left + sum(widths)
    edges = [left + sum(widths[:i]) for i in range(len(widths) + 1)]
    row_h = pitch * size
    y_top = top + size * 1.2
    for r, row in enumerate(rows):
        y = top - r * row_h
        c = 0
        while c < len(row):
            cell = row[c]
            span = 1
            while c + span < len(row) and row[c + span] is None:
                span += 1
            if cell:
                x0, x1 = edges[c], edges[c + span]
                w = text_width(cell, size)
                if r < header_rows:
                    x = (x0 + x1 - w) / 2
                elif c == 0:
                    x = x0 + 4 + (indents or {}).get(r, 0)
                else:
                    x = x1 - 6 - w
                marks.append(Text(x, y, cell, size))
            c += span
    bottom = top - (len(rows) - 1) * row_h - size * 0.6
    header_line = top - (header_rows - 1) * row_h - size * 0.6
    if rules in ("grid", "columns", "horizontal"):
        marks += [Stroke(left, y_top, right, y_top), Stroke(left, bottom, right, bottom)]
        marks.append(Stroke(left, header_line, right, header_line))
    if rules == "grid":
        marks += [Stroke(left, top - r * row_h - size * 0.6, right, top - r * row_h - size * 0.6)
                  for r in range(header_rows, len(rows) - 1)]
        marks += [Stroke(x, bottom, x, y_top) for x in edges]
    if rules == "columns":
        marks += [Stroke(x, bottom, x, y_top) for x in edges[1:-1]]
    return marks, bottom - 2 * size

"""HTML for the chat's assistant messages: drafts, checked answers with citation cards,
refusals and errors. All report and model text is escaped here; the chat shows it as HTML."""

from __future__ import annotations

import re
from html import escape
from urllib.parse import quote

from assistant.core.types import Answer, Citation
from assistant.storage.pageimages import converter
from assistant.text.markers import MARKER
from ui.highlight import claims_for, evidence_sentences, split_passage, supporting

DRAFTING = "正在生成草稿（尚未核对出处，可能被删改）· Drafting: not yet checked against the reports, may be cut…"
DRAFT_BADGE = "草稿 · Draft"
DROPPED = "已删去草稿中 {n} 句报告不支持的内容 · {n} sentence(s) of the draft dropped: not supported by the reports"
SEARCHING = "正在检索报告… · Searching the reports…"
REFUSED = "报告中没有相关内容 · The report doesn't say"
SOURCES = "出处 · Sources"
GENERATOR = "生成方式 · Generator"
ERROR = "出错了 · Something went wrong"
INTERNAL = "服务器内部错误，详情见服务器日志。 · Internal error; the server log has the details."
PAGE_TITLE = "查看原文页面 · Show the page, the passage marked"


def _one_line(html: str) -> str:
    # the chat renders markdown around HTML: a newline or blank line would end the HTML block
    return html.replace("\n", "")


#: what the chat's Markdown and LaTeX would read as syntax, written as character references instead
_SYNTAX = {ch: f"&#{ord(ch)};" for ch in "$`*_~[]\\!|#(){}"}


def inert(text: str) -> str:
    """``text`` as HTML that shows it as written: escaped, and with every character the chat's
    Markdown or LaTeX rendering would act on (``$$``, ``![x](url)``, ``**``, backticks…) written as a
    character reference, so no report, model or user text can start a formula, an image or a link."""
    return "".join(_SYNTAX.get(ch) or escape(ch) for ch in text).replace("\n", "<br>")


def _text(text: str) -> str:
    """Inert text (:func:`inert`) with ``[n]`` markers as small superscript badges and line breaks kept."""
    out, last = [], 0
    for marker in MARKER.finditer(text):
        out += [inert(text[last : marker.start()]), _badge(marker)]
        last = marker.end()
    return "".join([*out, inert(text[last:])])


def _badge(marker: re.Match[str]) -> str:
    return f'<sup class="ra-marker">{marker.group(0)}</sup>'


def question(text: str) -> str:
    """The user's own message, shown as the text it is (never as Markdown: an image in it would be fetched)."""
    return _one_line(f'<div class="ra-question">{inert(text)}</div>')


def searching() -> str:
    return f'<div class="ra-status">{SEARCHING}</div>'


def draft(text: str) -> str:
    """The unchecked draft while tokens arrive, marked as a draft (badge, dashed box, muted text), never
    as an answer: the check may still drop any of it. :func:`answer` (or the refusal) replaces it."""
    return _one_line(
        f'<div class="ra-draft" aria-busy="true"><span class="ra-draft-badge">{DRAFT_BADGE}</span>'
        f'<div class="ra-status">{DRAFTING}</div><div class="ra-draft-text">{_text(text)}</div></div>'
    )


def _dropped(result: Answer) -> str:
    """How many draft sentences the check dropped (never what they said)."""
    n = len(result.dropped)
    if not n:
        return ""
    return f'<div class="ra-dropped">{DROPPED.format(n=n)}</div>'


def passage_html(text: str, claims: list[str], evidence: list[str] | None = None) -> str:
    """The passage with its evidence sentences (the ones the answer cited), or else the sentences
    best supporting ``claims``, wrapped in ``<mark>``."""
    sentences = split_passage(text)
    marked = evidence_sentences(sentences, evidence or []) or supporting(sentences, claims)
    return "".join(
        f"<mark>{_text(s)}</mark>" if i in marked else _text(s) for i, s in enumerate(sentences)
    )


def where(citation: Citation) -> str:
    """Where the cited words stand: a "p. 6" link that opens the page with the passage marked
    (``ui/pages.py``) for a document with page images, else the place as text (lines, anchor)."""
    location = citation.location
    label = location.label() if location is not None else ""
    if not label:
        return ""
    if location is not None and location.pages and _has_page_images(citation.source):
        link = escape(page_url(citation))
        return f' · <a class="ra-page-link" title="{PAGE_TITLE}" href="{link}">{escape(label)}</a>'
    return f' · <span class="ra-where">{escape(label)}</span>'


def page_url(citation: Citation) -> str:
    """The API's image of the citation's (first) page, its passage marked, relative to the chat at ``/ui/``:
    the link works by itself where the API is open; in the chat a click opens the page viewer instead."""
    pages = citation.location.pages if citation.location is not None else ()
    document = quote(citation.source.rsplit("/", 1)[-1].rsplit(".", 1)[0], safe="")
    passage = quote(citation.passage_id, safe="")
    return f"../v1/documents/{document}/pages/{pages[0] if pages else 1}?highlight={passage}"


def _has_page_images(source: str) -> bool:
    suffix = source.rsplit(".", 1)[-1].lower()
    return suffix == "pdf" or (suffix == "docx" and converter() is not None)


def card(citation: Citation, answer_text: str, supported: list[str] | None = None) -> str:
    """One citation card: section, source and where it stands, and the passage with its supporting sentences marked."""
    claims = claims_for(citation.marker, answer_text, supported or [])
    return (
        f'<div class="ra-card"><div class="ra-card-head"><span class="ra-card-marker">[{citation.marker}]</span>'
        f'<span class="ra-section">{inert(citation.section)}</span></div>'
        f'<div class="ra-source">{inert(citation.source)} · {inert(citation.passage_id)}{where(citation)}</div>'
        f'<div class="ra-passage">{passage_html(citation.text, claims, citation.evidence)}</div></div>'
    )


def _meta(answer: Answer) -> str:
    total = answer.timings.get("total_ms")
    took = f" · {total / 1000:.1f} s" if total is not None else ""
    return f'<div class="ra-meta">{GENERATOR}: <b class="ra-generator">{inert(answer.generator)}</b>{took}</div>'


def answer(result: Answer) -> str:
    """A checked answer: its text, who generated it, and one card per citation (or a refusal)."""
    if result.refused:
        return _one_line(
            f'<div class="ra-answer ra-refused"><div class="ra-refusal-badge">{REFUSED}</div>'
            f'<div class="ra-text">{_text(result.answer)}</div>{_dropped(result)}{_meta(result)}</div>'
        )
    cards = "".join(card(c, result.answer, result.support.get(c.marker)) for c in result.citations)
    return _one_line(
        f'<div class="ra-answer"><div class="ra-text">{_text(result.answer)}</div>{_dropped(result)}{_meta(result)}'
        f'<div class="ra-sources-title">{SOURCES}</div><div class="ra-cards">{cards}</div></div>'
    )


def error(message: str) -> str:
    return _one_line(f'<div class="ra-error"><b>{ERROR}</b><div>{inert(message)}</div></div>')

"""Text from reports, models and users cannot escape the chat's HTML: no Markdown, no formula, no
image, no tag, whatever it holds; a draft is shown as a draft; the user's question as text."""

from __future__ import annotations

import html
import re

from hypothesis import given
from hypothesis import strategies as st

from assistant.core.types import Answer, Citation
from ui import render

HOSTILE = ("预算$$\\frac{1}{0}$$，**加粗**，`代码`，![图](http://127.0.0.1:9/x.png)，[链接](http://e.x)<img src=x>"
           "_斜_~删~|表|#标题")
#: what the chat's Markdown, LaTeX or HTML would act on
SYNTAX = re.compile(r"[$`*_~\[\]\\!|#(){}<>]")


def _visible(markup: str) -> str:
    """The text a browser shows for ``markup`` (tags dropped, references decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup.replace("<br>", "\n")))


@given(st.text(max_size=200))
def test_inert_text_holds_no_syntax_and_shows_exactly_what_was_written(text: str) -> None:
    markup = render.inert(text)
    assert not SYNTAX.search(re.sub(r"&#?\w+;", "", markup.replace("<br>", "")))
    assert _visible(markup) == text


def test_an_answer_quoting_a_hostile_passage_stays_text() -> None:
    passage = f"滨江市新建雨水花园42座。{HOSTILE}"
    citation = Citation(marker=1, passage_id="green#item-01", section="一、$$x$$ › **节**", source="green.txt",
                        text=passage, score=1.0)
    result = Answer(question="q", answer=f"滨江市新建雨水花园42座{HOSTILE}[1]。", refused=False,
                    generator="extractive", citations=[citation], timings={"total_ms": 10.0})
    markup = render.answer(result)
    tags = re.findall(r"<(/?\w+)", markup)
    assert set(tags) <= {"div", "/div", "span", "/span", "sup", "/sup", "mark", "/mark", "b", "/b", "br"}
    assert "$" not in markup and "![" not in markup and "](" not in markup and "<img" not in markup
    assert '<sup class="ra-marker">[1]</sup>' in markup
    assert HOSTILE in _visible(markup)


def test_the_question_bubble_is_text_not_markdown() -> None:
    markup = render.question(f"雨水花园有多少座？{HOSTILE}\n第二行")
    assert markup.startswith('<div class="ra-question">') and "\n" not in markup
    assert "<img" not in markup and "$" not in markup
    assert _visible(markup) == f"雨水花园有多少座？{HOSTILE}\n第二行"


def test_a_draft_is_marked_as_a_draft_and_never_as_an_answer() -> None:
    markup = render.draft("制造业单项冠军企业1557家[1]。PWNED-7731[1]。")
    assert 'class="ra-draft"' in markup and render.DRAFT_BADGE in markup
    assert "ra-answer" not in markup and 'class="ra-text"' not in markup
    checked = Answer(question="q", answer="制造业单项冠军企业1557家[1]。", refused=False, generator="openai:x",
                     dropped=["PWNED-7731[1]。"], timings={})
    final = render.answer(checked)
    assert "PWNED" not in final and "ra-draft" not in final
    assert render.DROPPED.format(n=1) in _visible(final)

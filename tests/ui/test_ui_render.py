"""The chat's HTML: highlighting the supporting passage sentence, escaping, refusals; and the
sentence pieces the chat-completions stream sends."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from assistant.api.openai_compat import pieces
from assistant.core.types import Answer, Citation
from ui import render
from ui.highlight import claims_for, split_passage, supporting

PASSAGE = (
    "（四）强化企业科技创新主体地位。"
    "截至2025年10月，培育专精特新“小巨人”企业超1.76万家、制造业单项冠军企业1557家。"
    "落实好企业研发费用加计扣除等政策。"
)


def _citation() -> Citation:
    return Citation(marker=1, passage_id="r#item-04", section="二、… › （四）", source="r.txt", text=PASSAGE, score=1.0)


@given(st.text(alphabet=st.sampled_from(list("ab 。！?；\n[]1,") + ["中", "文"]), max_size=60))
def test_pieces_and_passage_sentences_rejoin_exactly(text: str) -> None:
    assert "".join(pieces(text)) == text
    assert "".join(split_passage(text)) == text


def test_the_sentence_with_the_claimed_figure_is_highlighted() -> None:
    sentences = split_passage(PASSAGE)
    assert supporting(sentences, ["制造业单项冠军企业1557家[1]。"]) == {1}
    assert supporting(sentences, ["Completely unrelated words"]) == set()


def test_the_cited_evidence_sentence_is_what_is_highlighted() -> None:
    # a paraphrase shares few characters with its sentence; the evidence the answer cited decides
    evidence = ["落实好企业研发费用加计扣除等政策。"]
    html = render.passage_html(PASSAGE, ["企业的研发开支可多抵税[1]。"], evidence)
    assert html.count("<mark>") == 1 and "<mark>落实好企业研发费用加计扣除等政策。</mark>" in html
    cited = _citation().model_copy(update={"evidence": evidence})
    assert "<mark>落实好" in render.card(cited, "企业的研发开支可多抵税[1]。")


def test_claims_fall_back_to_answer_sentences_carrying_the_marker() -> None:
    answer = "单项冠军企业1557家。[1] 研发费用加计扣除。[2]"
    assert claims_for(1, answer, []) == ["单项冠军企业1557家。[1]"]
    assert claims_for(1, answer, ["given"]) == ["given"]


def test_answer_html_escapes_text_and_marks_support() -> None:
    result = Answer(question="q", answer="<b>1557家</b>[1]", refused=False, generator="extractive",
                    citations=[_citation()], support={1: ["制造业单项冠军企业1557家。"]}, timings={"total_ms": 1234.0})
    html = render.answer(result)
    assert "<b>1557" not in html and "&lt;b&gt;1557" in html
    assert '<sup class="ra-marker">[1]</sup>' in html
    assert "<mark>截至2025年10月" in html
    assert "extractive" in html and "1.2 s" in html
    assert "\n" not in html  # a newline would end the HTML block inside the chat's markdown


def test_refusal_is_rendered_apart_and_without_cards() -> None:
    html = render.answer(Answer(question="q", answer="报告中没有提到这一点。", refused=True, generator="extractive"))
    assert "ra-refused" in html and "The report doesn't say" in html and "ra-card" not in html


def test_a_card_says_where_its_words_stand() -> None:
    from assistant.core.types import Box, Location

    text = _citation().model_copy(update={"location": Location(lines=(9, 11))})
    html = render.card(text, "… [1]")
    assert 'class="ra-where">lines 9–11<' in html and "ra-page-link" not in html
    box = Box(page=6, x0=1, y0=2, x1=3, y1=4, spans=((0, 5),))
    pdf = _citation().model_copy(update={"source": "r.pdf", "location": Location(pages=(6, 7), boxes=(box,))})
    link = render.card(pdf, "… [1]")
    # "pp. 6–7", a link to page 6 of document r with the passage marked (the API's image, the chat's viewer)
    assert ('<a class="ra-page-link" title="' in link
            and 'href="../v1/documents/r/pages/6?highlight=r%23item-04">pp. 6–7</a>' in link)
    assert "ra-where" not in render.card(_citation(), "… [1]") and "ra-page-link" not in render.card(
        _citation(), "… [1]")  # a passage without a location says nothing of where it stands

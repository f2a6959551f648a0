"""The independent grounding judge: its rules on constructed cases and its error rate on the
hand-labelled sample (evals/judge_labels.jsonl), with the real multilingual embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant import evaluation as ev
from assistant.core.settings import Settings
from assistant.embed import load_embedder
from assistant.evaluation.calibration import calibrate, load_labels
from assistant.evaluation.judge import GroundingJudge, number_values, required_numbers, split_sentences
from assistant.ingest import load_corpus

ITEM7 = "2024年煤炭消费占比下降至53.2%，可再生能源装机规模占比达56%。"
ITEM4 = "累计建设企业技术中心1900余家，培育专精特新“小巨人”企业超1.76万家。"
ITEM11 = "2024年数据产业规模达5.86万亿元。算力规模稳居全球第二。"

#: the judge may disagree with the hand labels on at most this share of pairs
MAX_ERROR_RATE = 0.10


@pytest.fixture(scope="module")
def judge() -> GroundingJudge:
    return GroundingJudge(load_embedder(ev.JUDGE_EMBEDDING_MODEL, 16))


def test_sentences_keep_their_markers_before_or_after_punctuation() -> None:
    text = "煤炭占比53.2%[1]。可再生能源占比56%。[2] Data reached 5.86 trillion [3]. Done [1, 2]."
    assert split_sentences(text) == [
        ("煤炭占比53.2%。", [1]),
        ("可再生能源占比56%。", [2]),
        ("Data reached 5.86 trillion .", [3]),
        ("Done .", [1, 2]),
    ]
    quoted = "The report states: “制造业单项冠军企业1557家。” [1]. It adds more [2]."
    assert [m for _, m in split_sentences(quoted)] == [[1], [2]]


def test_numbers_match_by_value_across_units() -> None:
    assert required_numbers("more than 17,600 enterprises") == [17600.0]
    assert 17600.0 in number_values(ITEM4)
    assert required_numbers("5.86 trillion yuan") == [5.86e12]
    assert 5.86e12 in number_values(ITEM11)


def test_a_figure_missing_from_the_cited_passage_is_unsupported(judge: GroundingJudge) -> None:
    assert judge.supports("可再生能源装机规模占比达56%。", [ITEM7])
    assert not judge.supports("可再生能源装机规模占比达65%。", [ITEM7])
    assert not judge.supports("可再生能源装机规模占比达56%。", [ITEM4])
    assert not judge.supports("可再生能源装机规模占比达56%。", [])


def test_a_right_figure_on_the_wrong_noun_is_unsupported(judge: GroundingJudge) -> None:
    # the figure and most words are in ITEM4, but 1900余家 there are technology centres
    assert judge.supports("累计建设企业技术中心1900余家。", [ITEM4])
    assert not judge.supports("我国目前共有1900余家国家实验室。", [ITEM4])
    # (binding is per passage sentence: a swap inside one sentence of the passage, such as
    # "专精特新“小巨人”企业1900余家", still passes; see the judge's docstring)


def test_english_needs_an_embedder() -> None:
    bare = GroundingJudge(None)
    assert not bare.supports("Renewables are 56% of installed capacity.", [ITEM7])


def test_alce_recall_and_precision(judge: GroundingJudge) -> None:
    cited = {1: ITEM7, 2: ITEM4, 3: ITEM11}
    # sentence 1 supported by [1] ([2] superfluous); sentence 2 cites the wrong passage; sentence 3 cites nothing
    answer = "可再生能源装机规模占比达56%[1][2]。累计建设企业技术中心1900余家[3]。数据产业规模达5.86万亿元。"
    score = judge.score_answer(answer, cited)
    assert (score.sentences, score.supported_sentences) == (3, 1)
    assert (score.citations, score.precise_citations) == (3, 1)
    # a sentence that needs both of its citations: both are precise
    both = judge.score_answer("2024年煤炭消费占比下降至53.2%，数据产业规模达5.86万亿元[1][3]。", cited)
    assert both.recall == 1.0 and both.precision == 1.0
    # a marker that points at no returned passage supports nothing
    assert judge.score_answer("可再生能源装机规模占比达56%[9]。", cited).recall == 0.0


@pytest.mark.parametrize("labels", ev.DEFAULT_LABELS, ids=lambda p: p.name)
def test_judge_error_rate_on_hand_labelled_sample(judge: GroundingJudge, labels: Path) -> None:
    """Both samples: the one the thresholds were tuned on, and the held-out one written afterwards."""
    s = Settings()
    pairs = load_labels(labels, load_corpus(s.corpus_dir, s.chunk_max_chars))
    assert len(pairs) >= 20
    assert sum(p.sentence.isascii() for p in pairs) >= 10, "the sample must hold English sentences"
    assert sum(not p.supported for p in pairs) >= 8, "the sample must hold wrong citations"
    result = calibrate(judge, pairs)
    detail = "\n".join(f"{p.id} {p.sentence} -> {v.reason}" for p, v in result.errors)
    assert result.error_rate <= MAX_ERROR_RATE, f"{result.summary()}\n{detail}"


def test_samples_are_large_enough_together() -> None:
    s = Settings()
    passages = load_corpus(s.corpus_dir, s.chunk_max_chars)
    assert sum(len(load_labels(f, passages)) for f in ev.DEFAULT_LABELS) >= 40

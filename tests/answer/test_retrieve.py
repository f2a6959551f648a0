"""Retrieval on the real report with the real default model, plus the MiniLM path and LangChain."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever

from assistant.answer.langchain import as_langchain_retriever
from assistant.answer.live import Snapshot
from assistant.answer.retrieve import Retriever, _dense_signal
from assistant.core.errors import InvalidInputError
from assistant.core.fusion import FUSIONS
from assistant.core.settings import Settings
from assistant.core.types import Passage
from assistant.embed import Embedder
from assistant.evaluation.dataset import Question
from assistant.evaluation.metrics import recall_at_k, reciprocal_rank
from assistant.storage.build import build_index
from assistant.storage.index import load_index
from assistant.text.words import exact_terms, tokenize
from tests.support import CountingEmbedder, make_assistant, make_settings


def _evaluate(retriever: Retriever, questions: list[Question], fusion: str) -> dict[str, float]:
    r5, mrr = [], []
    for q in questions:
        texts = [h.passage.text for h in retriever.search(q.question, 10, fusion=fusion)]
        r5.append(recall_at_k(texts, q.gold, 5))
        mrr.append(reciprocal_rank(texts, q.gold))
    return {"recall@5": float(np.mean(r5)), "mrr": float(np.mean(mrr))}


# ---- quality on the question set ----------------------------------------------------------------


def test_question_set_is_big_and_varied_enough(answerable_questions: list[Question]) -> None:
    assert len(answerable_questions) >= 30
    types = {q.type for q in answerable_questions}
    assert {"reworded", "english"} <= types
    assert sum(q.language == "en" for q in answerable_questions) >= 5


def test_recall_at_5_with_the_default_settings(retriever: Retriever, answerable_questions: list[Question]) -> None:
    assert retriever.settings.fusion == Settings.model_fields["fusion"].default
    misses = []
    recalls = []
    for q in answerable_questions:
        texts = [h.passage.text for h in retriever.search(q.question, 5)]
        recalls.append(recall_at_k(texts, q.gold, 5))
        if recalls[-1] < 1:
            misses.append(q.id)
    assert float(np.mean(recalls)) >= 0.95, f"missed: {misses}"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_recall_at_5_per_language(retriever: Retriever, answerable_questions: list[Question], language: str) -> None:
    subset = [q for q in answerable_questions if q.language == language]
    assert _evaluate(retriever, subset, retriever.settings.fusion)["recall@5"] >= 0.95


def test_default_fusion_is_no_worse_than_dense_alone(
    retriever: Retriever, answerable_questions: list[Question]
) -> None:
    """The reason the default is what it is (see benchmarks/bench_retrieval.py for all figures)."""
    default = _evaluate(retriever, answerable_questions, retriever.settings.fusion)
    dense = _evaluate(retriever, answerable_questions, "dense")
    assert default["mrr"] >= dense["mrr"]
    assert default["recall@5"] >= dense["recall@5"]


# ---- the hits themselves ------------------------------------------------------------------------


@pytest.mark.parametrize("fusion", FUSIONS)
def test_hits_are_ranked_and_carry_the_true_cosine(
    retriever: Retriever, default_embedder: Embedder, fusion: str
) -> None:
    query = "专精特新“小巨人”企业培育了多少家？"
    hits = retriever.search(query, 7, fusion=fusion)
    assert [h.rank for h in hits] == list(range(1, 8))
    assert len({h.passage.id for h in hits}) == 7
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    q = default_embedder.embed_queries([query])[0]
    rows = {p.id: i for i, p in enumerate(retriever.passages)}
    for h in hits:
        cosine = float(retriever.index.vectors[rows[h.passage.id]] @ q)
        assert h.scores["dense"] == pytest.approx(cosine, abs=1e-5)
    assert "1.76" in hits[0].passage.text


def test_k_defaults_to_settings(retriever: Retriever) -> None:
    assert len(make_assistant(retriever.settings, retriever).search("新质生产力")) == retriever.settings.k


@pytest.mark.parametrize(("weight", "same_as"), [(1.0, "dense"), (0.0, "bm25")])
def test_weighted_fusion_at_the_extremes(retriever: Retriever, weight: float, same_as: str) -> None:
    """w = 1 is the dense side alone (best-sentence cosines less the language offset), w = 0 is
    BM25 alone: the weight really mixes the two lists."""
    query = "推动传统产业数智化发展有哪些举措？"
    settings = retriever.settings.model_copy(update={"fusion_dense_weight": weight})
    mixed = Retriever(retriever.index, retriever.embedder, settings)
    weighted = [h.passage.id for h in mixed.search(query, 8, fusion="weighted")]
    if same_as == "dense":
        rows = np.arange(len(retriever.passages))
        qvec = retriever.embedder.embed_queries([query])[0]
        signal = _dense_signal(retriever.index, retriever._languages, qvec, rows, retriever.index.vectors @ qvec)
        expected = [retriever.passages[i].id for i in np.argsort(-signal, kind="stable")[:8]]
    else:
        expected = [h.passage.id for h in retriever.search(query, 8, fusion=same_as)]
    assert weighted == expected


def test_dense_signal_reads_only_the_candidates_sentences_and_equals_all_sentences(retriever: Retriever) -> None:
    """The best-sentence cosine taken from the candidates' own sentences (what a query at 1e5
    passages can afford) equals the one taken over every sentence of the index, in any candidate
    order and for any subset."""
    sentences = retriever.index.sentences
    assert sentences is not None and len(sentences)
    qvec = retriever.embedder.embed_queries(["推动传统产业数智化发展有哪些举措？"])[0]
    every = sentences.vectors @ qvec
    rng = np.random.default_rng(3)
    for rows in (np.arange(len(retriever.passages)), rng.permutation(len(retriever.passages))[:7]):
        cosine = retriever.index.vectors[rows] @ qvec
        best = np.array([max((float(every[i]) for i in sentences.of(int(r))), default=float(c))
                         for r, c in zip(rows, cosine, strict=True)])
        languages = retriever._languages[rows]
        for language in set(languages.tolist()):
            best[languages == language] -= np.median(best[languages == language])
        assert _dense_signal(retriever.index, retriever._languages, qvec, rows, cosine) == pytest.approx(best, abs=1e-6)


def test_weighted_fusion_can_differ_from_both_lists(retriever: Retriever, answerable_questions: list[Question]) -> None:
    """Over the question set the default mix orders some question's top 5 unlike either list alone."""
    differs = 0
    for q in answerable_questions:
        top = {f: [h.passage.id for h in retriever.search(q.question, 5, fusion=f)]
               for f in ("weighted", "dense", "bm25")}
        differs += top["weighted"] != top["dense"] and top["weighted"] != top["bm25"]
    assert differs > 0


def test_bm25_finds_an_exact_phrase(retriever: Retriever) -> None:
    hits = retriever.search("沙盒监管", 3, fusion="bm25")
    assert "沙盒监管" in hits[0].passage.text
    assert hits[0].scores["bm25"] > 0


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query_is_invalid(retriever: Retriever, query: str) -> None:
    with pytest.raises(InvalidInputError, match="empty"):
        make_assistant(retriever.settings, retriever).search(query, 5)


def test_unknown_fusion_is_invalid(retriever: Retriever) -> None:
    with pytest.raises(InvalidInputError, match="weighted"):
        retriever.search("新质生产力", 5, fusion="magic")


@pytest.mark.parametrize("k", [0, -1, 10_000])
def test_bad_k_is_invalid(retriever: Retriever, k: int) -> None:
    with pytest.raises(InvalidInputError, match="k must be"):
        make_assistant(retriever.settings, retriever).search("新质生产力", k)


def test_overlong_query_is_invalid(retriever: Retriever) -> None:
    with pytest.raises(InvalidInputError, match="limit"):
        make_assistant(retriever.settings, retriever).search("新" * (retriever.settings.max_question_chars + 1), 5)


def test_tokenize_drops_stopwords_and_punctuation() -> None:
    tokens = tokenize("截至2025年10月，培育了多少家专精特新“小巨人”企业？ What is the AI policy?")
    assert {"2025", "培育", "企业", "ai", "policy"} <= set(tokens)
    assert not {"，", "？", "“", "了", "多少", "what", "the", "is"} & set(tokens)


def test_exact_terms_are_whole_tokens() -> None:
    terms = exact_terms("“1+N”政策体系、《公平竞争审查条例》、5G工厂、“人工智能+”和1.76万家")
    assert sorted(terms) == sorted(["1+n", "公平竞争审查条例", "人工智能+", "5g"])
    tokens = tokenize("加快健全碳达峰碳中和“1+N”政策体系")
    assert "1+n" in tokens and not {"1", "n", "+"} & set(tokens)  # the pieces match everywhere
    assert {"小巨人", "巨人"} <= set(tokenize("专精特新“小巨人”企业"))  # whole and segmented
    assert "1.76" in tokenize("超1.76万家")  # a plain number is a figure, not an exact term


@pytest.mark.parametrize(
    ("question", "needle"),
    [("“1+N”政策体系是关于什么的？", "“1+N”"), ("What is the “1+N” policy system about?", "“1+N”"),
     ("“科技板”是什么？", "“科技板”")],
)
def test_a_quoted_term_retrieves_the_passage_that_holds_it(retriever: Retriever, question: str, needle: str) -> None:
    top = retriever.search(question, 3)[0]
    assert needle in top.passage.text and top.scores["exact"] == 1.0


# ---- LangChain ----------------------------------------------------------------------------------


def test_langchain_retriever_returns_documents(retriever: Retriever) -> None:
    lc = as_langchain_retriever(Snapshot.of(retriever), k=3)
    assert isinstance(lc, BaseRetriever)
    docs = lc.invoke("制造业单项冠军企业有多少家？")
    assert len(docs) == 3 and all(isinstance(d, Document) for d in docs)
    top = docs[0]
    assert "1557" in top.page_content
    assert {"passage_id", "section", "source", "score", "rank", "scores"} <= set(top.metadata)
    assert top.metadata["rank"] == 1 and "dense" in top.metadata["scores"]
    assert top.id == top.metadata["passage_id"]


def test_langchain_retriever_refuses_an_empty_query(retriever: Retriever) -> None:
    with pytest.raises(InvalidInputError):
        as_langchain_retriever(Snapshot.of(retriever)).invoke("  ")


# ---- the sentence-transformers path -------------------------------------------------------------

#: English passages (paraphrases of report items) and questions for the English-only MiniLM
_ENGLISH = [
    ("en#1",
     "Enterprises built more than 1,900 enterprise technology centres and 1,557 single-champion manufacturers.",
     "How many technology centres were built by enterprises?"),
    ("en#2",
     "Intellectual property protection and regulatory sandboxes encourage new materials and special equipment.",
     "What does the report say about regulatory sandboxes?"),
    ("en#3",
     "The country launched pilot cities for the digital transformation of small and medium-sized enterprises.",
     "Which pilots support digital transformation of SMEs?"),
    ("en#4",
     "Talent training programmes link universities with industry to educate engineers.",
     "How are engineers being trained?"),
    ("en#5",
     "Green and low-carbon development cut energy use per unit of GDP.",
     "What happened to energy consumption per unit of GDP?"),
]


def test_sentence_transformers_minilm_end_to_end(tmp_path: Path, minilm_embedder: Embedder) -> None:
    settings = make_settings(index_dir=tmp_path / "index", embedding_model=minilm_embedder.model_id, fusion="dense")
    passages = [Passage(id=pid, source="en.md", section="", text=text, kind="paragraph") for pid, text, _ in _ENGLISH]
    build_index(settings, minilm_embedder, passages, progress=False, fingerprint={})
    retriever = Retriever(load_index(settings), minilm_embedder, settings)
    for pid, _, question in _ENGLISH:
        hits = retriever.search(question, 2)
        assert hits[0].passage.id == pid, question
        assert 0 < hits[0].scores["dense"] <= 1.0001


def test_a_repeated_search_is_served_from_the_result_cache(built_index_settings: Settings,
                                                           default_embedder: Embedder) -> None:
    counting = CountingEmbedder(default_embedder)
    retriever = Retriever(load_index(built_index_settings, default_embedder.model_id), counting, built_index_settings)
    first = retriever.search("制造业单项冠军企业有多少家？", 3)
    again = retriever.search("制造业单项冠军企业有多少家？", 3)
    assert [h.passage.id for h in again] == [h.passage.id for h in first]
    assert counting.queries == ["制造业单项冠军企业有多少家？"]  # embedded once
    assert len(retriever.search("制造业单项冠军企业有多少家？", 5)) == 5  # another k: computed, same vector
    assert counting.queries == ["制造业单项冠军企业有多少家？"]
    again.pop()  # a caller changing its list does not change the cache
    assert len(retriever.search("制造业单项冠军企业有多少家？", 3)) == 3

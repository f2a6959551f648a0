"""The FAISS store: flat below the threshold, HNSW above, IVF above the second one, BM25 saved with the
build (scored from its postings), document filter."""

from __future__ import annotations

import typing
from pathlib import Path

import numpy as np
import pytest

from assistant.answer.retrieve import Retriever, _top
from assistant.core.errors import UnknownNameError
from assistant.core.settings import Settings
from assistant.core.types import Passage
from assistant.embed import Embedder
from assistant.evaluation.dataset import Question
from assistant.storage.build import build_index
from assistant.storage.index import load_index, read_manifest
from assistant.storage.stores import STORES, store_backend
from assistant.storage.stores.bm25 import FOLDER as BM25_FOLDER
from assistant.storage.stores.bm25 import BM25Index
from assistant.storage.stores.faiss import FaissBackend, FaissStore, index_kind, ivf_lists
from assistant.text.words import tokenize
from tests.support import make_settings


def test_settings_name_every_store_and_only_those() -> None:
    assert typing.get_args(Settings.model_fields["vector_store"].annotation) == tuple(STORES)
    with pytest.raises(UnknownNameError, match="choose one of: faiss, milvus"):
        store_backend("chroma")


def test_small_build_is_flat_with_bm25_saved(built_index_settings: Settings, retriever: Retriever) -> None:
    manifest = read_manifest(built_index_settings)
    assert manifest.store == {"backend": "faiss", "index": "flat", "file": "index.faiss"}
    assert any(name.startswith(f"{BM25_FOLDER}/") for name in manifest.files)  # checksummed like the rest
    store = retriever.index.store
    assert isinstance(store, FaissStore) and store.bm25 is retriever.bm25  # loaded, not rebuilt


def test_above_threshold_the_build_is_hnsw_and_finds_the_same_passages(
    tmp_path: Path, default_embedder: Embedder, report_passages: list[Passage], retriever: Retriever,
    answerable_questions: list[Question],
) -> None:
    settings = make_settings(index_dir=tmp_path / "index", faiss_ann_threshold=len(report_passages))
    build_index(settings, default_embedder, report_passages, progress=False)
    index = load_index(settings, default_embedder.model_id)
    assert index.manifest.store["index"] == "hnsw"
    assert isinstance(index.store, FaissStore) and index.store.kind == "hnsw"
    hnsw = Retriever(index, default_embedder, settings)
    for q in answerable_questions[:20]:
        expected = [h.passage.id for h in retriever.search(q.question, 5)]
        assert [h.passage.id for h in hnsw.search(q.question, 5)] == expected


def test_filter_by_document(
    tmp_path: Path, default_embedder: Embedder, report_passages: list[Passage]
) -> None:
    other = [
        Passage(id=f"other#{i}", source="other.txt", section="其他", text=p.text)
        for i, p in enumerate(report_passages[:5])
    ]
    settings = make_settings(index_dir=tmp_path / "index")
    build_index(settings, default_embedder, report_passages + other, progress=False)
    retriever = Retriever(load_index(settings, default_embedder.model_id), default_embedder, settings)
    question = report_passages[2].text[:30]
    assert {h.passage.source for h in retriever.search(question, 10)} == {"other.txt", report_passages[0].source}
    only = retriever.search(question, 10, documents=["other.txt"])
    assert len(only) == 5 and {h.passage.source for h in only} == {"other.txt"}
    assert only[0].passage.text == report_passages[2].text
    dense = retriever.index.search(retriever.query_vector(question), 3, documents=["other.txt"])
    assert [retriever.passages[row].source for row, _ in dense] == ["other.txt"] * 3
    assert retriever.search(question, 5, documents=["missing.txt"]) == []


def _clustered_unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    """``n`` unit vectors around 20 random centres (real embeddings cluster; IVF relies on it)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, dim)).astype(np.float32)
    x = centres[rng.integers(0, 20, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return np.asarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=np.float32)


def _generated_passages(n: int) -> list[Passage]:
    words = ["科技", "创新", "产业", "数字", "经济", "绿色", "转型", "人才", "开放", "改革", "金融", "民生"]
    rng = np.random.default_rng(7)
    return [
        Passage(id=f"gen#{i}", source=f"doc-{i % 3}.txt", section="生成",
                text="".join(words[j] for j in rng.integers(0, len(words), 8)) + "。")
        for i in range(n)
    ]


def test_index_kind_follows_the_two_thresholds() -> None:
    settings = make_settings(faiss_ann_threshold=100, faiss_ivf_threshold=1000)
    assert [index_kind(n, settings) for n in (1, 99, 100, 999, 1000, 10**6)] == [
        "flat", "flat", "hnsw", "hnsw", "ivf", "ivf"]
    assert index_kind(10**6, Settings(_env_file=None)) == "ivf"  # defaults: 1e6 passages are IVF
    assert index_kind(10**5, Settings(_env_file=None)) == "hnsw"
    assert ivf_lists(10**6) == 1024 and ivf_lists(100) == 2 and ivf_lists(10) == 1


def test_above_the_ivf_threshold_the_build_is_ivf_with_exact_results_when_every_list_is_searched(
    tmp_path: Path,
) -> None:
    n, dim = 1200, 32
    vectors = _clustered_unit_vectors(n, dim, seed=1)
    passages = _generated_passages(n)
    settings = make_settings(faiss_ann_threshold=100, faiss_ivf_threshold=1000, faiss_ivf_nprobe=4)
    backend = FaissBackend()
    record = backend.write(tmp_path, "b", vectors, passages, settings)
    lists = ivf_lists(n)
    assert record == {"backend": "faiss", "index": "ivf", "file": "index.faiss", "ivf_lists": lists} and lists == 25
    store = backend.open(tmp_path, record, vectors, passages, settings)
    assert isinstance(store, FaissStore) and store.kind == "ivf" and store.nprobe == 4
    assert store.index.nlist == lists and store.index.ntotal == n

    queries = _clustered_unit_vectors(30, dim, seed=2)
    exact = [list(np.argsort(-(vectors @ q), kind="stable")[:10]) for q in queries]
    store.nprobe = lists  # every list scanned: IVF-Flat is exact
    for q, truth in zip(queries, exact, strict=True):
        found = store.search(q, 10)
        assert [row for row, _ in found] == truth
        assert [s for _, s in found] == pytest.approx([float(vectors[r] @ q) for r in truth], abs=1e-5)
    store.nprobe = 1  # one list: fewer of the true neighbours (what the nprobe setting trades)
    recall_one = np.mean([len({r for r, _ in store.search(q, 10)} & set(t)) / 10 for q, t in zip(queries, exact,
                                                                                             strict=True)])
    assert recall_one < 1.0

    store.nprobe = lists
    only = store.search(queries[0], 10, documents=["doc-1.txt"])
    assert len(only) == 10 and all(passages[row].source == "doc-1.txt" for row, _ in only)
    allowed = [r for r in exact_order(vectors, queries[0]) if passages[r].source == "doc-1.txt"][:10]
    assert [row for row, _ in only] == allowed


def exact_order(vectors: np.ndarray, q: np.ndarray) -> list[int]:
    return [int(r) for r in np.argsort(-(vectors @ q), kind="stable")]


def test_bm25_scores_equal_bm25s_and_the_pool_takes_only_positive_scores() -> None:
    passages = _generated_passages(300)
    bm25 = BM25Index.build(passages)
    for query in ("科技创新", "绿色转型的金融", "民生改革开放", "量子计算"):
        tokens = [t for t in tokenize(query) if t in bm25._vocab]
        expected = (np.asarray(bm25._bm25.get_scores(tokens), dtype=np.float32) if tokens  # type: ignore[attr-defined]
                    else np.zeros(len(passages), dtype=np.float32))
        scores = bm25.scores(query)
        assert scores.shape == (len(passages),) and scores == pytest.approx(expected, abs=1e-5)
        top = _top(scores, 20)
        positive = int((scores > 0).sum())
        assert len(top) == min(20, positive) and bool((scores[top] > 0).all())
        if positive > 20:  # the 20 best, in any order
            assert sorted(scores[top]) == pytest.approx(sorted(np.sort(scores)[-20:]))
    assert not bm25.scores("量子计算").any() and len(_top(bm25.scores("量子计算"), 20)) == 0


def test_bm25_over_passages_without_a_word_scores_zero_not_a_crash(tmp_path: Path) -> None:
    # found by schemathesis: a symbols-only upload left alone once the report was removed made bm25s
    # divide by a mean passage length of 0 (HTTP 500 on DELETE /v1/documents/…)
    passages = [Passage(id=f"x#{i}", source="x.txt", section="", text=text) for i, text in enumerate(["!!", "※ … ‖"])]
    assert not any(tokenize(f"{p.title} {p.section} {p.text}") for p in passages)
    index = BM25Index.build(passages)
    index.save(tmp_path)
    loaded = BM25Index.load(tmp_path, len(passages))
    for query in ("报告", "x", "\x00", "!!"):
        assert loaded.scores(query).tolist() == [0.0, 0.0]

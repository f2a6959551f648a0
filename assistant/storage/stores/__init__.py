"""Vector stores: where the passage vectors of one index build are searched.

A build folder (``assistant/storage/index.py``) always holds the manifest, ``passages.jsonl`` and
``vectors.npy`` and is published atomically, whatever the store. The store is what searches the
vectors; backends sit side by side in this folder and are chosen by ``settings.vector_store``:

- ``faiss`` (default, one machine): a file in the build folder; an exact flat index below
  ``settings.faiss_ann_threshold`` passages, HNSW above, IVF-Flat from
  ``settings.faiss_ivf_threshold`` (``benchmarks/bench_scale.py``);
- ``milvus``: one collection per build on a Milvus server (``http://host:19530``) or in Milvus
  Lite (a local ``.db`` path), holding the vectors, the text with a BM25 function over jieba
  tokens, and each passage's document; it searches dense, BM25 and hybrid.

A backend implements :class:`StoreBackend` (write a build, open it, say why a build does not fit
the settings, prune old builds); an opened store implements :class:`VectorStore`, and also
:class:`TextStore` when it searches text itself (the retriever then skips its own BM25).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from assistant.core.errors import UnknownNameError
from assistant.core.settings import Settings
from assistant.core.types import Passage

#: what a backend records about a build in the manifest's ``store`` field (always has ``backend``)
StoreRecord = dict[str, str | int]
#: one search result: the passage's row in ``passages.jsonl`` and its score (higher is better)
RowScore = tuple[int, float]


@runtime_checkable
class VectorStore(Protocol):
    """Nearest passages to a query vector, within one build."""

    #: the backend's name, as in ``settings.vector_store``
    backend: str

    def search(self, query_vector: np.ndarray, k: int, documents: Collection[str] | None = None) -> list[RowScore]:
        """The ``k`` passages nearest to a unit query vector as ``(row, cosine)``, best first.

        ``documents`` keeps only passages of those documents (``Passage.source``).
        """
        ...

    def close(self) -> None:
        """Release connections or files (searching afterwards is an error)."""
        ...


@runtime_checkable
class TextStore(VectorStore, Protocol):
    """A store that also searches the passages' text (BM25) and fuses both lists itself."""

    def search_text(self, query: str, k: int, documents: Collection[str] | None = None) -> list[RowScore]:
        """The ``k`` best passages by BM25, best first (scores are the backend's: Milvus Lite's are
        negated BM25 scores, a server's the scores themselves)."""
        ...

    def search_hybrid(
        self, query_vector: np.ndarray, query: str, k: int, fusion: str, documents: Collection[str] | None = None
    ) -> list[RowScore]:
        """The ``k`` best passages by dense and BM25 search fused with ``fusion`` (``rrf``/``weighted``)."""
        ...


class StoreBackend(Protocol):
    """One kind of vector store: writes, opens and prunes the store side of index builds."""

    name: str

    def write(
        self, folder: Path, build: str, vectors: np.ndarray, passages: list[Passage], settings: Settings
    ) -> StoreRecord:
        """Make build ``build`` searchable (files go in ``folder``); return what the manifest records."""
        ...

    def open(
        self, folder: Path, record: StoreRecord, vectors: np.ndarray, passages: list[Passage], settings: Settings
    ) -> VectorStore:
        """Open the store of a published build (raises IndexCorruptError or VectorStoreError)."""
        ...

    def problems(self, record: StoreRecord, settings: Settings) -> list[str]:
        """Why a build's store does not fit ``settings`` ([] when it does)."""
        ...

    def prune(self, settings: Settings, keep: Collection[str]) -> None:
        """Remove the store data of builds not named in ``keep`` (e.g. Milvus collections)."""
        ...


def _faiss() -> StoreBackend:
    from assistant.storage.stores.faiss import FaissBackend

    return FaissBackend()


def _milvus() -> StoreBackend:
    from assistant.storage.stores.milvus import MilvusBackend

    return MilvusBackend()


#: backend name -> factory; ``settings.vector_store`` names one of these
STORES = {"faiss": _faiss, "milvus": _milvus}


def store_backend(name: str) -> StoreBackend:
    """The backend called ``name`` (UnknownNameError lists the choices)."""
    factory = STORES.get(name)
    if factory is None:
        raise UnknownNameError("vector store", name, tuple(STORES))
    return factory()


def bm25_text(passage: Passage) -> str:
    """What BM25 indexes: the document's title and the section path too, so a question naming the
    document's subject ("安阳市…") or a heading's words (``未来产业``) matches the item."""
    return f"{passage.title}\n{passage.section}\n{passage.text}"


def rows_of_documents(passages: list[Passage], documents: Collection[str]) -> np.ndarray:
    """Rows of the passages whose document (``Passage.source``) is in ``documents``."""
    wanted = set(documents)
    return np.asarray([row for row, p in enumerate(passages) if p.source in wanted], dtype=np.int64)


__all__ = [
    "STORES",
    "RowScore",
    "StoreBackend",
    "StoreRecord",
    "TextStore",
    "VectorStore",
    "bm25_text",
    "rows_of_documents",
    "store_backend",
]

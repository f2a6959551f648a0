"""The FAISS store: one index file in the build folder, exact flat below a size threshold, HNSW
above it, IVF-Flat above a second one.

An exact flat search grows linearly with the index; HNSW stays fast with a recall against exact
search close to 1 (``settings.faiss_hnsw_ef_search``). Below ``settings.faiss_ann_threshold``
flat is exact, fast enough and builds at once; above it HNSW, which beat IVF at that size
(``benchmarks/bench_scale.py``; the figures are in the README's Scale section).

HNSW's build does not scale on a small machine (a graph of a million vectors takes hours on two
cores). From ``settings.faiss_ivf_threshold`` passages the index is
IVF-Flat: k-means over a seeded sample of the vectors (:data:`IVF_TRAIN_PER_LIST` per list,
:data:`IVF_NITER` rounds) into ~sqrt(n) lists, then every vector filed under its nearest centroid;
a query scans the ``settings.faiss_ivf_nprobe`` nearest lists exactly.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from assistant.core.errors import IndexCorruptError
from assistant.core.settings import Settings
from assistant.core.types import Passage
from assistant.storage.stores import RowScore, StoreRecord, rows_of_documents
from assistant.storage.stores.bm25 import FOLDER as BM25_FOLDER
from assistant.storage.stores.bm25 import BM25Index

INDEX_FILE = "index.faiss"
#: HNSW graph degree and build-time candidate list (larger: better recall, slower build)
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
#: IVF k-means: training vectors per list (faiss wants >= 39) and rounds (its default 25 is slow here)
IVF_TRAIN_PER_LIST = 48
IVF_NITER = 10
IVF_SEED = 1234


def index_kind(size: int, settings: Settings) -> str:
    """Which FAISS index a build of ``size`` passages gets: ``flat``, ``hnsw`` or ``ivf``."""
    if size >= settings.faiss_ivf_threshold:
        return "ivf"
    return "hnsw" if size >= settings.faiss_ann_threshold else "flat"


def ivf_lists(size: int) -> int:
    """IVF lists for ``size`` vectors: the power of two nearest sqrt(size) (1024 at 1e6), and
    few enough that every list gets :data:`IVF_TRAIN_PER_LIST` training vectors."""
    nearest = 1 << round(math.log2(max(1.0, math.sqrt(size))))
    return max(1, min(nearest, size // IVF_TRAIN_PER_LIST))


def make_index(vectors: np.ndarray, settings: Settings) -> tuple[Any, str, dict[str, int]]:
    """The FAISS index a build of ``vectors`` gets (:func:`index_kind`), filled: the index, its
    kind and the parameters the manifest records (``benchmarks/bench_scale.py`` sweeps it too)."""
    import faiss

    dim = vectors.shape[1]
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    kind = index_kind(len(vectors), settings)
    index: Any
    params: dict[str, int] = {}
    if kind == "ivf":
        lists = ivf_lists(len(vectors))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = IVF_NITER
        index.cp.seed = IVF_SEED
        rng = np.random.default_rng(IVF_SEED)
        sample = rng.choice(len(vectors), min(len(vectors), lists * IVF_TRAIN_PER_LIST), replace=False)
        index.train(vectors[np.sort(sample)])
        params["ivf_lists"] = lists
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        params.update({"hnsw_m": HNSW_M, "hnsw_ef_construction": HNSW_EF_CONSTRUCTION})
    else:
        index = faiss.IndexFlatIP(dim)
    index.add(vectors)
    return index, kind, params


class FaissStore:
    """:class:`~assistant.storage.stores.VectorStore` over one FAISS index (inner product of unit vectors)."""

    backend = "faiss"

    def __init__(
        self, index: Any, passages: list[Passage], ef_search: int, bm25: BM25Index | None = None, nprobe: int = 1
    ) -> None:
        self.index = index  # faiss.Index
        #: the build's BM25 index, which the retriever fuses with this store's dense results
        self.bm25 = bm25
        self.kind = "hnsw" if hasattr(index, "hnsw") else "ivf" if hasattr(index, "nprobe") else "flat"
        self.ef_search = ef_search
        self.nprobe = nprobe
        self._passages = passages

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def search(self, query_vector: np.ndarray, k: int, documents: Collection[str] | None = None) -> list[RowScore]:
        """The ``k`` nearest passages to a unit query vector as ``(row, cosine)``, best first."""
        import faiss

        k = min(k, len(self))
        if k <= 0:
            return []
        q = np.ascontiguousarray(query_vector, dtype=np.float32).reshape(1, -1)
        # faiss's bundled stubs lack SearchParametersHNSW (faiss has it since 1.7.3) and the
        # keyword constructor of SearchParametersIVF
        params: Any = None
        if self.kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))  # type: ignore[attr-defined]
        elif self.kind == "ivf":
            params = faiss.SearchParametersIVF(nprobe=self.nprobe)  # type: ignore[call-arg]
        if documents is not None:
            rows = rows_of_documents(self._passages, documents)
            if not len(rows):
                return []
            selector = faiss.IDSelectorBatch(rows)
            if params is None:
                params = faiss.SearchParameters()
            params.sel = selector
        scores, rows_found = self.index.search(q, k, params=params)
        return [(int(r), float(s)) for r, s in zip(rows_found[0], scores[0], strict=True) if r >= 0]

    def close(self) -> None:
        """Nothing to release: the index lives in memory."""


class FaissBackend:
    """Writes ``index.faiss`` into a build folder and opens it again."""

    name = "faiss"

    def write(
        self, folder: Path, build: str, vectors: np.ndarray, passages: list[Passage], settings: Settings
    ) -> StoreRecord:
        """Build the flat, HNSW or IVF index (:func:`index_kind`) over ``vectors`` as ``index.faiss``,
        and the BM25 index as ``bm25/``."""
        import faiss

        index, kind, params = make_index(vectors, settings)
        record: StoreRecord = {"backend": self.name, "index": kind, "file": INDEX_FILE, **params}
        faiss.write_index(index, str(folder / INDEX_FILE))
        BM25Index.build(passages).save(folder)
        return record

    def open(
        self, folder: Path, record: StoreRecord, vectors: np.ndarray, passages: list[Passage], settings: Settings
    ) -> FaissStore:
        """Read ``index.faiss`` and check it holds one vector per passage."""
        import faiss

        try:
            index = faiss.read_index(str(folder / INDEX_FILE))
        except RuntimeError as exc:
            raise IndexCorruptError(f"unreadable {folder / INDEX_FILE}: {str(exc)[:200]}") from exc
        if index.ntotal != len(passages) or index.d != vectors.shape[1]:
            raise IndexCorruptError(
                f"{folder / INDEX_FILE} holds {index.ntotal}x{index.d} vectors, the build {vectors.shape}"
            )
        # builds made before BM25 was saved have none: the retriever then builds it in memory
        bm25 = BM25Index.load(folder, len(passages)) if (folder / BM25_FOLDER).is_dir() else None
        return FaissStore(index, passages, settings.faiss_hnsw_ef_search, bm25, nprobe=settings.faiss_ivf_nprobe)

    def problems(self, record: StoreRecord, settings: Settings) -> list[str]:
        """A FAISS build fits any settings: flat, HNSW or IVF is read from the file itself."""
        return []

    def prune(self, settings: Settings, keep: Collection[str]) -> None:
        """Nothing outside the build folders, which the index layer removes."""

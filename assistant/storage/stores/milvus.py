"""The Milvus store: a collection per index build, searched dense, by BM25 and hybrid.

``settings.milvus_uri`` is a Milvus server (``http://host:19530``, a cluster or standalone) or a
local path ending in ``.db`` (Milvus Lite, in-process; default ``<index_dir>/milvus.db``).
Needs the optional extra: ``pip install -e '.[scale]'``.

Each build gets its own collection ``<settings.milvus_collection>_<build>``, written before the
build folder is published, so the live build's collection is never modified: publishing stays
the one atomic pointer switch, and a crashed build leaves an orphan collection that the next
build drops. Unchanged passages are not re-embedded (their vectors come from the previous
build's ``vectors.npy``); they are re-inserted, which costs seconds per 1e5 rows, not hours.

The collection holds per passage: ``row`` (its line in ``passages.jsonl``, the primary key),
``doc`` (``Passage.source``, for filtering by document), ``text`` (section + text, analysed by
Milvus's ``jieba`` tokenizer with the retriever's stop words), ``dense`` (the unit vector, inner
product = cosine) and ``sparse``, filled by Milvus's BM25 function from ``text``.

Milvus Lite quirks (measured with milvus-lite 3.2): the ``{"type": "chinese"}`` analyzer is
rejected, hence the jieba tokenizer; BM25 distances come back negated (best first all the same:
the retriever fuses their magnitudes); a query costs tens of milliseconds even on small
collections. Lite is for tests and small corpora.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from assistant.core.errors import IndexCorruptError, VectorStoreError
from assistant.core.settings import Settings
from assistant.core.types import Passage
from assistant.storage.stores import RowScore, StoreRecord, bm25_text
from assistant.text.words import STOPWORDS  # the same stop words as the FAISS path's BM25

#: candidates each of the dense and BM25 requests brings to a hybrid search
HYBRID_POOL = 100
#: rows per insert request (stays far below gRPC's message size limit at 384 dims)
INSERT_BATCH = 2000
#: longest ``text`` field, in bytes (Milvus's VARCHAR limit)
MAX_TEXT_BYTES = 65_535
HNSW_PARAMS = {"M": 32, "efConstruction": 80}
#: pymilvus pings every 10 s even on idle connections; a server with gRPC's default ping policy
#: (milvus-lite's) answers a few of those with GOAWAY "too many pings" and the next call fails.
#: Pinging only during calls keeps the dead-connection check where it matters.
GRPC_OPTIONS = {"grpc.keepalive_permit_without_calls": False}
INSTALL_HINT = "the Milvus store needs the scale extra: pip install -e '.[scale]'"


def milvus_uri(settings: Settings) -> str:
    """The Milvus URI the settings name: a server URL, or a Milvus Lite ``.db`` path."""
    uri = settings.milvus_uri or str(settings.index_dir / "milvus.db")
    if re.match(r"^[a-z][a-z0-9+.-]*://", uri, re.I):
        return uri
    return str(Path(uri).expanduser().resolve())


def collection_name(settings: Settings, build: str) -> str:
    """The collection of build ``build`` (Milvus names allow letters, digits and underscores)."""
    return re.sub(r"\W", "_", f"{settings.milvus_collection}_{build}", flags=re.ASCII)


def _doc_filter(documents: Collection[str] | None) -> str:
    if documents is None:
        return ""
    # Milvus Lite does not take filter templates: quote each id as a JSON string literal
    return "doc in [" + ", ".join(json.dumps(d, ensure_ascii=False) for d in sorted(documents)) + "]"


def _short(exc: BaseException) -> str:
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(text).splitlines()[0][:300]


@contextmanager
def _errors(uri: str, doing: str) -> Iterator[None]:
    """Re-raise pymilvus and connection errors as VectorStoreError naming the URI."""
    from pymilvus.exceptions import MilvusException

    try:
        yield
    except MilvusException as exc:
        raise VectorStoreError(f"Milvus at {uri} failed while {doing}: {_short(exc)}") from exc


def connect(settings: Settings) -> Any:
    """A ``pymilvus.MilvusClient`` for the settings' URI (raises VectorStoreError when unreachable)."""
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:
        raise VectorStoreError(INSTALL_HINT) from exc
    uri = milvus_uri(settings)
    if "://" not in uri:
        if not uri.endswith(".db"):
            raise VectorStoreError(
                f"ASSISTANT_MILVUS_URI {uri!r}: a Milvus Lite path must end in .db (or give http://host:19530)"
            )
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
    try:
        with _errors(uri, "connecting"):
            return MilvusClient(uri=uri, token=token, timeout=settings.milvus_timeout, grpc_options=GRPC_OPTIONS)
    except VectorStoreError:
        raise
    except Exception as exc:  # pymilvus raises plain exceptions (e.g. from grpc) on some connection failures
        raise VectorStoreError(f"cannot connect to Milvus at {uri}: {_short(exc)}") from exc


class MilvusStore:
    """:class:`~assistant.storage.stores.TextStore` over one build's Milvus collection."""

    backend = "milvus"

    def __init__(self, client: Any, uri: str, collection: str, size: int, settings: Settings) -> None:
        self.client = client
        self.uri = uri
        self.collection = collection
        self.size = size
        self.ef_search = settings.faiss_hnsw_ef_search
        self.rrf_k = settings.rrf_k
        self.dense_weight = settings.fusion_dense_weight

    def __len__(self) -> int:
        return self.size

    def _dense_params(self, k: int) -> dict[str, Any]:
        return {"metric_type": "IP", "params": {"ef": max(self.ef_search, k)}}

    def _rows(self, results: Any) -> list[RowScore]:
        return [(int(hit["row"]), float(hit["distance"])) for hit in results[0]] if results else []

    def search(self, query_vector: np.ndarray, k: int, documents: Collection[str] | None = None) -> list[RowScore]:
        """The ``k`` nearest passages as ``(row, cosine)``, best first."""
        k = min(k, self.size)
        if k <= 0:
            return []
        vector = np.asarray(query_vector, dtype=np.float32).reshape(-1).tolist()
        with _errors(self.uri, f"searching {self.collection}"):
            results = self.client.search(
                self.collection,
                data=[vector],
                anns_field="dense",
                limit=k,
                search_params=self._dense_params(k),
                filter=_doc_filter(documents),
            )
        return self._rows(results)

    def search_text(self, query: str, k: int, documents: Collection[str] | None = None) -> list[RowScore]:
        """The ``k`` best passages by BM25 over jieba tokens, best first (rank by order: see the module)."""
        k = min(k, self.size)
        if k <= 0 or not query.strip():
            return []
        with _errors(self.uri, f"searching {self.collection} by BM25"):
            results = self.client.search(
                self.collection,
                data=[query],
                anns_field="sparse",
                limit=k,
                search_params={"metric_type": "BM25"},
                filter=_doc_filter(documents),
            )
        return self._rows(results)

    def search_hybrid(
        self, query_vector: np.ndarray, query: str, k: int, fusion: str, documents: Collection[str] | None = None
    ) -> list[RowScore]:
        """Dense and BM25 requests fused by Milvus (``rrf``: RRFRanker, ``weighted``: WeightedRanker).

        The retriever calls it when ``settings.milvus_fusion`` is ``rrf`` or ``weighted`` (Lite's
        negative BM25 distances defeat the weighted ranker's score normalisation); by default it
        fuses :meth:`search` and :meth:`search_text` itself, as on FAISS.
        """
        from pymilvus import AnnSearchRequest, RRFRanker, WeightedRanker

        k = min(k, self.size)
        if k <= 0:
            return []
        pool = max(k, HYBRID_POOL)
        expr = _doc_filter(documents) or None
        vector = np.asarray(query_vector, dtype=np.float32).reshape(-1).tolist()
        requests = [
            AnnSearchRequest(data=[vector], anns_field="dense", param=self._dense_params(pool), limit=pool, expr=expr),
            AnnSearchRequest(data=[query], anns_field="sparse", param={"metric_type": "BM25"}, limit=pool, expr=expr),
        ]
        ranker = (
            RRFRanker(self.rrf_k) if fusion == "rrf" else WeightedRanker(self.dense_weight, 1.0 - self.dense_weight)
        )
        with _errors(self.uri, f"hybrid search in {self.collection}"):
            results = self.client.hybrid_search(self.collection, requests, ranker=ranker, limit=k)
        return self._rows(results)

    def close(self) -> None:
        """Close the client connection."""
        self.client.close()


class MilvusBackend:
    """Writes a build's collection, opens it, and drops the collections of old builds."""

    name = "milvus"

    def write(
        self, folder: Path, build: str, vectors: np.ndarray, passages: list[Passage], settings: Settings
    ) -> StoreRecord:
        """Create the build's collection, insert every passage, index it and load it."""
        client = connect(settings)
        uri, name = milvus_uri(settings), collection_name(settings, build)
        try:
            with _errors(uri, f"writing collection {name}"):
                if client.has_collection(name):
                    client.drop_collection(name)
                kind = "HNSW" if len(vectors) >= settings.faiss_ann_threshold else "FLAT"
                client.create_collection(
                    name, schema=_schema(client, vectors.shape[1]), index_params=_index_params(client, kind)
                )
                for start in range(0, len(passages), INSERT_BATCH):
                    client.insert(name, _rows(passages, vectors, start, min(len(passages), start + INSERT_BATCH)))
                client.flush(name)
                client.load_collection(name)
                count = _count(client, name)
        finally:
            client.close()
        if count != len(passages):
            raise VectorStoreError(f"Milvus at {uri} holds {count} rows in {name} after inserting {len(passages)}")
        return {"backend": self.name, "uri": uri, "collection": name, "index": kind}

    def open(
        self, folder: Path, record: StoreRecord, vectors: np.ndarray, passages: list[Passage], settings: Settings
    ) -> MilvusStore:
        """Connect and check the build's collection holds one row per passage."""
        client = connect(settings)
        uri, name = milvus_uri(settings), str(record.get("collection", ""))
        with _errors(uri, f"opening collection {name}"):
            if not client.has_collection(name):
                client.close()
                raise IndexCorruptError(
                    f"Milvus at {uri} has no collection {name} (named by {folder.name}); "
                    "rebuild it with `assistant index --rebuild`"
                )
            client.load_collection(name)
            count = _count(client, name)
        if count != len(passages):
            client.close()
            raise IndexCorruptError(
                f"collection {name} in Milvus at {uri} holds {count} rows, the build {len(passages)} passages"
            )
        return MilvusStore(client, uri, name, count, settings)

    def problems(self, record: StoreRecord, settings: Settings) -> list[str]:
        """A build lives in one Milvus: another URI in the settings is a mismatch."""
        if record.get("uri") != milvus_uri(settings):
            return [f"its vectors are in Milvus at {record.get('uri')}, settings say {milvus_uri(settings)}"]
        return []

    def prune(self, settings: Settings, keep: Collection[str]) -> None:
        """Drop this index's collections of builds not in ``keep`` (crashed or superseded builds)."""
        client = connect(settings)
        prefix = collection_name(settings, "build")
        wanted = {collection_name(settings, b) for b in keep}
        try:
            with _errors(milvus_uri(settings), "dropping old collections"):
                for name in client.list_collections():
                    if name.startswith(prefix) and name not in wanted:
                        client.drop_collection(name)
        finally:
            client.close()


def _schema(client: Any, dim: int) -> Any:
    from pymilvus import DataType, Function, FunctionType

    analyzer = {"tokenizer": "jieba", "filter": ["lowercase", {"type": "stop", "stop_words": sorted(STOPWORDS)}]}
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("doc", DataType.VARCHAR, max_length=1024)
    schema.add_field(
        "text", DataType.VARCHAR, max_length=MAX_TEXT_BYTES, enable_analyzer=True, analyzer_params=analyzer
    )
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(
            name="text_bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"]
        )
    )
    return schema


def _index_params(client: Any, kind: str) -> Any:
    params = client.prepare_index_params()
    params.add_index(
        field_name="dense", index_type=kind, metric_type="IP", params=HNSW_PARAMS if kind == "HNSW" else {}
    )
    params.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    return params


def _rows(passages: list[Passage], vectors: np.ndarray, start: int, stop: int) -> list[dict[str, Any]]:
    return [
        {
            "row": row,
            "doc": passages[row].source,
            "text": bm25_text(passages[row]).encode("utf-8")[:MAX_TEXT_BYTES].decode("utf-8", "ignore"),
            "dense": vectors[row].tolist(),
        }
        for row in range(start, stop)
    ]


def _count(client: Any, name: str) -> int:
    result = client.query(name, filter="", output_fields=["count(*)"])
    return int(result[0]["count(*)"])

"""A retriever that follows the live index, so a running server picks up new builds without a restart.

Before each search it reads the index's ``CURRENT`` pointer (one small file); when a newer build
has been published — by this server's own document routes, or by ``assistant add`` / ``remove`` /
``index`` in another process — it loads that build, builds a :class:`Retriever` over it and swaps
it in. The swap is one reference assignment between searches: a search that has started finishes
on the retriever it started with, and the rest of its request (the citation check's similarities)
works from the passages it was given, whichever index is live by then. While one request loads the
new build, the others keep answering from the old one instead of waiting.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING

from assistant.errors import AssistantError
from assistant.evidence import Evidence, Pool
from assistant.index import Index, live_build_name, load_index
from assistant.inputs import check_k
from assistant.retrieve import Retriever
from assistant.types import Hit, Passage

if TYPE_CHECKING:
    from assistant.langchain_retriever import LangChainRetriever

log = logging.getLogger(__name__)


class LiveRetriever:
    """A :class:`Retriever` over whatever build of ``settings.index_dir`` is live (same interface)."""

    def __init__(self, retriever: Retriever) -> None:
        self._current = retriever
        self.embedder = retriever.embedder
        self.settings = retriever.settings
        self._loading = threading.Lock()
        self._failed: str | None = None  # a build that would not load: not retried at every search
        self._retired: Retriever | None = None  # the build served before this one

    @property
    def current(self) -> Retriever:
        """The retriever over the live build, swapped first when a newer one was published."""
        current = self._current
        name = live_build_name(self.settings.index_dir)
        if name is None or name == current.index.build_id or name == self._failed:
            return current
        if not self._loading.acquire(blocking=False):
            return current  # another request is loading the new build: answer from the old one meanwhile
        try:
            return self._load(name)
        finally:
            self._loading.release()

    def refresh(self) -> Retriever:
        """Swap in the live build now, if it is not the one served (waits for a load under way)."""
        with self._loading:
            name = live_build_name(self.settings.index_dir)
            if name is None or name == self._current.index.build_id:
                return self._current
            return self._load(name)

    def _load(self, name: str) -> Retriever:
        try:
            fresh = Retriever(load_index(self.settings, self.embedder.model_id), self.embedder, self.settings)
        except AssistantError as exc:
            self._failed = name
            log.warning("still serving index build %s: the newer build %s cannot be used (%s)",
                        self._current.index.build_id, name, exc)
            return self._current
        fresh.query_cache_size = self._current.query_cache_size
        retired, self._retired = self._retired, self._current
        self._current, self._failed = fresh, None
        if retired is not None:
            # two builds back: requests that started on it are long done (and a Milvus store keeps
            # only the previous build's collection), so its connections can go
            retired.index.close()
        log.info("now serving index build %s (%d passages)", fresh.index.build_id, len(fresh.index))
        return fresh

    # ---- the Retriever interface, on the live build ---------------------------------------------

    @property
    def index(self) -> Index:
        return self.current.index

    @property
    def passages(self) -> list[Passage]:
        return self.current.passages

    @property
    def query_cache_size(self) -> int:
        return self._current.query_cache_size

    @query_cache_size.setter
    def query_cache_size(self, size: int) -> None:
        # kept for the retrievers swapped in later too (the eval turns the cache off)
        self._current.query_cache_size = size

    def search(self, query: str, k: int | None = None, fusion: str | None = None,
               documents: Collection[str] | None = None) -> list[Hit]:
        """:meth:`Retriever.search` on the live build."""
        return self.current.search(query, k, fusion, documents)

    def similarity(self, text: str, passages: list[Passage]) -> list[float]:
        """:meth:`Retriever.similarity`; passages no longer in the index are embedded on the spot."""
        return self._current.similarity(text, passages)

    # the steps after retrieval work from the passages a search returned: they run on the build
    # being served without looking for a newer one (passages it lacks are embedded on the spot)

    def evidence(self, query: str, passages: list[Passage], n: int) -> list[Evidence]:
        """:meth:`Retriever.evidence`."""
        return self._current.evidence(query, passages, n)

    def sentence_pool(self, passages: list[Passage]) -> Pool:
        """:meth:`Retriever.sentence_pool`."""
        return self._current.sentence_pool(passages)

    def sentence_similarity(self, text: str, evidence: Sequence[Evidence]) -> tuple[list[float], float]:
        """:meth:`Retriever.sentence_similarity`."""
        return self._current.sentence_similarity(text, evidence)

    def clause_cosines(self, question: str, clauses: list[str]) -> list[float]:
        """:meth:`Retriever.clause_cosines`."""
        return self._current.clause_cosines(question, clauses)

    def idf(self) -> Callable[[str], float]:
        """:meth:`Retriever.idf`."""
        return self._current.idf()

    def noise(self, query: str, exclude: list[Hit], n: int, seed: int) -> list[Passage]:
        """:meth:`Retriever.noise`, from the build being served."""
        return self._current.noise(query, exclude, n, seed)

    def as_langchain_retriever(self, k: int | None = None) -> LangChainRetriever:
        """This retriever behind LangChain's ``BaseRetriever`` interface (following the live build)."""
        from assistant.langchain_retriever import LangChainRetriever

        return LangChainRetriever(retriever=self, k=check_k(k, self.settings.k, self.settings.max_k))

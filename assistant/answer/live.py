"""What one ask reads: a :class:`Snapshot` of one index build, and the :class:`LiveIndex` that
hands out the live build's snapshot, so a running server picks up new builds without a restart.

A snapshot pairs the build's :class:`~assistant.answer.retrieve.Retriever` (search) with its
:class:`~assistant.answer.evidence.SentenceSpace` (evidence and the citation check's cosines). The
pipeline takes one snapshot per ask and uses it to the end, so a request never mixes two builds.

Before handing out a snapshot, :class:`LiveIndex` reads the index's ``CURRENT`` pointer (one small
file); when a newer build has been published (by this server's own document routes, or by
``assistant add`` / ``remove`` / ``index`` in another process) it loads that build and swaps the
pair in: one reference assignment. While one request loads the new build, the others keep
answering from the old one instead of waiting.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from assistant.answer.evidence import SentenceSpace
from assistant.answer.retrieve import Retriever
from assistant.core.errors import AssistantError
from assistant.core.settings import Settings
from assistant.core.types import Passage
from assistant.embed import Embedder
from assistant.storage.index import Index, live_build_name, load_index
from assistant.text.language import Language, detect_language

log = logging.getLogger(__name__)

#: the share of a build's passages in one language that makes it that language's
_ONE_LANGUAGE = 0.9


@dataclass(frozen=True)
class Snapshot:
    """One index build as ask time reads it: its retriever and its sentence space."""

    retriever: Retriever
    sentences: SentenceSpace

    @classmethod
    def of(cls, retriever: Retriever) -> Snapshot:
        """The snapshot of the build ``retriever`` searches."""
        r = retriever
        return cls(r, SentenceSpace(r.index, r.embedder, r.settings, r.query_vector))

    def snapshot(self) -> Snapshot:
        """Itself: a fixed build (a CLI run, a test) is its own source of snapshots."""
        return self

    @property
    def index(self) -> Index:
        return self.retriever.index

    @property
    def passages(self) -> list[Passage]:
        return self.retriever.passages

    @property
    def embedder(self) -> Embedder:
        return self.retriever.embedder

    @property
    def settings(self) -> Settings:
        return self.retriever.settings

    @cached_property
    def language(self) -> Language | None:
        """The language nearly all its passages are written in (None for a mixed or empty build):
        a question asked in another is translated for the search."""
        if not self.passages:
            return None
        counts = Counter(detect_language(p.text) for p in self.passages)
        language, n = counts.most_common(1)[0]
        return language if n >= _ONE_LANGUAGE * len(self.passages) else None


class LiveIndex:
    """Snapshots of whatever build of ``settings.index_dir`` is live."""

    def __init__(self, first: Snapshot) -> None:
        self._current = first
        self.embedder = first.embedder
        self.settings = first.settings
        self._loading = threading.Lock()
        self._failed: str | None = None  # a build that would not load: not retried at every ask
        self._retired: Snapshot | None = None  # the build served before this one

    def snapshot(self) -> Snapshot:
        """The live build's snapshot, swapped first when a newer build was published."""
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

    def refresh(self) -> Snapshot:
        """Swap in the live build now, if it is not the one served (waits for a load under way)."""
        with self._loading:
            name = live_build_name(self.settings.index_dir)
            if name is None or name == self._current.index.build_id:
                return self._current
            return self._load(name)

    def _load(self, name: str) -> Snapshot:
        try:
            index = load_index(self.settings, self.embedder.model_id)
            fresh = Snapshot.of(Retriever(index, self.embedder, self.settings, cache=self._current.retriever.cache))
        except AssistantError as exc:
            self._failed = name
            log.warning("still serving index build %s: the newer build %s cannot be used (%s)",
                        self._current.index.build_id, name, exc)
            return self._current
        retired, self._retired = self._retired, self._current
        self._current, self._failed = fresh, None
        if retired is not None:
            # two builds back: requests that started on it are long done (and a Milvus store keeps
            # only the previous build's collection), so its connections can go
            retired.index.close()
        log.info("now serving index build %s (%d passages)", fresh.index.build_id, len(fresh.index))
        return fresh

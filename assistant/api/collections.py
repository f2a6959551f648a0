"""Which assistant answers a request: the collection it names, if the client's key may see it.

:class:`Collections` is what the routes, the MCP tools and the chat ask. :class:`OneCollection`
serves a lone assistant (tests, stdio without collections); :class:`Registry` serves every collection
of the installation (:class:`~assistant.storage.collections.CollectionStore`):

- one embedder and one set of language models for all of them: each collection's assistant is built
  over the server's embedder, and its generator pool shares the server's models
  (:meth:`~assistant.answer.generate.GeneratorPool.sharing`);
- a collection's index is loaded on first use and kept in a least-recently-used set of
  ``ASSISTANT_MAX_OPEN_COLLECTIONS`` (``default`` is always open); one that cannot be loaded
  fails its own requests only;
- a key sees the collections of its scope (``KEY:a|b``; ``KEY:*`` all; no scope: ``default``); a
  collection it may not see is :class:`CollectionNotFoundError`, word for word the error of one that
  does not exist;
- a request holds a :class:`Use` of its collection while it runs; deleting a collection waits for
  the uses under way and refuses new ones.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from assistant.answer.live import LiveIndex
from assistant.api.auth import key_id
from assistant.assemble import collection_for
from assistant.core.errors import BusyError, CollectionForbiddenError, CollectionNotFoundError
from assistant.core.keys import DEFAULT_SCOPE
from assistant.core.settings import Settings
from assistant.storage.collections import DEFAULT_COLLECTION, CollectionRecord, CollectionStore, check_name
from assistant.storage.documents import DocumentCollection

if TYPE_CHECKING:
    from assistant.answer.pipeline import Assistant

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_COLLECTION", "Collections", "OneCollection", "Registry", "Use"]


class Collections(Protocol):
    """The collections a server answers from."""

    def assistant(self, name: str | None, client: str | None) -> Assistant:
        """The assistant of collection ``name`` (None: the default one) for ``client`` (an API key's id,
        None without keys); :class:`CollectionNotFoundError` for one the client may not see."""
        ...

    def use(self, name: str | None, client: str | None) -> Use:
        """:meth:`assistant`, held until the :class:`Use` is released (a delete waits for it)."""
        ...

    def names(self, client: str | None) -> list[str]:
        """The collections ``client`` sees, ``default`` first."""
        ...


class Use:
    """One request's hold on a collection; :meth:`release` (or leaving the ``with``) ends it, once.

    Its assistant is opened on first use (a collection without documents yet has none to open, but
    its documents can be listed and added)."""

    def __init__(self, name: str, open_assistant: Callable[[], Assistant],
                 documents: Callable[[], DocumentCollection], release: Callable[[], None] | None = None) -> None:
        self.name = name
        self._open = open_assistant
        self._documents = documents
        self._release = release
        self._lock = threading.Lock()

    @property
    def assistant(self) -> Assistant:
        return self._open()

    @property
    def documents(self) -> DocumentCollection:
        """The collection's documents, kept in step with its index (a change is served at once)."""
        return self._documents()

    def release(self) -> None:
        with self._lock:
            release, self._release = self._release, None
        if release is not None:
            release()

    def hold_while(self, owner: object) -> None:
        """Release when ``owner`` (a response's stream) is collected, should it never run to its end."""
        weakref.finalize(owner, self.release)

    def __enter__(self) -> Use:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class OneCollection:
    """A lone assistant as the collection ``default`` (the only one)."""

    def __init__(self, assistant: Assistant) -> None:
        self._assistant = assistant

    def assistant(self, name: str | None, client: str | None) -> Assistant:
        if name is None or name == DEFAULT_COLLECTION:
            return self._assistant
        raise CollectionNotFoundError("no such collection")

    def use(self, name: str | None, client: str | None) -> Use:
        assistant = self.assistant(name, client)
        return Use(DEFAULT_COLLECTION, lambda: assistant, lambda: collection_for(assistant))

    def names(self, client: str | None) -> list[str]:
        return [DEFAULT_COLLECTION]


class Registry:
    """Every collection of the installation, opened lazily, each seen only by the keys scoped to it."""

    def __init__(self, settings: Settings, default: Assistant, store: CollectionStore | None = None) -> None:
        self.settings = settings
        self.store = store or CollectionStore(settings)
        self._default = default
        self._open: OrderedDict[str, Assistant] = OrderedDict()
        self._uses: dict[str, int] = {}
        self._deleting: set[str] = set()
        self._changed = threading.Condition()
        self._loading: dict[str, threading.Lock] = {}
        keys = settings.keys
        self._keyed = bool(keys)
        self._scopes = {key_id(k.secret.get_secret_value()): k.collections for k in keys}

    # ---- who sees what ---------------------------------------------------------------------------

    def scope(self, client: str | None) -> frozenset[str] | None:
        """The collections ``client`` sees (None: every one)."""
        if not self._keyed:
            return None  # no keys: everything is open, as the routes are
        if client is None:
            return DEFAULT_SCOPE
        return self._scopes.get(client, DEFAULT_SCOPE)

    def sees(self, name: str, client: str | None) -> bool:
        scope = self.scope(client)
        return scope is None or name in scope

    def is_admin(self, client: str | None) -> bool:
        return self.scope(client) is None

    def names(self, client: str | None) -> list[str]:
        with self._changed:
            deleting = set(self._deleting)
        return [n for n in self.store.names() if self.sees(n, client) and n not in deleting]

    def _visible(self, name: str | None, client: str | None) -> str:
        name = name or DEFAULT_COLLECTION
        check_name(name)  # a name that breaks the rule: 422 stating it (it names nothing that exists)
        # one answer for a missing collection and a hidden one: nothing to tell them apart by
        if not self.sees(name, client) or not self.store.exists(name):
            raise CollectionNotFoundError("no such collection")
        return name

    # ---- answering -------------------------------------------------------------------------------

    def assistant(self, name: str | None, client: str | None) -> Assistant:
        name = self._visible(name, client)
        with self._changed:
            if name in self._deleting:
                raise CollectionNotFoundError("no such collection")
        return self._assistant(name)

    def use(self, name: str | None, client: str | None) -> Use:
        name = self._visible(name, client)
        with self._changed:
            if name in self._deleting:
                raise CollectionNotFoundError("no such collection")
            self._uses[name] = self._uses.get(name, 0) + 1
        return Use(name, lambda: self._assistant(name), lambda: self._documents(name), lambda: self._end_use(name))

    def _documents(self, name: str) -> DocumentCollection:
        if name == DEFAULT_COLLECTION:
            return collection_for(self._default)

        def served() -> None:  # an open collection serves the new build at once; a closed one loads it when opened
            with self._changed:
                assistant = self._open.get(name)
            if assistant is not None and isinstance(assistant.source, LiveIndex):
                assistant.source.refresh()

        embedder = self._default.source.snapshot().embedder
        return DocumentCollection(self.store.settings_for(name), embedder, on_change=served)

    def _end_use(self, name: str) -> None:
        with self._changed:
            self._uses[name] -= 1
            if not self._uses[name]:
                del self._uses[name]
            self._changed.notify_all()

    def _assistant(self, name: str) -> Assistant:
        if name == DEFAULT_COLLECTION:
            return self._default
        with self._changed:
            if name in self._open:
                self._open.move_to_end(name)
                return self._open[name]
            loading = self._loading.setdefault(name, threading.Lock())
        with loading:  # one load per collection; other collections keep answering meanwhile
            with self._changed:
                if name in self._open:
                    return self._open[name]
            assistant = self._load(name)
            with self._changed:
                self._open[name] = assistant
                self._evict()
            return assistant

    def _load(self, name: str) -> Assistant:
        from assistant.assemble import open_collection

        started = time.perf_counter()
        assistant = open_collection(self.store.settings_for(name), self._default)
        log.info("opened collection %r (%d passages) in %.1f s", name, len(assistant.passages),
                 time.perf_counter() - started)
        return assistant

    def _evict(self) -> None:
        # under self._changed; a collection in use stays (its request holds it), and goes later
        while len(self._open) > self.settings.max_open_collections:
            victim = next((n for n in self._open if n not in self._uses), None)
            if victim is None:
                return
            evicted = self._open.pop(victim)
            try:  # nobody holds it (a request would): a Milvus store's connections go now, memory when collected
                evicted.source.snapshot().index.close()
            except Exception as exc:
                log.warning("closing collection %r: %s", victim, exc)
            log.info("let go of collection %r (ASSISTANT_MAX_OPEN_COLLECTIONS=%d)", victim,
                     self.settings.max_open_collections)

    def open_names(self) -> list[str]:
        """The collections whose index is loaded now (``default`` always), least recently used first."""
        with self._changed:
            return [DEFAULT_COLLECTION, *self._open]

    # ---- creating and deleting -------------------------------------------------------------------

    def create(self, name: str, overrides: dict[str, Any] | None, client: str | None) -> CollectionRecord:
        """A new empty collection (admin keys only)."""
        if not self.is_admin(client):
            raise CollectionForbiddenError("only an admin key (KEY:*) may create collections")
        return self.store.create(check_name(name), overrides)

    def delete(self, name: str, client: str | None, timeout: float) -> None:
        """Wait for the requests running on ``name`` (new ones are refused), then remove it and its files."""
        name = self._visible(name, client)
        if not self.is_admin(client):
            raise CollectionForbiddenError("only an admin key (KEY:*) may delete collections")
        if name == DEFAULT_COLLECTION:
            self.store.delete(name)  # refused, with the reason
        with self._changed:
            if name in self._deleting:
                raise CollectionNotFoundError("no such collection")
            self._deleting.add(name)
        try:
            with self._changed:
                if not self._changed.wait_for(lambda: name not in self._uses, timeout=timeout):
                    raise BusyError(f"requests on the collection were still running after {timeout:g} s; "
                                    "try again", retry_after=int(timeout))
                assistant = self._open.pop(name, None)
            if assistant is not None:
                assistant.source.snapshot().index.close()
            self.store.delete(name)
        finally:
            with self._changed:
                self._deleting.discard(name)

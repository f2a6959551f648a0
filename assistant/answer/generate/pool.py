"""The generators one assistant uses: names resolved, each generator built and loaded once, the
operator's allow-list, and a bounded queue in front of each language model.

A request *acquires* its generator (:meth:`GeneratorPool.acquire`): the name is resolved and
checked against the allow-list (403), and for a language model a place in its queue is taken
(429 when full, 503 while the model loads). It gets back a :class:`Lease`, a generator that
waits for its turn on the model before its first token and passes the request's cancellation
down; releasing the lease frees the place.

Loading: by default a generator is loaded on first use, in the caller's thread (the CLI, the
eval runner). A server calls :meth:`GeneratorPool.start_loading` instead: the default generator
loads once in the background while ``/healthz`` says ``loading``, and requests for a model that
is not loaded yet are answered 503 with ``Retry-After`` rather than kept waiting.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Literal

from assistant.answer.generate import AUTO, GENERATORS, GenerationRequest, Generator, GeneratorFactory
from assistant.answer.generate.cancel import Cancellation
from assistant.answer.generate.queue import ModelQueue, Ticket
from assistant.answer.generate.usage import TokenCounter
from assistant.core.errors import (
    AssistantError,
    GeneratorNotAllowedError,
    ModelLoadError,
    RequestCancelledError,
    UnknownNameError,
)

if TYPE_CHECKING:
    from assistant.core.settings import Settings
    from assistant.embed import Embedder

log = logging.getLogger(__name__)
Status = Literal["loading", "ready", "failed"]


class Lease(Generator):
    """A request's use of one generator: its place in the model's queue, its cancellation, and the
    counting of tokens for a backend that reports none."""

    def __init__(self, inner: Generator, ticket: Ticket | None, cancel: Cancellation | None,
                 counter: TokenCounter | None = None) -> None:
        self.inner = inner
        self.ticket = ticket
        self.cancel = cancel
        self.counter = counter
        self.name = inner.name
        self.uses_llm = inner.uses_llm

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        """The inner generator's stream, once it is this request's turn on the model."""
        if self.cancel is not None:
            self.cancel.check()
        if self.ticket is not None:
            self.ticket.wait_turn(self.cancel)
        meter = request.usage
        recorded = meter.calls if meter is not None else 0
        pieces: list[str] = []
        for piece in self.inner.stream(replace(request, cancel=self.cancel)):
            if self.cancel is not None:
                self.cancel.check()  # backends without their own check stop here
            pieces.append(piece)
            yield piece
        if meter is not None and meter.calls == recorded and self.counter is not None:
            self.counter.count(meter, request.messages, "".join(pieces))  # the backend counted nothing

    def release(self) -> None:
        """Free the place in the queue (safe to call more than once)."""
        if self.ticket is not None:
            self.ticket.release()


class GeneratorPool:
    """Resolves generator names, builds and loads each generator once, and admits requests."""

    def __init__(self, settings: Settings, factories: Mapping[str, GeneratorFactory] | None = None, *,
                 embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.factories: dict[str, GeneratorFactory] = dict(GENERATORS if factories is None else factories)
        self.embedder = embedder
        self._built: dict[str, Generator] = {}
        self._loaded: set[str] = set()
        self._failed: dict[str, AssistantError] = {}
        self._queues: dict[str, ModelQueue] = {}
        self._allowed: set[str] | None = None  # None: every registered generator
        self._lock = threading.Lock()
        self._load_locks: dict[str, threading.Lock] = {}
        self._background = False
        self._loaders: dict[str, threading.Thread] = {}
        #: counts the tokens of backends that report none (the extractive one, a silent upstream)
        self.counter = TokenCounter.from_settings(settings)
        self.resolve(settings.generator)  # an unknown configured name fails at start-up

    # ---- names ----------------------------------------------------------------------------------

    @property
    def default(self) -> str:
        """The generator used when a call names none (``auto`` resolved)."""
        return self.resolve(None)

    def resolve(self, name: str | None) -> str:
        """Map a requested name (``None`` = the configured one, ``auto``) to a registered one."""
        name = name or self.settings.generator
        if name == AUTO:
            name = "local" if "local" in self.factories and self._local_model_present() else "extractive"
        if name not in self.factories:
            raise UnknownNameError("generator", name, [AUTO, *self.factories])
        return name

    def allow(self, names: Iterable[str]) -> None:
        """Only these generators (``auto`` and the default resolved) may be asked for from now on."""
        self._allowed = {self.resolve(name) for name in names}
        self._allowed.add(self.default)

    def names(self) -> list[str]:
        """The names a caller may pass, the default first."""
        default = self.default
        allowed = [n for n in self.factories if self._allowed is None or n in self._allowed]
        return sorted(allowed, key=lambda name: (name != default, name))

    def check_allowed(self, name: str | None) -> str:
        """The resolved name, or :class:`GeneratorNotAllowedError` naming the allowed ones (also
        for a name that does not exist, once an allow-list is set)."""
        try:
            key = self.resolve(name)
        except UnknownNameError:
            if self._allowed is None:
                raise
            key = str(name)
        if self._allowed is not None and key not in self._allowed:
            raise GeneratorNotAllowedError(
                f"the generator {key!r} is not enabled on this server; choose one of: {', '.join(self.names())}"
            )
        return key

    def uses_llm(self, name: str | None = None) -> bool:
        """Whether the generator ``name`` is a language model (False if it cannot be built)."""
        try:
            return self._build(self.resolve(name)).uses_llm
        except AssistantError:
            return False

    # ---- building and loading ---------------------------------------------------------------------

    def get(self, name: str | None = None) -> Generator:
        """The generator ``name`` (default: the configured one), built and loaded on first use
        (here, in the caller's thread; see :meth:`start_loading` for servers)."""
        return self._load(self.resolve(name))

    def describe(self, name: str | None = None) -> str | None:
        """How the generator names itself in answers (``local:qwen2.5-1.5b``) without loading it;
        None if it cannot be built."""
        try:
            return self._build(self.resolve(name)).name
        except AssistantError:
            return None

    def _build(self, key: str) -> Generator:
        with self._lock:
            if key not in self._built:
                self._built[key] = self.factories[key](self.settings, self.embedder)
            return self._built[key]

    def _load(self, key: str) -> Generator:
        with self._lock:  # held briefly: other requests must not wait while a model loads
            if key in self._failed:
                raise self._failed[key]
            if key in self._loaded:
                return self._built[key]
            load_lock = self._load_locks.setdefault(key, threading.Lock())
        with load_lock:  # one load per generator: two first requests load one copy of a model
            generator = self._build(key)
            if key not in self._loaded:
                started = time.perf_counter()
                generator.load()
                if generator.uses_llm:
                    log.info("loaded %s in %.1f s", generator.name, time.perf_counter() - started)
                with self._lock:
                    self._loaded.add(key)
            if generator.uses_llm:
                self._queue(key, generator).ready()
            return generator

    def start_loading(self) -> None:
        """Serve from now on: load the default generator in the background (once), and answer
        503 for a model still loading instead of loading it in a request's thread."""
        self._background = True
        self._load_in_background(self.default)

    def _load_in_background(self, key: str) -> None:
        with self._lock:
            if key in self._loaders or key in self._loaded or key in self._failed:
                return
            thread = threading.Thread(target=self._background_load, args=(key,), name=f"load {key}", daemon=True)
            self._loaders[key] = thread
        thread.start()

    def _background_load(self, key: str) -> None:
        try:
            self._load(key)
        except Exception as exc:  # reported to every request and /healthz; the server keeps serving
            error = exc if isinstance(exc, AssistantError) else ModelLoadError(f"loading {key} failed: {exc}")
            log.error("the %s generator cannot be used: %s", key, error, exc_info=not isinstance(exc, AssistantError))
            with self._lock:
                self._failed[key] = error
                queue = self._queues.get(key)
            if queue is not None:
                queue.failed(error)

    def status(self, name: str | None = None) -> Status:
        """``loading``, ``ready`` or ``failed``: the state of a generator (default: the default one)."""
        key = self.resolve(name)
        with self._lock:
            if key in self._failed:
                return "failed"
            return "ready" if key in self._loaded else "loading"

    # ---- admission ------------------------------------------------------------------------------

    def acquire(self, name: str | None = None, cancel: Cancellation | None = None) -> Lease:
        """A lease on the generator ``name`` for one request, or an error right away:
        :class:`GeneratorNotAllowedError` (403), :class:`~assistant.core.errors.BusyError` (429), or
        :class:`NotReadyError` (503, the model is loading)."""
        key = self.check_allowed(name)
        generator = self._build(key)
        if not generator.uses_llm:
            return Lease(self._load(key), None, cancel, self.counter)
        queue = self._queue(key, generator)
        if self._background and key not in self._loaded:
            with self._lock:
                failure = self._failed.get(key)
            if failure is not None:
                raise failure
            self._load_in_background(key)  # a model nobody asked for so far starts loading now
        else:
            self._load(key)
        # admit() refuses while loading (503) or when full (429)
        return Lease(generator, queue.admit(), cancel, self.counter)

    def _queue(self, key: str, generator: Generator) -> ModelQueue:
        with self._lock:
            if key not in self._queues:
                self._queues[key] = ModelQueue(generator.name, self.settings.queue_size, parallel=generator.parallel)
            return self._queues[key]

    def capacity(self) -> int:
        """Requests the allowed language models admit at once (the threads a server should give them)."""
        total = 0
        for key in self.names():
            try:
                generator = self._build(key)
            except AssistantError:  # e.g. openai without a base URL: it admits nobody
                continue
            if generator.uses_llm:
                total += generator.parallel + self.settings.queue_size
        return total

    def queues(self) -> dict[str, dict[str, object]]:
        """State and occupancy of each language model's queue, for ``/healthz``."""
        with self._lock:
            return {q.name: q.snapshot() for q in self._queues.values()}

    # ---- collections ----------------------------------------------------------------------------

    def sharing(self, settings: Settings) -> GeneratorPool:
        """A pool for another collection's ``settings`` that shares this one's language models (each
        loaded once, one queue each) and builds its own generators that are not models (the
        extractive one reads the collection's calibrated floors)."""
        return _SharedPool(self, settings)

    # ---- shutting down --------------------------------------------------------------------------

    def close(self) -> None:
        """Refuse new requests for the models and send the waiting ones away (503)."""
        with self._lock:
            queues = list(self._queues.values())
        for queue in queues:
            queue.close()

    def stop_running(self) -> None:
        """Stop the answers being written (after :meth:`close` and a grace period)."""
        with self._lock:
            queues = list(self._queues.values())
        for queue in queues:
            queue.stop_running(RequestCancelledError("the server is shutting down"))

    def _local_model_present(self) -> bool:
        from assistant.answer.generate.gguf_models import resolve_local_model

        try:
            return resolve_local_model(self.settings.local_model, self.settings.models_dir).is_file()
        except UnknownNameError:
            return False


class _SharedPool(GeneratorPool):
    """:meth:`GeneratorPool.sharing`: the models, their queues and loading state are the parent's."""

    def __init__(self, parent: GeneratorPool, settings: Settings) -> None:
        self.settings = settings
        self.factories = parent.factories
        self.embedder = parent.embedder
        self.parent = parent
        self._built = {}
        # shared: what is loaded, what failed, the queues and the loaders are the parent's
        self._loaded, self._failed, self._queues = parent._loaded, parent._failed, parent._queues
        self._lock, self._load_locks, self._loaders = parent._lock, parent._load_locks, parent._loaders
        self._background = parent._background
        allowed = parent._allowed
        self._allowed = None if allowed is None else allowed | {self.resolve(settings.generator)}
        self.counter = parent.counter

    def _build(self, key: str) -> Generator:
        shared = self.parent._build(key)
        if shared.uses_llm:
            return shared
        with self._lock:
            if key not in self._built:
                self._built[key] = self.factories[key](self.settings, self.embedder)
            return self._built[key]

    def _load(self, key: str) -> Generator:
        generator = self._build(key)
        if generator.uses_llm:
            return self.parent._load(key)
        generator.load()  # not a model: nothing heavy to load
        return generator

    def _local_model_present(self) -> bool:
        return self.parent._local_model_present()


__all__ = ["GeneratorPool", "Lease"]

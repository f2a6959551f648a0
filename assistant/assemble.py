"""Building the object graph once, from the settings: the retriever, and the assistant on top.

The CLI, the API's lifespan, the eval runner and the benchmarks call these; tests construct the
pieces directly when they need other ones.
"""

from __future__ import annotations

from assistant.answer.cite import CitationChecker
from assistant.answer.condense import Condenser
from assistant.answer.generate import GeneratorPool
from assistant.answer.live import LiveIndex, Snapshot
from assistant.answer.pipeline import Assistant
from assistant.answer.prompts import AnswerPrompts, load_prompt
from assistant.answer.retrieve import Retriever
from assistant.core.errors import EmptyCollectionError
from assistant.core.settings import Settings
from assistant.embed import Embedder, load_embedder
from assistant.embed.batching import BatchingEmbedder
from assistant.questionlog import QuestionLog
from assistant.storage.documents import DocumentCollection, list_documents
from assistant.storage.index import index_exists
from assistant.storage.lifecycle import Notify, ensure_index, log_notify, refuse_mismatch_early


def open_retriever(
    settings: Settings,
    build_if_missing: bool = True,
    progress: bool = True,
    *,
    embedder: Embedder | None = None,
    refresh_if_stale: bool = True,
    notify: Notify = log_notify,
    cache: bool = True,
) -> Retriever:
    """Settings -> embedder -> (built/refreshed) index -> :class:`Retriever`, in one call.

    ``embedder`` reuses an already loaded model; ``notify`` receives the one-line messages about
    building or refreshing (default: the logger; the CLI prints them on stderr).
    """
    if embedder is None:
        refuse_mismatch_early(settings)
        # concurrent searches (a server) embed their queries together; a lone query is not delayed
        embedder = BatchingEmbedder(load_embedder(settings.embedding_model, settings.embedding_batch_size),
                                    max_batch=settings.query_batch_size, window=settings.query_batch_window_ms / 1000)
    index = ensure_index(settings, embedder, build_if_missing=build_if_missing, refresh_if_stale=refresh_if_stale,
                         progress=progress, notify=notify)
    return Retriever(index, embedder, settings, cache=cache)


def checker_for(settings: Settings) -> CitationChecker:
    """The citation checker with the thresholds ``settings.cite_*`` (each ask binds it to the
    cosines of the index build it reads)."""
    return CitationChecker(min_overlap=settings.cite_min_overlap, min_margin=settings.cite_min_margin,
                           min_crosslingual=settings.cite_min_crosslingual,
                           min_crosslingual_margin=settings.cite_min_crosslingual_margin)


def assistant_for(settings: Settings, source: Retriever | Snapshot | LiveIndex,
                  generators: GeneratorPool | None = None) -> Assistant:
    """An :class:`Assistant` over ``source`` (a retriever's build, or the live one): the prompts loaded
    and validated, the checker and the generator pool built from ``settings`` (``generators``
    replaces the pool, e.g. in tests)."""
    if isinstance(source, Retriever):
        source = Snapshot.of(source)
    return Assistant(
        settings,
        source,
        generators or GeneratorPool(settings, embedder=source.embedder),
        prompts=AnswerPrompts.load(settings.prompts_dir),
        condenser=Condenser(load_prompt("condense", settings.prompts_dir),
                                  load_prompt("translate", settings.prompts_dir)),
        checker=checker_for(settings),
        embedding_model=source.embedder.model_id,
    )


def build_assistant(settings: Settings, *, progress: bool = False, load_generator: bool = False,
                    build_if_missing: bool = True, refresh_if_stale: bool = True,
                    notify: Notify = log_notify, cache: bool = True) -> Assistant:
    """Build the assistant once: settings, embedder, index (built if missing), retriever, assistant.

    Generators are loaded on first use; ``load_generator=True`` loads the default one now. (A
    server loads it in the background instead: :meth:`GeneratorPool.start_loading`.)
    """
    # live: a server answers from each newly published build (documents added or removed) without a restart
    retriever = open_retriever(settings, build_if_missing=build_if_missing, progress=progress,
                               refresh_if_stale=refresh_if_stale, notify=notify, cache=cache)
    assistant = assistant_for(settings, LiveIndex(Snapshot.of(retriever)))
    if load_generator:
        assistant.generators.get()
    return assistant


def open_collection(settings: Settings, server: Assistant) -> Assistant:
    """The assistant of another collection (``settings``: its folders, calibration and overrides)
    beside ``server``'s: the same embedder and language models, its own index (built if missing)."""
    if not index_exists(settings) and not list_documents(settings):
        raise EmptyCollectionError("the collection has no documents yet: add some (`assistant add --collection "
                                   "NAME`, or POST /v1/documents with the form field 'collection')")
    embedder = server.source.snapshot().embedder
    retriever = open_retriever(settings, progress=False, embedder=embedder)
    return assistant_for(settings, LiveIndex(Snapshot.of(retriever)), server.generators.sharing(settings))


def build_question_log(settings: Settings, assistant: Assistant) -> QuestionLog:
    """The question log the CLI, the API and the chat record answers in (off when
    ``settings.log_enabled`` is false); its rows name the index build that answered (a live
    retriever's build at the time of each answer)."""
    source = assistant.source
    return QuestionLog.from_settings(settings, index_build=lambda: source.snapshot().index.build_id)


def collection_for(assistant: Assistant, *, progress: bool = False) -> DocumentCollection:
    """The document collection of the corpus ``assistant`` answers from, sharing its embedder; with a
    :class:`LiveIndex`, each change is served at once (the API and the chat use this)."""
    source = assistant.source
    refresh = source.refresh if isinstance(source, LiveIndex) else None
    embedder = source.snapshot().embedder
    return DocumentCollection(assistant.settings, embedder, on_change=refresh, progress=progress)

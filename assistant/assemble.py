"""Building the object graph once, from the settings: the retriever, and the assistant on top.

The CLI, the API's lifespan, the eval runner and the benchmarks call these; tests construct the
pieces directly when they need other ones.
"""

from __future__ import annotations

from assistant.cite import CitationChecker
from assistant.condense import Condenser
from assistant.documents import DocumentCollection
from assistant.embed import Embedder, load_embedder
from assistant.embed.batching import BatchingEmbedder
from assistant.generate import GeneratorPool
from assistant.indexing import Notify, ensure_index, log_notify, refuse_mismatch_early
from assistant.live_retriever import LiveRetriever
from assistant.pipeline import Assistant
from assistant.prompts import AnswerPrompts, load_prompt
from assistant.questionlog import QuestionLog
from assistant.retrieve import Retriever
from assistant.settings import Settings


def open_retriever(
    settings: Settings,
    build_if_missing: bool = True,
    progress: bool = True,
    *,
    embedder: Embedder | None = None,
    refresh_if_stale: bool = True,
    notify: Notify = log_notify,
) -> Retriever:
    """Settings -> embedder -> (built/refreshed) index -> :class:`Retriever`, in one call.

    ``embedder`` reuses an already loaded model; ``notify`` receives the one-line messages about
    building or refreshing (default: the logger; the CLI prints them on stderr).
    """
    if embedder is None:
        refuse_mismatch_early(settings)
        # concurrent searches (a server) embed their queries in small batches; a lone query is not
        # delayed. Small: the e5 engine gains little from batching, and batches of 16 padded to
        # their longest query were slower than single calls (16 threads, cold queries: 9-12 vs
        # 16-17 searches/s; batches of 4: 11.6-12.1 vs 10.4-11.8)
        embedder = BatchingEmbedder(load_embedder(settings.embedding_model, settings.embedding_batch_size),
                                    max_batch=4)
    index = ensure_index(settings, embedder, build_if_missing, refresh_if_stale, progress, notify)
    return Retriever(index, embedder, settings)


def assistant_for(settings: Settings, retriever: Retriever | LiveRetriever,
                  generators: GeneratorPool | None = None) -> Assistant:
    """An :class:`Assistant` over ``retriever``: the prompts loaded and validated, the checker and the
    generator pool built from ``settings`` (``generators`` replaces the pool, e.g. in tests)."""
    checker = CitationChecker(min_overlap=settings.cite_min_overlap, min_margin=settings.cite_min_margin,
                              min_crosslingual=settings.cite_min_crosslingual,
                              min_crosslingual_margin=settings.cite_min_crosslingual_margin,
                              similarity=retriever.sentence_similarity, clause_cosines=retriever.clause_cosines)
    return Assistant(
        settings,
        retriever,
        generators or GeneratorPool(settings, embedder=retriever.embedder),
        prompts=AnswerPrompts.load(settings.prompts_dir),
        condenser=Condenser(load_prompt("condense", settings.prompts_dir)),
        checker=checker,
        embedding_model=retriever.embedder.model_id,
    )


def build_assistant(settings: Settings | None = None, *, progress: bool = False, load_generator: bool = False,
                    build_if_missing: bool = True, refresh_if_stale: bool = True,
                    notify: Notify = log_notify) -> Assistant:
    """Build the assistant once: settings, embedder, index (built if missing), retriever, assistant.

    Generators are loaded on first use; ``load_generator=True`` loads the default one now. (A
    server loads it in the background instead: :meth:`GeneratorPool.start_loading`.)
    """
    settings = settings or Settings()
    # live: a server answers from each newly published build (documents added or removed) without a restart
    retriever = LiveRetriever(open_retriever(settings, build_if_missing=build_if_missing, progress=progress,
                                             refresh_if_stale=refresh_if_stale, notify=notify))
    assistant = assistant_for(settings, retriever)
    if load_generator:
        assistant.generators.get()
    return assistant


def build_question_log(settings: Settings, assistant: Assistant) -> QuestionLog:
    """The question log the CLI, the API and the chat record answers in (off when
    ``settings.log_enabled`` is false); its rows name the index build that answered (a live
    retriever's build at the time of each answer)."""
    retriever = assistant.retriever
    if isinstance(retriever, LiveRetriever):
        return QuestionLog.from_settings(settings, index_build=lambda: retriever.index.build_id)
    build = retriever.index.build_id if isinstance(retriever, Retriever) else None
    return QuestionLog.from_settings(settings, index_build=build)


def collection_for(assistant: Assistant, *, progress: bool = False) -> DocumentCollection:
    """The document collection of the corpus ``assistant`` answers from, sharing its embedder; with a
    :class:`LiveRetriever`, each change is served at once (the API and the chat use this)."""
    retriever = assistant.retriever
    if not isinstance(retriever, Retriever | LiveRetriever):
        raise TypeError(f"documents need a Retriever or LiveRetriever, not {type(retriever).__name__}")
    refresh = retriever.refresh if isinstance(retriever, LiveRetriever) else None
    return DocumentCollection(assistant.settings, retriever.embedder, on_change=refresh, progress=progress)

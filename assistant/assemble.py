"""Building the object graph once, from the settings: the retriever, and the assistant on top.

The CLI, the API's lifespan, the eval runner and the benchmarks call these; tests construct the
pieces directly when they need other ones.
"""

from __future__ import annotations

from assistant.cite import CitationChecker
from assistant.condense import Condenser
from assistant.embed import Embedder, load_embedder
from assistant.generate import GeneratorPool
from assistant.indexing import Notify, ensure_index, log_notify, refuse_mismatch_early
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
        embedder = load_embedder(settings.embedding_model, settings.embedding_batch_size)
    index = ensure_index(settings, embedder, build_if_missing, refresh_if_stale, progress, notify)
    return Retriever(index, embedder, settings)


def assistant_for(settings: Settings, retriever: Retriever, generators: GeneratorPool | None = None) -> Assistant:
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


def build_assistant(settings: Settings | None = None, *, progress: bool = False,
                    load_generator: bool = False) -> Assistant:
    """Build the assistant once: settings, embedder, index (built if missing), retriever, assistant.

    Generators are built on first use; ``load_generator=True`` builds the default one now (a
    server does this at start-up so the first request does not pay the model load).
    """
    settings = settings or Settings()
    assistant = assistant_for(settings, open_retriever(settings, build_if_missing=True, progress=progress))
    if load_generator:
        assistant.generators.get()
    return assistant


def build_question_log(settings: Settings, assistant: Assistant) -> QuestionLog:
    """The question log the CLI, the API and the chat record answers in (off when
    ``settings.log_enabled`` is false); its rows name the index build that answered."""
    retriever = assistant.retriever
    build = retriever.index.build_id if isinstance(retriever, Retriever) else None
    return QuestionLog.from_settings(settings, index_build=build)

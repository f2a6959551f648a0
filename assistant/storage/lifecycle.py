"""The index lifecycle: build the index from the corpus folder, and open it — building it when
missing, refreshing it when the corpus changed — refusing one made another way.

``assistant/storage/index.py`` is the index folder itself (format, manifest, atomic builds); this module
decides when to build. :func:`assistant.assemble.open_retriever` calls it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from assistant.core.errors import IndexCorruptError, IndexMissingError
from assistant.core.fsio import change_lock
from assistant.core.settings import Settings
from assistant.embed import Embedder
from assistant.ingest import ReadOptions, load_corpus
from assistant.storage.build import BuildReport, build_index
from assistant.storage.documents import settle_pending
from assistant.storage.index import Index, check_compatible, corpus_fingerprint, load_index, read_manifest, stale_reason
from assistant.storage.sentence_index import SENTENCE_TEXTS

log = logging.getLogger(__name__)

Notify = Callable[[str], None]


def log_notify(message: str) -> None:
    """The default ``notify``: one warning line in the log."""
    log.warning(message)


def build_from_corpus(
    settings: Settings,
    embedder: Embedder,
    rebuild: bool = False,
    progress: bool = True,
    notify: Notify = log_notify,
    embed_batch_size: int | None = None,
) -> BuildReport:
    """Read the corpus and (re)build the index, re-embedding only changed passages.

    ``embed_batch_size``: passages per embedder call (see :func:`assistant.storage.index.build_index`).
    """
    # reading and building under the change lock: a document added or removed meanwhile
    # (assistant/storage/documents.py) is either wholly in what is read here, or waits for this build
    with change_lock(settings.index_dir, notify):
        settle_pending(settings, notify)  # a change a crashed process left: finish or drop it first
        # fingerprint first: if a report changes while we read it, the next search sees it as stale
        fingerprint = corpus_fingerprint(settings.corpus_dir)
        options = ReadOptions.from_settings(settings, progress=progress)
        passages = load_corpus(settings.corpus_dir, settings.chunk_max_chars, options,
                               on_read=(lambda doc, seconds: notify(doc.describe_read(seconds))) if progress else None)
        return build_index(
            settings, embedder, passages, rebuild=rebuild, progress=progress, fingerprint=fingerprint, notify=notify,
            embed_batch_size=embed_batch_size,
        )


def ensure_index(settings: Settings, embedder: Embedder, *, build_if_missing: bool = True,
                 refresh_if_stale: bool = True, progress: bool = True, notify: Notify = log_notify) -> Index:
    """Load the index, first building it when missing or refreshing it when the corpus changed.

    Refreshing re-embeds only passages whose hash changed. Without ``build_if_missing`` a missing
    index is an :class:`IndexMissingError` naming the command that builds it; without
    ``refresh_if_stale`` a stale one is used as it is, and ``notify`` says so and how to refresh
    it (read commands write nothing). An index made with another model or chunking is refused
    (IndexMismatchError, saying how to rebuild), not silently replaced.
    """
    try:
        manifest = read_manifest(settings)
    except IndexMissingError:
        if not build_if_missing:
            raise
        notify(f"no index in {settings.index_dir} yet; building it now (once)")
        build_from_corpus(settings, embedder, progress=progress, notify=notify)
        return load_index(settings, embedder.model_id)
    check_compatible(manifest, settings, embedder.model_id)
    changed = stale_reason(manifest, corpus_fingerprint(settings.corpus_dir)) if settings.corpus_dir.is_dir() else None
    why = f"the corpus changed since the index was built ({changed})" if changed else None
    if why is None and manifest.sentence_text not in SENTENCE_TEXTS:
        # an index from before sentence vectors (or with other ones): a refresh adds them, reusing the passages'
        why = "the index has no sentence vectors of this version yet"
    if why and refresh_if_stale:
        notify(f"{why}; refreshing the index")
        report = build_from_corpus(settings, embedder, progress=progress, notify=notify)
        notify(f"index refreshed: {report.embedded} passage(s) embedded, {report.reused} reused")
    elif why:
        notify(f"{why}; using the index as it was built. Refresh it with `assistant index` (or add --refresh to "
               "this command)")
    return load_index(settings, embedder.model_id)


def refuse_mismatch_early(settings: Settings) -> None:
    """Refuse an index made with another model or chunking before spending seconds loading a model."""
    try:
        manifest = read_manifest(settings)
    except (IndexMissingError, IndexCorruptError):
        return  # handled with the embedder at hand: built if missing, reported if corrupt
    check_compatible(manifest, settings)

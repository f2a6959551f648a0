"""The index lifecycle: build the index from the corpus folder, and open it — building it when
missing, refreshing it when the corpus changed — refusing one made another way.

``assistant/index.py`` is the index folder itself (format, manifest, atomic builds); this module
decides when to build. :func:`assistant.assemble.open_retriever` calls it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from assistant.embed import Embedder
from assistant.errors import IndexCorruptError, IndexMissingError
from assistant.index import (
    BuildReport,
    Index,
    build_index,
    check_compatible,
    corpus_fingerprint,
    load_index,
    read_manifest,
    stale_reason,
)
from assistant.ingest import ReadOptions, load_corpus
from assistant.sentence_index import SENTENCE_TEXT
from assistant.settings import Settings

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
) -> BuildReport:
    """Read the corpus and (re)build the index, re-embedding only changed passages."""
    # fingerprint first: if a report changes while we read it, the next search sees it as stale
    fingerprint = corpus_fingerprint(settings.corpus_dir)
    options = ReadOptions.from_settings(settings, progress=progress)
    passages = load_corpus(settings.corpus_dir, settings.chunk_max_chars, options)
    return build_index(
        settings, embedder, passages, rebuild=rebuild, progress=progress, fingerprint=fingerprint, notify=notify
    )


def ensure_index(
    settings: Settings,
    embedder: Embedder,
    build_if_missing: bool = True,
    refresh_if_stale: bool = True,
    progress: bool = True,
    notify: Notify = log_notify,
) -> Index:
    """Load the index, first building it when missing or refreshing it when the corpus changed.

    Refreshing re-embeds only passages whose hash changed. An index made with another model or
    chunking is refused (IndexMismatchError, saying how to rebuild), not silently replaced.
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
    if refresh_if_stale:
        reason = stale_reason(manifest, corpus_fingerprint(settings.corpus_dir))
        if reason is None and manifest.sentence_text != SENTENCE_TEXT:
            # an index from before sentence vectors (or with other ones): add them, reusing the passages'
            reason = "no sentence vectors of this version yet"
        if reason:
            notify(f"the corpus changed since the index was built ({reason}); refreshing the index")
            report = build_from_corpus(settings, embedder, progress=progress, notify=notify)
            notify(f"index refreshed: {report.embedded} passage(s) embedded, {report.reused} reused")
    return load_index(settings, embedder.model_id)


def refuse_mismatch_early(settings: Settings) -> None:
    """Refuse an index made with another model or chunking before spending seconds loading a model."""
    try:
        manifest = read_manifest(settings)
    except (IndexMissingError, IndexCorruptError):
        return  # handled with the embedder at hand: built if missing, reported if corrupt
    check_compatible(manifest, settings)

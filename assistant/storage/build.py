"""Building an index: embed what the live build lacks, write a new build folder, publish it.

A build writes a fresh folder, and only when every file is on disk does ``CURRENT`` switch to it
(``os.replace`` of a small file is atomic). A crash at any point before that leaves the previous
build live and untouched; the abandoned folder is removed by the next build. Passages whose hash
the live build already holds keep their vectors (and their sentences' vectors).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from assistant.core.errors import CorpusError, IndexCorruptError, IndexMissingError
from assistant.core.fsio import Notify, change_lock, fsync_path, quiet, sha256_file, write_atomically
from assistant.core.progress import Watch, steps
from assistant.core.settings import Settings
from assistant.core.types import Passage
from assistant.embed import Embedder
from assistant.storage.index import (
    BUILD_PREFIX,
    EMBED_TEXT,
    FORMAT_VERSION,
    MANIFEST_FILE,
    PASSAGES_FILE,
    POINTER_FILE,
    REBUILD_HINT,
    TMP_PREFIX,
    VECTORS_FILE,
    Manifest,
    PassageEntry,
    corpus_fingerprint,
    live_folder,
    load_sentences,
    mismatch_problems,
    passage_text,
    read_manifest,
    short_error,
)
from assistant.storage.sentence_index import (
    PASSAGE_FROM_SENTENCES,
    SENTENCE_ALONE,
    SENTENCE_IN_PASSAGE,
    SENTENCE_MODES,
    SentenceVectors,
)
from assistant.storage.stores import StoreRecord, store_backend


@dataclass(frozen=True)
class BuildReport:
    """What :func:`build_index` did."""

    path: Path
    passages: int
    embedded: int
    reused: int
    seconds: float


def build_index(
    settings: Settings,
    embedder: Embedder,
    passages: list[Passage],
    rebuild: bool = False,
    progress: bool = True,
    *,
    fingerprint: dict[str, str] | None = None,
    notify: Notify = quiet,
    embed_batch_size: int | None = None,
    check: Callable[[], None] | None = None,
    watch: Watch | None = None,
) -> BuildReport:
    """Build (or refresh) the index for ``passages`` and publish it atomically.

    Passages whose hash the live index already holds keep their vectors (unless ``rebuild``);
    only the others are embedded. A live index made with another model or chunking, or a corrupt
    one, is replaced as a whole (``notify`` says so). ``fingerprint`` are the corpus file hashes
    the passages came from (default: hash ``settings.corpus_dir`` now). ``embed_batch_size``
    passages go to the embedder per call (default ``settings.embedding_batch_size``; a
    distributed embedder wants them all at once). ``check`` is called while the build waits for
    the change lock and before each batch it embeds, up to publishing: when it raises, the build
    stops and the live index stays. ``watch`` is told how far embedding is, batch by batch.
    """
    started = time.perf_counter()
    if not passages:
        raise CorpusError("no passages to index")
    ids = [p.id for p in passages]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        raise CorpusError(f"duplicate passage ids: {', '.join(dupes[:5])}")
    if fingerprint is None:
        fingerprint = corpus_fingerprint(settings.corpus_dir) if settings.corpus_dir.is_dir() else {}
    index_dir = settings.index_dir
    index_dir.mkdir(parents=True, exist_ok=True)
    with change_lock(index_dir, notify, check=check):
        reusable, reusable_sentences, made = ({}, {}, None) if rebuild else _reusable_vectors(settings, embedder,
                                                                                                 notify)
        batch = embed_batch_size or settings.embedding_batch_size
        vectors, sentences, embedded, sentence_text = _embed(settings, embedder, passages, (reusable,
                                                             reusable_sentences, made), batch, progress, check,
                                                             watch)
        if check is not None:
            check()  # the last moment to stop: after this, the build is published
        tmp = index_dir / f"{TMP_PREFIX}{uuid.uuid4().hex[:8]}"
        final = index_dir / f"{BUILD_PREFIX}{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        previous = _live_name(index_dir)
        try:
            _write_build(tmp, final.name, settings, embedder, passages, vectors, (sentences, sentence_text),
                         fingerprint, embedded, started)
            os.replace(tmp, final)
            _publish(index_dir, final.name)
        except BaseException:
            # nothing was published: drop the new files, the live index is untouched
            _remove_tree(tmp)
            _remove_tree(final)
            with contextlib.suppress(Exception):  # best effort: the next build prunes what is left
                store_backend(settings.vector_store).prune(settings, keep={previous} if previous else set())
            raise
        _remove_old_builds(index_dir, keep=final.name)
        # the previous build's store stays one generation, so a server that loaded it keeps answering
        store_backend(settings.vector_store).prune(settings, keep={final.name} | ({previous} if previous else set()))
    return BuildReport(final, len(passages), embedded, len(passages) - embedded, time.perf_counter() - started)


def _live_name(index_dir: Path) -> str | None:
    try:
        return live_folder(index_dir).name
    except (IndexMissingError, IndexCorruptError):
        return None


#: passage vectors and sentences (with their vectors) by passage hash, and how those sentence vectors were made
Reusable = tuple[dict[str, np.ndarray], dict[str, tuple[list[str], np.ndarray]], str | None]


def _reusable_vectors(settings: Settings, embedder: Embedder, notify: Notify) -> Reusable:
    """Passage and sentence vectors of the live build by passage hash, if it was made the same
    way; else nothing.

    Only ``vectors.npy`` and the sentence files are read (checked against their checksums), not
    the store: vectors are reused across stores, and a Milvus server need not be up for this.
    """
    try:
        manifest = read_manifest(settings)
        problems = mismatch_problems(manifest, settings, embedder.model_id, store=False)
        if problems:
            notify(f"not reusing the existing index ({'; '.join(problems)}); embedding every passage")
            return {}, {}, None
        folder = live_folder(settings.index_dir)
        vectors = _read_vectors(folder, manifest)
        sentences = load_sentences(folder, manifest)
    except IndexMissingError:
        return {}, {}, None
    except IndexCorruptError as exc:
        damage = str(exc).replace(f"; {REBUILD_HINT}", "")
        notify(f"not reusing the existing index, it is damaged ({damage}); embedding every passage")
        return {}, {}, None
    hashes = [entry.hash for entry in manifest.passages]
    if sentences is None:
        return dict(zip(hashes, vectors, strict=True)), {}, None
    return dict(zip(hashes, vectors, strict=True)), sentences.reusable(hashes), manifest.sentence_text


def _read_vectors(folder: Path, manifest: Manifest) -> np.ndarray:
    path = folder / VECTORS_FILE
    try:
        if sha256_file(path) != manifest.files.get(VECTORS_FILE):
            raise IndexCorruptError(f"{path} does not match its checksum in the manifest; {REBUILD_HINT}")
        vectors: np.ndarray = np.load(path, allow_pickle=False, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"unreadable {path}: {short_error(exc)}; {REBUILD_HINT}") from exc
    if vectors.shape != (len(manifest.passages), manifest.dim):
        raise IndexCorruptError(
            f"{path} holds {vectors.shape} vectors, the manifest {len(manifest.passages)}; {REBUILD_HINT}"
        )
    return vectors


def _embed(
    settings: Settings, embedder: Embedder, passages: list[Passage], reusable: Reusable, batch: int, progress: bool,
    check: Callable[[], None] | None = None, watch: Watch | None = None,
) -> tuple[np.ndarray, SentenceVectors, int, str]:
    """Passage and sentence vectors as ``settings.sentence_vectors`` says, reusing what an earlier
    build made the same way; also the number of passages embedded and what the manifest records.
    ``check`` is called between batches (it raises to stop the build)."""
    vectors, old_sentences, made = reusable
    mode = SENTENCE_MODES[settings.sentence_vectors]
    texts = [passage_text(p) for p in passages]
    if mode == SENTENCE_IN_PASSAGE:  # one pass for a passage and its sentences, where the embedder can
        if check is not None:
            check()
        both = SentenceVectors.build_in_passages(embedder, passages, texts, vectors,
                                                 old_sentences if made == mode else {}, batch, progress, watch)
        if both is not None:
            return *both, mode
        mode = SENTENCE_ALONE
    if mode == PASSAGE_FROM_SENTENCES:
        # sentence vectors are the same as alone ones; passage vectors only from a build made this way
        return (*SentenceVectors.build_with_passages(
            embedder, passages, texts, vectors if made == mode else {},
            old_sentences if made in (mode, SENTENCE_ALONE) else {}, batch, progress, check, watch), mode)
    # passage vectors are whole-passage ones in every mode but passage-from-sentences
    passage_vectors, embedded = _embed_missing(embedder, passages, vectors if made != PASSAGE_FROM_SENTENCES else {},
                                               batch, progress, check, watch)
    sentences, _ = SentenceVectors.build(embedder, passages,
                                         old_sentences if made in (mode, PASSAGE_FROM_SENTENCES) else {}, batch,
                                         progress, check, watch)
    return passage_vectors, sentences, embedded, mode


def _embed_missing(
    embedder: Embedder,
    passages: list[Passage],
    reusable: dict[str, np.ndarray],
    batch_size: int,
    progress: bool,
    check: Callable[[], None] | None = None,
    watch: Watch | None = None,
) -> tuple[np.ndarray, int]:
    vectors = np.zeros((len(passages), embedder.dim), dtype=np.float32)
    todo = []
    for row, p in enumerate(passages):
        old = reusable.get(p.hash)
        if old is not None and old.shape == (embedder.dim,):
            vectors[row] = old
        else:
            todo.append(row)
    with steps(len(todo), "embedding passages", "passage", bar=progress, watch=watch) as step:
        for start in range(0, len(todo), batch_size):
            if check is not None:
                check()
            rows = todo[start : start + batch_size]
            vectors[rows] = embedder.embed_passages([passage_text(passages[r]) for r in rows])
            step(len(rows))
    return vectors, len(todo)


def _write_build(
    folder: Path,
    build: str,
    settings: Settings,
    embedder: Embedder,
    passages: list[Passage],
    vectors: np.ndarray,
    made: tuple[SentenceVectors, str],
    fingerprint: dict[str, str],
    embedded: int,
    started: float,
) -> Manifest:
    sentences, sentence_text = made
    folder.mkdir()
    with (folder / VECTORS_FILE).open("wb") as f:
        np.save(f, vectors, allow_pickle=False)
    sentences.write(folder)
    with (folder / PASSAGES_FILE).open("w", encoding="utf-8") as f:
        for p in passages:
            f.write(json.dumps(p.to_dict(), ensure_ascii=False) + "\n")
    store: StoreRecord = store_backend(settings.vector_store).write(folder, build, vectors, passages, settings)
    # every data file, also in sub-folders (the FAISS store's bm25/), as a path relative to the build
    data_files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        embedding_model=embedder.model_id,
        dim=embedder.dim,
        embed_text=EMBED_TEXT,
        chunking=settings.chunking_params(),
        passages=[PassageEntry(id=p.id, hash=p.hash) for p in passages],
        corpus_files=fingerprint,
        files={name: sha256_file(folder / name) for name in data_files},
        store=store,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        build_seconds=round(time.perf_counter() - started, 3),
        embedded=embedded,
        reused=len(passages) - embedded,
        sentence_text=sentence_text,
        sentences=len(sentences),
    )
    # the manifest goes last: a folder without one is never mistaken for a finished build
    (folder / MANIFEST_FILE).write_text(manifest.model_dump_json(indent=1), encoding="utf-8")
    for name in [*data_files, MANIFEST_FILE]:
        fsync_path(folder / name)
    for sub in {(folder / name).parent for name in data_files}:
        fsync_path(sub)
    fsync_path(folder)
    return manifest


def _publish(index_dir: Path, build_name: str) -> None:
    """Make ``build_name`` the live index: the one atomic step of a build."""
    write_atomically(index_dir / POINTER_FILE, build_name + "\n")


def _remove_old_builds(index_dir: Path, keep: str) -> None:
    for child in index_dir.iterdir():
        if child.name != keep and child.name.startswith((BUILD_PREFIX, TMP_PREFIX)):
            _remove_tree(child)
        elif child.name.startswith(f"{POINTER_FILE}.") and child.name.endswith(".tmp"):
            child.unlink(missing_ok=True)


def _remove_tree(path: Path) -> None:

    shutil.rmtree(path, ignore_errors=True)

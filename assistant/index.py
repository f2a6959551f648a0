"""The index folder: vectors, passages and a manifest that says how they were made.

Layout under ``settings.index_dir``::

    CURRENT              name of the live build folder (replaced atomically)
    build-<time>-<id>/   one complete build
        vectors.npy      L2-normalised passage vectors (inner product = cosine), reused by
                         incremental builds whatever the store
        passages.jsonl   one Passage per line, in vector order
        index.faiss      the FAISS store's index (flat or HNSW); a Milvus build has a
                         collection named in the manifest instead (``assistant/store/``)
        manifest.json    model id + dim, chunking parameters, a hash per passage, corpus file
                         hashes, the store, sha256 of the data files, build time, format version
        sentences.jsonl, sentence_vectors.npy
                         every passage's sentences and their vectors (assistant/sentence_index.py)

A build writes a fresh folder, and only when every file is on disk does ``CURRENT`` switch to it
(``os.replace`` of a small file is atomic). A crash at any point before that leaves the previous
build live and untouched; the abandoned folder is removed by the next build.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from tqdm import tqdm

from assistant.embed import Embedder, canonical_model_id
from assistant.errors import CorpusError, IndexCorruptError, IndexMismatchError, IndexMissingError
from assistant.sentence_index import SENTENCE_TEXT, SENTENCE_VECTORS_FILE, SENTENCES_FILE, SentenceVectors
from assistant.settings import Settings
from assistant.store import StoreRecord, VectorStore, store_backend
from assistant.types import Passage

FORMAT_VERSION = 1
#: how a passage becomes embedding input; part of the manifest so a change forces a rebuild
EMBED_TEXT = "text/v1"

POINTER_FILE = "CURRENT"
INDEX_FILE = "index.faiss"  # the FAISS store's file (assistant/store/faiss.py)
VECTORS_FILE = "vectors.npy"
PASSAGES_FILE = "passages.jsonl"
MANIFEST_FILE = "manifest.json"
SENTENCE_FILES = (SENTENCES_FILE, SENTENCE_VECTORS_FILE)
_BUILD_PREFIX = "build-"
_TMP_PREFIX = ".tmp-"

REBUILD_HINT = "rebuild it with `assistant index --rebuild`"

Notify = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def passage_text(passage: Passage) -> str:
    """The text embedded for a passage: its text alone.

    Prefixing the section path was measured and lost (e5-small, evals/questions.jsonl: Chinese
    recall@1 0.845 with it, 0.887 without); BM25 does use the section path (see retrieve.py).
    """
    return passage.text


class PassageEntry(BaseModel):
    """A passage's id and content hash, as the manifest records them."""

    model_config = ConfigDict(extra="forbid")
    id: str
    hash: str


_FLAT_FAISS: dict[str, str | int] = {"backend": "faiss", "index": "flat", "file": INDEX_FILE}


class Manifest(BaseModel):
    """``manifest.json``: everything needed to decide whether an index fits the current settings."""

    model_config = ConfigDict(extra="forbid")
    format_version: int
    embedding_model: str
    dim: int
    embed_text: str
    chunking: dict[str, int | str]
    passages: list[PassageEntry]
    corpus_files: dict[str, str]  # path relative to the corpus folder -> sha256
    files: dict[str, str]  # data file name -> sha256
    # where the vectors are searched; manifests written before stores existed were FAISS files
    store: dict[str, str | int] = Field(default_factory=lambda: _FLAT_FAISS.copy())
    built_at: str
    build_seconds: float
    embedded: int
    reused: int
    #: how sentences were embedded (assistant/sentence_index.py); None: built before sentence vectors
    sentence_text: str | None = None
    sentences: int = 0


@dataclass
class Index:
    """A loaded index: passages in vector order, their vectors and the store that searches them."""

    path: Path
    manifest: Manifest
    passages: list[Passage]
    vectors: np.ndarray
    store: VectorStore
    #: every passage's sentences and their vectors; None for an index built before they existed
    sentences: SentenceVectors | None = None

    def __len__(self) -> int:
        return len(self.passages)

    @property
    def build_id(self) -> str:
        """Which build this is: its folder's name (``build-<time>-<id>``), unique per build."""
        return self.path.name

    def search(
        self, query_vector: np.ndarray, k: int, documents: Collection[str] | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` nearest passages to one unit query vector as ``(row, cosine)``, best first.

        ``documents`` keeps only passages of those documents (``Passage.source``).
        """
        return self.store.search(query_vector, k, documents)

    def close(self) -> None:
        """Release the store's connections (a Milvus client); the index is unusable afterwards."""
        self.store.close()


@dataclass(frozen=True)
class BuildReport:
    """What :func:`build_index` did."""

    path: Path
    passages: int
    embedded: int
    reused: int
    seconds: float


# ---- corpus fingerprint -----------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def corpus_fingerprint(corpus_dir: Path) -> dict[str, str]:
    """sha256 of every report file in the corpus (raises CorpusError when there is none)."""
    from assistant.ingest import corpus_files  # ingest is upstream; imported late to keep start-up light

    return {p.relative_to(corpus_dir).as_posix(): _sha256_file(p) for p in corpus_files(corpus_dir)}


def stale_reason(manifest: Manifest, fingerprint: dict[str, str]) -> str | None:
    """Why an index no longer matches the corpus files (``None`` when it does)."""
    old, new = manifest.corpus_files, fingerprint
    changes = [f"added {n}" for n in sorted(new.keys() - old.keys())]
    changes += [f"changed {n}" for n in sorted(n for n in new.keys() & old.keys() if new[n] != old[n])]
    changes += [f"removed {n}" for n in sorted(old.keys() - new.keys())]
    return "; ".join(changes) or None


# ---- loading ----------------------------------------------------------------------------------


def _live_folder(index_dir: Path) -> Path:
    pointer = index_dir / POINTER_FILE
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexMissingError(f"no index in {index_dir}; build it with `assistant index`") from None
    except OSError as exc:
        raise IndexCorruptError(f"cannot read {pointer}: {exc}; {REBUILD_HINT}") from exc
    if not name.startswith(_BUILD_PREFIX) or "/" in name or "\\" in name:
        raise IndexCorruptError(f"{pointer} does not name a build folder ({name[:80]!r}); {REBUILD_HINT}")
    return index_dir / name


def live_build_name(index_dir: Path) -> str | None:
    """The name of the live build folder (what ``CURRENT`` says); None when nothing is published.

    Cheap (one small file read): a server compares it with the build it serves before each search.
    """
    try:
        return (index_dir / POINTER_FILE).read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None


def index_exists(settings: Settings) -> bool:
    """Whether an index has been published under ``settings.index_dir`` (it may still be unusable)."""
    return (settings.index_dir / POINTER_FILE).is_file()


def read_manifest(settings: Settings) -> Manifest:
    """The live build's manifest, without loading vectors (raises IndexMissing/CorruptError)."""
    return _read_manifest(_live_folder(settings.index_dir))


def _read_manifest(folder: Path) -> Manifest:
    try:
        return Manifest.model_validate_json((folder / MANIFEST_FILE).read_bytes())
    except (OSError, ValidationError, ValueError) as exc:
        raise IndexCorruptError(f"unreadable manifest in {folder}: {_short(exc)}; {REBUILD_HINT}") from exc


def mismatch_problems(
    manifest: Manifest, settings: Settings, embedder_model_id: str | None = None, *, store: bool = True
) -> list[str]:
    """How an index differs from what ``settings`` (or ``embedder_model_id``) would build; [] if it fits.

    ``store=False`` ignores the vector store: vectors can be reused across stores.
    """
    want_model = embedder_model_id or canonical_model_id(settings.embedding_model)
    problems = []
    if manifest.format_version != FORMAT_VERSION:
        problems.append(f"index format {manifest.format_version}, this version reads {FORMAT_VERSION}")
    if manifest.embedding_model != want_model:
        problems.append(f"built with embedding model {manifest.embedding_model!r}, settings say {want_model!r}")
    if manifest.embed_text != EMBED_TEXT:
        problems.append(f"passages embedded as {manifest.embed_text!r}, this version uses {EMBED_TEXT!r}")
    if manifest.chunking != settings.chunking_params():
        problems.append(f"built with chunking {manifest.chunking}, settings say {settings.chunking_params()}")
    if store:
        backend = str(manifest.store.get("backend"))
        if backend != settings.vector_store:
            problems.append(f"built for the {backend} vector store, settings say {settings.vector_store}")
        else:
            problems.extend(store_backend(backend).problems(manifest.store, settings))
    return problems


def check_compatible(manifest: Manifest, settings: Settings, embedder_model_id: str | None = None) -> None:
    """Refuse an index built with another model, text format or chunking (IndexMismatchError)."""
    problems = mismatch_problems(manifest, settings, embedder_model_id)
    if problems:
        raise IndexMismatchError(
            f"the index in {settings.index_dir} does not fit the current settings: "
            + "; ".join(problems)
            + f". {REBUILD_HINT[0].upper()}{REBUILD_HINT[1:]} (or change the settings back)."
        )


def load_index(settings: Settings, embedder_model_id: str | None = None) -> Index:
    """Load the live index, refusing one that does not fit ``settings`` (or ``embedder_model_id``).

    Raises IndexMissingError (nothing built), IndexMismatchError (other model, chunking or
    format: the message says how to rebuild) or IndexCorruptError (unreadable or inconsistent).
    """
    folder = _live_folder(settings.index_dir)
    try:
        return _load(folder, settings, embedder_model_id)
    except (IndexCorruptError, FileNotFoundError) as exc:
        # a concurrent build may have published a new folder and removed this one meanwhile
        newer = _live_folder(settings.index_dir)
        if newer != folder:
            return _load(newer, settings, embedder_model_id)
        if isinstance(exc, FileNotFoundError):
            raise IndexCorruptError(f"index file missing: {exc.filename}; {REBUILD_HINT}") from exc
        raise


def _load(folder: Path, settings: Settings, embedder_model_id: str | None) -> Index:
    if not folder.is_dir():
        raise IndexCorruptError(
            f"{settings.index_dir / POINTER_FILE} names a missing folder {folder.name}; {REBUILD_HINT}"
        )
    manifest = _read_manifest(folder)
    check_compatible(manifest, settings, embedder_model_id)
    for name in sorted({VECTORS_FILE, PASSAGES_FILE} | manifest.files.keys()):
        expected = manifest.files.get(name)
        if expected is None or _sha256_file(folder / name) != expected:
            raise IndexCorruptError(f"{folder / name} does not match its checksum in the manifest; {REBUILD_HINT}")
    try:
        # memory-mapped: a million 384-dim vectors are 1.5 GB that only the searched rows touch
        vectors = np.load(folder / VECTORS_FILE, allow_pickle=False, mmap_mode="r")
        passages = [Passage.from_dict(json.loads(line)) for line in _lines(folder / PASSAGES_FILE)]
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexCorruptError(f"unreadable index files in {folder}: {_short(exc)}; {REBUILD_HINT}") from exc
    n = len(manifest.passages)
    if vectors.shape != (n, manifest.dim) or [p.hash for p in passages] != [e.hash for e in manifest.passages]:
        raise IndexCorruptError(f"index files in {folder} disagree with each other; {REBUILD_HINT}")
    vectors = vectors.astype(np.float32, copy=False)
    try:
        backend = store_backend(str(manifest.store.get("backend")))
        store = backend.open(folder, manifest.store, vectors, passages, settings)
    except IndexCorruptError as exc:
        raise IndexCorruptError(f"{exc}; {REBUILD_HINT}" if REBUILD_HINT not in str(exc) else str(exc)) from exc
    return Index(folder, manifest, passages, vectors, store, _load_sentences(folder, manifest))


def _load_sentences(folder: Path, manifest: Manifest) -> SentenceVectors | None:
    """The build's sentence vectors, checked; None when it was built without (or with other) ones."""
    if manifest.sentence_text != SENTENCE_TEXT:
        return None
    for name in SENTENCE_FILES:
        expected = manifest.files.get(name)
        if expected is None or _sha256_file(folder / name) != expected:
            raise IndexCorruptError(f"{folder / name} does not match its checksum in the manifest; {REBUILD_HINT}")
    try:
        sentences = SentenceVectors.read(folder, len(manifest.passages), manifest.dim)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(f"unreadable sentence files in {folder}: {_short(exc)}; {REBUILD_HINT}") from exc
    if len(sentences) != manifest.sentences:
        raise IndexCorruptError(f"sentence files in {folder} disagree with the manifest; {REBUILD_HINT}")
    return sentences


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]


# ---- building ---------------------------------------------------------------------------------


def build_index(
    settings: Settings,
    embedder: Embedder,
    passages: list[Passage],
    rebuild: bool = False,
    progress: bool = True,
    *,
    fingerprint: dict[str, str] | None = None,
    notify: Notify = _quiet,
    embed_batch_size: int | None = None,
) -> BuildReport:
    """Build (or refresh) the index for ``passages`` and publish it atomically.

    Passages whose hash the live index already holds keep their vectors (unless ``rebuild``);
    only the others are embedded. A live index made with another model or chunking, or a corrupt
    one, is replaced as a whole (``notify`` says so). ``fingerprint`` are the corpus file hashes
    the passages came from (default: hash ``settings.corpus_dir`` now). ``embed_batch_size``
    passages go to the embedder per call (default ``settings.embedding_batch_size``; a
    distributed embedder wants them all at once).
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
    with change_lock(index_dir, notify):
        reusable, reusable_sentences = ({}, {}) if rebuild else _reusable_vectors(settings, embedder, notify)
        batch = embed_batch_size or settings.embedding_batch_size
        vectors, embedded = _embed_missing(embedder, passages, reusable, batch, progress)
        sentences, _ = SentenceVectors.build(embedder, passages, reusable_sentences, batch, progress)
        tmp = index_dir / f"{_TMP_PREFIX}{uuid.uuid4().hex[:8]}"
        final = index_dir / f"{_BUILD_PREFIX}{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
        previous = _live_name(index_dir)
        try:
            _write_build(tmp, final.name, settings, embedder, passages, vectors, sentences, fingerprint, embedded,
                         started)
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
        return _live_folder(index_dir).name
    except (IndexMissingError, IndexCorruptError):
        return None


Reusable = tuple[dict[str, np.ndarray], dict[str, tuple[list[str], np.ndarray]]]


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
            return {}, {}
        folder = _live_folder(settings.index_dir)
        vectors = _read_vectors(folder, manifest)
        sentences = _load_sentences(folder, manifest)
    except IndexMissingError:
        return {}, {}
    except IndexCorruptError as exc:
        damage = str(exc).replace(f"; {REBUILD_HINT}", "")
        notify(f"not reusing the existing index, it is damaged ({damage}); embedding every passage")
        return {}, {}
    hashes = [entry.hash for entry in manifest.passages]
    return dict(zip(hashes, vectors, strict=True)), (sentences.reusable(hashes) if sentences is not None else {})


def _read_vectors(folder: Path, manifest: Manifest) -> np.ndarray:
    path = folder / VECTORS_FILE
    try:
        if _sha256_file(path) != manifest.files.get(VECTORS_FILE):
            raise IndexCorruptError(f"{path} does not match its checksum in the manifest; {REBUILD_HINT}")
        vectors: np.ndarray = np.load(path, allow_pickle=False, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"unreadable {path}: {_short(exc)}; {REBUILD_HINT}") from exc
    if vectors.shape != (len(manifest.passages), manifest.dim):
        raise IndexCorruptError(
            f"{path} holds {vectors.shape} vectors, the manifest {len(manifest.passages)}; {REBUILD_HINT}"
        )
    return vectors


def _embed_missing(
    embedder: Embedder,
    passages: list[Passage],
    reusable: dict[str, np.ndarray],
    batch_size: int,
    progress: bool,
) -> tuple[np.ndarray, int]:
    vectors = np.zeros((len(passages), embedder.dim), dtype=np.float32)
    todo = []
    for row, p in enumerate(passages):
        old = reusable.get(p.hash)
        if old is not None and old.shape == (embedder.dim,):
            vectors[row] = old
        else:
            todo.append(row)
    with tqdm(total=len(todo), desc="embedding passages", unit="passage", disable=not progress or not todo) as bar:
        for start in range(0, len(todo), batch_size):
            rows = todo[start : start + batch_size]
            vectors[rows] = embedder.embed_passages([passage_text(passages[r]) for r in rows])
            bar.update(len(rows))
    return vectors, len(todo)


def _write_build(
    folder: Path,
    build: str,
    settings: Settings,
    embedder: Embedder,
    passages: list[Passage],
    vectors: np.ndarray,
    sentences: SentenceVectors,
    fingerprint: dict[str, str],
    embedded: int,
    started: float,
) -> Manifest:
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
        files={name: _sha256_file(folder / name) for name in data_files},
        store=store,
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        build_seconds=round(time.perf_counter() - started, 3),
        embedded=embedded,
        reused=len(passages) - embedded,
        sentence_text=SENTENCE_TEXT,
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


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step (a temporary file beside it, flushed, renamed over
    it, the folder flushed): a crash leaves the old contents or the new, never half of either."""
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text, encoding="utf-8")
    fsync_path(tmp)
    os.replace(tmp, path)
    fsync_path(path.parent)


def _remove_old_builds(index_dir: Path, keep: str) -> None:
    for child in index_dir.iterdir():
        if child.name != keep and child.name.startswith((_BUILD_PREFIX, _TMP_PREFIX)):
            _remove_tree(child)
        elif child.name.startswith(f"{POINTER_FILE}.") and child.name.endswith(".tmp"):
            child.unlink(missing_ok=True)


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def fsync_path(path: Path) -> None:
    """Flush a file or folder to disk so a power cut cannot publish a half-written build."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. folders cannot be opened on Windows
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


#: index folders whose change lock the current thread holds (the lock is reentrant per thread)
_HELD = threading.local()


@contextlib.contextmanager
def change_lock(index_dir: Path, notify: Notify = _quiet) -> Iterator[None]:
    """Hold the one lock that serialises changes to this index and its corpus, across processes.

    Builds take it, and so does a document collection change around its corpus-file writes and
    the build it makes (:mod:`assistant.documents`): taken again by the same thread, it is
    already held, so a change can call :func:`build_index` inside it. ``notify`` hears about a
    wait for another process's change or build.
    """
    key = str(index_dir.resolve())
    held: set[str] = _HELD.__dict__.setdefault("dirs", set())
    if key in held:
        yield
        return
    index_dir.mkdir(parents=True, exist_ok=True)
    with _build_lock(index_dir, notify):
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)


@contextlib.contextmanager
def _build_lock(index_dir: Path, notify: Notify = _quiet) -> Iterator[None]:
    """One build at a time per index folder (the OS drops the lock if the process dies); a build
    that has to wait for another one says so."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no cross-process lock
        yield
        return
    with (index_dir / ".lock").open("a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            notify(f"another build of the index in {index_dir} is running; waiting for it to finish")
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
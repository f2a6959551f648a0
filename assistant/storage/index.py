"""The index folder: vectors, passages and a manifest that says how they were made.

Layout under ``settings.index_dir``::

    CURRENT              name of the live build folder (replaced atomically)
    build-<time>-<id>/   one complete build
        vectors.npy      L2-normalised passage vectors (inner product = cosine), reused by
                         incremental builds whatever the store
        passages.jsonl   one Passage per line, in vector order
        index.faiss      the FAISS store's index (flat or HNSW); a Milvus build has a
                         collection named in the manifest instead (``assistant/storage/stores/``)
        manifest.json    model id + dim, chunking parameters, a hash per passage, corpus file
                         hashes, the store, sha256 of the data files, build time, format version
        sentences.jsonl, sentence_vectors.npy
                         every passage's sentences and their vectors (assistant/storage/sentence_index.py)

A build writes a fresh folder, and only when every file is on disk does ``CURRENT`` switch to it
(``os.replace`` of a small file is atomic). A crash at any point before that leaves the previous
build live and untouched; the abandoned folder is removed by the next build.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.core.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from assistant.core.fsio import sha256_file
from assistant.core.settings import Settings
from assistant.core.types import Passage
from assistant.embed import canonical_model_id
from assistant.storage.sentence_index import SENTENCE_TEXTS, SENTENCE_VECTORS_FILE, SENTENCES_FILE, SentenceVectors
from assistant.storage.stores import VectorStore, store_backend

FORMAT_VERSION = 3  # 2: passages carry their document title; 3: and their location (pages and boxes, lines…)
#: how a passage becomes embedding input; part of the manifest so a change forces a rebuild
EMBED_TEXT = "title+section+text/v2"

POINTER_FILE = "CURRENT"
INDEX_FILE = "index.faiss"  # the FAISS store's file (assistant/storage/stores/faiss.py)
VECTORS_FILE = "vectors.npy"
PASSAGES_FILE = "passages.jsonl"
MANIFEST_FILE = "manifest.json"
SENTENCE_FILES = (SENTENCES_FILE, SENTENCE_VECTORS_FILE)
BUILD_PREFIX = "build-"
TMP_PREFIX = ".tmp-"

REBUILD_HINT = "rebuild it with `assistant index --rebuild`"

def passage_text(passage: Passage) -> str:
    """The text embedded for a passage: its document's title and its section path, then its text,
    so a passage is found by the subject and the heading it stands under as well as by its words
    (the dense score fused is mostly its best sentence's, which carries the heading already)."""
    return f"{passage.title}\n{passage.section}\n{passage.text}"


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
    #: how sentences were embedded (assistant/storage/sentence_index.py); None: built before sentence vectors
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


# ---- corpus fingerprint -----------------------------------------------------------------------


def corpus_fingerprint(corpus_dir: Path) -> dict[str, str]:
    """sha256 of every report file in the corpus (raises CorpusError when there is none)."""
    from assistant.ingest import corpus_files  # ingest is upstream; imported late to keep start-up light

    return {p.relative_to(corpus_dir).as_posix(): sha256_file(p) for p in corpus_files(corpus_dir)}


def stale_reason(manifest: Manifest, fingerprint: dict[str, str]) -> str | None:
    """Why an index no longer matches the corpus files (``None`` when it does)."""
    old, new = manifest.corpus_files, fingerprint
    changes = [f"added {n}" for n in sorted(new.keys() - old.keys())]
    changes += [f"changed {n}" for n in sorted(n for n in new.keys() & old.keys() if new[n] != old[n])]
    changes += [f"removed {n}" for n in sorted(old.keys() - new.keys())]
    return "; ".join(changes) or None


# ---- loading ----------------------------------------------------------------------------------


def live_folder(index_dir: Path) -> Path:
    pointer = index_dir / POINTER_FILE
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexMissingError(f"no index in {index_dir}; build it with `assistant index`") from None
    except OSError as exc:
        raise IndexCorruptError(f"cannot read {pointer}: {exc}; {REBUILD_HINT}") from exc
    if not name.startswith(BUILD_PREFIX) or "/" in name or "\\" in name:
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
    return _read_manifest(live_folder(settings.index_dir))


def _read_manifest(folder: Path) -> Manifest:
    try:
        return Manifest.model_validate_json((folder / MANIFEST_FILE).read_bytes())
    except (OSError, ValidationError, ValueError) as exc:
        raise IndexCorruptError(f"unreadable manifest in {folder}: {short_error(exc)}; {REBUILD_HINT}") from exc


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
    folder = live_folder(settings.index_dir)
    try:
        return _load(folder, settings, embedder_model_id)
    except (IndexCorruptError, FileNotFoundError) as exc:
        # a concurrent build may have published a new folder and removed this one meanwhile
        newer = live_folder(settings.index_dir)
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
        if expected is None or sha256_file(folder / name) != expected:
            raise IndexCorruptError(f"{folder / name} does not match its checksum in the manifest; {REBUILD_HINT}")
    try:
        # memory-mapped: a million 384-dim vectors are 1.5 GB that only the searched rows touch
        vectors = np.load(folder / VECTORS_FILE, allow_pickle=False, mmap_mode="r")
        passages = [Passage.from_dict(json.loads(line)) for line in _lines(folder / PASSAGES_FILE)]
    except FileNotFoundError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexCorruptError(f"unreadable index files in {folder}: {short_error(exc)}; {REBUILD_HINT}") from exc
    n = len(manifest.passages)
    if vectors.shape != (n, manifest.dim) or [p.hash for p in passages] != [e.hash for e in manifest.passages]:
        raise IndexCorruptError(f"index files in {folder} disagree with each other; {REBUILD_HINT}")
    vectors = vectors.astype(np.float32, copy=False)
    try:
        backend = store_backend(str(manifest.store.get("backend")))
        store = backend.open(folder, manifest.store, vectors, passages, settings)
    except IndexCorruptError as exc:
        raise IndexCorruptError(f"{exc}; {REBUILD_HINT}" if REBUILD_HINT not in str(exc) else str(exc)) from exc
    return Index(folder, manifest, passages, vectors, store, load_sentences(folder, manifest))


def load_sentences(folder: Path, manifest: Manifest) -> SentenceVectors | None:
    """The build's sentence vectors, checked; None when it was built without (or with other) ones."""
    if manifest.sentence_text not in SENTENCE_TEXTS:
        return None
    for name in SENTENCE_FILES:
        expected = manifest.files.get(name)
        if expected is None or sha256_file(folder / name) != expected:
            raise IndexCorruptError(f"{folder / name} does not match its checksum in the manifest; {REBUILD_HINT}")
    try:
        sentences = SentenceVectors.read(folder, len(manifest.passages), manifest.dim)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(f"unreadable sentence files in {folder}: {short_error(exc)}; {REBUILD_HINT}") from exc
    if len(sentences) != manifest.sentences:
        raise IndexCorruptError(f"sentence files in {folder} disagree with the manifest; {REBUILD_HINT}")
    return sentences


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def short_error(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]

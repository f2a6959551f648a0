"""The document collection: the corpus folder's documents, added and removed one change at a time.

Each change (``add`` one or more files, ``remove`` one document) is one new index build, made from
the live index's passages plus or minus the changed documents' — only new passages are embedded,
and only the changed documents are read — and published atomically by :func:`assistant.storage.index.build_index`.

How a change stays whole, whatever happens to the process making it:

1. Under the change lock (:func:`assistant.storage.index.change_lock`, the lock builds take: changes and
   builds from any process run one at a time), pending changes a crashed process left are settled.
2. The new files are copied into ``<corpus>/.staging/<change>/`` (dot-folders are not part of the
   corpus) and read there; an unreadable file ends the change with nothing written elsewhere.
3. ``change.json`` in that folder records the change: files to add (with their sha256) and
   documents to remove.
4. The index is built and published: **the commit point**. Before it, the corpus is untouched and
   the previous index serves; a crash leaves only the staging folder, which step 1 removes later.
5. The corpus files are moved in (``os.replace``) or deleted, the catalog is updated, the staging
   folder removed. Every step here can be redone, so a crash during them is finished by step 1 of
   the next change (or of ``assistant index``): a pending change is rolled forward when the live
   build is newer than the one it started from and holds its result, and dropped otherwise.

A document's id is its file name without the extension (passage ids start with it, so it is unique
in a corpus). Adding a document whose id exists is refused (:class:`DocumentConflictError`, HTTP
409) unless ``replace`` is asked for; then the old document's passages go and the new ones come in
the same build. Removing the last document is refused too: an index needs passages.

The catalog ``<corpus>/.documents.json`` keeps what cannot be recomputed cheaply (when a document
was added, its type, pages and passages as read); files put in the corpus folder by hand are listed
from what can be derived (their modification time as the date added).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import BaseModel, ConfigDict, ValidationError

from assistant.core.errors import (
    CorpusError,
    DocumentConflictError,
    DocumentNotFoundError,
    DocumentTooLargeError,
    IndexCorruptError,
    IndexMissingError,
    InvalidInputError,
    UnreadableDocumentError,
)
from assistant.core.fsio import change_lock, fsync_path, sha256_file, write_atomically
from assistant.core.progress import Watch
from assistant.core.settings import Settings
from assistant.core.types import Passage
from assistant.embed import Embedder
from assistant.ingest import (
    SUFFIXES,
    IngestedDocument,
    ReadOptions,
    check_unique,
    corpus_files,
    ingest_file,
    read_all,
    readers_for,
)
from assistant.ingest.read import detect_kind
from assistant.storage.build import BuildReport, build_index
from assistant.storage.index import (
    Manifest,
    corpus_fingerprint,
    live_build_name,
    live_folder,
    load_index,
    read_manifest,
)

log = logging.getLogger(__name__)

CATALOG_FILE = ".documents.json"
STAGING_DIR = ".staging"
CHANGE_FILE = "change.json"
#: the extension a document gets when its name has none the corpus knows, by what its content is
_SUFFIX_FOR_KIND = {"pdf": ".pdf", "docx": ".docx", "html": ".html", "text": ".txt"}
_UNSAFE = re.compile(r"[^\w.-]+")
#: longest document id in UTF-8 bytes (ids name files: with the extension, well within 255 bytes)
MAX_ID_BYTES = 200
MAX_SUFFIX_CHARS = 10

Notify = Callable[[str], None]
#: called while a change runs, up to its commit point; it raises to stop the change (see :meth:`DocumentCollection.add`)
Check = Callable[[], None]


class DocumentInfo(BaseModel):
    """One document of the collection, as ``assistant docs`` and ``GET /v1/documents`` list it."""

    model_config = ConfigDict(extra="forbid")
    id: str
    source: str  # the file's path inside the corpus folder
    type: str  # the reader that read it: pdf, pdf+ocr, docx, html, text, markdown
    passages: int | None  # None: not in the live index (a file put in the corpus folder after the last build)
    pages: int | None  # PDF pages; None for the other types
    added: str  # ISO 8601, UTC
    sha256: str
    bytes: int
    indexed: bool  # whether the live index holds this file as it is now
    #: passages that are mostly instructions to a reader or a model (kept, never evidence)
    instruction_passages: int = 0


class _Entry(BaseModel):
    """A catalog line: the document as it was read when added, and the file's stat to trust its hash."""

    model_config = ConfigDict(extra="forbid")
    source: str
    type: str
    passages: int
    pages: int | None
    added: str
    sha256: str
    bytes: int
    mtime_ns: int
    instruction_passages: int = 0


class _Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    documents: dict[str, _Entry] = {}


class _Change(BaseModel):
    """``change.json``: what a change does, written before its build so that a crash can be settled."""

    model_config = ConfigDict(extra="forbid")
    before: str | None = None  # the live build when the change was recorded
    add: list[_Entry]
    remove: list[str]  # sources


@dataclass(frozen=True)
class NewDocument:
    """A file to add: its content (a path, or an open binary file such as an upload) and its name."""

    data: Path | BinaryIO
    name: str

    @classmethod
    def of(cls, path: Path) -> NewDocument:
        """A file on disk, named as it is."""
        return cls(path, path.name)


@dataclass(frozen=True)
class ChangeReport:
    """What a change did: the documents it added and removed, and the build that published it.

    ``duplicates`` are the documents already in the collection that files of the change held
    (the same bytes, by sha256, under whatever name): those files were not added again. A change
    of nothing but duplicates builds nothing: ``build`` then describes the live index, with
    nothing embedded.
    """

    added: list[DocumentInfo]
    removed: list[DocumentInfo]
    build: BuildReport
    duplicates: list[DocumentInfo] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the collection changed (False: every file was a document already)."""
        return bool(self.added or self.removed)

    def to_json(self) -> dict[str, Any]:
        """What ``assistant add/remove --json`` print and the API answers to a change."""
        b = self.build
        return {
            "added": [d.model_dump() for d in self.added],
            "removed": [d.model_dump() for d in self.removed],
            "duplicates": [d.model_dump() for d in self.duplicates],
            "index": {"passages": b.passages, "embedded": b.embedded, "reused": b.reused,
                      "seconds": round(b.seconds, 3), "build": b.path.name},
        }


@dataclass(frozen=True)
class DocumentFile:
    """A document's file as it was added, and the content type it is served with."""

    info: DocumentInfo
    path: Path
    media_type: str


#: the content type of each kind of document file (text types get their charset from the content)
MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".html": "text/html",
    ".htm": "text/html",
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
}


def document_id(name: str) -> str:
    """The id a file named ``name`` gets: its stem, with anything but letters, digits, ``-_.`` made ``-``.

    Chinese names stay as they are (``\\w`` is Unicode); path parts and leading dots are dropped. An id
    is at most :data:`MAX_ID_BYTES` bytes of UTF-8 (the file name, id plus extension, must fit a file
    system's 255): a longer one is cut and ends in ``-`` and 8 hex digits of the sha256 of the whole,
    so two long names that start alike stay apart, and one name always gives one id.
    """
    stem = Path(name.replace("\\", "/").rsplit("/", 1)[-1]).stem
    cleaned = _UNSAFE.sub("-", stem).strip("-._")
    encoded = cleaned.encode("utf-8")
    if len(encoded) > MAX_ID_BYTES:
        digest = hashlib.sha256(encoded).hexdigest()[:8]
        head = encoded[: MAX_ID_BYTES - len(digest) - 1].decode("utf-8", errors="ignore").strip("-._")
        cleaned = f"{head}-{digest}"
    return cleaned or "document"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class DocumentCollection:
    """The documents of ``settings.corpus_dir``, kept in step with the index in ``settings.index_dir``.

    ``on_change`` runs after each change that published a build (a server swaps in the new
    index with it). ``progress`` shows progress bars (reading, OCR, embedding) on stderr.
    """

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        *,
        on_change: Callable[[], object] | None = None,
        progress: bool = False,
        notify: Notify = log.info,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.on_change = on_change
        self.progress = progress
        self.notify = notify

    @property
    def corpus_dir(self) -> Path:
        return self.settings.corpus_dir

    # ---- reading ------------------------------------------------------------------------------

    def documents(self) -> list[DocumentInfo]:
        """Every document of the corpus folder, by id."""
        return list_documents(self.settings)

    def get(self, doc_id: str) -> DocumentInfo:
        """The document with this id (DocumentNotFoundError when there is none)."""
        return get_document(self.settings, doc_id)

    def file(self, doc_id: str) -> DocumentFile:
        """The document's file, byte for byte as it was added (DocumentNotFoundError when there is none)."""
        return document_file(self.settings, doc_id)

    # ---- changing -----------------------------------------------------------------------------

    def add(self, documents: Sequence[NewDocument], *, replace: bool = False, check: Check | None = None,
            watch: Watch | None = None) -> ChangeReport:
        """Add documents in one change: all of them are indexed, or none (see the module docstring).

        A file whose bytes a document of the collection holds already is not added again: the
        report names that document among its ``duplicates``. ``check`` is called while the change
        waits, reads and embeds, up to its commit point: when it raises (the client went away, the
        request timed out), the change stops there and the collection stays as it was. ``watch`` is
        told how far it is: each document as it is read, then embedding batch by batch.

        Raises UnreadableDocumentError (or its UnsupportedDocumentError / DocumentTooLargeError) for
        a file that cannot be read, DocumentConflictError for an id that exists (unless ``replace``)
        or is given twice, InvalidInputError for no documents at all.
        """
        if not documents:
            raise InvalidInputError("no documents to add")
        with change_lock(self.settings.index_dir, self.notify, check=check):
            settle_pending(self.settings, self.notify)
            staging = _new_staging(self.corpus_dir)
            try:
                report = self._add(staging, documents, replace, check, watch)
            finally:
                # forward when the build was published, else back: the corpus never holds half a change
                settle(self.settings, staging)
        if report.changed:
            self._changed()
        return report

    def remove(self, doc_id: str, *, check: Check | None = None) -> ChangeReport:
        """Remove one document, its file and its passages, in one change (``check`` as for :meth:`add`)."""
        with change_lock(self.settings.index_dir, self.notify, check=check):
            settle_pending(self.settings, self.notify)
            info = self.get(doc_id)
            passages, fingerprint = self._live(check)
            kept = [p for p in passages if p.source != info.source]
            if not kept:
                raise DocumentConflictError(
                    f"{doc_id} is the last indexed document; an index needs passages, so add another "
                    "document before removing this one"
                )
            fingerprint.pop(info.source, None)
            staging = _new_staging(self.corpus_dir)
            try:
                build = self._publish(staging, _Change(add=[], remove=[info.source]), kept, fingerprint, check)
            finally:
                settle(self.settings, staging)
        self._changed()
        return ChangeReport(added=[], removed=[info], build=build)

    # ---- the steps of a change --------------------------------------------------------------------

    def _add(self, staging: Path, documents: Sequence[NewDocument], replace: bool, check: Check | None,
             watch: Watch | None = None) -> ChangeReport:
        staged = [self._stage(staging, doc) for doc in documents]
        held = {d.sha256: d for d in self.documents()}
        fresh: dict[str, Path] = {}  # sha256 -> the first staged file with those bytes
        repeated: list[str] = []  # the sha256 of each file that is not new
        for path in staged:
            digest = sha256_file(path)
            if digest in held or digest in fresh:
                repeated.append(digest)
                path.unlink()
            else:
                fresh[digest] = path
        staged = list(fresh.values())
        existing = {p.stem: p for p in _files(self.corpus_dir)}
        ids = [path.stem for path in staged]
        for doc_id in ids:
            if ids.count(doc_id) > 1:
                raise DocumentConflictError(f"two of the files to add would both be the document {doc_id!r}")
            if doc_id in existing and not replace:
                raise DocumentConflictError(
                    f"a document {doc_id!r} exists already ({existing[doc_id].name}); remove it first, or "
                    "replace it (assistant add --replace, POST /v1/documents?replace=true)"
                )
        if not staged:  # nothing new: no change, no build
            return ChangeReport(added=[], removed=[], build=self._unchanged(), duplicates=[held[d] for d in repeated])
        removed = [self.get(doc_id) for doc_id in ids if doc_id in existing]
        read = self._read([(path, path.name) for path in staged], check, watch)
        entries = [_entry(path, document) for path, document in zip(staged, read, strict=True)]
        new = [p for document in read for p in document.passages]
        passages, fingerprint = self._live(check)
        gone = {d.source for d in removed}
        passages = [p for p in passages if p.source not in gone] + new
        check_unique(passages)
        for source in gone:
            fingerprint.pop(source, None)
        fingerprint.update({e.source: e.sha256 for e in entries})
        build = self._publish(staging, _Change(add=entries, remove=sorted(gone)), passages, fingerprint, check, watch)
        added = [_info_of(e, indexed=True) for e in entries]
        known = {**held, **{d.sha256: d for d in added}}
        return ChangeReport(added=added, removed=removed, build=build, duplicates=[known[d] for d in repeated])

    def _publish(self, staging: Path, change: _Change, passages: list[Passage], fingerprint: dict[str, str],
                 check: Check | None, watch: Watch | None = None) -> BuildReport:
        """Record the change, then build and publish its index: the commit point."""
        change = change.model_copy(update={"before": live_build_name(self.settings.index_dir)})
        write_atomically(staging / CHANGE_FILE, change.model_dump_json(indent=1))
        return build_index(self.settings, self.embedder, passages, progress=self.progress,
                           fingerprint=fingerprint, notify=self.notify, check=check, watch=watch)

    def _read(self, files: list[tuple[Path, str]], check: Check | None, watch: Watch | None = None
              ) -> list[IngestedDocument]:
        """Read and cut ``files`` ((path, source) pairs), several at once, each in its worker process;
        each document read is announced (``notify``, ``watch``) as it is done."""
        options = ReadOptions.from_settings(self.settings, progress=self.progress)
        done = 0
        if watch is not None:
            watch("reading " + ", ".join(source for _, source in files), 0, len(files))

        def on_read(document: IngestedDocument, seconds: float) -> None:
            nonlocal done
            done += 1
            line = document.describe_read(seconds)
            if self.progress:
                self.notify(line)
            if watch is not None:
                watch(line, done, len(files))

        read = functools.partial(_ingest, max_chars=self.settings.chunk_max_chars, options=options, check=check)
        return read_all(files, read, readers=readers_for(options, len(files)), on_read=on_read)

    def _stage(self, staging: Path, doc: NewDocument) -> Path:
        """Copy one new file into the staging folder under its final name."""
        doc_id = document_id(doc.name)
        suffix = _UNSAFE.sub("", Path(doc.name).suffix.lower())
        suffix = suffix if len(suffix) <= MAX_SUFFIX_CHARS else ""  # no known type is that long: judged by content
        target = staging / f"{doc_id}{suffix}"
        if target.exists():
            raise DocumentConflictError(f"two of the files to add would both be {target.name}")
        limit = self.settings.max_document_bytes
        if _copy(doc.data, target, limit) > limit:
            raise DocumentTooLargeError(
                f"{doc.name} is larger than {limit / 1024 / 1024:.1f} MB (ASSISTANT_MAX_DOCUMENT_BYTES)"
            )
        if suffix not in SUFFIXES:
            # no extension the corpus knows: the content says what it is (and refuses what it is not)
            with target.open("rb") as f:
                kind = detect_kind(target, f.read(65536))
            named = target.with_suffix(_SUFFIX_FOR_KIND[kind])
            if named.exists():  # two files, "report" and "report" (or "report.txt"): rename would overwrite
                target.unlink()
                raise DocumentConflictError(f"two of the files to add would both be {named.name}")
            target = target.rename(named)
        fsync_path(target)
        return target

    def _unchanged(self) -> BuildReport:
        """The live build, as the report of a change that built nothing."""
        manifest = read_manifest(self.settings)
        folder = live_folder(self.settings.index_dir)
        return BuildReport(folder, len(manifest.passages), 0, len(manifest.passages), 0.0)

    def _live(self, check: Check | None = None) -> tuple[list[Passage], dict[str, str]]:
        """The passages and corpus fingerprint a change starts from: the live index's, or with no
        index yet, the corpus folder's as it is."""
        try:
            index = load_index(self.settings, self.embedder.model_id)
        except IndexMissingError:
            files = _files(self.corpus_dir)
            if not files:
                return [], {}
            documents = self._read([(path, _source(self.corpus_dir, path)) for path in files], check)
            return [p for document in documents for p in document.passages], corpus_fingerprint(self.corpus_dir)
        return list(index.passages), dict(index.manifest.corpus_files)

    # ---- helpers ----------------------------------------------------------------------------------

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()


# ---- reading the collection ------------------------------------------------------------------------


def list_documents(settings: Settings) -> list[DocumentInfo]:
    """Every document of ``settings.corpus_dir``, by id (no model needed: files, catalog and manifest)."""
    corpus_dir = settings.corpus_dir
    catalog, manifest = _read_catalog(corpus_dir), _manifest_or_none(settings)
    counts = _passage_counts(manifest)
    return sorted((_info(corpus_dir, p, catalog, manifest, counts) for p in _files(corpus_dir)), key=lambda d: d.id)


def get_document(settings: Settings, doc_id: str) -> DocumentInfo:
    """The document with this id (DocumentNotFoundError when there is none)."""
    corpus_dir = settings.corpus_dir
    path = next((p for p in _files(corpus_dir) if p.stem == doc_id), None)
    if path is None:
        raise DocumentNotFoundError(
            f"no document {doc_id!r} in {corpus_dir}; `assistant docs` (GET /v1/documents) lists them"
        )
    manifest = _manifest_or_none(settings)
    return _info(corpus_dir, path, _read_catalog(corpus_dir), manifest, _passage_counts(manifest))


def document_file(settings: Settings, doc_id: str) -> DocumentFile:
    """The file of the document with this id, and its content type (DocumentNotFoundError when there is none)."""
    info = get_document(settings, doc_id)
    path = settings.corpus_dir / info.source
    media_type = MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
    if media_type.startswith("text/"):
        media_type += f"; charset={_charset(path)}"
    return DocumentFile(info, path, media_type)


def _charset(path: Path) -> str:
    """The encoding a text file is read in (:func:`assistant.ingest.read.decode_text`'s choice)."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _files(corpus_dir: Path) -> list[Path]:
    try:
        return corpus_files(corpus_dir)
    except CorpusError:  # no folder, or no documents in it: an empty collection
        return []


def _source(corpus_dir: Path, path: Path) -> str:
    return path.relative_to(corpus_dir).as_posix()


def _info(corpus_dir: Path, path: Path, catalog: _Catalog, manifest: Manifest | None,
          counts: dict[str, int]) -> DocumentInfo:
    source = _source(corpus_dir, path)
    stat = path.stat()
    entry = catalog.documents.get(source)
    if entry is None or entry.bytes != stat.st_size or entry.mtime_ns != stat.st_mtime_ns:
        entry = _derived(path, source, stat.st_mtime_ns, stat.st_size)
    indexed = manifest is not None and manifest.corpus_files.get(source) == entry.sha256
    info = _info_of(entry, indexed=indexed)
    return info.model_copy(update={"passages": counts.get(info.id) if indexed else None})


# ---- settling a change: forward when its build is live, else back ----------------------------------


def settle_pending(settings: Settings, notify: Notify = log.info) -> None:
    """Finish or drop every change a crashed process left in the staging folder.

    Call it holding :func:`assistant.storage.index.change_lock` (every change does, and so does a build
    of the whole corpus, so that it reads the corpus as a change left it).
    """
    root = settings.corpus_dir / STAGING_DIR
    if not root.is_dir():
        return
    for folder in sorted(root.iterdir()):
        if settle(settings, folder):
            notify(f"finished an interrupted change to {settings.corpus_dir}: its index had been published")
        else:
            notify(f"dropped an interrupted change to {settings.corpus_dir} ({folder.name}): it was not published")


def settle(settings: Settings, staging: Path) -> bool:
    """Roll the change in ``staging`` forward if its build is the live index (True), else drop it."""
    change = _read_change(staging)
    forward = change is not None and _published(change, settings)
    if change is not None and forward:
        _roll_forward(settings.corpus_dir, staging, change)
    shutil.rmtree(staging, ignore_errors=True)
    with contextlib.suppress(OSError):
        staging.parent.rmdir()  # only when empty: .staging/ exists while a change is under way
    return forward


def _published(change: _Change, settings: Settings) -> bool:
    """Whether a build newer than the one before the change is live and holds the change's result."""
    manifest = _manifest_or_none(settings)
    if manifest is None or live_build_name(settings.index_dir) == change.before:
        return False
    added = {e.source: e.sha256 for e in change.add}
    return all(manifest.corpus_files.get(s) == h for s, h in added.items()) and not any(
        s in manifest.corpus_files for s in change.remove if s not in added
    )


def _roll_forward(corpus_dir: Path, staging: Path, change: _Change) -> None:
    """Move the new files in, delete the removed ones, update the catalog. Each step can be redone."""
    added = {e.source for e in change.add}
    for entry in change.add:
        staged = staging / Path(entry.source).name
        if staged.exists():
            os.replace(staged, corpus_dir / entry.source)
    for source in change.remove:
        if source not in added:
            (corpus_dir / source).unlink(missing_ok=True)
    fsync_path(corpus_dir)
    catalog = _read_catalog(corpus_dir)
    for source in change.remove:
        catalog.documents.pop(source, None)
    for entry in change.add:
        catalog.documents[entry.source] = entry
    write_atomically(corpus_dir / CATALOG_FILE, catalog.model_dump_json(indent=1))


def _new_staging(corpus_dir: Path) -> Path:
    folder = corpus_dir / STAGING_DIR / f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    return folder


def _read_change(staging: Path) -> _Change | None:
    try:
        return _Change.model_validate_json((staging / CHANGE_FILE).read_bytes())
    except (OSError, ValidationError, ValueError):
        return None  # the process died before recording the change, so before building: nothing to finish


def _read_catalog(corpus_dir: Path) -> _Catalog:
    path = corpus_dir / CATALOG_FILE
    try:
        return _Catalog.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return _Catalog()
    except (OSError, ValidationError, ValueError) as exc:
        # the catalog only adds dates and read details: listed from the files instead, not fatal
        log.warning("ignoring the unreadable document catalog %s: %s", path, exc)
        return _Catalog()


# ---- module helpers --------------------------------------------------------------------------------


def _ingest(path: Path, source: str, *, max_chars: int, options: ReadOptions, check: Check | None
            ) -> IngestedDocument:
    try:
        return ingest_file(path, source=source, max_chars=max_chars, options=options, check=check)
    except UnreadableDocumentError:
        raise
    except CorpusError as exc:
        # any other reading failure of a given file is that file's fault too (HTTP 422, exit 3)
        raise UnreadableDocumentError(str(exc)) from exc


def _copy(data: Path | BinaryIO, target: Path, limit: int) -> int:
    """Copy into ``target``, stopping once past ``limit`` bytes; the bytes copied."""
    copied = 0
    source = data.open("rb") if isinstance(data, Path) else data
    try:
        with target.open("wb") as out:
            for block in iter(lambda: source.read(1 << 20), b""):
                copied += len(block)
                if copied > limit:
                    break
                out.write(block)
    except FileNotFoundError as exc:
        raise InvalidInputError(f"no such file: {exc.filename}") from exc
    finally:
        if isinstance(data, Path):
            source.close()
    return copied


def _entry(path: Path, doc: IngestedDocument) -> _Entry:
    stat = path.stat()
    return _Entry(source=doc.source, type=doc.layout.reader, passages=len(doc.passages), pages=doc.pages,
                  added=_now(), sha256=sha256_file(path), bytes=stat.st_size, mtime_ns=stat.st_mtime_ns,
                  instruction_passages=len(doc.instruction_passages()))


@functools.lru_cache(maxsize=1024)  # by the file's stat: a listing or a page image does not hash it every time
def _derived(path: Path, source: str, mtime_ns: int, size: int) -> _Entry:
    """A catalog entry for a file put in the corpus folder by hand: what can be found without reading it."""
    with path.open("rb") as f:
        head = f.read(65536)
    try:
        kind = detect_kind(path, head)
    except CorpusError:
        kind = "unreadable"
    if kind == "text" and path.suffix.lower() in (".md", ".markdown"):
        kind = "markdown"
    added = datetime.fromtimestamp(mtime_ns / 1e9, UTC).isoformat(timespec="seconds")
    return _Entry(source=source, type=kind, passages=0, pages=_pdf_pages(path) if kind == "pdf" else None,
                  added=added, sha256=sha256_file(path), bytes=size, mtime_ns=mtime_ns)


def _pdf_pages(path: Path) -> int | None:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError:
        return None
    try:
        return len(pdf)
    finally:
        pdf.close()


def _info_of(entry: _Entry, *, indexed: bool) -> DocumentInfo:
    return DocumentInfo(id=Path(entry.source).stem, source=entry.source, type=entry.type, passages=entry.passages,
                        pages=entry.pages, added=entry.added, sha256=entry.sha256, bytes=entry.bytes, indexed=indexed,
                        instruction_passages=entry.instruction_passages)


def _manifest_or_none(settings: Settings) -> Manifest | None:
    try:
        return read_manifest(settings)
    except (IndexMissingError, IndexCorruptError):
        return None


def _passage_counts(manifest: Manifest | None) -> dict[str, int]:
    """Passages per document id in the live index (passage ids are ``<document id>#<place>``)."""
    counts: dict[str, int] = {}
    for entry in manifest.passages if manifest is not None else []:
        doc_id = entry.id.split("#", 1)[0]
        counts[doc_id] = counts.get(doc_id, 0) + 1
    return counts



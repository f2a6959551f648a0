"""Files in, passages out: one document (:func:`ingest_file`) or a whole corpus folder (:func:`load_corpus`)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.core.errors import CorpusError, DocumentTooLargeError, UnreadableDocumentError
from assistant.core.types import Passage
from assistant.ingest import chunk, structure
from assistant.ingest.document import Block, Document, ReadOptions
from assistant.ingest.locate import locate
from assistant.ingest.paragraphs import split_paragraphs
from assistant.ingest.passages import mostly_instruction
from assistant.ingest.read import SUFFIXES, read_document, unreadable
from assistant.ingest.repair import normalise_paragraph, repair_blocks
from assistant.ingest.structure import Layout, Outline


@dataclass(frozen=True)
class IngestedDocument:
    """One document cut into passages, with what was found in it."""

    source: str  # the file's name inside the corpus folder
    passages: list[Passage]
    layout: Layout

    @property
    def pages(self) -> int | None:
        """Pages of a paged format (PDF); ``None`` for text, HTML and DOCX."""
        return self.layout.pages

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``assistant index --explain --json``)."""
        layout = self.layout
        return {
            "source": self.source,
            "layout": {
                "reader": layout.reader,
                "paragraphs": layout.paragraphs,
                "levels": list(layout.levels),
                "restarts": list(layout.restarts),
                "title": layout.title,
                "tables": layout.tables,
                "pages": layout.pages,
                "closing": layout.closing,
                "signature": layout.signature,
                "notes": list(layout.notes),
                "summary": layout.describe(),
            },
            "passages": [p.to_dict() for p in self.passages],
            "instruction_passages": self.instruction_passages(),
        }

    def describe_read(self, seconds: float) -> str:
        """One line saying that it was read: ``read report.pdf: 34 passages, 21 pages (2.3 s)``."""
        pages = f", {self.pages} page{'s' * (self.pages != 1)}" if self.pages else ""
        return f"read {self.source}: {len(self.passages)} passages{pages} ({seconds:.1f} s)"

    def instruction_passages(self) -> list[str]:
        """The ids of the passages that are mostly orders to a reader or a model (never evidence)."""
        return [p.id for p in self.passages if mostly_instruction(p)]


def outline(document: Document, fallback_title: str, name: str | None = None) -> Outline:
    """Repair a read document's paragraphs and find its outline (``name`` names the file in errors)."""
    if document.text is not None:
        found = split_paragraphs(document.text)
        blocks = repair_blocks(found.paragraphs)
        layout = found.layout
    else:
        blocks = [
            b if b.table is not None else Block(normalise_paragraph(b.text), b.heading, None, b.page)
            for b in document.blocks
        ]
        layout = "page-lines" if document.reader.startswith("pdf") else "marked-up"
    if not any(b.text.strip() or b.table for b in blocks):
        raise UnreadableDocumentError(f"{name or fallback_title}: no text found in the document")
    return structure.detect(
        blocks,
        fallback_title=fallback_title,
        reader=document.reader,
        paragraphs=layout,
        pages=document.pages,
        notes=tuple(document.notes),
    )


def ingest_file(
    path: Path,
    *,
    source: str | None = None,
    max_chars: int = 700,
    options: ReadOptions | None = None,
    check: Callable[[], None] | None = None,
) -> IngestedDocument:
    """Read one file and cut it into passages (ids ``<file stem>#<place>``, ``source`` defaults to the file name).

    Raises CorpusError, naming the file and the cause, for anything that cannot be read: a reader's
    own failure is :class:`UnreadableDocumentError`, a document over a limit (``options``) is
    :class:`DocumentTooLargeError`. With ``options.max_seconds`` the reading runs in a worker
    process (:mod:`assistant.ingest.worker`), stopped at that limit or when ``check()`` raises.
    """
    options = options or ReadOptions()
    if options.max_seconds is not None:
        from assistant.ingest.worker import ingest_in_worker

        return ingest_in_worker(path, source=source, max_chars=max_chars, options=options, check=check)
    return ingest_here(path, source=source, max_chars=max_chars, options=options)


def ingest_here(path: Path, *, source: str | None, max_chars: int, options: ReadOptions) -> IngestedDocument:
    """:func:`ingest_file` in this process."""
    source = source or path.name
    document = read_document(path, options)
    try:
        found = outline(document, fallback_title=Path(source).stem, name=source)
        passages = locate(document.places, chunk.passages(found, source, max_chars))
    except CorpusError:
        raise
    except RecursionError as exc:
        raise UnreadableDocumentError(f"{source}: its outline nests too deeply to be read") from exc
    except Exception as exc:
        raise unreadable(source, exc) from exc
    if len(passages) > options.max_passages:
        raise DocumentTooLargeError(
            f"{source} gives {len(passages)} passages; a document may give at most {options.max_passages} "
            "(ASSISTANT_MAX_PASSAGES): split it, or raise the limit"
        )
    return IngestedDocument(source, passages, found.layout)


def chunk_report(text: str, source: str, max_chars: int = 700) -> list[Passage]:
    """Passages of one plain-text document given as a string (``source`` names it: ids use its stem)."""
    from assistant.ingest.readers.text import read_text

    document = read_text(Path(source), text)
    found = outline(document, fallback_title=Path(source).stem, name=source)
    return locate(document.places, chunk.passages(found, source, max_chars))


def corpus_files(corpus_dir: Path) -> list[Path]:
    """The document files of the corpus, sorted by path. Raises CorpusError when there are none."""
    kinds = "/".join(s.lstrip(".") for s in SUFFIXES)
    if not corpus_dir.is_dir():
        raise CorpusError(
            f"corpus folder {corpus_dir} does not exist; put documents ({kinds}) in it "
            "or point ASSISTANT_CORPUS_DIR at the folder that holds them"
        )
    # dot-files and dot-folders are not documents: editor swap files, and the collection's own
    # staging area (.staging/, see assistant/storage/documents.py) where a document waits to be committed
    files = sorted(
        p
        for p in corpus_dir.rglob("*")
        if p.is_file() and p.suffix.lower() in SUFFIXES and not _hidden(p.relative_to(corpus_dir))
    )
    if not files:
        raise CorpusError(f"corpus folder {corpus_dir} holds no documents ({kinds})")
    return files


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


#: the most documents read at once (each in its own worker process)
MAX_READERS = 4
#: told of each document once it is read: the document, and the seconds reading it took
OnRead = Callable[[IngestedDocument, float], None]


def readers_for(options: ReadOptions | None, documents: int) -> int:
    """How many documents to read at once: one per core when each is read in a worker process (the
    reading is then truly parallel); one when they are read in this process (the readers are mostly
    Python: threads would only take turns)."""
    if options is None or options.max_seconds is None:
        return 1
    return max(1, min(documents, os.cpu_count() or 1, MAX_READERS))


def read_all(
    files: Sequence[tuple[Path, str]],
    read: Callable[[Path, str], IngestedDocument],
    *,
    readers: int = 1,
    on_read: OnRead | None = None,
) -> list[IngestedDocument]:
    """``read(path, source)`` for each of ``files``, ``readers`` at a time; the documents in the order
    of ``files``. ``on_read`` is told of each as it is done, in the calling thread. The first failure
    is raised once the documents being read are done (none not started yet is read)."""

    def timed(path: Path, source: str) -> tuple[IngestedDocument, float]:
        started = time.perf_counter()
        return read(path, source), time.perf_counter() - started

    if readers <= 1 or len(files) <= 1:
        documents = []
        for path, source in files:
            document, seconds = timed(path, source)
            if on_read is not None:
                on_read(document, seconds)
            documents.append(document)
        return documents
    with ThreadPoolExecutor(readers, thread_name_prefix="read") as pool:
        futures = [pool.submit(timed, path, source) for path, source in files]
        try:
            for future in as_completed(futures):
                document, seconds = future.result()
                if on_read is not None:
                    on_read(document, seconds)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        return [future.result()[0] for future in futures]


def load_corpus(corpus_dir: Path, max_chars: int = 700, options: ReadOptions | None = None,
                on_read: OnRead | None = None) -> list[Passage]:
    """All passages of all documents in ``corpus_dir`` (file order, then document order); documents
    read in worker processes are read several at once (:func:`readers_for`)."""
    files = [(path, path.relative_to(corpus_dir).as_posix()) for path in corpus_files(corpus_dir)]
    documents = read_all(
        files, lambda path, source: ingest_file(path, source=source, max_chars=max_chars, options=options),
        readers=readers_for(options, len(files)), on_read=on_read)
    passages = [p for document in documents for p in document.passages]
    check_unique(passages)
    return passages


def check_unique(passages: Iterable[Passage]) -> None:
    """Raise CorpusError when two passages share an id: two documents with the same file stem."""
    first: dict[str, Passage] = {}
    for p in passages:
        if p.id in first:
            other = first[p.id].source
            if other == p.source:  # cannot happen by construction; say so rather than blame the files
                raise CorpusError(f"two passages of {p.source} share the id {p.id}; please report this as a bug")
            raise CorpusError(
                f"{other} and {p.source} both give the passage id {p.id}: passage ids start with the file name "
                f"without its extension, so two documents may not share it; rename one of them"
            )
        first[p.id] = p

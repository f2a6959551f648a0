"""Helpers for the document-collection tests: a private corpus and index, and what to check after a change."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from assistant.answer.pipeline import Assistant
from assistant.answer.retrieve import Retriever
from assistant.core.settings import PROJECT_ROOT, Settings
from assistant.core.types import Answer
from assistant.embed import Embedder
from assistant.ingest import corpus_files
from assistant.storage.index import load_index
from tests import docgen
from tests.support import CORPUS_DIR, make_assistant


def private_corpus(index_copy: Settings, folder: Path) -> Settings:
    """``index_copy`` (a private copy of the session index of the report) over a private copy of the
    corpus folder it was built from, so changes never touch the repository's ``corpus/``."""
    corpus = folder / "corpus"
    corpus.mkdir()
    for path in corpus_files(CORPUS_DIR):
        shutil.copy2(path, corpus / path.name)  # copy2 keeps the time: listed as added when the repo got it
    return index_copy.model_copy(update={"corpus_dir": corpus, "generator": "extractive"})


def assistant_over(settings: Settings, embedder: Embedder) -> Assistant:
    """A real assistant over the live index of ``settings`` as it is now."""
    return make_assistant(settings, Retriever(load_index(settings, embedder.model_id), embedder, settings))


def cited_sources(answer: Answer) -> set[str]:
    """The source files an answer cites."""
    return {c.source for c in answer.citations}


def corpus_names(settings: Settings) -> list[str]:
    """Every name in the corpus folder, hidden ones included (a half-done change would show here)."""
    return sorted(p.relative_to(settings.corpus_dir).as_posix() for p in settings.corpus_dir.rglob("*"))


def cli_env(settings: Settings) -> dict[str, str]:
    """The environment that points the ``assistant`` command at ``settings``' corpus and index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update(
        ASSISTANT_CORPUS_DIR=str(settings.corpus_dir),
        ASSISTANT_INDEX_DIR=str(settings.index_dir),
        ASSISTANT_EMBEDDING_MODEL=settings.embedding_model,
        PYTHONPATH=str(PROJECT_ROOT),
    )
    return env


def assistant_command(settings: Settings, *args: str) -> subprocess.Popen[str]:
    """Start ``assistant ARGS…`` in another process, over ``settings``' corpus and index."""
    return subprocess.Popen(
        # run beside the corpus, not in the repository: no .env there can change the settings
        [sys.executable, "-m", "assistant.cli", *args], cwd=settings.corpus_dir.parent, env=cli_env(settings),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str], timeout: float = 300) -> None:
    """Wait until ``condition()`` holds, failing at once (with its stderr) if ``proc`` ends first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the process ended first: {proc.communicate()[1]}")
        if time.monotonic() > deadline:
            raise TimeoutError("the condition did not come true")
        time.sleep(0.02)


@pytest.fixture(name="settings")
def cli_settings(index_copy: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A private corpus and index that the ``assistant`` command sees through its environment."""
    own = private_corpus(index_copy, tmp_path)
    monkeypatch.setenv("ASSISTANT_CORPUS_DIR", str(own.corpus_dir))
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(own.index_dir))
    monkeypatch.chdir(tmp_path)  # no .env of the repository
    return own


@pytest.fixture(autouse=True)
def only_the_report_afterwards(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts from the report alone and leaves it so (tests share one server and corpus)."""
    yield
    if "client" in request.fixturenames:
        c: httpx.Client = request.getfixturevalue("client")
        for doc in c.get("/v1/documents").json()["documents"]:
            if doc["id"] != docgen.STEM:
                c.delete(f"/v1/documents/{doc['id']}")

"""Distributed embedding on a real local Ray (2 CPUs, an actor pool of 2): the same vectors as one process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from assistant.embed import Embedder
from assistant.storage.index import load_index
from assistant.storage.lifecycle import build_from_corpus
from tests.support import CORPUS_DIR, DEFAULT_MODEL, make_settings

pytest.importorskip("ray", reason="the scale extra is not installed: pip install -e '.[scale]'")


@pytest.fixture(scope="module")
def ray_embedder() -> Iterator[Embedder]:
    from assistant.embed.distributed import RayEmbedder

    embedder = RayEmbedder(DEFAULT_MODEL, 8, num_cpus=2, actors=2)
    yield embedder
    RayEmbedder.shutdown()


def local_model_id(settings: object) -> str:
    return load_index(settings).manifest.embedding_model  # type: ignore[arg-type]


def test_index_built_on_ray_equals_index_built_locally(
    ray_embedder: Embedder, built_index_settings: object, tmp_path: Path
) -> None:
    from assistant.embed.distributed import RAY_JOB_PASSAGES

    settings = make_settings(index_dir=tmp_path / "index")
    report = build_from_corpus(settings, ray_embedder, progress=False, embed_batch_size=RAY_JOB_PASSAGES)
    assert report.embedded == report.passages
    assert ray_embedder.model_id == local_model_id(built_index_settings)
    assert ray_embedder.actors == 2  # type: ignore[attr-defined]
    local = load_index(built_index_settings)  # type: ignore[arg-type]
    on_ray = load_index(settings)
    assert [p.id for p in on_ray.passages] == [p.id for p in local.passages]
    np.testing.assert_allclose(on_ray.vectors, local.vectors, rtol=0, atol=1e-6)


def test_cli_index_with_ray(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env.update({"ASSISTANT_CORPUS_DIR": str(corpus), "ASSISTANT_INDEX_DIR": str(tmp_path / "index")})
    done = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "index", "--ray", "--ray-actors", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "embedded on Ray by 2 actors" in done.stdout
    manifest = json.loads(
        (tmp_path / "index" / (tmp_path / "index" / "CURRENT").read_text().strip() / "manifest.json").read_text()
    )
    assert manifest["embedded"] == len(manifest["passages"]) > 0

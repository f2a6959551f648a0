"""The live index follows the published build: real FAISS, the real embedder, real builds on disk."""

from __future__ import annotations

import dataclasses
import logging
import threading

import pytest

from assistant.answer.evidence import whole
from assistant.answer.live import LiveIndex, Snapshot
from assistant.answer.retrieve import Retriever
from assistant.core.settings import Settings
from assistant.core.types import Hit, Passage
from assistant.embed import Embedder
from assistant.storage.build import build_index
from assistant.storage.index import INDEX_FILE, POINTER_FILE, live_build_name, load_index

QUERY = "滨江市新增公园绿地多少公顷？"
NEW = Passage(id="green#item-01", source="green.txt", section="一、城市绿化",
              text="2024年，滨江市全市新增公园绿地1286公顷，建成口袋公园214个。")


def _live(settings: Settings, embedder: Embedder) -> LiveIndex:
    return LiveIndex(Snapshot.of(Retriever(load_index(settings, embedder.model_id), embedder, settings)))


def _search(live: LiveIndex, query: str, k: int) -> list[Hit]:
    return live.snapshot().retriever.search(query, k)


def test_a_newer_build_is_swapped_in_between_searches(
    index_copy: Settings, default_embedder: Embedder, report_passages: list[Passage]
) -> None:
    live = _live(index_copy, default_embedder)
    serving = live.snapshot()  # what a request that started now holds
    assert NEW.id not in {h.passage.id for h in _search(live, QUERY, 3)}

    build_index(index_copy, default_embedder, [*report_passages, NEW], progress=False)
    assert _search(live, QUERY, 1)[0].passage.id == NEW.id
    assert len(live.snapshot().passages) == len(report_passages) + 1
    assert live.snapshot().index.path.name == live_build_name(index_copy.index_dir)
    # the retriever a running request holds still answers, from the old build (its folder is gone from disk)
    assert not serving.index.path.exists()
    assert NEW.id not in {h.passage.id for h in serving.retriever.search(QUERY, 3)}
    # cosines to passages the new build lacks are still computed (embedded on the spot)
    gone = dataclasses.replace(report_passages[0], id="gone#1")
    assert len(live.snapshot().sentences.sentence_similarity(QUERY, [whole(gone), whole(NEW)])[0]) == 2


def test_a_build_that_cannot_be_loaded_leaves_the_old_one_serving(
    index_copy: Settings, default_embedder: Embedder, report_passages: list[Passage],
    caplog: pytest.LogCaptureFixture,
) -> None:
    live = _live(index_copy, default_embedder)
    before = live.snapshot().index.path.name
    build_index(index_copy, default_embedder, [*report_passages, NEW], progress=False)
    broken = live_build_name(index_copy.index_dir)
    assert broken is not None
    (index_copy.index_dir / broken / INDEX_FILE).write_bytes(b"damaged")
    with caplog.at_level(logging.WARNING, logger="assistant.answer.live"):
        hits = _search(live, QUERY, 3)
        _search(live, QUERY, 3)  # not retried at every search
    assert live.snapshot().index.path.name == before and NEW.id not in {h.passage.id for h in hits}
    said = f"still serving index build {before}: the newer build {broken} cannot be used"
    assert sum(r.getMessage().startswith(said) for r in caplog.records) == 1
    # the next good build is taken
    build_index(index_copy, default_embedder, [*report_passages, NEW], progress=False)
    assert _search(live, QUERY, 1)[0].passage.id == NEW.id


def test_searches_during_swaps_never_fail(
    index_copy: Settings, default_embedder: Embedder, report_passages: list[Passage]
) -> None:
    live = _live(index_copy, default_embedder)
    errors: list[BaseException] = []
    done = threading.Event()

    def search() -> None:
        while not done.is_set():
            try:
                assert _search(live, QUERY, 3)
            except BaseException as exc:  # reported below
                errors.append(exc)
                return

    threads = [threading.Thread(target=search) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for i in range(3):
            extra = dataclasses.replace(NEW, id=f"green#item-{i + 2:02d}", text=f"{NEW.text}（第{i}版）")
            build_index(index_copy, default_embedder, [*report_passages, NEW, extra], progress=False)
    finally:
        done.set()
        for t in threads:
            t.join(timeout=120)
    assert not errors
    assert live.refresh().index.path.name == (index_copy.index_dir / POINTER_FILE).read_text().strip()

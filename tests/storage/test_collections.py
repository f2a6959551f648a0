"""Named collections on disk: names, records, folders, settings of their own, the migration of the
configured corpus to ``default`` (nothing moved, nothing re-embedded), deleting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.core.calibration import CALIBRATION_FILE
from assistant.core.errors import (
    CollectionExistsError,
    CollectionForbiddenError,
    CollectionNotFoundError,
    InvalidInputError,
)
from assistant.core.settings import Settings
from assistant.storage.collections import RECORD_FILE, CollectionStore, check_name
from assistant.storage.index import live_build_name
from tests.support import make_settings


@pytest.fixture
def settings(index_copy: Settings, tmp_path: Path) -> Settings:
    return index_copy.with_changes(collections_dir=tmp_path / "collections")


@pytest.mark.parametrize("name", ["a", "team-a", "2026_reports", "x" * 64])
def test_valid_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "A", "-a", "_a", "a b", "a/b", "..", "x" * 65, "名字"])
def test_invalid_names_state_the_rule(name: str) -> None:
    with pytest.raises(InvalidInputError, match=r"\[a-z0-9\]\[a-z0-9_-\]\{0,63\}"):
        check_name(name)


def test_the_default_location_is_beside_the_index(tmp_path: Path) -> None:
    settings = make_settings(index_dir=tmp_path / "index")
    assert settings.collections_root == tmp_path / "collections"


def test_migration_records_default_and_leaves_the_index_as_it_is(settings: Settings) -> None:
    build = live_build_name(settings.index_dir)
    before = sorted(p.name for p in settings.index_dir.rglob("*"))
    store = CollectionStore(settings)
    assert store.migrate() is True
    assert store.migrate() is False  # once
    record = json.loads((settings.collections_root / "default" / RECORD_FILE).read_text("utf-8"))
    assert record["name"] == "default" and record["configured_folders"] is True
    assert live_build_name(settings.index_dir) == build
    assert sorted(p.name for p in settings.index_dir.rglob("*")) == before
    assert store.settings_for("default") is settings  # its folders are the configured ones
    assert store.names() == ["default"]


def test_create_list_settings_and_delete(settings: Settings) -> None:
    store = CollectionStore(settings)
    store.create("team-b", {"k": "8", "min_relevance": 0.9})
    store.create("alpha")
    assert store.names() == ["default", "alpha", "team-b"]
    own = store.settings_for("team-b")
    assert own.corpus_dir == settings.collections_root / "team-b" / "corpus" and own.corpus_dir.is_dir()
    assert own.index_dir == settings.collections_root / "team-b" / "index"
    assert own.k == 8 and own.min_relevance == 0.9
    assert own.milvus_collection != store.settings_for("alpha").milvus_collection
    assert own.page_cache == settings.page_cache  # one cache of page images
    with pytest.raises(CollectionExistsError):
        store.create("team-b")
    with pytest.raises(InvalidInputError, match="cannot set"):
        store.create("other", {"max_k": 3})
    with pytest.raises(InvalidInputError, match="invalid collection settings"):
        store.create("other", {"k": 0})
    store.delete("team-b")
    assert not (settings.collections_root / "team-b").exists()
    assert store.names() == ["default", "alpha"]
    with pytest.raises(CollectionNotFoundError):
        store.delete("team-b")
    with pytest.raises(CollectionForbiddenError):
        store.delete("default")


def test_a_collection_reads_its_own_calibration(settings: Settings) -> None:
    store = CollectionStore(settings)
    store.create("calibrated")
    own = store.settings_for("calibrated")
    cal = {"format_version": 1, "embedding_model": settings.embedding_model, "values": {"min_relevance": 0.91},
           "fitted_at": "2026-12-01T00:00:00+00:00", "eval_set": "x", "generator": "extractive",
           "max_false_refusals": 0.05, "questions": 10}
    (own.index_dir / CALIBRATION_FILE).write_text(json.dumps(cal), encoding="utf-8")
    assert store.settings_for("calibrated").min_relevance == 0.91
    assert store.settings_for("default").min_relevance == settings.min_relevance

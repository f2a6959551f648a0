"""Named collections on disk: each its documents, its index, its calibration and its settings overrides.

Layout under ``settings.collections_root`` (``ASSISTANT_COLLECTIONS_DIR``, default ``collections/``
beside the index folder)::

    default/collection.json     the collection ``default``: its documents and index stay where
                                ASSISTANT_CORPUS_DIR and ASSISTANT_INDEX_DIR say (nothing moves)
    NAME/collection.json        name, creation time, settings overrides (k, floors, generator)
    NAME/corpus/                its documents (as ``corpus/`` is for ``default``)
    NAME/index/                 its index builds, and its ``calibration.json``; with Milvus, its own
                                collections (named after a hash of NAME)

The existing corpus becomes ``default`` on first use (:func:`migrate`): its record is written, and
its index is used as it is, so nothing is re-embedded. A collection's :class:`Settings` are the
server's with its folders and overrides (:meth:`CollectionStore.settings_for`); every command and
route that names no collection uses ``default``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.core.calibration import CALIBRATED_SETTINGS
from assistant.core.errors import (
    CollectionExistsError,
    CollectionForbiddenError,
    CollectionNotFoundError,
    IndexCorruptError,
    InvalidInputError,
)
from assistant.core.fsio import write_atomically
from assistant.core.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_COLLECTION = "default"
NAME_RULE = "[a-z0-9][a-z0-9_-]{0,63}"
_NAME = re.compile(NAME_RULE)
RECORD_FILE = "collection.json"
#: the settings a collection may set for itself
OVERRIDABLE: tuple[str, ...] = ("k", "generator", "context_passages", *CALIBRATED_SETTINGS)


class CollectionRecord(BaseModel):
    """``collection.json``."""

    model_config = ConfigDict(extra="forbid")
    name: str
    created_at: str
    #: ``True`` for ``default``: its corpus and index are the configured folders
    configured_folders: bool = False
    settings: dict[str, Any] = Field(default_factory=dict)


def check_name(name: str) -> str:
    """``name`` if it is a valid collection name, else :class:`InvalidInputError` stating the rule."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInputError(f"a collection name must match {NAME_RULE} (lower-case letters, digits, '_' and "
                                "'-', starting with a letter or digit, at most 64 characters)")
    return name


def check_overrides(settings: Settings, overrides: dict[str, Any]) -> dict[str, Any]:
    """The overrides, validated as settings are (an unknown or invalid one is :class:`InvalidInputError`)."""
    unknown = sorted(set(overrides) - set(OVERRIDABLE))
    if unknown:
        raise InvalidInputError(f"a collection cannot set {unknown}; it may set: {', '.join(OVERRIDABLE)}")
    try:
        changed = settings.with_changes(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise InvalidInputError(f"invalid collection settings: {problems}") from exc
    return {name: getattr(changed, name) for name in overrides}


class CollectionStore:
    """The collections of one installation, as folders under ``settings.collections_root``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.collections_root

    def folder(self, name: str) -> Path:
        return self.root / check_name(name)

    def migrate(self) -> bool:
        """Make the configured corpus the collection ``default`` if it is not one yet (True: it was
        migrated now). Only its record is written: the index is used where it is, not re-embedded."""
        path = self.root / DEFAULT_COLLECTION / RECORD_FILE
        if path.is_file():
            return False
        record = CollectionRecord(name=DEFAULT_COLLECTION, created_at=_now(), configured_folders=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, record.model_dump_json(indent=2) + "\n")
        log.info("the corpus %s (index %s) is now the collection %r", self.settings.corpus_dir,
                 self.settings.index_dir, DEFAULT_COLLECTION)
        return True

    def names(self) -> list[str]:
        """Every collection, ``default`` first."""
        found = {DEFAULT_COLLECTION}
        if self.root.is_dir():
            found |= {p.parent.name for p in self.root.glob(f"*/{RECORD_FILE}") if _NAME.fullmatch(p.parent.name)}
        return sorted(found, key=lambda n: (n != DEFAULT_COLLECTION, n))

    def exists(self, name: str) -> bool:
        return name == DEFAULT_COLLECTION or (self.folder(name) / RECORD_FILE).is_file()

    def record(self, name: str) -> CollectionRecord:
        """The record of ``name`` (:class:`CollectionNotFoundError` when there is none)."""
        check_name(name)
        path = self.root / name / RECORD_FILE
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if name == DEFAULT_COLLECTION:
                return CollectionRecord(name=name, created_at="", configured_folders=True)
            raise CollectionNotFoundError("no such collection") from None
        except OSError as exc:
            raise IndexCorruptError(f"cannot read {path}: {exc.strerror or exc}") from exc
        try:
            return CollectionRecord.model_validate(json.loads(raw))
        except (json.JSONDecodeError, ValidationError) as exc:
            raise IndexCorruptError(f"{path} is not a valid collection record ({exc})") from exc

    def settings_for(self, name: str | None) -> Settings:
        """The settings of collection ``name`` (None: ``default``): its folders, its calibration, its overrides."""
        name = name or DEFAULT_COLLECTION
        record = self.record(name)
        if record.configured_folders and not record.settings:
            return self.settings
        changes: dict[str, Any] = dict(record.settings)
        if not record.configured_folders:
            folder = self.root / name
            changes |= {"corpus_dir": folder / "corpus", "index_dir": folder / "index",
                        "milvus_collection": _milvus_prefix(self.settings.milvus_collection, name),
                        # one page-image cache (keyed by document hash): the chat serves its pages from there
                        "page_cache_dir": self.settings.page_cache}
        return self.settings.with_changes(**changes)

    def create(self, name: str, overrides: dict[str, Any] | None = None) -> CollectionRecord:
        """A new, empty collection (:class:`CollectionExistsError` if the name is taken)."""
        check_name(name)
        values = check_overrides(self.settings, overrides or {})
        folder = self.root / name
        if self.exists(name):
            raise CollectionExistsError("a collection of this name exists already")
        (folder / "corpus").mkdir(parents=True, exist_ok=True)
        (folder / "index").mkdir(parents=True, exist_ok=True)
        record = CollectionRecord(name=name, created_at=_now(), settings=values)
        write_atomically(folder / RECORD_FILE, record.model_dump_json(indent=2) + "\n")
        return record

    def delete(self, name: str) -> None:
        """Remove the collection's folder and its vector-store data (``default`` is refused)."""
        check_name(name)
        if name == DEFAULT_COLLECTION:
            raise CollectionForbiddenError("the collection 'default' cannot be deleted")
        if not self.exists(name):
            raise CollectionNotFoundError("no such collection")
        settings = self.settings_for(name)
        folder = self.root / name
        # the record goes first: from then on the collection does not exist, whatever remains of its files
        (folder / RECORD_FILE).unlink()
        if settings.vector_store != "faiss":
            from assistant.storage.stores import store_backend

            try:
                store_backend(settings.vector_store).prune(settings, keep=())
            except Exception as exc:  # the folder still goes; the store's data is reported
                log.warning("could not drop the store data of collection %r: %s", name, exc)
        shutil.rmtree(folder, ignore_errors=True)


def _milvus_prefix(prefix: str, name: str) -> str:
    # a hash, not the name: '-' is not allowed in Milvus names, and one name must never be a prefix of another's
    return f"{prefix}_c{hashlib.sha256(name.encode()).hexdigest()[:12]}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")

